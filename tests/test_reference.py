"""The fast engine (generated numba code + LSODA) against an independent reference (SymPy lambdify +
SciPy Radau at rtol 1e-11) on every built-in scenario.

Agreement criterion, per output column: |fast - ref| <= 1e-4 * |ref| + atol_floor, with an absolute floor of
1e-7 in the column's own unit (quantities that sit near zero, such as a clean mucosa, have no meaningful
relative error below that).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gutjoint
from gutjoint._biology.model import build_model
from gutjoint._numerics.reference import integrate_reference, lambdify_system
from gutjoint._studies.runtime import get_runtime
from gutjoint._studies.scenario import load_scenario
from gutjoint._studies.problem import DEFAULT_TOLERANCES, MANY_RUN_TOLERANCES, evaluate_outputs, prepare

RTOL, ATOL_FLOOR = 1e-4, 1e-7


@pytest.fixture(scope="module")
def reference_functions():
    return lambdify_system(build_model().symbolic_system())


@pytest.mark.parametrize("name", sorted(gutjoint.scenarios()))
def test_engine_matches_reference(name, reference_functions):
    """Both engine tolerances, the one for a single run and the one for work over many runs, on every built-in
    scenario against one reference integration."""
    scenario = load_scenario(name)
    runtime = get_runtime()
    runs = {t: gutjoint.simulate(scenario, tolerances=t) for t in (DEFAULT_TOLERANCES, MANY_RUN_TOLERANCES)}
    assert all(run.ok for run in runs.values())

    problem = prepare(scenario)
    p, schedule, rest, times = problem.p, problem.schedule, problem.rest, problem.times
    rhs, jac = reference_functions
    # the reference steady state is checked too: the engine's rest point must zero the lambdified rhs
    residual = rhs(0.0, rest.y, p, schedule.segments[0].u)
    free = [i for i, s in enumerate(runtime.state_names) if s != "cartilage"]
    assert np.max(np.abs(residual[free]) / np.maximum(np.abs(rest.y[free]), 1e-3)) < 1e-8

    states = integrate_reference(rhs, jac, rest.y, p, schedule, times)
    from gutjoint._numerics.integrate import Trajectory

    columns = runs[DEFAULT_TOLERANCES].frame.columns
    ref = pd.DataFrame(np.column_stack([times, evaluate_outputs(problem, Trajectory(times, states))]), columns=columns)
    for tolerances, fast in runs.items():
        for column in ref.columns:
            a, b = fast.frame[column].to_numpy(), ref[column].to_numpy()
            err = np.abs(a - b) - (RTOL * np.abs(b) + ATOL_FLOOR)
            worst = int(np.argmax(err))
            assert err[worst] <= 0, (f"{name}.{column} at rtol {tolerances.rtol:g}, t={times[worst]:g}: engine "
                                     f"{a[worst]:.10g} vs reference {b[worst]:.10g}")
