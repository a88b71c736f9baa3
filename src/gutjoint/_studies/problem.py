"""A run prepared once: the scenario, its parameter vector, input schedule, resting state and output times.

:func:`prepare` builds a :class:`Problem` from a scenario (and parameter overrides); :meth:`Problem.solve` and
:func:`solve_many` run problems on the compiled engine and return :class:`Solution` objects, whose outputs are
NumPy arrays with named access. DataFrames are made only at the edge (:meth:`Solution.frame`). Every caller that
runs the model (simulate, populations, calibration, sensitivity, attribution, the SBML export, the benchmarks)
goes through here, so the pipeline is written once.

The split follows diffrax (``diffeqsolve`` returning a ``Solution``) and PySB (a simulator prepared once, then
run over many parameter values).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from gutjoint._arguments import real, whole
from gutjoint._errors import InputError, OptionError, SolverError
from gutjoint._biology.parameters import ParameterTable
from gutjoint._biology import species
from gutjoint._numerics.integrate import (PackedRun, Schedule, Tolerances, Trajectory, integrate_packed,
                                        pack_schedules, trajectories)
from gutjoint._numerics.status import Status
from gutjoint._numerics.steady import SteadyState, find_steady_states
from gutjoint._studies.runtime import Runtime, get_runtime
from gutjoint._studies.scenario import Scenario, build_schedule, input_vector_at, load_scenario, output_times

DEFAULT_TOLERANCES = Tolerances(rtol=1e-8, atol=1e-10)
"""Engine tolerances for one simulation and for calibration. Tight enough that every output agrees with the Radau
reference (rtol 1e-11) within 1e-4 relative error on every built-in scenario (tests/test_reference.py), and still
~10 ms a subject-year."""
MANY_RUN_TOLERANCES = Tolerances(rtol=1e-6, atol=1e-8)
"""Engine tolerances for work over many runs: populations, ensembles, trials, sensitivity and attribution. Their
worst error on every built-in scenario stays within the same reference criterion (tests/test_reference.py; 12% of
it in ``benchmarks/tolerance.py``), leaves responder classification unchanged, and costs about 2.4x less time."""


@dataclass(frozen=True)
class Problem:
    """Everything one run needs, in the engine's vectors, with named access."""

    runtime: Runtime
    scenario: Scenario
    p: np.ndarray
    rest: SteadyState
    requested_times: np.ndarray | None = None

    @cached_property
    def schedule(self) -> Schedule:
        """The piecewise-constant inputs and boluses, segment by segment (built on first use)."""
        rt = self.runtime
        return build_schedule(self.scenario, rt.input_names, rt.state_names, self.p, rt.parameters.names)

    @cached_property
    def times(self) -> np.ndarray:
        """Output times in days: the scenario's grid (every ``step_hours``), or those asked for with :meth:`at`."""
        return output_times(self.scenario) if self.requested_times is None else self.requested_times

    def at(self, times) -> Problem:
        """The same run reported only at ``times`` (days, increasing, within the horizon). The engine's steps do
        not depend on where it reports (it interpolates between its own steps), so each value is the one the
        full grid gives at that time; a study that reads a few times saves evaluating the rest."""
        allowed = f"days that increase within [0, {self.scenario.days:g}]"
        try:
            times = np.array(times, dtype=float)
        except (TypeError, ValueError, OverflowError):
            raise OptionError("Problem.at", "times", times, allowed) from None
        if times.ndim != 1 or times.size == 0 or not np.isfinite(times).all() or (times[1:] <= times[:-1]).any() \
                or times[0] < 0 or times[-1] > self.scenario.days:
            raise OptionError("Problem.at", "times", times.tolist(), allowed)
        times.flags.writeable = False
        return Problem(self.runtime, self.scenario, self.p, self.rest, times)

    def parameter(self, name: str) -> float:
        return float(self.p[self.runtime.parameters.names.index(name)])

    def rest_value(self, name: str) -> float:
        """The resting value of state ``name`` (the run's initial state)."""
        return float(self.rest.y[self.runtime.state_index(name)])

    def resting_inputs(self) -> np.ndarray:
        """Inputs in effect at day 0 without the interventions: those the resting state is solved under."""
        return resting_inputs(self.runtime, self.scenario)

    def resting_outputs(self) -> dict[str, float]:
        """Output values at the resting state, as the compiled output function gives them (``pain_threshold_rel``
        is the raw threshold state here, not yet divided by its resting value)."""
        values = self.runtime.compiled.outputs(self.rest.y, self.p, self.resting_inputs())
        return dict(zip(self.runtime.output_names, map(float, values)))

    def solve(self, *, tolerances: Tolerances = DEFAULT_TOLERANCES, throw: bool = False) -> Solution:
        """Run this problem on the engine (``throw=True`` raises :class:`SolverError` on a failure)."""
        return solve_many([self], tolerances=tolerances, throw=throw)[0]


