"""Simulate one subject through a scenario: resting start, segmented stiff integration, output table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gutjoint._errors import InputError
from gutjoint.biology import species
from gutjoint.numerics.integrate import Status, Tolerances, Trajectory, integrate_many
from gutjoint.numerics.steady import SteadyState, find_steady_state
from gutjoint.studies.runtime import Runtime, get_runtime
from gutjoint.studies.scenario import (
    Scenario,
    build_schedule,
    input_vector_at,
    load_scenario,
    output_times,
)

DEFAULT_TOLERANCES = Tolerances(rtol=1e-8, atol=1e-10)
"""Engine tolerances. Tight enough that every output agrees with the Radau reference (rtol 1e-11) within
1e-4 relative error on every built-in scenario (tests/test_reference.py), and still ~10 ms a subject-year."""


@dataclass(frozen=True)
class SimulationResult:
    """One subject's trajectory: ``frame`` holds the output columns of DESIGN.md §3, then extra columns."""

    scenario: Scenario
    frame: pd.DataFrame
    status: Status
    message: str
    rest: SteadyState
    units: dict[str, str]

    @property
    def ok(self) -> bool:
        return self.status.ok

    def to_file(self, path: str | Path) -> Path:
        """Write the table as CSV or Parquet (by extension), atomically."""
        from gutjoint.interfaces.files import write_table

        return write_table(self.frame, path)

    def plot(self, path: str | Path | None = None):
        """One readable figure: gut → blood → immune → joint → pain. Saved when ``path`` is given."""
        from gutjoint.interfaces.figures import plot_simulation

        return plot_simulation(self, path)


def parameter_vector(runtime: Runtime, scenario: Scenario, extra: dict[str, float] | None = None) -> np.ndarray:
    """Parameter values in model order: the table, then the scenario's overrides and traits, then ``extra``."""
    overrides = {**scenario.overrides(), **(extra or {})}
    try:
        return runtime.parameters.vector(overrides)
    except KeyError as exc:
        raise InputError(f"{scenario.source}: unknown parameter {exc.args[0]!r}") from None


def resting_state(runtime: Runtime, scenario: Scenario, p: np.ndarray, cache: dict | None = None) -> SteadyState:
    """Steady state under the exposures in effect at day 0 (interventions and doses excluded), with cartilage
    held at ``cartilage_initial``. ``cache`` (a dict) reuses states already solved for the same parameters and
    exposures, e.g. a subject with and without its interventions."""
    u0 = input_vector_at(scenario, 0.0, runtime.input_names)
    for name in species.INTERVENTIONS:
        u0[runtime.input_index(name)] = 0.0
    key = (p.tobytes(), u0.tobytes())
    if cache is not None and key in cache:
        return cache[key]
    fixed = [runtime.state_index(s) for s in species.STRUCTURAL_STATES]
    rest = find_steady_state(runtime.compiled.rhs, runtime.compiled.jac, runtime.rest_guess(p), p, u0, fixed=fixed,
                             newton=runtime.compiled.rest_newton)
    if cache is not None:
        cache[key] = rest
    return rest


def resting_outputs(scenario, parameters: dict[str, float] | None = None) -> dict[str, float] | None:
    """Output values at the subject's resting state (``None`` when no steady state is found)."""
    scenario = load_scenario(scenario)
    runtime = get_runtime()
    p = parameter_vector(runtime, scenario, parameters)
    rest = resting_state(runtime, scenario, p)
    if not rest.ok:
        return None
    u = input_vector_at(scenario, 0.0, runtime.input_names)
    for name in species.INTERVENTIONS:
        u[runtime.input_index(name)] = 0.0
    return dict(zip(runtime.output_names, runtime.compiled.outputs(rest.y, p, u)))


def outputs_table(runtime: Runtime, trajectory: Trajectory, p: np.ndarray, schedule, rest: SteadyState) -> pd.DataFrame:
    """Evaluate the output expressions along a trajectory and label the columns."""
    times = trajectory.times
    reached = np.isfinite(trajectory.states).all(axis=1)  # rows a failed run never reached stay NaN
    G = np.full((times.size, len(runtime.output_names)), np.nan)
    if reached.any():
        U = schedule.inputs_at(times[reached])
        G[reached] = runtime.compiled.outputs_batch(np.ascontiguousarray(trajectory.states[reached]), p,
                                                    np.ascontiguousarray(U))
    G[:, runtime.output_names.index("pain_threshold_rel")] /= rest.y[runtime.state_index("pain_threshold")]
    return pd.DataFrame(np.column_stack([times, G]), columns=["time_days", *runtime.output_names])


