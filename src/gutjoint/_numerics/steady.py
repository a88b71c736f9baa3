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
from functools import lru_cache

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

    def polished(start: np.ndarray) -> tuple[np.ndarray, bool, float]:
        """``start`` with its free states moved to a root of the restricted right-hand side, and the verdict."""
        f, j = _restricted(rhs, jac, start, free, p, u)
        sol = root(f, start[free], jac=j, method="hybr", options={"xtol": 1e-13})
        y = start.copy()
        y[free] = sol.x
        return y, *_acceptable(rhs, jac, y, free, p, u, tol)

    y, ok, residual = polished(guess)
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
    y, ok, residual = polished(y_long)
    if ok:
        return SteadyState(y, True, "integration+root", residual)
    ok_long, residual_long = _acceptable(rhs, jac, y_long, free, p, u, 1e-6)
    return SteadyState(y_long, ok_long, "integration", residual_long)


def find_steady_states(rhs: Callable, jac: Callable, guesses: np.ndarray, P: np.ndarray, U: np.ndarray, *,
                       fixed: Sequence[int] = (), tol: float = 1e-9, newton: Callable,
                       fallback_horizon: float = 5000.0, fallback: bool = True,
                       pattern: Sequence[tuple[int, int]] = ()) -> list[SteadyState]:
    """:func:`find_steady_state` for many subjects (rows of ``guesses``, ``P``, ``U``), with the same answers.

    ``newton(Y, P, U, fixed_mask, tol, max_iter, residuals)`` (the model's compiled ``rest_newton_batch``) runs
    the pseudo-transient Newton for every row of ``Y`` in place, writing each residual (inf on failure). It runs
    for each subject, then one stacked eigenvalue call checks the stability of all the
    converged ones; a subject Newton does not settle goes through :func:`find_steady_state`'s fallbacks (root
    finding, then a long relaxation in SciPy: up to seconds each), or, with ``fallback=False``, is returned as
    failed at once. ``pattern``, the Jacobian's structural non-zeros, lets the stability check take the
    eigenvalues block by block (:func:`stability_blocks`)."""
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
        stable[converged] = _largest_real_part(J, stability_blocks(tuple(pattern), tuple(free), size)) < 1e-9
    return [SteadyState(Y[i], True, "newton", float(residuals[i])) if stable[i] else
            find_steady_state(rhs, jac, guesses[i], P[i], U[i], fixed=fixed, tol=tol,
                              fallback_horizon=fallback_horizon) if fallback else
            SteadyState(Y[i], False, "newton", float(residuals[i]))
            for i in range(n)]


@lru_cache(maxsize=8)
def stability_blocks(pattern: tuple[tuple[int, int], ...], free: tuple[int, ...], size: int) -> tuple:
    """The free states split into the strongly connected components of the Jacobian's structure (Tarjan, via
    SciPy's ``connected_components``). In that order the free block is block triangular, so its eigenvalues are
    those of the diagonal blocks: a component of one state contributes its diagonal entry, a larger one the
    eigenvalues of its block. Without a ``pattern`` the free block is one component. Returns the singletons (an
    index array) and the larger components (a tuple of index arrays)."""
    free_array = np.array(free)
    if not pattern:
        return np.array([], dtype=int), (free_array,)
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    rows, cols = zip(*pattern)
    graph = csr_matrix((np.ones(len(pattern)), (rows, cols)), shape=(size, size))[free_array][:, free_array]
    _, labels = connected_components(graph, directed=True, connection="strong")
    members = [free_array[labels == c] for c in np.unique(labels)]
    singles = np.array(sorted(int(m[0]) for m in members if m.size == 1), dtype=int)
    return singles, tuple(m for m in members if m.size > 1)


def _largest_real_part(J: np.ndarray, blocks: tuple) -> np.ndarray:
    """The largest real part of the eigenvalues of each ``J[k]`` restricted to the free states, from the
    blocks of :func:`stability_blocks`."""
    singles, components = blocks
    worst = np.full(J.shape[0], -np.inf)
    if singles.size:
        worst = J[:, singles, singles].max(axis=1)
    for component in components:
        part = J[:, component[:, None], component]
        worst = np.maximum(worst, np.linalg.eigvals(part).real.max(axis=1))
    return worst