@dataclass(frozen=True)
class Solution:
    """The outputs of one solved :class:`Problem` at its output times (rows) in model output order (columns)."""

    problem: Problem
    times: np.ndarray
    states: np.ndarray
    outputs: np.ndarray
    status: Status
    message: str

    @property
    def ok(self) -> bool:
        return self.status.ok

    def __getitem__(self, name: str) -> np.ndarray:
        """One output column by name (``"time_days"`` gives the times)."""
        if name == "time_days":
            return self.times
        return self.outputs[:, self.problem.runtime.output_column(name)]

    def table(self) -> tuple[tuple[str, ...], np.ndarray]:
        """The column names (``time_days`` first, then the outputs) and the matrix of rows under them."""
        return ("time_days", *self.problem.runtime.output_names), np.column_stack([self.times, self.outputs])

    def frame(self, columns: Sequence[str] | None = None):
        """The outputs as a DataFrame (``time_days`` first), optionally only ``columns``."""
        import pandas as pd

        if columns is None:
            names, values = self.table()
            return pd.DataFrame(values, columns=list(names))
        return pd.DataFrame({c: self[c] for c in columns})


def parameter_vector(runtime: Runtime, scenario: Scenario, extra: dict[str, float] | None = None) -> np.ndarray:
    """Parameter values in model order: the table, then the scenario's overrides and traits, then ``extra``."""
    overrides = {**scenario.overrides(), **(extra or {})}
    try:
        return runtime.parameters.vector(overrides)
    except KeyError as exc:
        raise InputError(f"{scenario.source}: unknown parameter {exc.args[0]!r}") from None


RANGE_SLACK = 1e-9
"""Share of a parameter's range by which a value may pass an end of it and still count as inside: the rounding of
a value computed at the bound (``exp(log(high))`` is not always ``high``), never a real excess."""


def checked_overrides(table: ParameterTable, parameters: object, where: str = "prepare",
                      argument: str = "parameters", *, within_ranges: bool = True) -> dict[str, float]:
    """``parameters`` as a dict of floats, each a parameter (or trait) of the table inside its plausible range,
    as a scenario's ``[parameters]`` must be; :class:`~gutjoint._errors.OptionError` otherwise.
    ``within_ranges=False`` asks only for finite numbers (a study that explores past the ranges on purpose)."""
    if parameters is None:
        return {}
    if not isinstance(parameters, Mapping):
        raise OptionError(where, argument, parameters, "a mapping of parameter names to numbers, or None")
    checked = {}
    for name, value in parameters.items():
        if not isinstance(name, str) or name not in table:
            raise OptionError(where, f"{argument}[{name!r}]", value, "a model parameter name (`gutjoint params`)")
        rec = table[name]
        slack = RANGE_SLACK * (rec.high - rec.low)  # a fit's step to a bound may land a rounding past it
        low, high = (rec.low - slack, rec.high + slack) if within_ranges else (-math.inf, math.inf)
        if type(value) is float and low <= value <= high and math.isfinite(value):  # the common case, checked fast
            checked[name] = value
            continue
        checked[name] = real(where, f"{argument}[{name!r}]", value, low, high,
                             what=f"a number in its plausible range [{rec.low:g}, {rec.high:g}] {rec.unit}"
                             if within_ranges else "a finite number")
    return checked


