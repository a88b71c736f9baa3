"""Scenario files (TOML): reading, checking, and turning them into an integration schedule.

Every problem is reported as one :class:`~gutjoint.ScenarioError` line naming the file, the field, the
value and what is allowed. Rules of the format, stated here once:

- ``days`` is capped at ``MAX_DAYS`` (100 years) and the output at ``MAX_ROWS`` rows;
- an input window may end after the horizon (it is cut there) but must start within it;
- where windows of the same input overlap, the one listed last wins;
- an infusion shorter than one minute (``BOLUS_BELOW_HOURS``) is given as a bolus;
- the subject starts at rest: the steady state under the exposures in effect at day 0 (interventions such
  as ``barrier_support`` and doses excluded: they act from their start), with cartilage held at
  ``cartilage_initial``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from gutjoint._arguments import number_in, range_words
from gutjoint._errors import ScenarioError
from gutjoint._biology import species
from gutjoint._biology.parameters import load_parameters
from gutjoint._numerics.integrate import Schedule

MAX_DAYS = 36_500
MAX_ROWS = 1_000_000
MIN_STEP_HOURS = 1 / 60
MIN_DAYS = MIN_STEP_HOURS / 24.0
BOLUS_BELOW_HOURS = 1 / 60
"""An infusion shorter than this (one minute) is given as a bolus of the same amount at its day: a shorter one
would end a rounding after it starts (at day 0.5, 1e-15 h adds nothing to the day) or ask the solver for a
rate it cannot follow. A one-minute infusion of endotoxin peaks within 0.1% of the bolus
(``tests/test_hardening.py``)."""
MAX_NAME = 200
MAX_DESCRIPTION = 5_000
TOP_LEVEL_KEYS = ("name", "description", "days", "step_hours", "subject", "parameters", "inputs", "doses")
INPUT_DEFAULTS = {name: 0.0 for name in species.PUBLIC_INPUTS} | {"diet_antigen": 1.0}
DOSES = {name: (r.unit, r.largest, r.description) for name, r in species.DOSE_ROUTES.items()}
"""name: (unit, largest amount allowed, what it is), from the routes declared in biology.species."""
DOSE_KEYS = ("name", "amount", "day", "duration_hours")
INPUT_KEYS = ("name", "level", "start_day", "end_day")


@dataclass(frozen=True)
class InputWindow:
    """Input ``name`` (an exposure or an intervention of ``species.INPUTS``) held at ``level`` from ``start_day``
    to ``end_day``."""

    name: str
    level: float
    start_day: float
    end_day: float


@dataclass(frozen=True)
class Dose:
    """``amount`` of a dose route given at ``day``: a bolus, or an infusion over ``duration_hours`` (one shorter
    than :data:`BOLUS_BELOW_HOURS` is a bolus)."""

    name: str
    amount: float
    day: float
    duration_hours: float = 0.0

    def __post_init__(self) -> None:
        if self.duration_hours < BOLUS_BELOW_HOURS:
            object.__setattr__(self, "duration_hours", 0.0)


@dataclass(frozen=True)
class Scenario:
    """A checked scenario. Build one with :func:`load_scenario` or :func:`scenario_from_dict`."""

    name: str
    days: float
    step_hours: float = 24.0
    description: str = ""
    subject: dict[str, float] = field(default_factory=dict)
    parameters: dict[str, float] = field(default_factory=dict)
    inputs: tuple[InputWindow, ...] = ()
    doses: tuple[Dose, ...] = ()
    source: str = "<scenario>"

    def overrides(self) -> dict[str, float]:
        """Traits and parameter overrides, merged (both are entries of the parameter table)."""
        return {**self.parameters, **self.subject}


# ---------------------------------------------------------------------------------------------------------
# Reading and checking


def _number(source: str, field_name: str, value: Any, low: float, high: float, *, low_open: bool = False,
            what: str | None = None) -> float:
    number = number_in(value, low, high, low_open=low_open)
    if number is None:
        raise ScenarioError(source, field_name, value, what or range_words(low, high, low_open=low_open))
    return number


def _table(source: str, field_name: str, value: Any) -> dict:
    if not isinstance(value, dict):
        raise ScenarioError(source, field_name, value, "a table")
    return value


def _text(source: str, field_name: str, value: Any, longest: int) -> str:
    """A string of at most ``longest`` characters that UTF-8 can carry (a lone surrogate, which JSON's ``\\ud800``
    can smuggle in, cannot be written to a file or a response)."""
    allowed = f"a string of at most {longest} characters of valid Unicode"
    if not isinstance(value, str) or len(value) > longest:
        raise ScenarioError(source, field_name, value, allowed)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ScenarioError(source, field_name, value, allowed) from None
    return value


def _name(source: str, field_name: str, value: Any, allowed: tuple[str, ...] | dict) -> str:
    """A name from a fixed list (a list or table in its place is refused, never hashed)."""
    if not isinstance(value, str) or value not in allowed:
        raise ScenarioError(source, field_name, value, f"one of {', '.join(allowed)}")
    return value


def default_step_hours(days: float) -> float:
    """The output spacing when a scenario gives none: 24 hours, or the whole horizon when that is shorter."""
    return min(24.0, max(24.0 * days, MIN_STEP_HOURS))


def _check_keys(source: str, where: str, data: dict, allowed: tuple[str, ...]) -> None:
    for key in data:
        if key not in allowed:
            raise ScenarioError(source, f"{where}{key}", data[key], f"known fields: {', '.join(allowed)}")


def scenario_from_dict(data: dict, *, source: str = "<scenario>", name: str | None = None) -> Scenario:
    """Check a parsed scenario and return it; raise :class:`ScenarioError` on the first problem."""
    table = load_parameters()
    _table(source, "<top level>", data)
    _check_keys(source, "", data, TOP_LEVEL_KEYS)
    days_allowed = f"a number of days in [{MIN_DAYS:.3g}, {MAX_DAYS}] (at least one minute, one output step)"
    if "days" not in data:
        raise ScenarioError(source, "days", None, f"required: {days_allowed}")
    days = _number(source, "days", data["days"], MIN_DAYS, MAX_DAYS, what=days_allowed)
    step_hours = _number(source, "step_hours", data.get("step_hours", default_step_hours(days)), MIN_STEP_HOURS,
                         max(24.0 * days, MIN_STEP_HOURS),
                         what=f"a number of hours in [{MIN_STEP_HOURS:.4g}, {24 * days:g}] (the horizon)")
    if days * 24.0 / step_hours + 1 > MAX_ROWS:
        raise ScenarioError(source, "step_hours", step_hours,
                            f"a spacing giving at most {MAX_ROWS} output rows over {days:g} days")

    subject = {}
    for key, value in _table(source, "subject", data.get("subject", {})).items():
        if key not in species.TRAITS:
            raise ScenarioError(source, f"subject.{key}", value, f"one of {', '.join(species.TRAITS)}")
        rec = table[key]
        subject[key] = _number(source, f"subject.{key}", value, rec.low, rec.high)

    parameters = {}
    for key, value in _table(source, "parameters", data.get("parameters", {})).items():
        if key in species.TRAITS:
            raise ScenarioError(source, f"parameters.{key}", value, "traits go in [subject], not [parameters]")
        if key not in table:
            raise ScenarioError(source, f"parameters.{key}", value,
                                "a model parameter name (see `gutjoint params`)")
        rec = table[key]
        parameters[key] = _number(source, f"parameters.{key}", value, rec.low, rec.high,
                                  what=f"a number in its plausible range [{rec.low:g}, {rec.high:g}] {rec.unit}")

    inputs = []
    raw_inputs = data.get("inputs", [])
    if not isinstance(raw_inputs, list):
        raise ScenarioError(source, "inputs", raw_inputs, "an array of tables ([[inputs]])")
    for i, item in enumerate(raw_inputs):
        where = f"inputs[{i}]."
        _table(source, f"inputs[{i}]", item)
        _check_keys(source, where, item, INPUT_KEYS)
        input_name = _name(source, where + "name", item.get("name"), species.PUBLIC_INPUTS)
        low, high = species.INPUT_RANGES[input_name]
        if "level" not in item:
            raise ScenarioError(source, where + "level", None, f"required: a number in [{low:g}, {high:g}]")
        level = _number(source, where + "level", item["level"], low, high)
        start = _number(source, where + "start_day", item.get("start_day", 0.0), 0, days)
        end = _number(source, where + "end_day", item.get("end_day", days), start, math.inf,
                      what=f"a day >= start_day ({start:g})")
        inputs.append(InputWindow(input_name, level, start, min(end, days)))

    doses = []
    raw_doses = data.get("doses", [])
    if not isinstance(raw_doses, list):
        raise ScenarioError(source, "doses", raw_doses, "an array of tables ([[doses]])")
    for i, item in enumerate(raw_doses):
        where = f"doses[{i}]."
        _table(source, f"doses[{i}]", item)
        _check_keys(source, where, item, DOSE_KEYS)
        dose_name = _name(source, where + "name", item.get("name"), DOSES)
        unit, largest, _ = DOSES[dose_name]
        if "amount" not in item or "day" not in item:
            missing = "amount" if "amount" not in item else "day"
            raise ScenarioError(source, where + missing, None, "required")
        amount = _number(source, where + "amount", item["amount"], 0, largest, low_open=True,
                         what=f"a number in (0, {largest:g}] {unit}")
        day = _number(source, where + "day", item["day"], 0, days, what=f"a day in [0, {days:g}) (before the horizon)")
        if day >= days:
            raise ScenarioError(source, where + "day", day, f"a day in [0, {days:g}) (before the horizon)")
        duration = _number(source, where + "duration_hours", item.get("duration_hours", 0.0), 0,
                           24 * (days - day), what=f"hours in [0, {24 * (days - day):g}] (0 = bolus)")
        doses.append(Dose(dose_name, amount, day, duration))

    label = _text(source, "name", data["name"], MAX_NAME) if "name" in data else ""
    label = label or name or Path(source).stem
    description = _text(source, "description", data.get("description", ""), MAX_DESCRIPTION)
    return Scenario(name=label, days=days, step_hours=step_hours, description=description, subject=subject,
                    parameters=parameters, inputs=tuple(inputs), doses=tuple(doses), source=source)


CROSS_FIELD_RULES = {
    "step_hours": "at most the horizon (24 x days hours), and giving at most the row cap",
    "inputs[].start_day": "at most days",
    "inputs[].end_day": "at least start_day",
    "doses[].day": "before days",
    "doses[].duration_hours": "ending by the horizon: at most 24 x (days - day)",
}
"""The rules that tie one field to another, which a JSON Schema cannot state (see :func:`json_schema`)."""


def json_schema(*, max_days: float = MAX_DAYS, max_items: int | None = None) -> dict:
    """The scenario format as a JSON Schema, built from the same tables as the checks in
    :func:`scenario_from_dict`: every field with its type and range, every name from its list.

    A document the checks accept always conforms; one that conforms is accepted unless it breaks one of the
    :data:`CROSS_FIELD_RULES`, which are stated in the descriptions instead."""
    table = load_parameters()

    def number(low: float, high: float, description: str = "", *, low_open: bool = False) -> dict:
        bound = {"exclusiveMinimum": low} if low_open else {"minimum": low}
        return {"type": "number", **bound, "maximum": high, **({"description": description} if description else {})}

    def ranged(names) -> dict:
        return {"type": "object", "additionalProperties": False,
                "properties": {n: number(table[n].low, table[n].high, f"{table[n].unit}; {table[n].rationale}")
                               for n in names}}

    def window(name: str, low: float, high: float) -> dict:
        return {"type": "object", "additionalProperties": False, "required": ["name", "level"],
                "properties": {"name": {"const": name}, "level": number(low, high),
                               "start_day": number(0, max_days, "default 0; " + CROSS_FIELD_RULES["inputs[].start_day"]),
                               "end_day": {"type": "number", "minimum": 0,
                                           "description": "default days; " + CROSS_FIELD_RULES["inputs[].end_day"]}}}

    def dose(name: str, unit: str, largest: float, what: str) -> dict:
        return {"type": "object", "additionalProperties": False, "required": ["name", "amount", "day"],
                "description": what,
                "properties": {"name": {"const": name}, "amount": number(0, largest, unit, low_open=True),
                               "day": number(0, max_days, CROSS_FIELD_RULES["doses[].day"]),
                               "duration_hours": number(0, 24 * max_days, "0 = bolus (so is anything under one minute, "
                                                        f"{BOLUS_BELOW_HOURS:.6g} h); "
                                                        + CROSS_FIELD_RULES["doses[].duration_hours"])}}

    items = {} if max_items is None else {"maxItems": max_items}
    parameters = [n for n in table.names if n not in species.TRAITS]
    return {
        "title": "gutjoint scenario", "type": "object", "additionalProperties": False, "required": ["days"],
        "properties": {
            "name": {"type": "string", "maxLength": MAX_NAME},
            "description": {"type": "string", "maxLength": MAX_DESCRIPTION},
            "days": number(MIN_DAYS, max_days, "horizon in days (at least one minute)"),
            "step_hours": number(MIN_STEP_HOURS, 24 * max_days, "output spacing; default 24, or the horizon if "
                                 "shorter; " + CROSS_FIELD_RULES["step_hours"]),
            "subject": ranged(species.TRAITS),
            "parameters": ranged(parameters),
            "inputs": {"type": "array", **items, "items": {"oneOf": [window(n, *species.INPUT_RANGES[n])
                                                                     for n in species.PUBLIC_INPUTS]}},
            "doses": {"type": "array", **items, "items": {"oneOf": [dose(n, *DOSES[n]) for n in DOSES]}},
        },
    }


GUT_INPUTS = ("dysbiosis", "barrier_insult", "enteric_infection", "high_fat_diet", "diet_antigen")
"""The exposures that come from the gut: what a person without gut drivers lives without."""
assert set(GUT_INPUTS) <= set(INPUT_DEFAULTS)


def without_gut_drivers(scenario: Scenario) -> Scenario:
    """The counterfactual scenario: gut exposures at their defaults, barrier resilience typical (the gut share
    and a population's comparison run compare with it)."""
    from dataclasses import replace

    inputs = tuple(w for w in scenario.inputs if w.name not in GUT_INPUTS)
    subject = {k: v for k, v in scenario.subject.items() if k != "barrier_resilience"}
    return replace(scenario, name=f"{scenario.name} (gut drivers removed)", inputs=inputs, subject=subject)


def builtin_scenarios() -> dict[str, Path]:
    """Built-in scenario names and their files."""
    folder = resources.files("gutjoint._studies").joinpath("scenarios")
    return {Path(str(f)).stem: Path(str(f)) for f in sorted(folder.iterdir(), key=str) if str(f).endswith(".toml")}


def scenario_to_dict(scenario: Scenario) -> dict:
    """The scenario as plain data in the scenario format (the inverse of :func:`scenario_from_dict`)."""
    return {"days": scenario.days, "step_hours": scenario.step_hours, "subject": scenario.subject,
            "parameters": scenario.parameters, "name": scenario.name,
            "inputs": [asdict(w) for w in scenario.inputs], "doses": [asdict(d) for d in scenario.doses]}


def load_scenario(spec: str | Path | Scenario | dict) -> Scenario:
    """A scenario from a built-in name, a ``.toml`` path, a dict or a :class:`Scenario`."""
    if isinstance(spec, Scenario):
        return spec
    if isinstance(spec, dict):
        return scenario_from_dict(spec)
    builtins = builtin_scenarios()
    text_spec = str(spec)
    if text_spec in builtins:
        path, name = builtins[text_spec], text_spec
    else:
        path, name = Path(text_spec), None
        try:
            exists = path.exists()
        except (OSError, ValueError):  # a name the system cannot hold: too long, or with a NUL character
            exists = False
        if path.suffix != ".toml" and not exists:
            raise ScenarioError(text_spec, "SCENARIO", text_spec,
                                f"a built-in name ({', '.join(builtins)}) or a .toml file")
    source = str(spec) if name is None else f"{name} (built-in)"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(str(path), "<file>", str(path), "an existing scenario file") from None
    except OSError as exc:
        raise ScenarioError(str(path), "<file>", str(path), f"a readable file ({exc.strerror})") from None
    except ValueError:  # a NUL character in the path
        raise ScenarioError(str(path), "<file>", str(path), "a file path without NUL characters") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(path), "<toml>", str(exc).splitlines()[0], "valid TOML") from None
    except ValueError as exc:  # an integer over Python's 4,300-digit limit for reading text
        raise ScenarioError(str(path), "<toml>", str(exc).split(":")[0], "valid TOML with numbers of at most "
                            "4300 digits") from None
    except RecursionError:
        raise ScenarioError(str(path), "<toml>", "nesting too deep", "valid TOML nested at most a few hundred "
                            "levels") from None
    return scenario_from_dict(data, source=source, name=name or path.stem)


