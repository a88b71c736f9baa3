"""Two MCMC samplers on the same posterior, timed to an effective sample size, in one run.

The posterior: one calibration block (default: the innate block, 25 parameters, the Janum 2016 LPS challenge),
as ``gutjoint calibrate --sample`` samples it (_studies/calibration/posterior.py). The samplers, both from emcee
3.1 (the library the project samples with; each in its own fresh process, on its own core, for the same wall
time, from the same starting walkers):

1. the affine-invariant stretch move (Goodman & Weare 2010), emcee's default, which ``calibrate --sample`` uses;
2. differential evolution (ter Braak 2006) with 20% snooker updates (ter Braak & Vrugt 2008).

Reported: steps done, acceptance, the smallest bulk effective sample size over the parameters (ArviZ, walkers as
chains, the first half discarded), that ESS per second, and the largest R-hat.

Run:  .venv/bin/python benchmarks/bench_sampler.py [--block innate] [--seconds 120]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


def run(move: str, block: str, seconds: float) -> dict:
    import warnings

    import emcee

    from gutjoint._studies.calibration import posterior

    warnings.filterwarnings("ignore")
    moves = None if move == "stretch" else [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)]
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        chain = posterior.sample_block(block, Path(folder) / "chain.h5", steps=100_000, seconds=seconds, moves=moves)
        wall = time.perf_counter() - t0
    checks = posterior.diagnostics(chain)
    ess = min(c["ess_bulk"] for c in checks.values())
    return {"move": move, "steps": chain.samples.shape[0], "walkers": chain.samples.shape[1],
            "acceptance": chain.acceptance, "ess_min": ess, "ess_per_s": ess / wall,
            "r_hat_max": max(c["r_hat"] for c in checks.values()), "wall": wall}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--block", default="innate")
    ap.add_argument("--seconds", type=float, default=120.0)
    args = ap.parse_args()
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, ["stretch", "de-snooker"], [args.block] * 2, [args.seconds] * 2))
    print(f"block {args.block}, {args.seconds:g} s each, same start (a 1e-3 ball around the fitted values)")
    print(f"{'sampler':12s} {'steps':>6s} {'walkers':>7s} {'accept':>7s} {'min ESS':>8s} {'ESS/s':>7s} {'max R-hat':>9s}")
    for r in results:
        print(f"{r['move']:12s} {r['steps']:6d} {r['walkers']:7d} {r['acceptance']:7.2f} {r['ess_min']:8.1f} "
              f"{r['ess_per_s']:7.3f} {r['r_hat_max']:9.3f}")
    a, b = results
    print(f"ratio of min-ESS per second, stretch / DE-snooker: {a['ess_per_s'] / max(b['ess_per_s'], 1e-12):.2f}x")


if __name__ == "__main__":
    main()