def resting_inputs(runtime: Runtime, scenario: Scenario) -> np.ndarray:
    u0 = input_vector_at(scenario, 0.0, runtime.input_names)
    for name in species.INTERVENTIONS:
        u0[runtime.input_index(name)] = 0.0
    return u0


def prepare(scenario, parameters: dict[str, float] | None = None, *, rest_cache: dict | None = None,
            runtime: Runtime | None = None) -> Problem:
    """Build the :class:`Problem` of ``scenario`` (a built-in name, a ``.toml`` path, a dict or a
    :class:`Scenario`) with ``parameters`` overriding the table after the scenario's own overrides. The resting
    state is solved under the exposures in effect at day 0 (interventions and doses excluded), with cartilage held
    at ``cartilage_initial``; ``rest_cache`` (a dict) reuses states already solved for the same parameters and
    exposures."""
    return prepare_many([scenario], [parameters], rest_cache=rest_cache, runtime=runtime)[0]


def relax_for(parameters: Mapping[str, float] | None) -> bool:
    """The one rule for a resting state the compiled Newton does not settle from its generic guess. Under the
    table's values (``parameters`` empty) it is relaxed through the slow fallbacks, so that every person counts.
    Under an ensemble draw the fast path is taken: a second Newton start, then a per-subject failure. A draw's
    fallbacks can take minutes, and a band or a power curve over draws is summarised over the draws that run.
    A draw is a set of values that differs from the table: ``{}`` and a dict holding the table's own values choose
    the same path."""
    if not parameters:
        return True
    table = get_runtime().parameters
    return all(name in table and float(value) == table[name].value for name, value in parameters.items())


def prepare_many(scenarios: Sequence, parameters: Sequence[dict[str, float] | None] | None = None, *,
                 rest_cache: dict | None = None, runtime: Runtime | None = None,
                 relax: bool = True, within_ranges: bool = True) -> list[Problem]:
    """:func:`prepare` for many scenarios at once (each with its own ``parameters``, if given): the resting states
    they do not share are solved in one batch (``numerics.steady.find_steady_states``). ``relax=False`` (see
    :func:`relax_for`) skips the slow fallbacks for a resting state the compiled Newton does not settle: Newton
    then starts once more from the same person's resting state under the table's values, and a subject it still
    does not settle (to a stable rest) is a failure. ``parameters`` must lie in their plausible ranges, as a
    scenario's must; ``within_ranges=False`` lets a study that explores past them on purpose (the prior draws the
    ensemble's plausibility step judges) pass any finite value."""
    runtime = runtime or get_runtime()
    loaded = [load_scenario(sc) for sc in scenarios]
    if parameters is not None and len(parameters) != len(loaded):
        raise OptionError("prepare_many", "parameters", parameters, f"one mapping (or None) per scenario: "
                          f"{len(loaded)}")
    extras = ([None] * len(loaded) if parameters is None else
              [checked_overrides(runtime.parameters, extra, within_ranges=within_ranges) for extra in parameters])
    P = np.array([parameter_vector(runtime, sc, extra) for sc, extra in zip(loaded, extras)])
    U = np.array([resting_inputs(runtime, sc) for sc in loaded])
    rests = rest_states(runtime, P, U, [sc.subject for sc in loaded], rest_cache=rest_cache, relax=relax)
    return [Problem(runtime, sc, p, rest) for sc, p, rest in zip(loaded, P, rests)]


def needs_slow_rest(scenario, *, runtime: Runtime | None = None) -> bool:
    """Whether the compiled Newton alone fails to settle ``scenario``'s resting state (its own traits and
    overrides), so that preparing it takes SciPy's fallbacks: up to seconds, where the answer to this question
    takes a fraction of a millisecond. A caller with a time budget asks before it starts."""
    runtime = runtime or get_runtime()
    scenario = load_scenario(scenario)
    P = parameter_vector(runtime, scenario)[None, :]
    return not _steady_states(runtime, runtime.rest_guesses(P), P, resting_inputs(runtime, scenario)[None, :],
                              fallback=False)[0].ok


