"""Stiff integration of a compiled system over piecewise schedules: the engine's entry point.

A :class:`Schedule` splits the time axis at every change of the piecewise-constant inputs and at every bolus, so
that each change takes effect exactly at its time. :func:`integrate_many` runs any number of subjects, each with
its own schedule, through the RODAS4 integrator compiled against the model's generated functions (see
:mod:`gutjoint._numerics.rodas4`). Each subject keeps its own step sizes, so a batch returns exactly what the same subjects
return one at a time. A failure never raises by default: the subject's result carries a :class:`Status` whose
member explains what to change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from gutjoint._arguments import real, whole
from gutjoint._errors import OptionError, SolverError
from gutjoint._numerics.status import Status

if TYPE_CHECKING:
    from gutjoint._numerics.codegen import CompiledSystem


@dataclass(frozen=True)
class Segment:
    """``[start, end)`` with constant inputs ``u``; ``jump`` is added to the state at ``start``."""

    start: float
    end: float
    u: np.ndarray
    jump: np.ndarray | None = None


@dataclass(frozen=True)
class Schedule:
    """Consecutive segments ``[bounds[s], bounds[s + 1])`` with constant ``inputs[s]``; ``jumps[s]`` (state
    increments: boluses) is added at ``bounds[s]``. Held as arrays, so that many schedules pack into the engine's
    arguments without a loop over segments."""

    bounds: np.ndarray
    inputs: np.ndarray
    jumps: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.bounds.ndim != 1 or self.bounds.size != self.inputs.shape[0] + 1 or self.inputs.shape[0] < 1:
            raise ValueError(f"a schedule needs segments + 1 bounds: {self.bounds.size} bounds for "
                             f"{self.inputs.shape[0]} segments")
        if (self.bounds[1:] < self.bounds[:-1]).any():
            raise ValueError(f"schedule bounds are not in order: {self.bounds.tolist()}")

    @classmethod
    def from_segments(cls, segments: Sequence[Segment]) -> Schedule:
        """A schedule from contiguous :class:`Segment` objects."""
        for a, b in zip(segments, segments[1:]):
            if not np.isclose(a.end, b.start):
                raise ValueError(f"schedule segments are not contiguous: {a.end} != {b.start}")
        jumps = [s.jump for s in segments]
        n = next((j.size for j in jumps if j is not None), 0)
        return cls(np.array([s.start for s in segments] + [segments[-1].end]), np.stack([s.u for s in segments]),
                   np.stack([j if j is not None else np.zeros(n) for j in jumps]) if n else None)

    @property
    def segments(self) -> tuple[Segment, ...]:
        """The segments one by one (for tools that step through them)."""
        jumps = self.jumps if self.jumps is not None else [None] * len(self.inputs)
        return tuple(Segment(float(a), float(b), u, j if j is not None and j.any() else None)
                     for a, b, u, j in zip(self.bounds[:-1], self.bounds[1:], self.inputs, jumps))

    @property
    def start(self) -> float:
        return float(self.bounds[0])

    @property
    def end(self) -> float:
        return float(self.bounds[-1])

    def inputs_at(self, times: np.ndarray) -> np.ndarray:
        """Input vector in effect at each time (right-continuous: a change at t applies at t)."""
        idx = np.clip(np.searchsorted(self.bounds[:-1], times, side="right") - 1, 0, len(self.inputs) - 1)
        return self.inputs[idx]


@dataclass(frozen=True)
class Tolerances:
    """Solver tolerances. ``atol`` may be a scalar or one value per state; ``max_steps`` bounds the steps between
    two consecutive output times (as LSODA's ``mxstep`` does)."""

    rtol: float = 1e-8
    atol: float | np.ndarray = 1e-10
    max_steps: int = 50_000

    def __post_init__(self) -> None:
        object.__setattr__(self, "rtol", real("Tolerances", "rtol", self.rtol, 1e-14, 0.1))
        object.__setattr__(self, "max_steps", whole("Tolerances", "max_steps", self.max_steps, 1, 10**9))
        if np.ndim(self.atol) == 0:
            object.__setattr__(self, "atol", real("Tolerances", "atol", self.atol, 0.0, 0.1, low_open=True))
        else:
            try:
                atol = np.array(self.atol, dtype=float)
            except (TypeError, ValueError):
                atol = np.array([np.nan])
            if atol.ndim != 1 or not (np.isfinite(atol) & (atol > 0) & (atol <= 0.1)).all():
                raise OptionError("Tolerances", "atol", self.atol, "a number in (0, 0.1], or one per state")
            object.__setattr__(self, "atol", atol)


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
    counts = np.array([len(s.inputs) for s in schedules], dtype=np.int64)
    longest = int(counts.max())
    n_inputs = schedules[0].inputs.shape[1]
    bounds = np.zeros((n_sub, longest + 1))
    inputs = np.zeros((n_sub, longest, n_inputs))
    jumps = np.zeros((n_sub, longest, n_states))
    for k, schedule in enumerate(schedules):
        m = counts[k]
        bounds[k, : m + 1] = schedule.bounds
        bounds[k, m + 1:] = schedule.bounds[-1]
        inputs[k, :m] = schedule.inputs
        if schedule.jumps is not None:
            jumps[k, :m] = schedule.jumps
    return bounds, counts, inputs, jumps


@dataclass(frozen=True)
class PackedRun:
    """A batch as the engine sees it: states ``(subject, time, state)``, per-subject counters ``info`` (status
    code, steps, rejected steps, right-hand sides, factorisations) and the packed schedules."""

    states: np.ndarray
    info: np.ndarray
    bounds: np.ndarray
    counts: np.ndarray
    inputs: np.ndarray

    def status(self, k: int) -> Status:
        return Status.from_engine(int(self.info[k, 0]))


def integrate_packed(compiled: CompiledSystem, y0: np.ndarray, P: np.ndarray, schedules: Sequence[Schedule],
                     times: ArrayLike, *, tolerances: Tolerances = Tolerances(),
                     negative_floor: float = -1e-6) -> PackedRun:
    """Integrate subjects (rows of ``y0`` and ``P``, one schedule each) in one engine call; the arrays come back
    as the engine wrote them (see :func:`integrate_many` for one :class:`Trajectory` per subject).

    Values at a segment boundary are those after the change (after a bolus). A subject that fails gets a status
    code and NaN rows from the failure on; the others are unaffected."""
    y0 = np.ascontiguousarray(np.atleast_2d(y0), dtype=float)
    P = np.ascontiguousarray(np.atleast_2d(P), dtype=float)
    grid = np.ascontiguousarray(times, dtype=float)
    n_sub, n = y0.shape
    for schedule in schedules:  # a time past the end would stay NaN in a run reported as a success
        if grid.size and (grid[0] < schedule.start or grid[-1] > schedule.end):
            raise ValueError(f"output times [{grid[0]!r}, {grid[-1]!r}] leave the schedule "
                             f"[{schedule.start!r}, {schedule.end!r}]")
    bounds, counts, inputs, jumps = pack_schedules(schedules, n)
    atol = np.broadcast_to(np.asarray(tolerances.atol, dtype=float), (n,)).copy()
    out = np.full((n_sub, grid.size, n), np.nan)
    info = np.zeros((n_sub, 5), dtype=np.int64)
    compiled.rodas4_batch(y0, P, bounds, counts, inputs, jumps, grid, float(tolerances.rtol), atol,
                          int(tolerances.max_steps), float(negative_floor), out, info)
    return PackedRun(out, info, bounds, counts, inputs)


def trajectories(run: PackedRun, times: np.ndarray, *, throw: bool = False) -> list[Trajectory]:
    """One :class:`Trajectory` per subject of a packed run (``throw=True`` raises :class:`SolverError` for the
    first failure)."""
    out = []
    for k in range(run.states.shape[0]):
        status = run.status(k)
        if throw and not status.ok:
            raise SolverError(f"integration failed ({status.code}): {status.message}; {status.advice}",
                              code=status.code, advice=status.advice)
        steps, rejected, n_rhs, factorisations = map(int, run.info[k, 1:])
        out.append(Trajectory(times=times, states=run.states[k], status=status, message=status.message,
                              n_rhs=n_rhs, extra={"steps": steps, "rejected": rejected,
                                                  "factorisations": factorisations}))
    return out


def integrate_many(compiled: CompiledSystem, y0: np.ndarray, P: np.ndarray, schedules: Sequence[Schedule],
                   times: ArrayLike, *, tolerances: Tolerances = Tolerances(), throw: bool = False,
                   negative_floor: float = -1e-6) -> list[Trajectory]:
    """Integrate subjects (rows of ``y0`` and ``P``, one schedule each) and return one :class:`Trajectory` each.

    Values at a segment boundary are those after the change (after a bolus). A subject that fails gets a status
    with advice and NaN rows from the failure on; the others are unaffected. ``throw=True`` raises
    :class:`SolverError` for the first failure instead.
    """
    grid = np.ascontiguousarray(times, dtype=float)
    run = integrate_packed(compiled, y0, P, schedules, grid, tolerances=tolerances, negative_floor=negative_floor)
    return trajectories(run, grid, throw=throw)
