"""The same virtual population of the same model at the same tolerances, several ways, in one run.

Engines:
1. gutjoint: the compiled RODAS4 engine (generated numba right-hand side, analytic Jacobian, sparse LU and stepping
   loop), all subjects in one call; then the same on both cores (two worker processes);
2. SciPy LSODA (``odeint``) calling gutjoint's numba right-hand side and Jacobian, one subject at a time: the
   strongest thing a SciPy user could assemble;
3. SciPy ``solve_ivp`` LSODA on a plain Python (SymPy-lambdified) right-hand side, one subject at a time;
4. libRoadRunner (CVODE) on the model's SBML, exported from the single definition, one subject at a time, in one
   process and in two.

Scenario: `barrier-support` (365 days, daily output, support from day 90) with traits and parameters drawn from the
general-adult priors. Every engine starts each subject from the same resting state (solved once, not timed).
Each engine runs in a fresh worker process, which reports its setup time (imports, model load/compilation from the
warm cache, SBML parsing), its run time and its peak RSS. Agreement: the largest relative difference in pain, CRP
and L:M from gutjoint at rtol 1e-10 (itself checked against SciPy Radau in tests/test_reference.py).

Run:  .venv/bin/python benchmarks/population.py [--n 10000] [--scipy-n 200] [--rtol 1e-6]
"""

from __future__ import annotations

import argparse
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import numpy as np

COLUMNS = ("pain_nrs", "crp_mg_l", "lm_ratio")


def _population(n: int):
    """Parameter vectors, schedules and resting states of n subjects drawn from the priors."""
    from gutjoint._studies.people import subject_scenario
    from gutjoint._studies.priors import draw_subject
    from gutjoint._studies.problem import prepare
    from gutjoint._studies.scenario import load_scenario

    base = replace(load_scenario("barrier-support"), subject={})
    problems = [prepare(subject_scenario(base, draw_subject(np.random.default_rng([1, i])))) for i in range(n)]
    return (np.array([q.p for q in problems]), [q.schedule for q in problems], np.array([q.rest.y for q in problems]),
            problems[0].times, base.days / 365.0)


def _outputs(states, p, schedule, times):
    from gutjoint._studies.runtime import get_runtime

    runtime = get_runtime()
    pick = [runtime.output_names.index(c) for c in COLUMNS]
    return runtime.compiled.outputs_batch(np.ascontiguousarray(states), p,
                                          np.ascontiguousarray(schedule.inputs_at(times)))[:, pick]


def _segment_grid(schedule, times, k):
    seg = schedule.segments[k]
    last = k == len(schedule.segments) - 1
    mask = (times >= seg.start) & ((times < seg.end) | (last & (times <= seg.end)))
    return seg, mask, np.concatenate(([seg.start], times[mask], [seg.end]))


