"""Calibration timings: `gutjoint calibrate --check` and a full calibration (fit + profiles), as whole
commands on this machine. The full run writes nothing back (--no-write).

Run:  .venv/bin/python benchmarks/bench_calibrate.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time


def wall(args: list[str]) -> float:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "gutjoint", *args], capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        raise SystemExit(proc.stderr)
    return time.perf_counter() - t


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        check = wall(["calibrate", "--check", "--out", folder])
        print(f"gutjoint calibrate --check:               {check:7.1f} s  (goal <= 30 s)")
        full = wall(["calibrate", "--no-write", "--out", folder])
        print(f"gutjoint calibrate (4 starts, profiles):  {full:7.1f} s  (goal <= 600 s on 2 cores)")


if __name__ == "__main__":
    main()
