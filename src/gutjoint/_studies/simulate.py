"""Simulate one subject through a scenario and get a table: the DataFrame edge of :mod:`gutjoint._studies.problem`."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gutjoint._errors import SolverError
from gutjoint._biology import species
from gutjoint._numerics.integrate import Tolerances
from gutjoint._numerics.status import Status
from gutjoint._numerics.steady import SteadyState
from gutjoint._studies.problem import DEFAULT_TOLERANCES, Solution, prepare, prepare_many, solve_many
from gutjoint._studies.scenario import Scenario

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class SimulationResult:
    """One subject's trajectory: ``frame`` holds the pinned output columns, then extra columns; ``result[name]``
    gives one column as an array (without building the DataFrame)."""

    scenario: Scenario
    status: Status
    message: str
    rest: SteadyState
    units: dict[str, str]
    solution: Solution = field(repr=False)

    @property
    def ok(self) -> bool:
        return self.status.ok

    @cached_property
    def frame(self) -> pd.DataFrame:
        return self.solution.frame()

    def __getitem__(self, name: str) -> np.ndarray:
        return self.solution[name]

    def __len__(self) -> int:
        return len(self.solution.times)

    def to_file(self, path: str | Path) -> Path:
        """Write the table as CSV or Parquet (by extension), atomically."""
        from gutjoint._files import write_array_table

        return write_array_table(*self.solution.table(), path)

def resting_outputs(scenario, parameters: dict[str, float] | None = None) -> dict[str, float]:
    """Output values at the subject's resting state; :class:`~gutjoint.SolverError` with the ``steady_state`` status
    when none is found (a failure named by its status, never a ``None`` to trip over later)."""
    problem = prepare(scenario, parameters)
    if not problem.rest.ok:
        status = Status.STEADY_STATE
        raise SolverError(f"{problem.scenario.source}: {status.message} ({problem.rest.method}, residual "
                          f"{problem.rest.residual:.3g})", code=status.code, advice=status.advice)
    return problem.resting_outputs()


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
    return _result(prepare(scenario, parameters).solve(tolerances=tolerances, throw=throw))


def simulate_many(scenarios, *, tolerances: Tolerances = DEFAULT_TOLERANCES,
                  block_size: int = 256) -> list[SimulationResult]:
    """Simulate many scenarios (e.g. the subjects of a population) through the compiled engine in blocks.

    Each scenario keeps its own step sizes, so the results are identical to ``[simulate(s) for s in scenarios]``
    whatever the blocks; failures come back per scenario. ``block_size`` only bounds the memory of one call."""
    problems = prepare_many(list(scenarios))
    return [_result(s) for s in solve_many(problems, tolerances=tolerances, block_size=block_size)]


def _result(solution: Solution) -> SimulationResult:
    problem = solution.problem
    return SimulationResult(problem.scenario, solution.status, solution.message, problem.rest,
                            {"time_days": "d", **species.OUTPUT_UNITS}, solution)