def run_engine(engine: str, P, schedules, Y0, times, rtol, atol):
    """Run one engine on the subjects in this (fresh) process: setup s, run s, outputs, stats, peak RSS MB."""
    t0 = time.perf_counter()
    from gutjoint._numerics.integrate import Tolerances, integrate_many
    from gutjoint._studies.runtime import get_runtime

    runtime = get_runtime()
    tol = Tolerances(rtol=rtol, atol=atol)
    stats = ""
    if engine == "gutjoint":
        integrate_many(runtime.compiled, Y0[:1], P[:1], schedules[:1], times, tolerances=tol)  # loads the cache
        setup = time.perf_counter() - t0
        elapsed, states, work = 0.0, [], []
        for start in range(0, len(P), 500):  # blocks, as populations run, so memory stays flat
            block = slice(start, start + 500)
            t0 = time.perf_counter()
            runs = integrate_many(runtime.compiled, Y0[block], P[block], schedules[block], times, tolerances=tol)
            elapsed += time.perf_counter() - t0
            work += [(r.extra["steps"], r.n_rhs, r.extra["factorisations"]) for r in runs]
            states += [_outputs(r.states, p, sch, times) for r, p, sch in zip(runs, P[block], schedules[block])]
        mean = np.mean(work, axis=0)
        stats = f"{mean[0]:.0f} steps, {mean[1]:.0f} rhs, {mean[2]:.0f} LU"
    elif engine == "scipy-numba":
        from scipy.integrate import odeint

        compiled = runtime.compiled
        setup = time.perf_counter() - t0
        t0 = time.perf_counter()
        states, nfe, nje, nst = [], 0, 0, 0
        for p, sch, y0 in zip(P, schedules, Y0):
            y, out = y0.copy(), np.full((times.size, y0.size), np.nan)
            for k in range(len(sch.segments)):
                seg, mask, grid = _segment_grid(sch, times, k)
                if seg.jump is not None:
                    y = y + seg.jump
                sol, info = odeint(compiled.rhs, y, grid, args=(p, seg.u), Dfun=compiled.jac, rtol=rtol, atol=atol,
                                   mxstep=50_000, full_output=True)
                nfe, nje, nst = nfe + info["nfe"][-1], nje + info["nje"][-1], nst + info["nst"][-1]
                out[mask], y = sol[1:-1], sol[-1]
            states.append(out)
        elapsed = time.perf_counter() - t0
        stats = f"{nst / len(P):.0f} steps, {nfe / len(P):.0f} rhs, {nje / len(P):.0f} Jacobians"
    elif engine == "scipy-python":
        from gutjoint._biology.model import build_model
        from gutjoint._numerics.reference import integrate_reference, lambdify_system

        rhs, _ = lambdify_system(build_model().symbolic_system())
        setup = time.perf_counter() - t0
        t0 = time.perf_counter()
        states = [integrate_reference(rhs, None, y0, p, sch, times, rtol=rtol, atol=atol, method="LSODA")
                  for p, sch, y0 in zip(P, schedules, Y0)]
        elapsed = time.perf_counter() - t0
    elif engine == "roadrunner":
        import libsbml
        import roadrunner

        from gutjoint._interfaces.sbml import build_sbml

        rr = roadrunner.RoadRunner(libsbml.writeSBMLToString(build_sbml()))
        rr.integrator.relative_tolerance = rtol
        rr.integrator.absolute_tolerance = atol
        setup = time.perf_counter() - t0
        names = runtime.parameters.names
        t0 = time.perf_counter()
        states = []
        for p, sch, y0 in zip(P, schedules, Y0):
            rr.resetAll()  # then current values, not init(): changing init() makes libRoadRunner regenerate (~5 s)
            for name, value in zip(names, p):
                rr.setValue(name, float(value))
            for name, value in zip(runtime.state_names, y0):
                rr.setValue(name, float(value))
            out = np.full((times.size, y0.size), np.nan)
            for k in range(len(sch.segments)):
                seg, mask, grid = _segment_grid(sch, times, k)
                for name, level in zip(runtime.input_names, seg.u):
                    rr.setValue(f"u_{name}", float(level))
                for name, jump in zip(runtime.state_names, seg.jump if seg.jump is not None else ()):
                    if jump:
                        rr.setValue(name, rr.getValue(name) + float(jump))
                grid = np.unique(grid)
                res = rr.simulate(times=[float(x) for x in grid], selections=["time", *runtime.state_names])
                keep = np.isin(res[:, 0], times[mask])
                out[mask] = np.asarray(res[keep, 1:])
            states.append(out)
        elapsed = time.perf_counter() - t0
    else:
        raise ValueError(engine)
    outputs = states if engine == "gutjoint" else [_outputs(s, p, sch, times) for s, p, sch in zip(states, P, schedules)]
    return setup, elapsed, outputs, stats, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fresh(engine, *args):
    with ProcessPoolExecutor(max_workers=1) as pool:
        return pool.submit(run_engine, engine, *args).result()