def _steady_states(runtime: Runtime, guesses: np.ndarray, P: np.ndarray, U: np.ndarray, *,
                   fallback: bool) -> list[SteadyState]:
    """The model's resting states from ``guesses``: the compiled Newton, then SciPy's fallbacks if ``fallback``."""
    return find_steady_states(runtime.compiled.rhs, runtime.compiled.jac, guesses, P, U,
                              fixed=[runtime.state_index(s) for s in species.STRUCTURAL_STATES],
                              newton=runtime.compiled.rest_newton_batch, fallback=fallback,
                              pattern=runtime.compiled.jacobian_pattern)


def rest_states(runtime: Runtime, P: np.ndarray, U: np.ndarray, traits: Sequence[Mapping[str, float]], *,
                rest_cache: dict | None = None, relax: bool = True) -> list[SteadyState]:
    """The resting states of subjects with parameter rows ``P`` and resting-input rows ``U`` (``traits``: each
    one's trait overrides, for the second Newton start), as :func:`prepare_many` solves them: the rows not in
    ``rest_cache`` (keyed by the exact vectors) in one batch, then the fast path or the fallbacks by ``relax``."""
    cache = {} if rest_cache is None else rest_cache
    keys = [(p.tobytes(), u.tobytes()) for p, u in zip(P, U)]
    todo = list({key: i for i, key in enumerate(keys) if key not in cache}.values())
    if todo:
        def solve(indices, guesses, fallback):
            return _steady_states(runtime, guesses, P[indices], U[indices], fallback=fallback)

        rests = solve(todo, runtime.rest_guesses(P[todo]), relax)
        failed = [k for k, rest in enumerate(rests) if not rest.ok]
        if failed and not relax:
            # Without the slow fallbacks, Newton gets a second start: the rest of the same person (traits and
            # exposures) under the table's values, where an ensemble draw's rest usually lies near and the generic
            # guess is far. Those nominal rests are solved once per distinct person, with the fallbacks.
            nominal_of = {k: (runtime.parameters.vector(traits[todo[k]]), U[todo[k]]) for k in failed}
            keys_of = {k: (p.tobytes(), u.tobytes()) for k, (p, u) in nominal_of.items()}
            missing = list({keys_of[k]: k for k in failed if keys_of[k] not in cache}.values())
            if missing:
                nominal = np.array([nominal_of[k][0] for k in missing])
                found = _steady_states(runtime, runtime.rest_guesses(nominal), nominal,
                                       np.array([nominal_of[k][1] for k in missing]), fallback=True)
                cache.update(zip((keys_of[k] for k in missing), found))
            usable = [k for k in failed if cache[keys_of[k]].ok]
            if usable:
                guesses = np.array([cache[keys_of[k]].y for k in usable])
                cartilage = runtime.state_index("cartilage")  # held at this person's own initial value
                guesses[:, cartilage] = runtime.rest_guesses(P[[todo[k] for k in usable]])[:, cartilage]
                for k, rest in zip(usable, solve([todo[k] for k in usable], guesses, False)):
                    if rest.ok:
                        rests[k] = rest
        cache.update(zip((keys[i] for i in todo), rests))
    return [cache[key] for key in keys]


