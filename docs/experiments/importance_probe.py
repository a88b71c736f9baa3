"""Importance sampling of the innate block's posterior from a Student-t fitted to the shipped ensemble's draws.

A probe, not part of gutjoint (docs/experiments/global-samplers.md). Proposals come from a multivariate t
(``--df``) with the draws' mean and covariance times ``--inflate``, either in the log-parameters (``--space
log``) or in the logit of each parameter's place in its range (``--space logit``, where every proposal is inside
the box). Reported: the share of proposals inside the box, Kish's effective sample size of the importance
weights, and the Pareto k of PSIS (Vehtari et al. 2024; above 0.7 the weights are unusable).

Run:  .venv/bin/python docs/experiments/importance_probe.py --space logit --df 5 --inflate 1 --n 800
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    import arviz as az
    from scipy import stats
    from scipy.special import expit, logit

    from gutjoint._processes import Executor
    from gutjoint._studies.calibration import fit, posterior
    from gutjoint._studies.ensemble import load_ensemble

    ap = argparse.ArgumentParser()
    ap.add_argument("--space", choices=("log", "logit"), default="logit")
    ap.add_argument("--df", type=float, default=5.0)
    ap.add_argument("--inflate", type=float, default=1.0)
    ap.add_argument("--n", type=int, default=800)
    args = ap.parse_args()

    names = posterior.sampled("innate")
    lo, hi = fit._bounds(names)
    X = np.log(load_ensemble().values[list(names)].to_numpy(float))
    Y = logit((X - lo) / (hi - lo)) if args.space == "logit" else X
    q = stats.multivariate_t(loc=Y.mean(0), shape=np.cov(Y.T) * args.inflate, df=args.df, seed=1)
    proposals = q.rvs(args.n)
    if args.space == "logit":
        s = expit(proposals)
        x = lo + (hi - lo) * s
        log_jacobian = np.sum(np.log(hi - lo) + np.log(s) + np.log1p(-s), axis=1)
    else:
        x, log_jacobian = proposals, np.zeros(args.n)
    inside = np.all((x > lo) & (x < hi), axis=1)
    with Executor(2) as pool:
        log_post = np.array(list(pool.map(posterior.log_probability, list(x), ["innate"] * args.n,
                                          [lo] * args.n, [hi] * args.n)))
        shipped = np.array(list(pool.map(posterior.log_probability, list(X), ["innate"] * len(X),
                                         [lo] * len(X), [hi] * len(X))))
    log_w = log_post + log_jacobian - q.logpdf(proposals)
    ok = np.isfinite(log_w)
    w = np.exp(log_w[ok] - log_w[ok].max())
    print(f"space {args.space}, df {args.df:g}, inflate {args.inflate:g}: {inside.mean():.0%} of {args.n} proposals "
          f"inside the box; Kish ESS {w.sum() ** 2 / np.sum(w ** 2):.1f} of {ok.sum()}; "
          f"PSIS k {az.psislw(log_w[ok])[1]:.2f}")
    print(f"log posterior: shipped draws median {np.median(shipped):.1f}, max {shipped.max():.1f}; "
          f"best proposal {log_post[ok].max():.1f}")


if __name__ == "__main__":
    main()