def _on_two_cores(engine, P, schedules, Y0, times, rtol, atol):
    """The engine on both cores: two fresh workers, each given half the subjects; wall time of the slower."""
    half = len(P) // 2
    parts = [(P[:half], schedules[:half], Y0[:half]), (P[half:], schedules[half:], Y0[half:])]
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run_engine, [engine] * 2, *zip(*parts), [times] * 2, [rtol] * 2, [atol] * 2))
    return max(r[0] for r in results), max(r[1] for r in results), results[0][2] + results[1][2], results[0][3], \
        max(r[4] for r in results)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000, help="subjects for gutjoint and libRoadRunner")
    ap.add_argument("--scipy-n", type=int, default=100, help="subjects for the SciPy loops")
    ap.add_argument("--rtol", type=float, default=1e-6, help="relative tolerance for every engine; atol = rtol/100")
    args = ap.parse_args()
    rtol, atol = args.rtol, args.rtol / 100

    t0 = time.perf_counter()
    P, schedules, Y0, times, years = _population(args.n)
    print(f"population: {args.n} subjects x {years * 365:g} days (barrier-support, general-adult priors), rtol {rtol:g},"
          f" atol {atol:g}; subjects drawn and rested in {time.perf_counter() - t0:.0f} s (not timed below)")
    truth = _fresh("gutjoint", P, schedules, Y0, times, 1e-10, 1e-12)[2]
    m = args.scipy_n
    rows = [
        ("gutjoint RODAS4, 1 process", args.n, _fresh("gutjoint", P, schedules, Y0, times, rtol, atol)),
        ("gutjoint RODAS4, 2 processes", args.n, _on_two_cores("gutjoint", P, schedules, Y0, times, rtol, atol)),
        ("SciPy odeint LSODA + numba rhs/Jacobian", m, _fresh("scipy-numba", P[:m], schedules[:m], Y0[:m], times, rtol, atol)),
        ("SciPy solve_ivp LSODA, plain Python rhs", m, _fresh("scipy-python", P[:m], schedules[:m], Y0[:m], times, rtol, atol)),
        ("libRoadRunner CVODE, 1 process", args.n, _fresh("roadrunner", P, schedules, Y0, times, rtol, atol)),
        ("libRoadRunner CVODE, 2 processes", args.n, _on_two_cores("roadrunner", P, schedules, Y0, times, rtol, atol)),
    ]

    def worst(outputs):
        return max(float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-6))) for a, b in zip(outputs, truth))

    speed = {name: n * years / r[1] for name, n, r in rows}
    print(f"\n{'engine':42s} {'subj-yr/s':>10s} {'setup s':>8s} {'peak RSS MB':>12s} {'max rel err':>12s}  work per subject")
    for name, n, (setup, _, outputs, stats, rss) in rows:
        print(f"{name:42s} {speed[name]:10.0f} {setup:8.2f} {rss:12.0f} {worst(outputs):12.2e}  {stats}")
    ours1, ours2 = speed["gutjoint RODAS4, 1 process"], speed["gutjoint RODAS4, 2 processes"]
    print("\nratios, gutjoint on 2 processes against:")
    for name in speed:
        if not name.startswith("gutjoint"):
            print(f"  {name:42s} {ours2 / speed[name]:8.1f}x")
    print(f"like for like (1 process each): vs libRoadRunner {ours1 / speed['libRoadRunner CVODE, 1 process']:.1f}x, "
          f"vs SciPy plain {ours1 / speed['SciPy solve_ivp LSODA, plain Python rhs']:.0f}x")

    # The whole run_population on 1 process (selection, resting states, three runs per person, metrics, Parquet)
    # against the engine calls inside it, timed in the same run.
    wall, engine, newton, outputs = _fresh_whole(args.n)
    print(f"\nwhole run_population, {args.n} people, 1 process (rtol 1e-8): {wall:.1f} s, of which the integrator "
          f"{engine:.1f} s ({engine / wall:.0%}), output evaluation {outputs:.1f} s, resting Newton {newton:.1f} s: "
          f"the whole run is {wall / engine:.2f}x the engine-only time")

    # What users run: the whole `gutjoint population barrier-support` (selection, resting states, the three runs
    # per person, metrics, Parquet), at its own tolerances (rtol 1e-8), on 2 workers, for the same number of people.
    e2e = _end_to_end(args.n)
    people = args.n / e2e
    rr1 = args.n / rows[4][2][1]
    print(f"\nend to end, `gutjoint population barrier-support --n {args.n} --workers 2` (rtol 1e-8): {e2e:.1f} s, "
          f"{people:.0f} people/s; {people / rr1:.1f}x the people per second of the libRoadRunner single-process loop "
          f"(rtol {rtol:g}, one run per person); the engine alone on 2 processes would take "
          f"{rows[1][2][1]:.1f} s for one run per person at rtol {rtol:g}")
    lean = _end_to_end(args.n, comparisons=False)
    print(f"the same with --no-comparisons (one run per person, as the libRoadRunner loop does; no gut_share or "
          f"relief): {lean:.1f} s, {args.n / lean:.0f} people/s, {args.n / lean / rr1:.1f}x the libRoadRunner loop")
    # Like for like: the command at the libRoadRunner loop's own tolerances (--rtol/--atol), with and without the
    # comparison runs. The default tolerances stay the default; benchmarks/tolerance.py prints what each costs.
    from gutjoint._numerics.integrate import Tolerances

    same = Tolerances(rtol=rtol, atol=atol)
    for comparisons in (True, False):
        wall = _end_to_end(args.n, comparisons=comparisons, tolerances=same)
        print(f"at rtol {rtol:g} / atol {atol:g}, as the libRoadRunner loop{'' if comparisons else ', --no-comparisons'}: "
              f"{wall:.1f} s, {args.n / wall:.0f} people/s, {args.n / wall / rr1:.1f}x the libRoadRunner loop")
    # The two lines above time run_population in this process, which has the model loaded, as the libRoadRunner
    # loop is timed after its SBML is loaded. A user's command also starts Python, imports and loads the model.
    for flags in ((), ("--no-comparisons",)):
        wall = _command(args.n, flags)
        print(f"the command itself, start-up included (`gutjoint population barrier-support --n {args.n} --seed 1 "
              f"--workers 2{' ' + ' '.join(flags) if flags else ''}`): {wall:.1f} s, {args.n / wall:.0f} people/s, "
              f"{args.n / wall / rr1:.1f}x the libRoadRunner loop's run rate")


