"""Many subjects integrated as one system: the batched engine.

Subjects that share a schedule's time boundaries (a population going through one scenario) are stacked into one
ODE system. Its Jacobian is block-diagonal; with each block's states in band order (reverse Cuthill-McKee, done
at code generation) it is banded with small bandwidth, so LSODA's banded solver factorises it at about the cost
of the separate blocks, while every right-hand-side and Jacobian call serves the whole batch. Step sizes are
shared, which suits subjects going through the same events.

LSODA's error test uses a root-mean-square norm over all states; to keep each subject's error at the
requested tolerance, the batch runs with ``rtol / sqrt(N)``. A batch that fails is re-run subject by subject
with the single-subject engine, so failures still come back per subject.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from scipy.integrate import odeint

from gutjoint.numerics.codegen import CompiledSystem
from gutjoint.numerics.integrate import Schedule, Status, Tolerances, Trajectory, _status_from_message, integrate


def _same_boundaries(schedules: Sequence[Schedule]) -> bool:
    first = [(s.start, s.end) for s in schedules[0].segments]
    return all([(s.start, s.end) for s in sch.segments] == first for sch in schedules[1:])


def integrate_batch(compiled: CompiledSystem, y0: np.ndarray, P: np.ndarray, schedules: Sequence[Schedule],
                    times: Sequence[float], *, tolerances: Tolerances = Tolerances()) -> list[Trajectory]:
    """Integrate N subjects (rows of ``y0`` and ``P``) through their schedules; one :class:`Trajectory` each.

    The schedules must share their segment boundaries (their inputs and jumps may differ)."""
    n_sub, n = y0.shape
    times = np.asarray(times, dtype=float)
    if n_sub == 1 or not _same_boundaries(schedules):
        return [integrate(compiled.rhs, compiled.jac, y0[k], P[k], schedules[k], times, tolerances=tolerances)
                for k in range(n_sub)]
    perm = np.asarray(compiled.permutation)
    inv = np.argsort(perm)
    y = y0[:, perm].reshape(-1).copy()
    out = np.full((times.size, n_sub * n), np.nan)
    rtol = tolerances.rtol / math.sqrt(n_sub)
    atol = tolerances.atol / math.sqrt(n_sub)
    ok = True
    segments = schedules[0].segments
    for k, seg in enumerate(segments):
        jumps = [sch.segments[k].jump for sch in schedules]
        if any(j is not None for j in jumps):
            jump = np.stack([j if j is not None else np.zeros(n) for j in jumps])[:, perm].reshape(-1)
            y = y + jump
        U = np.ascontiguousarray(np.stack([sch.segments[k].u for sch in schedules]))
        last = k == len(segments) - 1
        mask = (times >= seg.start) & ((times < seg.end) | (last & (times <= seg.end)))
        t_seg = np.concatenate(([seg.start], times[mask], [seg.end]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sol, info = odeint(compiled.rhs_banded, y, t_seg, args=(P, U), Dfun=compiled.jac_banded,
                               ml=compiled.lower_band, mu=compiled.upper_band, rtol=rtol, atol=atol,
                               mxstep=tolerances.max_steps, full_output=True)
        if not _status_from_message(str(info.get("message", ""))).ok or not np.all(np.isfinite(sol)):
            ok = False
            break
        out[mask] = sol[1:-1]
        y = sol[-1]
    if not ok:  # fall back to single runs, so each subject gets its own status and advice
        return [integrate(compiled.rhs, compiled.jac, y0[k], P[k], schedules[k], times, tolerances=tolerances)
                for k in range(n_sub)]
    states = out.reshape(times.size, n_sub, n)[:, :, inv]
    return [Trajectory(times=times, states=states[:, k, :], status=Status.SUCCESS) for k in range(n_sub)]
