"""An independent reference integrator: SymPy ``lambdify`` (NumPy) + SciPy ``solve_ivp`` (Radau).

Shares nothing with the fast engine but the symbolic definition and the schedule: no generated source, no
numba, no LSODA. Tests compare the two at tight tolerance.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

from gutjoint._numerics.codegen import SymbolicSystem
from gutjoint._numerics.integrate import Schedule


def lambdify_system(system: SymbolicSystem):
    """Plain NumPy callables ``rhs(t, y, p, u)`` and ``jac(t, y, p, u)`` from the symbolic system."""
    args = (list(system.states), list(system.parameters), list(system.inputs))
    f = sp.lambdify(args, list(system.rhs), modules="numpy", cse=True)
    J = sp.lambdify(args, sp.Matrix(system.rhs).jacobian(sp.Matrix(system.states)), modules="numpy", cse=True)
    return (lambda t, y, p, u: np.asarray(f(y, p, u), dtype=float),
            lambda t, y, p, u: np.asarray(J(y, p, u), dtype=float))


def integrate_reference(rhs, jac, y0: np.ndarray, p: np.ndarray, schedule: Schedule, times: Sequence[float],
                        *, rtol: float = 1e-11, atol: float = 1e-13, method: str = "Radau") -> np.ndarray:
    """States at ``times`` (right-continuous at boundaries), segment by segment (Radau by default).

    ``jac=None`` lets SciPy difference the Jacobian (what a typical hand-written model does)."""
    times = np.asarray(times, dtype=float)
    out = np.full((times.size, y0.size), np.nan)
    y = np.array(y0, dtype=float)
    for k, seg in enumerate(schedule.segments):
        if seg.jump is not None:
            y = y + seg.jump
        last = k == len(schedule.segments) - 1
        mask = (times >= seg.start) & ((times < seg.end) | (last & (times <= seg.end)))
        n_out = int(mask.sum())
        t_eval = np.append(times[mask], seg.end)
        if n_out and t_eval[-2] >= seg.end:  # the last requested time is the segment end itself
            t_eval = t_eval[:-1]
        options = {"jac": jac} if jac is not None else {}
        sol = solve_ivp(rhs, (seg.start, seg.end), y, method=method, t_eval=t_eval, args=(p, seg.u),
                        rtol=rtol, atol=atol, **options)
        if not sol.success:
            raise RuntimeError(f"reference solver failed: {sol.message}")
        out[mask] = sol.y[:, :n_out].T
        y = sol.y[:, -1]
    return out
