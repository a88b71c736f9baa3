"""What the engine's tolerance buys: accuracy against the reference and speed, at the default and looser settings.

Every built-in scenario is integrated once by the independent reference (SymPy lambdify + SciPy Radau at rtol
1e-11, as in tests/test_reference.py). The compiled engine then runs each one at every tolerance below, and its
worst error over all outputs and times is printed against the criterion the tests hold the default to
(|engine - reference| <= 1e-4 x |reference| + 1e-7). Speed is the warm engine (prepared problems, one process)
on 400 people-years of barrier-support, as the ratio to the default. The population and sensitivity commands
spend about half their time in the engine, so a ratio here is an upper bound on what they would gain.

Run:  .venv/bin/python benchmarks/tolerance.py [--people 400]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

SETTINGS = ((1e-8, 1e-10), (1e-7, 1e-9), (1e-6, 1e-8))
"""(rtol, atol) pairs; the first is ``DEFAULT_TOLERANCES``."""
CRITERION, FLOOR = 1e-4, 1e-7


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=400)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    import gutjoint
    from gutjoint._biology.model import build_model
    from gutjoint._numerics.integrate import Tolerances, Trajectory
    from gutjoint._numerics.reference import integrate_reference, lambdify_system
    from gutjoint._studies.problem import DEFAULT_TOLERANCES, evaluate_outputs, prepare, prepare_many, solve_many

    assert (DEFAULT_TOLERANCES.rtol, DEFAULT_TOLERANCES.atol) == SETTINGS[0]
    rhs, jac = lambdify_system(build_model().symbolic_system())
    problems = {name: prepare(name) for name in sorted(gutjoint.scenarios())}
    reference = {}
    for name, problem in problems.items():
        states = integrate_reference(rhs, jac, problem.rest.y, problem.p, problem.schedule, problem.times)
        reference[name] = evaluate_outputs(problem, Trajectory(problem.times, states))
    people = prepare_many(["barrier-support"] * args.people,
                          [{"barrier_resilience": 0.5 + i / args.people} for i in range(args.people)])
    base = None
    print(f"{len(problems)} built-in scenarios against the reference; speed on {args.people} people-years")
    print(f"{'rtol':>6} {'atol':>6} | worst error / criterion | worst scenario      | ms per person-year | speed-up")
    for rtol, atol in SETTINGS:
        tolerances = Tolerances(rtol=rtol, atol=atol)
        worst, where = 0.0, ""
        for name, problem in problems.items():
            ref = reference[name]
            excess = np.abs(problem.solve(tolerances=tolerances).outputs - ref) / (CRITERION * np.abs(ref) + FLOOR)
            if float(np.max(excess)) > worst:
                worst, where = float(np.max(excess)), name
        solve_many(people[:10], tolerances=tolerances)  # warm
        t0 = time.perf_counter()
        solve_many(people, tolerances=tolerances)
        per = (time.perf_counter() - t0) / args.people * 1e3
        base = base or per
        print(f"{rtol:6.0e} {atol:6.0e} | {worst:23.3f} | {where:19s} | {per:18.3f} | {base / per:7.2f}x")
    print("(worst error / criterion < 1 meets the reference test; the default is the first row)")


if __name__ == "__main__":
    main()
