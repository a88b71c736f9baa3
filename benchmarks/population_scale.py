"""`gutjoint population barrier-support --n N --workers 2`, end to end as a user runs it: wall time and the peak
memory of the whole process tree (the parent and its worker processes, summed, sampled every 0.2 s).

Run:  .venv/bin/python benchmarks/population_scale.py [--n 100000] [--workers 2] [--no-comparisons] [--rtol 1e-6]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants (Linux /proc), MB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        p = int(status.parent.name)
        children.setdefault(int(fields.get("PPid", "0").strip() or 0), []).append(p)
        rss[p] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, []))
    return total / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-comparisons", action="store_true", help="one run per person (no gut_share or relief)")
    ap.add_argument("--rtol", type=float, default=None, help="the command's --rtol (atol = rtol/100); default: its own")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "gutjoint", "population", "barrier-support", "--n",
                   str(args.n), "--seed", "1", "--out", out, "--workers", str(args.workers)]
        command += ["--no-comparisons"] if args.no_comparisons else []
        command += ["--rtol", f"{args.rtol:g}", "--atol", f"{args.rtol / 100:g}"] if args.rtol else []
        t0 = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, _tree_rss_mb(proc.pid))
            time.sleep(0.2)
        wall = time.perf_counter() - t0
        tail = proc.stdout.read().strip().splitlines()[-1:] if proc.stdout else []
    flag = (" --no-comparisons" if args.no_comparisons else "") + (f" --rtol {args.rtol:g}" if args.rtol else "")
    print(f"population barrier-support --n {args.n} --workers {args.workers}{flag}: {wall:.0f} s wall "
          f"({args.n / wall:.0f} people/s), peak memory of the process tree {peak:.0f} MB; exit {proc.returncode}")
    print(f"  extrapolated to 10^6 people at this rate: {1e6 / (args.n / wall) / 60:.1f} min")
    if tail:
        print("  " + tail[0])


if __name__ == "__main__":
    main()
