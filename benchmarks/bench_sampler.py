"""Five samplers on the same posterior, for the same wall time, in one run.

The posterior: one calibration block (default: the innate block, the Janum 2016 LPS challenge), exactly as
``gutjoint calibrate --sample`` samples it (``_studies/calibration/posterior.py``: the parameters the data inform,
the literature priors, the datasets' noise scales integrated out). The samplers, each in its own fresh process,
``--workers`` at a time (one core each), for the same wall time:

1. emcee, differential evolution (ter Braak 2006) with 20% snooker updates (ter Braak & Vrugt 2008): what
   ``calibrate --sample`` uses;
2. emcee, the affine-invariant stretch move (Goodman & Weare 2010), emcee's default;
3. emcee, a Gaussian random-walk Metropolis move per walker, its covariance the Laplace covariance at the fit
   scaled by 2.38^2 / d (Gelman, Roberts & Gilks 1996);
4. pyPESTO, parallel tempering (its default ladder of four temperatures) of adaptive
   Metropolis chains (Haario, Saksman & Tamminen 2001), started at the Laplace mode with its covariance;
5. dynesty, static nested sampling (Skilling 2006; Speagle 2020) with random-slice proposals, limited
   to the calls the others make in the same time; it also gives the evidence log Z.

The three emcee runs start from the same walkers (twice the Laplace SD around the fit). Reported: evaluations,
acceptance, the smallest bulk ESS over the parameters (ArviZ, walkers as chains, the first half discarded) and that
ESS per second, and the largest R-hat; for dynesty, Kish's effective sample size of its weighted draws, and log Z.

Run:  .venv/bin/python benchmarks/bench_sampler.py [--block innate] [--seconds 300] [--workers 2] [--samplers ...]
(pyPESTO and dynesty are not dependencies of gutjoint: ``pip install pypesto dynesty`` first.)
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


def run_emcee(move: str, block: str, seconds: float) -> dict:
    import warnings

    import emcee

    from gutjoint._studies.calibration import posterior

    warnings.filterwarnings("ignore")
    if move == "de-snooker":
        moves = posterior._moves("de-snooker")
    elif move == "stretch":
        moves = None
    else:
        _, cov = posterior.laplace(block)
        moves = emcee.moves.GaussianMove(cov * 2.38**2 / len(cov))
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        chain = posterior.sample_block(block, Path(folder) / "chain.h5", steps=1_000_000, seconds=seconds,
                                       moves=moves, start_from="laplace")
        wall = time.perf_counter() - t0
    checks = posterior.diagnostics(chain)
    ess = min(c["ess_bulk"] for c in checks.values())
    return {"sampler": f"emcee {move}", "evaluations": chain.samples.shape[0] * chain.samples.shape[1],
            "acceptance": chain.acceptance, "ess_min": ess, "ess_per_s": ess / wall,
            "r_hat_max": max(c["r_hat"] for c in checks.values()), "wall": wall, "log_z": math.nan}


def run_dynesty(block: str, seconds: float, calls: int) -> dict:
    import warnings

    import dynesty
    import numpy as np
    from scipy.stats import truncnorm

    from gutjoint._studies.calibration import fit, posterior

    warnings.filterwarnings("ignore")
    names = posterior.sampled(block)
    lo, hi = fit._bounds(names)
    flat = posterior._flat(names)
    literature = [posterior.LITERATURE_PRIORS.get(n) for n in names]

    def transform(u):
        x = np.empty_like(u)
        for i, (a, b) in enumerate(zip(lo, hi)):
            if literature[i] is not None:
                c, sd = math.log(literature[i][0]), posterior.LITERATURE_SD
                x[i] = truncnorm.ppf(u[i], (a - c) / sd, (b - c) / sd, loc=c, scale=sd)
            elif flat[i]:
                x[i] = math.log(math.exp(a) + u[i] * (math.exp(b) - math.exp(a)))
            else:
                x[i] = a + u[i] * (b - a)
        return x

    groups = posterior.noise_groups(block)
    residuals = posterior._block(block).residuals

    def log_like(x):
        try:
            value = -0.5 * posterior.deviance(residuals(dict(zip(names, np.exp(x)))), groups)
        except Exception:  # a run without a resting state: outside the support
            return -1e300
        return value if math.isfinite(value) else -1e300

    t0 = time.perf_counter()
    sampler = dynesty.NestedSampler(log_like, transform, len(names), nlive=250, sample="rslice",
                                    rstate=np.random.default_rng(1))
    sampler.run_nested(maxcall=calls, print_progress=False)
    wall = time.perf_counter() - t0
    result = sampler.results
    weights = np.exp(result.logwt - result.logz[-1])
    kish = float(weights.sum() ** 2 / np.sum(weights**2))
    return {"sampler": "dynesty rslice", "evaluations": int(np.sum(result.ncall)), "acceptance": math.nan,
            "ess_min": kish, "ess_per_s": kish / wall, "r_hat_max": math.nan, "wall": wall,
            "log_z": float(result.logz[-1]), "log_z_err": float(result.logzerr[-1])}


def run_zeus(block: str, seconds: float) -> dict:
    """zeus, ensemble slice sampling (Karamanis & Beutler 2021, Stat Comput 31:61) with its default differential
    move, from the walkers ``calibrate --sample`` starts from (1.5 times the Laplace SD around the mode)."""
    import warnings

    import numpy as np
    import zeus

    from gutjoint._studies.calibration import fit, posterior

    warnings.filterwarnings("ignore")
    names = posterior.sampled(block)
    lo, hi = fit._bounds(names)
    ndim = len(names)
    walkers = 2 * ndim + 2
    centre, cov = posterior.laplace(block)
    rng = np.random.default_rng([1, ndim])
    start = np.clip(centre + 1.5 * rng.standard_normal((walkers, ndim)) @ np.linalg.cholesky(cov).T,
                    lo + 1e-9, hi - 1e-9)
    sampler = zeus.EnsembleSampler(walkers, ndim, posterior.log_probability, args=(block, lo, hi), verbose=False)
    t0 = time.perf_counter()
    for _ in sampler.sample(start, iterations=1_000_000, progress=False):
        if time.perf_counter() - t0 > seconds:
            break
    wall = time.perf_counter() - t0
    samples = sampler.get_chain()
    chain = posterior.Chain(block, names, samples, sampler.get_log_prob(), 1.0, wall)
    checks = posterior.diagnostics(chain)
    ess = min(c["ess_bulk"] for c in checks.values())
    return {"sampler": "zeus slice", "evaluations": int(sampler.ncall), "acceptance": 1.0,
            "ess_min": ess, "ess_per_s": ess / wall,
            "r_hat_max": max(c["r_hat"] for c in checks.values()), "wall": wall, "log_z": math.nan}


def run_pypesto(block: str, seconds: float, chains: int = 4) -> dict:
    """pyPESTO's parallel tempering (``chains`` temperatures, its default ladder) of adaptive-Metropolis chains
    (Haario et al. 2001), started at the Laplace mode with the Laplace covariance; only the chain at temperature 1
    is a posterior sample. pyPESTO samples a fixed count, so the count is set from a timed pilot of 200 steps."""
    import warnings

    import arviz as az
    import numpy as np
    import pypesto
    import pypesto.sample as ps

    from gutjoint._studies.calibration import fit, posterior

    warnings.filterwarnings("ignore")
    names = posterior.sampled(block)
    lo, hi = fit._bounds(names)
    mode, cov = posterior.laplace(block)

    def neg_log_post(x):
        value = posterior.log_probability(np.asarray(x), block, lo, hi)
        return -value if math.isfinite(value) else np.inf

    problem = pypesto.Problem(objective=pypesto.Objective(fun=neg_log_post), lb=lo, ub=hi)

    def run(n):
        sampler = ps.ParallelTemperingSampler(
            internal_sampler=ps.AdaptiveMetropolisSampler({"cov0": cov * 2.38**2 / len(cov), "show_progress": False}),
            n_chains=chains, options={"show_progress": False})
        np.random.seed(1)
        return ps.sample(problem, n_samples=n, sampler=sampler, x0=[mode] * chains).sample_result

    t0 = time.perf_counter()
    run(200)
    per_step = (time.perf_counter() - t0) / 200
    t0 = time.perf_counter()
    result = run(max(200, int(seconds / per_step)))
    wall = time.perf_counter() - t0
    trace = np.asarray(result.trace_x[0])
    kept = trace[len(trace) // 2:]
    ess = float(np.min([az.ess(kept[:, i][None, :], method="bulk") for i in range(kept.shape[1])]))
    halves = np.stack([kept[: len(kept) // 2], kept[len(kept) // 2: 2 * (len(kept) // 2)]])
    r_hat = float(np.max([az.rhat(halves[:, :, i]) for i in range(kept.shape[1])]))
    moved = float(np.mean(np.any(np.diff(trace, axis=0) != 0, axis=1)))
    return {"sampler": f"pypesto PT x{chains}", "evaluations": len(trace) * chains, "acceptance": moved,
            "ess_min": ess, "ess_per_s": ess / wall, "r_hat_max": r_hat, "wall": wall, "log_z": math.nan}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--block", default="innate")
    ap.add_argument("--seconds", type=float, default=300.0)
    ap.add_argument("--workers", type=int, default=2, help="samplers run at a time (one core each)")
    ap.add_argument("--samplers", default="de-snooker,stretch,gaussian,pypesto,zeus,dynesty",
                    help="comma-separated subset of: de-snooker, stretch, gaussian, pypesto, zeus, dynesty")
    args = ap.parse_args()
    chosen = args.samplers.split(",")
    moves = [m for m in ("de-snooker", "stretch", "gaussian") if m in chosen]
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        emcee_jobs = [pool.submit(run_emcee, m, args.block, args.seconds) for m in moves]
        tempering = pool.submit(run_pypesto, args.block, args.seconds) if "pypesto" in chosen else None
        slicing = pool.submit(run_zeus, args.block, args.seconds) if "zeus" in chosen else None
        runs = [job.result() for job in emcee_jobs] + [job.result() for job in (tempering, slicing) if job]
    calls = max(r["evaluations"] for r in runs)
    if "dynesty" in chosen:
        runs.append(run_dynesty(args.block, args.seconds, calls))
    print(f"block {args.block}, {args.seconds:g} s each (dynesty: at most {calls} calls, the most any other run made)")
    print(f"{'sampler':20s} {'evals':>8s} {'accept':>7s} {'min ESS':>8s} {'ESS/s':>7s} {'max R-hat':>9s} {'log Z':>14s}")
    for r in runs:
        log_z = f"{r['log_z']:.1f} +- {r['log_z_err']:.1f}" if math.isfinite(r["log_z"]) else ""
        print(f"{r['sampler']:20s} {r['evaluations']:8d} {r['acceptance']:7.2f} {r['ess_min']:8.1f} "
              f"{r['ess_per_s']:7.3f} {r['r_hat_max']:9.3f} {log_z:>14s}  ({r['wall']:.0f} s)")
    print("dynesty's ESS is Kish's, of its weighted draws; it has no R-hat. The emcee rows' ESS and R-hat are after "
          "discarding the first half; pyPESTO's are of its temperature-1 chain after the first half, R-hat between "
          "the two halves of what is kept, and its acceptance is the share of steps that moved.")


if __name__ == "__main__":
    main()
