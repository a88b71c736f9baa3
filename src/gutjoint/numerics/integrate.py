"""Stiff integration of a compiled system over a piecewise schedule.

A :class:`Schedule` splits the time axis at every change of the piecewise-constant inputs and at every
bolus, so that each change takes effect exactly at its time. Each segment is integrated by LSODA
(SciPy ``odeint``) with the compiled right-hand side and analytic Jacobian. A failure never raises by
default: the result carries a :class:`Status` whose member explains what to change.
"""

from __future__ import annotations

import enum
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import odeint

from gutjoint._errors import SolverError


class Status(enum.Enum):
    """Outcome of one integration, with advice for the failures."""

    SUCCESS = ("success", "")
    STEP_LIMIT = ("step_limit", "the solver hit its step limit: raise max_steps, or shorten the horizon")
    TOLERANCE = ("tolerance", "the tolerances are tighter than the arithmetic allows: loosen rtol/atol")
    ERROR_TEST = ("error_test", "repeated error-test failures: check for extreme parameters or inputs")
    CONVERGENCE = ("convergence", "repeated convergence failures: the system may be extremely stiff")
    NONFINITE = ("nonfinite", "the solution became NaN or infinite: check parameter values for overflow")
    NEGATIVE = ("negative", "a state went clearly negative: parameters may be outside their plausible ranges")
    STEADY_STATE = ("steady_state", "no resting steady state was found: check traits and parameter overrides")

    def __init__(self, code: str, advice: str):
        self.code = code
        self.advice = advice

    @property
    def ok(self) -> bool:
        return self is Status.SUCCESS


_LSODA_MESSAGES = (  # start of LSODA's message for each failure (SciPy odeint infodict["message"])
    ("Excess work", Status.STEP_LIMIT),
    ("Excess accuracy", Status.TOLERANCE),
    ("Illegal input", Status.ERROR_TEST),
    ("Repeated error test", Status.ERROR_TEST),
    ("Repeated convergence", Status.CONVERGENCE),
    ("Error weight", Status.TOLERANCE),
)


def _status_from_message(message: str) -> Status:
    if message.startswith("Integration successful"):
        return Status.SUCCESS
    for head, status in _LSODA_MESSAGES:
        if message.startswith(head):
            return status
    return Status.ERROR_TEST


@dataclass(frozen=True)
class Segment:
    """``[start, end)`` with constant inputs ``u``; ``jump`` is added to the state at ``start``."""

    start: float
    end: float
    u: np.ndarray
    jump: np.ndarray | None = None


@dataclass(frozen=True)
class Schedule:
    """Consecutive segments covering ``[segments[0].start, segments[-1].end]``."""

    segments: tuple[Segment, ...]

    def __post_init__(self) -> None:
        for a, b in zip(self.segments, self.segments[1:]):
            if not np.isclose(a.end, b.start):
                raise ValueError(f"schedule segments are not contiguous: {a.end} != {b.start}")

    @property
    def start(self) -> float:
        return self.segments[0].start

    @property
    def end(self) -> float:
        return self.segments[-1].end

    def inputs_at(self, times: np.ndarray) -> np.ndarray:
        """Input vector in effect at each time (right-continuous: a change at t applies at t)."""
        starts = np.array([s.start for s in self.segments])
        idx = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(self.segments) - 1)
        return np.stack([s.u for s in self.segments])[idx]


@dataclass(frozen=True)
class Tolerances:
    """Solver tolerances. ``atol`` may be a scalar or one value per state."""

    rtol: float = 1e-8
    atol: float | np.ndarray = 1e-10
    max_steps: int = 50_000


@dataclass
class Trajectory:
    """States at the requested times, and how the integration went."""

    times: np.ndarray
    states: np.ndarray
    status: Status = Status.SUCCESS
    message: str = ""
    n_rhs: int = 0
    extra: dict = field(default_factory=dict)


def integrate(
    rhs: Callable,
    jac: Callable,
    y0: np.ndarray,
    p: np.ndarray,
    schedule: Schedule,
    times: Sequence[float],
    *,
    tolerances: Tolerances = Tolerances(),
    throw: bool = False,
    negative_floor: float = -1e-6,
) -> Trajectory:
    """Integrate from ``schedule.start`` and return the states at ``times`` (sorted, within the schedule).

    Values at a segment boundary are those after the change (after a bolus has been given).
    With ``throw=False`` a failure comes back as a status and the unreached rows are NaN.
    """
    times = np.asarray(times, dtype=float)
    out = np.full((times.size, y0.size), np.nan)
    y = np.array(y0, dtype=float)
    n_rhs = 0
    status, message = Status.SUCCESS, ""
    for k, seg in enumerate(schedule.segments):
        if seg.jump is not None:
            y = y + seg.jump
        last = k == len(schedule.segments) - 1
        mask = (times >= seg.start) & ((times < seg.end) | (last & (times <= seg.end)))
        t_seg = np.concatenate(([seg.start], times[mask], [seg.end]))
        if seg.end - seg.start <= 0:
            out[mask] = y
            continue
        with warnings.catch_warnings():  # failures are reported through the status below
            warnings.simplefilter("ignore")
            sol, info = odeint(
                rhs, y, t_seg, args=(p, seg.u), Dfun=jac, rtol=tolerances.rtol, atol=tolerances.atol,
                mxstep=tolerances.max_steps, full_output=True, tfirst=False,
            )
        n_rhs += int(info["nfe"][-1]) if len(info["nfe"]) else 0
        solver_status = _status_from_message(str(info.get("message", "")))
        if not solver_status.ok:
            status, message = solver_status, f"{info['message']} (segment starting at t={seg.start:g})"
            break
        if not np.all(np.isfinite(sol)):
            status, message = Status.NONFINITE, f"non-finite state in segment starting at t={seg.start:g}"
            break
        if sol.min() < negative_floor * max(1.0, float(np.abs(sol).max())):
            status, message = Status.NEGATIVE, f"state fell to {sol.min():.3g} in segment starting at t={seg.start:g}"
            break
        out[mask] = sol[1:-1]
        y = sol[-1]
    if throw and not status.ok:
        raise SolverError(f"integration failed ({status.code}): {message}; {status.advice}")
    return Trajectory(times=times, states=out, status=status, message=message, n_rhs=n_rhs)