def simulate(
    scenario: str | Path | Scenario | dict = "healthy",
    *,
    parameters: dict[str, float] | None = None,
    tolerances: Tolerances = DEFAULT_TOLERANCES,
    throw: bool = False,
) -> SimulationResult:
    """Simulate ``scenario`` (a built-in name, a ``.toml`` path, a dict or a :class:`Scenario`).

    Args:
        scenario: what to run.
        parameters: extra parameter overrides applied after the scenario's own.
        tolerances: solver tolerances.
        throw: raise :class:`~gutjoint.SolverError` on failure instead of returning a failed status.

    Returns:
        A :class:`SimulationResult`. A solver failure gives ``status`` other than SUCCESS (with advice) and
        NaN rows from the failure on; it does not raise unless ``throw`` is set.
    """
    runtime = get_runtime()
    scenario, p, schedule, rest, times = _prepare(runtime, scenario, parameters)
    if not rest.ok:
        if throw:
            from gutjoint._errors import SolverError

            raise SolverError(f"{Status.STEADY_STATE.code}: {Status.STEADY_STATE.advice}")
        trajectory = _no_rest(rest, times)
    else:
        trajectory = integrate_many(runtime.compiled, rest.y, p, [schedule], times, tolerances=tolerances,
                                    throw=throw)[0]
    return _result(runtime, scenario, p, schedule, rest, trajectory)


def _prepare(runtime: Runtime, spec, parameters: dict[str, float] | None = None, rest_cache: dict | None = None):
    """Scenario, parameter vector, schedule, resting state and output times of one run."""
    scenario = load_scenario(spec)
    p = parameter_vector(runtime, scenario, parameters)
    schedule = build_schedule(scenario, runtime.input_names, runtime.state_names, p, runtime.parameters.names)
    return scenario, p, schedule, resting_state(runtime, scenario, p, rest_cache), output_times(scenario)


def _no_rest(rest: SteadyState, times: np.ndarray) -> Trajectory:
    return Trajectory(times, np.full((times.size, rest.y.size), np.nan), Status.STEADY_STATE,
                      f"steady-state residual {rest.residual:.3g} ({rest.method})")


def _result(runtime: Runtime, scenario: Scenario, p, schedule, rest: SteadyState,
            trajectory: Trajectory) -> SimulationResult:
    frame = outputs_table(runtime, trajectory, p, schedule, rest)
    status, message = trajectory.status, trajectory.message
    finite = np.isfinite(frame.to_numpy()).all(axis=0)
    if status.ok and not finite.all():  # a success never carries a NaN or inf
        bad = frame.columns[~finite][0]
        status, message = Status.NONFINITE, f"output {bad!r} is not finite although every state is"
    return SimulationResult(scenario, frame, status, message, rest, {"time_days": "d", **species.OUTPUT_UNITS})


def simulate_many(scenarios, *, tolerances: Tolerances = DEFAULT_TOLERANCES,
                  block_size: int = 256) -> list[SimulationResult]:
    """Simulate many scenarios (e.g. the subjects of a population) through the compiled engine in blocks.

    Each scenario keeps its own step sizes, so the results are identical to ``[simulate(s) for s in scenarios]``
    whatever the blocks; failures come back per scenario. ``block_size`` only bounds the memory of one call."""
    runtime = get_runtime()
    rest_cache: dict = {}
    prepared = [_prepare(runtime, spec, rest_cache=rest_cache) for spec in scenarios]
    groups: dict[tuple, list[int]] = {}  # one engine call needs one output grid
    for i, (_, _, _, rest, times) in enumerate(prepared):
        if rest.ok:
            groups.setdefault(tuple(times), []).append(i)
    trajectories: dict[int, Trajectory] = {}
    for members in groups.values():
        for start in range(0, len(members), block_size):
            block = members[start:start + block_size]
            runs = integrate_many(runtime.compiled, np.array([prepared[i][3].y for i in block]),
                                  np.array([prepared[i][1] for i in block]), [prepared[i][2] for i in block],
                                  prepared[block[0]][4], tolerances=tolerances)
            trajectories.update(zip(block, runs))
    return [_result(runtime, scenario, p, schedule, rest, trajectories.get(i) or _no_rest(rest, times))
            for i, (scenario, p, schedule, rest, times) in enumerate(prepared)]
