"""Speed of `explain` (warm) and of a full time-resolved Sobol analysis, as issue 5 sizes them.

1. explain: the 17 runs of one attribution (16 source combinations + the gut counterfactual), warm, median of 5.
2. sensitivity: Sobol with N = 1024 base samples on the 20 default parameters (22,528 one-year runs of
   barrier-support), indices every ~7 days with bootstrap CIs, on 2 worker processes; wall time.

Run:  .venv/bin/python benchmarks/bench_explain.py [--n 1024] [--workers 2]
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    from gutjoint._studies.attribution import explain_pain
    from gutjoint._studies.sensitivity import DEFAULT_PARAMETERS, run_sensitivity

    explain_pain("gut-driven-joint-pain")  # warm: compiled code loaded
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        explain_pain("gut-driven-joint-pain", 200)
        times.append(time.perf_counter() - t0)
    print(f"explain gut-driven-joint-pain --day 200, warm: median {statistics.median(times) * 1e3:.0f} ms "
          f"(goal <= 2000 ms)")

    t0 = time.perf_counter()
    result = run_sensitivity("barrier-support", "pain_nrs", n=args.n, parameters=DEFAULT_PARAMETERS,
                             workers=args.workers)
    wall = time.perf_counter() - t0
    print(f"Sobol N={args.n}, {len(DEFAULT_PARAMETERS)} parameters, one year: {result.n_evaluations} runs "
          f"({result.n_failed} failed) in {wall:.0f} s on {args.workers} workers "
          f"({result.n_evaluations / wall:.0f} runs/s; goal <= 300 s)")


if __name__ == "__main__":
    main()
