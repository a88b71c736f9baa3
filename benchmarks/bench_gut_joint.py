"""Two likelihood-free methods fitting the gut-to-joint magnitudes to the same human trial results, in one run.

The problem is ``gutjoint._studies.calibration.gut_joint``'s: two parameters (``synovitis_per_autoreactivity``,
``memory_half_mimicry``), their ensemble priors, and two published results (the probiotic trial in
spondyloarthritis, Jenks 2010; arthritis in coeliacs on gluten, Lubrano 1996), each simulated as a virtual trial of
the published size. The methods, one after the other on ``--workers`` processes:

1. ABC-SMC (pyabc), ``--population`` particles a generation, ``--generations`` generations;
2. Bayesian synthetic likelihood on a ``--grid`` x ``--grid`` lattice with ``--replicates`` simulations a point.

The grid method is then checked by simulation-based calibration (``--people`` synthetic datasets from prior
draws; the lattice's simulations are reused, so it costs one simulation a person). Reported: simulations, wall time, each parameter's posterior median and 90% interval, and the interval's width over
the prior's. Each method's weighted draws are written to ``--out`` (``abc.parquet``, ``sl.parquet``, with
``weight``), with a JSON summary; the ABC history (``abc.db``) lets an interrupted run continue.

Run:  .venv/bin/python benchmarks/bench_gut_joint.py --out /tmp/gutjoint-fit [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main() -> None:
    from gutjoint._studies.calibration import gut_joint

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--population", type=int, default=200)
    ap.add_argument("--generations", type=int, default=6)
    ap.add_argument("--grid", type=int, default=gut_joint.GRID)
    ap.add_argument("--replicates", type=int, default=gut_joint.REPLICATES)
    ap.add_argument("--methods", default="abc,sl")
    ap.add_argument("--people", type=int, default=200, help="synthetic people of the calibration check")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    if "abc" in args.methods:
        results["abc"] = gut_joint.abc_smc(out, population=args.population, generations=args.generations,
                                           workers=args.workers)
    if "sl" in args.methods:
        grid = gut_joint.grid_statistics(grid=args.grid, replicates=args.replicates, workers=args.workers,
                                         store=out / "grid.npz")  # kept: a rerun only redoes the cheap parts
        results["sl"] = grid.posterior(gut_joint.observed())
        t0 = time.perf_counter()
        check = gut_joint.calibration_check(grid, people=args.people, workers=args.workers)
        np.save(out / "sbc_cdf.npy", check["cdf"])
        calibration = {k: v for k, v in check.items() if k != "cdf"}
        calibration["seconds"] = time.perf_counter() - t0
        print(f"simulation-based calibration of the grid method over {check['people']} synthetic people "
              f"({calibration['seconds']:.0f} s): 90% intervals hold the truth {check['coverage_90']}, "
              f"KS p {check['ks_p']}")
    report = {}
    for key, fit in results.items():
        fit.draws.assign(weight=fit.weights).to_parquet(out / f"{key}.parquet", index=False)
        summary = fit.summary()
        report[key] = {"method": fit.method, "simulations": fit.simulations, "seconds": fit.seconds,
                       "effective_draws": fit.effective_draws(), "notes": fit.notes,
                       **({"calibration": calibration} if key == "sl" else {}),
                       "summary": summary.to_dict("records")}
        print(f"{fit.method}: {fit.simulations} simulations in {fit.seconds:.0f} s, "
              f"Kish ESS {fit.effective_draws():.0f}")
        for row in summary.itertuples():
            print(f"  {row.parameter:30s} median {row.median:.3g} (90% {row.q05:.3g}-{row.q95:.3g}); prior "
                  f"{row.prior_median:.3g} ({row.prior_q05:.3g}-{row.prior_q95:.3g}); width/prior "
                  f"{row.width_over_prior:.2f}")
    (out / "summary.json").write_text(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    main()