# ---------------------------------------------------------------------------------------------------------
# Schedule


def input_vector_at(scenario: Scenario, day: float, input_names: tuple[str, ...]) -> np.ndarray:
    """Exposure levels in effect at ``day`` (dose rates zero): the last listed covering window wins."""
    defaults, column = _input_layout(input_names)
    levels = list(defaults)
    for window in scenario.inputs:
        if window.start_day <= day < window.end_day and window.name in column:
            levels[column[window.name]] = window.level
    return np.array(levels)


def schedule_edges(scenario: Scenario) -> list[float]:
    """The days where the run is split: 0, the horizon, and every input change and dose (sorted, distinct).
    ``len(schedule_edges(s)) - 1`` segments are integrated, each from a fresh first step."""
    points = {0.0, scenario.days}
    for w in scenario.inputs:
        points.update(t for t in (w.start_day, w.end_day) if 0 <= t <= scenario.days)
    for d in scenario.doses:
        points.add(d.day)
        if d.duration_hours > 0:
            points.add(min(d.day + d.duration_hours / 24.0, scenario.days))
    return sorted(points)


def build_schedule(scenario: Scenario, input_names: tuple[str, ...], state_names: tuple[str, ...],
                   p: np.ndarray, parameter_names: tuple[str, ...]) -> Schedule:
    """Split ``[0, days]`` at every input change and dose, with boluses as state jumps. A schedule has a handful
    of segments, so the levels are set on plain lists and turned into arrays once."""
    edges = schedule_edges(scenario)
    starts = edges[:-1]
    defaults, column = _input_layout(input_names)
    rows = [list(defaults) for _ in starts]
    for window in scenario.inputs:  # in order: the last listed covering window wins
        k = column[window.name]
        for row, start in zip(rows, starts):
            if window.start_day <= start < window.end_day:
                row[k] = window.level
    jumps = None
    for d in scenario.doses:
        route = species.DOSE_ROUTES[d.name]
        if d.duration_hours > 0:
            k, rate, stop = column[route.rate_input], d.amount / d.duration_hours, d.day + d.duration_hours / 24.0
            for row, start in zip(rows, starts):
                if d.day <= start < stop:
                    row[k] += rate
        elif d.day in starts:  # a bolus at the horizon itself has no segment to act in
            if jumps is None:
                jumps = np.zeros((len(starts), len(state_names)))
            scale = route.factor(lambda name: p[parameter_names.index(name)])
            jumps[starts.index(d.day), state_names.index(route.state)] += d.amount * scale
    return Schedule(np.array(edges), np.array(rows), jumps)


@lru_cache(maxsize=8)
def _input_layout(input_names: tuple[str, ...]) -> tuple[tuple[float, ...], dict[str, int]]:
    """Default level of each input, and each input's column."""
    return tuple(INPUT_DEFAULTS.get(name, 0.0) for name in input_names), {n: k for k, n in enumerate(input_names)}


def output_times(scenario: Scenario) -> np.ndarray:
    """Output times in days, every ``step_hours``, including 0 and the horizon (a read-only array)."""
    return _output_times(float(scenario.days), float(scenario.step_hours))


@lru_cache(maxsize=64)
def _output_times(days: float, step_hours: float) -> np.ndarray:
    step = step_hours / 24.0
    n = int(math.floor(days / step + 1e-9))
    times = np.arange(n + 1) * step
    # n * step may round to just past the horizon; a time within 1e-9 day of it is the horizon itself
    times = np.append(times[(times < days - 1e-9) | (times == 0.0)], days)
    times.flags.writeable = False  # shared by every run with the same grid
    return times