def solve_many(problems: Sequence[Problem], *, tolerances: Tolerances = DEFAULT_TOLERANCES,
               block_size: int = 256, throw: bool = False) -> list[Solution]:
    """Solve many problems through the compiled engine in blocks of one output grid each, and evaluate their
    outputs block by block.

    Each problem keeps its own step sizes, so the results are identical to ``[p.solve() for p in problems]``
    whatever the blocks; failures come back per problem (``throw=True`` raises :class:`SolverError` for the
    first instead). ``block_size`` only bounds the memory of one call."""
    if not isinstance(tolerances, Tolerances):
        raise OptionError("solve_many", "tolerances", tolerances, "a gutjoint.Tolerances")
    block_size = whole("solve_many", "block_size", block_size, 1)
    if isinstance(problems, (str, bytes, Mapping)) or not isinstance(problems, Sequence) \
            or not all(isinstance(problem, Problem) for problem in problems):
        raise OptionError("solve_many", "problems", problems, "a list of prepared problems (gutjoint.prepare)")
    if throw:
        for problem in problems:
            if not problem.rest.ok:
                raise SolverError(f"{Status.STEADY_STATE.code}: {Status.STEADY_STATE.advice}",
                                  code=Status.STEADY_STATE.code, advice=Status.STEADY_STATE.advice)
    groups: dict[tuple, list[int]] = {}  # one engine call needs one output grid
    for i, problem in enumerate(problems):
        if problem.rest.ok:
            groups.setdefault((id(problem.runtime), problem.times.size, problem.times.tobytes()), []).append(i)
    solutions: dict[int, Solution] = {}
    for members in groups.values():
        for start in range(0, len(members), block_size):
            ids = members[start:start + block_size]
            block = [problems[i] for i in ids]
            P = np.array([b.p for b in block])
            packed = integrate_packed(block[0].runtime.compiled, np.array([b.rest.y for b in block]), P,
                                      [b.schedule for b in block], block[0].times, tolerances=tolerances)
            runs = trajectories(packed, block[0].times, throw=throw)
            outputs = _outputs(block, packed.states, P, packed)
            solutions.update((i, _solution(b, r, g)) for i, b, r, g in zip(ids, block, runs, outputs))
    for i, problem in enumerate(problems):
        if i not in solutions:
            run = _no_rest(problem.rest, problem.times)
            solutions[i] = _solution(problem, run, np.full((run.times.size, len(problem.runtime.output_names)),
                                                           np.nan))
    return [solutions[i] for i in range(len(problems))]


def _solution(problem: Problem, trajectory: Trajectory, outputs: np.ndarray) -> Solution:
    status, message = trajectory.status, trajectory.message
    if status.ok:  # a success never carries a NaN or inf
        finite = np.isfinite(outputs).all(axis=0)
        if not finite.all() or not np.isfinite(trajectory.times).all():
            bad = problem.runtime.output_names[int(np.flatnonzero(~finite)[0])] if not finite.all() else "time"
            status, message = Status.NONFINITE, f"output {bad!r} is not finite although every state is"
    return Solution(problem, trajectory.times, trajectory.states, outputs, status, message)


def _outputs(problems: Sequence[Problem], states: np.ndarray, P: np.ndarray, packed) -> np.ndarray:
    """Output values (subject, time, output) of problems on one output grid, under their packed schedules. Rows
    a failed run never reached stay NaN. The pain threshold is reported relative to the resting threshold."""
    runtime = problems[0].runtime
    G = runtime.compiled.outputs_scheduled(states, P, packed.bounds, packed.counts, packed.inputs,
                                           problems[0].times)
    thr = runtime.state_index("pain_threshold")
    G[:, :, runtime.output_names.index("pain_threshold_rel")] /= np.array([p.rest.y[thr] for p in problems])[:, None]
    return G


def evaluate_outputs(problem: Problem, trajectory: Trajectory) -> np.ndarray:
    """Output values (time, output) along a trajectory of ``problem``, as :func:`solve_many` evaluates them."""
    bounds, counts, inputs, _ = pack_schedules([problem.schedule], problem.rest.y.size)
    packed = PackedRun(trajectory.states[None], np.zeros((1, 5), dtype=np.int64), bounds, counts, inputs)
    return _outputs([problem], np.ascontiguousarray(trajectory.states[None]), problem.p[None], packed)[0]


def _no_rest(rest: SteadyState, times: np.ndarray) -> Trajectory:
    return Trajectory(times, np.full((times.size, rest.y.size), np.nan), Status.STEADY_STATE,
                      f"steady-state residual {rest.residual:.3g} ({rest.method})")
