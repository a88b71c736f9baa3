"""The RODAS4 integrator on its own: a stiff linear system with a closed-form solution, compiled through the same
generator as the model (diffrax's test_ode_order is the pattern; with adaptive steps, the order shows in how the
error and the number of steps follow the tolerance)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from scipy.linalg import expm

from gutjoint.numerics.codegen import SymbolicSystem, compile_system
from gutjoint.numerics.integrate import Schedule, Segment, Tolerances, integrate_many
from gutjoint.numerics.status import Status

LAMBDA = 1000.0  # stiffness ratio 1000 between the two modes


def _linear_system() -> SymbolicSystem:
    y1, y2, lam, u = sp.symbols("y1 y2 lam u", real=True)
    return SymbolicSystem(states=(y1, y2), parameters=(lam,), inputs=(u,),
                          rhs=(-y1 + y2, -lam * y2 + u), outputs=(y1, y2))


@pytest.fixture(scope="module")
def compiled():
    return compile_system("test-stiff-linear-v1", _linear_system)


def _solve(compiled, rtol: float, t_end: float = 2.0):
    y0 = np.array([1.0, 1.0])
    schedule = Schedule.from_segments([Segment(0.0, t_end, np.array([0.0]))])
    run = integrate_many(compiled, y0, np.array([LAMBDA]), [schedule], [0.0, t_end],
                         tolerances=Tolerances(rtol=rtol, atol=rtol * 1e-3))[0]
    exact = expm(np.array([[-1.0, 1.0], [0.0, -LAMBDA]]) * t_end) @ y0
    # the slow mode y1 carries the solution; the fast one has decayed below every tolerance (exp(-2000))
    return run, float(abs(run.states[-1, 0] - exact[0]) / abs(exact[0])), run.extra["steps"]


def test_the_integrator_matches_the_closed_form_solution(compiled):
    run, error, _ = _solve(compiled, 1e-10)
    assert run.status is Status.SUCCESS
    assert error < 1e-8


def test_error_and_work_follow_the_tolerance_as_a_fourth_order_method_should(compiled):
    rtols = np.array([1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9])
    errors, steps = map(np.array, zip(*[_solve(compiled, r)[1:] for r in rtols]))
    assert np.all(np.diff(errors) < 0)  # tighter tolerance, smaller error
    assert np.all(errors < 100 * rtols)  # and the error stays near what was asked
    # steps ~ tol^(-1/(q+1)) for an embedded error estimate of order q: RODAS4's is 3, so the slope is ~ -0.25;
    # a first-order method would give -0.5, a broken tableau far steeper
    slope = np.polyfit(np.log(rtols), np.log(steps), 1)[0]
    assert -0.33 < slope < -0.18, slope