def _whole_with_engine_clock(n: int) -> tuple[float, float, float, float]:
    """run_population in this (fresh) process with a clock around the compiled calls: wall, integrator, Newton
    and output-evaluation seconds (the selection pilot is built first and not timed)."""
    import tempfile
    from dataclasses import replace

    from gutjoint._studies import population, runtime

    rt = runtime.get_runtime()
    spent = {"rodas4_batch": 0.0, "rest_newton_batch": 0.0, "outputs_scheduled": 0.0}

    def clocked(name):
        inner = getattr(rt.compiled, name)

        def call(*args):
            t0 = time.perf_counter()
            result = inner(*args)
            spent[name] += time.perf_counter() - t0
            return result
        return call

    object.__setattr__(rt, "compiled", replace(rt.compiled, **{name: clocked(name) for name in spent}))
    population._selection_model()
    spent.update(dict.fromkeys(spent, 0.0))  # the pilot above is not part of the timed run
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        population.run_population("barrier-support", n=n, seed=1, out=out)
        wall = time.perf_counter() - t0
    return wall, spent["rodas4_batch"], spent["rest_newton_batch"], spent["outputs_scheduled"]


def _fresh_whole(n: int):
    with ProcessPoolExecutor(max_workers=1) as pool:
        return pool.submit(_whole_with_engine_clock, n).result()


def _command(n: int, flags: tuple[str, ...]) -> float:
    """Wall time of the CLI command in a fresh process (the model and the selection table from the disk cache)."""
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    command = Path(sys.executable).with_name("gutjoint")
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        subprocess.run([str(command), "population", "barrier-support", "--n", str(n), "--seed", "1", "--workers", "2",
                        *flags, "--out", out], check=True, capture_output=True)
        return time.perf_counter() - t0


def _end_to_end(n: int, comparisons: bool = True, tolerances=None) -> float:
    import tempfile

    from gutjoint._studies.population import run_population
    from gutjoint._studies.problem import DEFAULT_TOLERANCES

    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        run_population("barrier-support", n=n, seed=1, out=out, workers=2, comparisons=comparisons,
                       tolerances=tolerances or DEFAULT_TOLERANCES)
        return time.perf_counter() - t0


if __name__ == "__main__":
    main()
