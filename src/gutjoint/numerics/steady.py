"""Resting steady states: solve f(y) = 0, with a long-integration fallback.

Some states may be held fixed (structural states whose "equilibrium" is decades away); the others are
solved for. A compiled pseudo-transient Newton iteration is tried first when the caller has one; then the root
finder (MINPACK ``hybrj`` through SciPy, with the analytic Jacobian) from the caller's guess. If it fails, or lands on a point that is not a stable rest (negative states, a
Jacobian eigenvalue with positive real part), the system is integrated for a long time with the fixed
states frozen, and the root finder polishes the end point.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SteadyState:
    y: np.ndarray
    ok: bool
    method: str
    residual: float


def _restricted(rhs, jac, y_full, free, p, u):
    def f(z):
        y = y_full.copy()
        y[free] = z
        return rhs(y, 0.0, p, u)[free]

    def j(z):
        y = y_full.copy()
        y[free] = z
        return jac(y, 0.0, p, u)[np.ix_(free, free)]

    return f, j


def _stable(jac, y, free, p, u) -> bool:
    """Every eigenvalue of the free states' Jacobian has a negative real part: a rest the body returns to."""
    J = jac(y, 0.0, p, u)
    k = len(free)
    block = J[:k, :k] if free[-1] == k - 1 else J[np.ix_(free, free)]  # the fixed states last: a view, no copy
    return bool(np.linalg.eigvals(block).real.max() < 1e-9)


def _acceptable(rhs, jac, y, free, p, u, tol) -> tuple[bool, float]:
    if not np.all(np.isfinite(y)) or y.min() < -1e-9:
        return False, np.inf
    scale = np.maximum(np.abs(y[free]), 1e-3)
    residual = float(np.max(np.abs(rhs(y, 0.0, p, u)[free]) / scale))
    return residual < tol and _stable(jac, y, free, p, u), residual


def find_steady_state(
    rhs: Callable,
    jac: Callable,
    guess: np.ndarray,
    p: np.ndarray,
    u: np.ndarray,
    *,
    fixed: Sequence[int] = (),
    tol: float = 1e-9,
    fallback_horizon: float = 5000.0,
    newton: Callable | None = None,
) -> SteadyState:
    """Steady state of ``dy/dt = rhs(y, t, p, u)`` with the ``fixed`` indices held at their guessed values.

    ``newton``, when given (the compiled pseudo-transient Newton of the model's module, batch form: see
    :func:`find_steady_states`), is tried first."""
    guess = np.asarray(guess, dtype=float)
    if newton is not None:  # the batch path for one subject: Newton first, then these fallbacks
        return find_steady_states(rhs, jac, guess[None, :], np.asarray(p)[None, :], np.asarray(u)[None, :],
                                  fixed=fixed, tol=tol, newton=newton, fallback_horizon=fallback_horizon)[0]
    free = np.array([i for i in range(guess.size) if i not in set(fixed)])
    from scipy.integrate import ODEintWarning, odeint  # only when the compiled Newton did not settle it
    from scipy.optimize import root

    f, j = _restricted(rhs, jac, guess, free, p, u)

    sol = root(f, guess[free], jac=j, method="hybr", options={"xtol": 1e-13})
    y = guess.copy()
    y[free] = sol.x
    ok, residual = _acceptable(rhs, jac, y, free, p, u, tol)
    if ok:
        return SteadyState(y, True, "root", residual)

    # Fallback: integrate with the fixed states frozen, then polish.
    def frozen_rhs(z, t, p_, u_):
        dz = rhs(z, t, p_, u_)
        dz[list(fixed)] = 0.0
        return dz

    def frozen_jac(z, t, p_, u_):
        J = jac(z, t, p_, u_)
        J[list(fixed), :] = 0.0
        return J

    with warnings.catch_warnings():  # a failed integration is judged below, not announced on stderr
        warnings.simplefilter("ignore", ODEintWarning)
        path = odeint(frozen_rhs, guess, [0.0, fallback_horizon], args=(p, u), Dfun=frozen_jac,
                      rtol=1e-8, atol=1e-10, mxstep=200_000)
    y_long = path[-1]
    f, j = _restricted(rhs, jac, y_long, free, p, u)
    sol = root(f, y_long[free], jac=j, method="hybr", options={"xtol": 1e-13})
    y = y_long.copy()
    y[free] = sol.x
    ok, residual = _acceptable(rhs, jac, y, free, p, u, tol)
    if ok:
        return SteadyState(y, True, "integration+root", residual)
    ok_long, residual_long = _acceptable(rhs, jac, y_long, free, p, u, 1e-6)
    return SteadyState(y_long, ok_long, "integration", residual_long)


def find_steady_states(rhs: Callable, jac: Callable, guesses: np.ndarray, P: np.ndarray, U: np.ndarray, *,
                       fixed: Sequence[int] = (), tol: float = 1e-9, newton: Callable,
                       fallback_horizon: float = 5000.0, fallback: bool = True) -> list[SteadyState]:
    """:func:`find_steady_state` for many subjects (rows of ``guesses``, ``P``, ``U``), with the same answers.

    ``newton(Y, P, U, fixed_mask, tol, max_iter, residuals)`` (the model's compiled ``rest_newton_batch``) runs
    the pseudo-transient Newton for every row of ``Y`` in place, writing each residual (inf on failure). It runs
    for each subject, then one stacked eigenvalue call checks the stability of all the
    converged ones; a subject Newton does not settle goes through :func:`find_steady_state`'s fallbacks (root
    finding, then a long relaxation in SciPy: up to seconds each), or, with ``fallback=False``, is returned as
    failed at once."""
    guesses = np.asarray(guesses, dtype=float)
    n, size = guesses.shape
    mask = np.zeros(size, dtype=np.bool_)
    mask[list(fixed)] = True
    free = np.array([i for i in range(size) if i not in set(fixed)])
    Y = guesses.copy()
    residuals = np.empty(n)
    newton(Y, np.ascontiguousarray(P, dtype=float), np.ascontiguousarray(U, dtype=float), mask, 1e-3 * tol, 100,
           residuals)
    converged = np.flatnonzero((residuals < tol) & (Y.min(axis=1) >= -1e-9))
    stable = np.zeros(n, dtype=bool)
    if converged.size:
        J = np.stack([jac(Y[i], 0.0, P[i], U[i]) for i in converged])
        k = len(free)
        blocks = J[:, :k, :k] if free[-1] == k - 1 else J[:, free[:, None], free]
        stable[converged] = np.linalg.eigvals(blocks).real.max(axis=1) < 1e-9
    return [SteadyState(Y[i], True, "newton", float(residuals[i])) if stable[i] else
            find_steady_state(rhs, jac, guesses[i], P[i], U[i], fixed=fixed, tol=tol,
                              fallback_horizon=fallback_horizon) if fallback else
            SteadyState(Y[i], False, "newton", float(residuals[i]))
            for i in range(n)]
