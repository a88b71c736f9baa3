"""The fuzz suite at length: ``tests/test_fuzz.py`` with many random (not derandomised) examples.

Each example is a generated scenario file, valid or not, run through ``gutjoint simulate`` in process and posted
to ``/api/simulate``; a third as many examples call the Python API with generated arguments (``prepare``'s
parameters, ``Tolerances``, ``explain``'s day, ``run_population``'s n, seed and folder, ``solve_many``, ``Problem.at``),
which must run or raise ``InputError`` naming the argument. The run stops at the first example that breaks one of the suite's four properties (hypothesis
then shrinks it and prints it); otherwise it prints how many examples ended in each way.

Run:  .venv/bin/python benchmarks/fuzz_scenarios.py [--examples 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=int, default=10_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        stats = Path(folder) / "stats.json"
        env = dict(os.environ, GUTJOINT_FUZZ_EXAMPLES=str(args.examples), GUTJOINT_FUZZ_STATS=str(stats))
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_fuzz.py",
                               "--hypothesis-show-statistics"], cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        counts = json.loads(stats.read_text()) if stats.exists() else {}
    print(f"{args.examples} examples requested, {sum(v for k, v in counts.items() if k.startswith('cli'))} run "
          f"through the CLI in {wall:.0f} s; pytest exit code {proc.returncode}")
    for key in sorted(counts):
        print(f"  {key:22s} {counts[key]:6d}")
    print("property violations (unexpected exceptions, successes with non-finite outputs, unsafe echo): "
          + ("0" if proc.returncode == 0 else "see below"))
    if proc.returncode != 0:
        print(proc.stdout[-6000:])
        sys.exit(1)


if __name__ == "__main__":
    main()
