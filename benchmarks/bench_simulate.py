"""Speed of one subject: warm 365-day simulation, compile time, CLI wall time (cold and warm cache),
and the ratios against what a user would pick (SciPy solve_ivp LSODA on a plain Python rhs; libRoadRunner on
the exported SBML).

Run:  .venv/bin/python benchmarks/bench_simulate.py
Prints medians; nothing here is a pass/fail test.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def cli_wall(args: list[str], env: dict) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "gutjoint", *args], env=env, check=True,
                   capture_output=True)
    return time.perf_counter() - t


def main() -> None:
    import gutjoint
    from gutjoint._biology.model import build_model
    from gutjoint._numerics.reference import integrate_reference, lambdify_system
    from gutjoint._studies.problem import prepare

    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as work:
        env = dict(os.environ, GUTJOINT_CACHE=cache)
        code = ("import time; t=time.perf_counter(); import gutjoint; gutjoint.simulate('healthy'); "
                "print(time.perf_counter()-t)")
        compile_s = float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                         check=True).stdout)
        shutil_args = ["simulate", "healthy", "--out", str(Path(work) / "h.csv")]
        import shutil

        shutil.rmtree(cache)
        first = cli_wall(shutil_args, env)
        second = statistics.median(cli_wall(shutil_args, env) for _ in range(3))

    gutjoint.simulate("healthy")  # warm up
    warm = median_time(lambda: gutjoint.simulate("healthy"), 20)

    # The alternative a typical user writes: plain Python rhs, solve_ivp LSODA, same tolerances, on a
    # scenario that moves (barrier support from day 90) rather than one that sits at rest.
    problem = prepare("barrier-support")
    sc, p, rest, schedule, times = problem.scenario, problem.p, problem.rest, problem.schedule, problem.times
    runtime = problem.runtime
    rhs, _ = lambdify_system(build_model().symbolic_system())
    engine = median_time(lambda: gutjoint.simulate(sc), 20)
    plain = median_time(lambda: integrate_reference(rhs, None, rest.y, p, schedule, times, rtol=1e-8, atol=1e-10,
                                                    method="LSODA"), 3)

    print(f"compile (cold cache: codegen + numba JIT + 1 run):   {compile_s:8.2f} s")
    print(f"gutjoint simulate healthy, first run (cold cache):   {first:8.2f} s")
    print(f"gutjoint simulate healthy, second run (warm cache):  {second:8.2f} s   (goal <= 3 s)")
    print(f"one 365-day simulation, warm (median of 20):         {warm * 1e3:8.1f} ms  (goal <= 20 ms)")
    print(f"  = {1 / warm:.0f} subject-years/s on one core (includes steady-state solve and output table)")
    print(f"barrier-support year: gutjoint {engine * 1e3:.1f} ms vs SciPy solve_ivp LSODA on a plain Python rhs "
          f"(same tolerances) {plain * 1e3:.1f} ms -> {plain / engine:.0f}x faster")
    # libRoadRunner (CVODE) on the SBML exported from the same definition, same scenario and tolerances.
    import libsbml
    import roadrunner

    from gutjoint._interfaces.sbml import build_sbml

    t0 = time.perf_counter()
    rr = roadrunner.RoadRunner(libsbml.writeSBMLToString(build_sbml()))
    rr.integrator.relative_tolerance, rr.integrator.absolute_tolerance = 1e-8, 1e-10
    rr_setup = time.perf_counter() - t0

    def run_rr():
        rr.resetAll()
        for name, value in zip(runtime.parameters.names, p):
            rr.setValue(name, float(value))
        for name, value in zip(runtime.state_names, rest.y):
            rr.setValue(name, float(value))
        for seg in schedule.segments:
            for name, level in zip(runtime.input_names, seg.u):
                rr.setValue(f"u_{name}", float(level))
            rr.simulate(float(seg.start), float(seg.end), int(seg.end - seg.start) + 1, selections=["time", "pain_nrs"])

    rr_time = median_time(run_rr, 10)
    print(f"barrier-support year: libRoadRunner (CVODE, SBML) {rr_time * 1e3:.1f} ms (setup {rr_setup:.2f} s) -> "
          f"gutjoint is {rr_time / engine:.1f}x faster")


if __name__ == "__main__":
    main()
