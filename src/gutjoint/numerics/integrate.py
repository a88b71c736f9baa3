"""Stiff integration of a compiled system over piecewise schedules: the engine's entry point.

A :class:`Schedule` splits the time axis at every change of the piecewise-constant inputs and at every bolus, so
that each change takes effect exactly at its time. :func:`integrate_many` runs any number of subjects, each with
its own schedule, through the compiled RODAS4 integrator generated into the model's module (see
``rodas4_template.py``). Each subject keeps its own step sizes, so a batch returns exactly what the same subjects
return one at a time. A failure never raises by default: the subject's result carries a :class:`Status` whose
member explains what to change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from gutjoint._errors import SolverError
from gutjoint.numerics.status import Status

if TYPE_CHECKING:
    from gutjoint.numerics.codegen import CompiledSystem


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
    """Solver tolerances. ``atol`` may be a scalar or one value per state; ``max_steps`` bounds the steps between
    two consecutive output times (as LSODA's ``mxstep`` does)."""

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


def pack_schedules(schedules: Sequence[Schedule], n_states: int):
    """Segment boundaries, counts, inputs and jumps of each schedule, padded to the longest."""
    n_sub = len(schedules)
    longest = max(len(s.segments) for s in schedules)
    n_inputs = schedules[0].segments[0].u.size
    bounds = np.zeros((n_sub, longest + 1))
    counts = np.zeros(n_sub, dtype=np.int64)
    inputs = np.zeros((n_sub, longest, n_inputs))
    jumps = np.zeros((n_sub, longest, n_states))
    for k, schedule in enumerate(schedules):
        segs = schedule.segments
        counts[k] = len(segs)
        bounds[k, : len(segs)] = [s.start for s in segs]
        bounds[k, len(segs):] = segs[-1].end
        for s, seg in enumerate(segs):
            inputs[k, s] = seg.u
            if seg.jump is not None:
                jumps[k, s] = seg.jump
    return bounds, counts, inputs, jumps


def integrate_many(compiled: CompiledSystem, y0: np.ndarray, P: np.ndarray, schedules: Sequence[Schedule],
                   times: Sequence[float], *, tolerances: Tolerances = Tolerances(), throw: bool = False,
                   negative_floor: float = -1e-6) -> list[Trajectory]:
    """Integrate subjects (rows of ``y0`` and ``P``, one schedule each) and return one :class:`Trajectory` each.

    Values at a segment boundary are those after the change (after a bolus). A subject that fails gets a status
    with advice and NaN rows from the failure on; the others are unaffected. ``throw=True`` raises
    :class:`SolverError` for the first failure instead.
    """
    y0 = np.ascontiguousarray(np.atleast_2d(y0), dtype=float)
    P = np.ascontiguousarray(np.atleast_2d(P), dtype=float)
    times = np.ascontiguousarray(times, dtype=float)
    n_sub, n = y0.shape
    for schedule in schedules:  # a time past the end would stay NaN in a run reported as a success
        if times.size and (times[0] < schedule.start or times[-1] > schedule.end):
            raise ValueError(f"output times [{times[0]!r}, {times[-1]!r}] leave the schedule "
                             f"[{schedule.start!r}, {schedule.end!r}]")
    bounds, counts, inputs, jumps = pack_schedules(schedules, n)
    atol = np.broadcast_to(np.asarray(tolerances.atol, dtype=float), (n,)).copy()
    out = np.full((n_sub, times.size, n), np.nan)
    info = np.zeros((n_sub, 5), dtype=np.int64)
    compiled.rodas4_batch(y0, P, bounds, counts, inputs, jumps, times, float(tolerances.rtol), atol,
                          int(tolerances.max_steps), float(negative_floor), out, info)
    runs = []
    for k in range(n_sub):
        status = Status.from_engine(int(info[k, 0]))
        message = status.message
        if throw and not status.ok:
            raise SolverError(f"integration failed ({status.code}): {message}; {status.advice}")
        runs.append(Trajectory(times=times, states=out[k], status=status, message=message, n_rhs=int(info[k, 3]),
                               extra={"steps": int(info[k, 1]), "rejected": int(info[k, 2]),
                                      "factorisations": int(info[k, 4])}))
    return runs
