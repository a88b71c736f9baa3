"""The same virtual population of the same model at the same tolerances, three ways, in one run:

1. gutjoint's engine (generated numba right-hand side and Jacobian, LSODA via SciPy odeint), subject by subject,
   and batched (16 subjects as one banded system, see gutjoint.numerics.batch);
2. a SciPy solve_ivp LSODA loop on a plain Python (SymPy-lambdified) right-hand side, one subject at a time;
3. a libRoadRunner (CVODE) loop on the model's SBML, exported from the single definition.

Scenario: the gut-driven subject of `barrier-support` (365 days, daily output, support from day 90), with traits
and parameters drawn from the general-adult priors. Every engine starts each subject from the same resting state
(solved once, not timed) and reports subject-years per second, setup time, peak memory (RSS) and its largest
relative disagreement with gutjoint on pain, CRP and L:M.

Run:  .venv/bin/python benchmarks/population.py [--n 200] [--scipy-n 20]
"""

from __future__ import annotations

import argparse
import resource
import time
from dataclasses import replace

import numpy as np


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _batch_worker(args):
    """Run one block of subjects through the batched engine (in a worker process)."""
    y0, P, schedules, times, tolerances = args
    from gutjoint.numerics.batch import integrate_batch
    from gutjoint.studies.runtime import get_runtime

    return [r.states for r in integrate_batch(get_runtime().compiled, y0, P, schedules, times, tolerances=tolerances)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200, help="subjects for gutjoint and libRoadRunner")
    ap.add_argument("--scipy-n", type=int, default=20, help="subjects for the (slow) SciPy loop")
    ap.add_argument("--rtol", type=float, default=None, help="relative tolerance for all engines (default: the "
                    "engine default, 1e-8); atol = rtol / 100")
    args = ap.parse_args()

    import libsbml
    import roadrunner

    import gutjoint
    from gutjoint.biology.model import build_model
    from gutjoint.interfaces.sbml import build_sbml
    from gutjoint.numerics.integrate import integrate
    from gutjoint.numerics.reference import integrate_reference, lambdify_system
    from gutjoint.studies.population import subject_scenario
    from gutjoint.studies.priors import draw_subject
    from gutjoint.studies.runtime import get_runtime
    from gutjoint.studies.scenario import build_schedule, load_scenario, output_times
    from gutjoint.studies.simulate import DEFAULT_TOLERANCES, parameter_vector, resting_state

    runtime = get_runtime()
    base = load_scenario("barrier-support")
    base = replace(base, subject={})
    subjects = []
    for i in range(args.n):
        sc = subject_scenario(base, draw_subject(np.random.default_rng([1, i])))
        p = parameter_vector(runtime, sc)
        schedule = build_schedule(sc, runtime.input_names, runtime.state_names, p, runtime.parameters.names)
        subjects.append((sc, p, schedule, resting_state(runtime, sc, p).y))
    times = output_times(base)
    years = base.days / 365.0
    pick = [runtime.output_names.index(c) for c in ("pain_nrs", "crp_mg_l", "lm_ratio")]
    rtol, atol = DEFAULT_TOLERANCES.rtol, DEFAULT_TOLERANCES.atol
    if args.rtol:
        rtol, atol = args.rtol, args.rtol / 100
    tolerances = replace(DEFAULT_TOLERANCES, rtol=rtol, atol=atol)

    def outputs(states, p, schedule):
        return runtime.compiled.outputs_batch(np.ascontiguousarray(states), p,
                                              np.ascontiguousarray(schedule.inputs_at(times)))[:, pick]

    # 1. gutjoint
    gutjoint.simulate("healthy")
    t0 = time.perf_counter()
    ours = [outputs(integrate(runtime.compiled.rhs, runtime.compiled.jac, y0, p, sch, times,
                              tolerances=tolerances).states, p, sch)
            for _, p, sch, y0 in subjects]
    t_ours = time.perf_counter() - t0

    # 1b. gutjoint's batched engine (16 subjects per banded system)
    from gutjoint.numerics.batch import integrate_batch

    t0 = time.perf_counter()
    batched = []
    for start in range(0, args.n, 16):
        block = subjects[start:start + 16]
        runs = integrate_batch(runtime.compiled, np.array([b[3] for b in block]), np.array([b[1] for b in block]),
                               [b[2] for b in block], times, tolerances=tolerances)
        batched += [outputs(r.states, b[1], b[2]) for r, b in zip(runs, block)]
    t_batch = time.perf_counter() - t0

    # 1c. the batched engine on both cores (two warm worker processes, blocks of 16)
    from concurrent.futures import ProcessPoolExecutor

    jobs = [(np.array([b[3] for b in subjects[i:i + 16]]), np.array([b[1] for b in subjects[i:i + 16]]),
             [b[2] for b in subjects[i:i + 16]], times, tolerances) for i in range(0, args.n, 16)]
    with ProcessPoolExecutor(max_workers=2) as pool:
        list(pool.map(_batch_worker, jobs[:2]))  # warm both workers (imports, compiled-code load)
        t0 = time.perf_counter()
        list(pool.map(_batch_worker, jobs))
        t_two = time.perf_counter() - t0

    # 2. SciPy loop, plain Python rhs
    t0 = time.perf_counter()
    rhs, _ = lambdify_system(build_model().symbolic_system())
    setup_scipy = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs = [outputs(integrate_reference(rhs, None, y0, p, sch, times, rtol=rtol, atol=atol, method="LSODA"), p, sch)
              for _, p, sch, y0 in subjects[: args.scipy_n]]
    t_scipy = time.perf_counter() - t0

    # 3. libRoadRunner loop on the SBML
    t0 = time.perf_counter()
    rr = roadrunner.RoadRunner(libsbml.writeSBMLToString(build_sbml()))
    rr.integrator.relative_tolerance = rtol
    rr.integrator.absolute_tolerance = atol
    setup_rr = time.perf_counter() - t0
    names = runtime.parameters.names
    t0 = time.perf_counter()
    rr_out = []
    for sc, p, sch, y0 in subjects:
        rr.resetAll()  # then current values, not init(): changing init() makes libRoadRunner regenerate (~5 s)
        for name, value in zip(names, p):
            rr.setValue(name, float(value))
        for name, value in zip(runtime.state_names, y0):
            rr.setValue(name, float(value))
        rows = []
        for k, seg in enumerate(sch.segments):
            for name, level in zip(runtime.input_names, seg.u):
                rr.setValue(f"u_{name}", float(level))
            seg_times = times[(times >= seg.start) & ((times < seg.end) | (k == len(sch.segments) - 1) & (times <= seg.end))]
            grid = np.unique(np.concatenate([[seg.start], seg_times, [seg.end]]))
            res = rr.simulate(times=[float(x) for x in grid],
                              selections=["time", "pain_nrs", "crp_mg_l", "lm_ratio"])
            keep = np.isin(res[:, 0], seg_times)
            rows.append(res[keep, 1:])
        rr_out.append(np.vstack(rows))
    t_rr = time.perf_counter() - t0

    def worst(a_list, b_list):
        err = 0.0
        for a, b in zip(a_list, b_list):
            err = max(err, float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-6))))
        return err

    speed = lambda n, t: n * years / t  # noqa: E731
    print(f"population: {args.n} subjects x {base.days:g} days (barrier-support, priors), rtol {rtol:g}, 1 core")
    print(f"{'engine':44s} {'subject-years/s':>16s} {'setup s':>8s} {'max rel diff vs gutjoint':>26s}")
    print(f"{'gutjoint, one subject at a time (LSODA)':44s} {speed(args.n, t_ours):16.0f} {'(cached)':>8s} {'-':>26s}")
    print(f"{'gutjoint batched (16 per banded LSODA)':44s} {speed(args.n, t_batch):16.0f} {'(cached)':>8s} "
          f"{worst(batched, ours):26.2e}")
    print(f"{'gutjoint batched, 2 worker processes':44s} {speed(args.n, t_two):16.0f} {'(warm)':>8s} {'(same code)':>26s}")
    print(f"{'SciPy solve_ivp LSODA, plain Python rhs':44s} {speed(args.scipy_n, t_scipy):16.1f} {setup_scipy:8.1f} "
          f"{worst(theirs, ours[: args.scipy_n]):26.2e}")
    print(f"{'libRoadRunner (CVODE) on the SBML':44s} {speed(args.n, t_rr):16.0f} {setup_rr:8.2f} {worst(rr_out, ours):26.2e}")
    best = max(speed(args.n, t_ours), speed(args.n, t_batch))
    print(f"ratios (best gutjoint, 1 core): vs SciPy {best / speed(args.scipy_n, t_scipy):.0f}x, "
          f"vs libRoadRunner {best / speed(args.n, t_rr):.2f}x")
    print(f"ratios (gutjoint on this machine's 2 cores vs the single-process loops): vs SciPy "
          f"{speed(args.n, t_two) / speed(args.scipy_n, t_scipy):.0f}x, vs libRoadRunner "
          f"{speed(args.n, t_two) / speed(args.n, t_rr):.2f}x")
    print(f"peak RSS of this process: {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
