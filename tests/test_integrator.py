"""The RODAS4 integrator on its own: a stiff linear system with a closed-form solution, compiled through the same
generator as the model (diffrax's test_ode_order is the pattern; with adaptive steps, the order shows in how the
error and the number of steps follow the tolerance)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from scipy.linalg import expm

from gutjoint._numerics.codegen import SymbolicSystem, compile_system
from gutjoint._numerics.integrate import Schedule, Segment, Tolerances, integrate_many
from gutjoint._numerics.status import Status

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


# The kernels alone: bound to a hand-written model (tests/stiff_linear_model.py), no code generator involved.
STIFF = np.array([-1000.0, 1000.0, 0.0, -1.0])  # A = [[-1000, 1000], [0, -1]]: modes decay at rates 1000 and 1
SLOW_MODE = np.array([1000.0 / 999.0, 1.0])  # the eigenvector of the slow mode: the fast state rides on it


def _fixed_steps(model, y0, h: float, n_steps: int) -> np.ndarray:
    n = y0.size
    y, y_new, f0 = y0.copy(), np.empty(n), np.empty(n)
    J, LU, K = np.zeros((n, n)), np.zeros((n, n)), np.empty((6, n))
    work = [np.empty(n) for _ in range(3)]
    u, atol = np.zeros(1), np.full(n, 1e-12)
    for _ in range(n_steps):
        model.rhs_into(y, STIFF, u, f0)
        ratio, _ = model.rodas4_step(y, f0, STIFF, u, h, 1e-12, atol, J, LU, work[0], K, np.empty(5), work[1],
                                     work[2], y_new)
        assert ratio > 1e-12
        y[:] = y_new
    return y


def test_the_rodas4_step_converges_at_fourth_order_on_a_stiff_problem():
    """diffrax's test_ode_order pattern: fixed steps h, global error against the closed form, slope of log error
    against log h. The steps are 8 to 128 times longer than the fast mode's time constant, the regime a stiff
    method is for."""
    import stiff_linear_model as model

    t_end = 1.0
    exact = expm(STIFF.reshape(2, 2) * t_end) @ SLOW_MODE
    steps = np.array([8, 16, 32, 64, 128])
    errors = np.array([np.max(np.abs(_fixed_steps(model, SLOW_MODE, t_end / n, n) - exact)) for n in steps])
    order = -np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert 3.7 < order < 4.3, (order, errors)


def test_the_bound_batch_driver_solves_the_hand_written_model():
    """The same kernels as every generated model's, through their batch driver and its outputs grid."""
    import stiff_linear_model as model

    times = np.linspace(0.0, 2.0, 5)
    Y0 = np.array([[1.0, 1.0], SLOW_MODE])
    P = np.tile(STIFF, (2, 1))
    out = np.full((2, times.size, 2), np.nan)
    info = np.zeros((2, 5), dtype=np.int64)
    model.rodas4_batch(Y0, P, np.array([[0.0, 2.0]] * 2), np.array([1, 1], dtype=np.int64), np.zeros((2, 1, 1)),
                       np.zeros((2, 1, 2)), times, 1e-10, np.full(2, 1e-14), 100_000, -1e-6, out, info)
    assert np.all(info[:, 0] == Status.SUCCESS.engine_code)
    for k in range(2):
        exact = np.array([expm(STIFF.reshape(2, 2) * t) @ Y0[k] for t in times])
        np.testing.assert_allclose(out[k], exact, rtol=1e-7, atol=1e-12)


def test_binding_names_the_missing_model_functions():
    from gutjoint._numerics import rodas4

    with pytest.raises(TypeError, match="jac_into, lu_factor, lu_solve"):
        rodas4.bind({"__file__": __file__, "rhs_into": None})
