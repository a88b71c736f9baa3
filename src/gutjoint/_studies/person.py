"""From a person's own measurements to their forecast (issue 31).

A person's data is a small CSV file: ``day,observable,value`` rows (day 0 is today; earlier measurements have
negative days). Observables: ``pain_nrs`` (a diary), ``crp_mg_l``, ``lm_ratio`` and ``il6_pg_ml`` (labs), ``hla_b27`` (0 or 1,
if known) and ``red_flag`` (an id of :data:`gutjoint._safety.RED_FLAG_IDS`). A red flag stops the forecast: the
triage comes first and alone.

The inference is importance weighting over a bank of virtual people (the general-adult priors of ``priors.py``,
each living their own background exposures, at rest, simulated once through ``population.run_population``, and
again under each option of :data:`.options.OPTIONS`). Each banked person is weighted by the likelihood of the
person's data (:data:`NOISE`), which gives the posterior of their traits, their gut share (the share of their pain
that would go without the gut drivers), their pain sources and their forecast under each option. The person is
assumed to be at their resting state (the diary's days are repeated measures of one resting level). The model's
own parameters are a second, separate uncertainty: the same weighting over banks made under ensemble draws gives
the spread of the answer across them.
"""

from __future__ import annotations

import csv
import math
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from gutjoint._errors import InputError
from gutjoint._biology import species
from gutjoint._safety import RED_FLAG_IDS, Triage, triage
from gutjoint._studies.options import OPTION_KEYS, OPTIONS, Option, with_option
from gutjoint._studies.scenario import InputWindow, Scenario


@dataclass(frozen=True)
class Noise:
    """How a measured observable scatters around the person's resting value: ``normal`` (SD in its unit) or
    ``log-normal`` (SD on the log scale), with the bank's column that holds the resting value."""

    column: str
    kind: str
    sd: float
    low: float
    high: float
    source: str
    grade: str
    value_grade: str

    def log_likelihood(self, model: np.ndarray, value: float) -> np.ndarray:
        if self.kind == "normal":
            return -0.5 * ((model - value) / self.sd) ** 2
        return -0.5 * ((np.log(np.maximum(model, 1e-9)) - math.log(value)) / self.sd) ** 2

    def draw(self, rng: np.random.Generator, model: float, size: int) -> np.ndarray:
        if self.kind == "normal":
            return np.clip(model + rng.normal(0.0, self.sd, size), self.low, self.high)
        return model * np.exp(rng.normal(0.0, self.sd, size))


def _pain_noise() -> Noise:
    from gutjoint._studies.trial import REPORTING_NOISE

    return Noise("baseline_pain", "normal", REPORTING_NOISE.sd, 0.0, 10.0,
                 "the visit-to-visit scatter of a reported pain score (trial.REPORTING_NOISE: derived from a 28-day "
                 "test-retest study in RA)", REPORTING_NOISE.grade, REPORTING_NOISE.value_grade)


NOISE = {
    "pain_nrs": _pain_noise(),
    "crp_mg_l": Noise("baseline_crp", "log-normal", 0.41, 0.01, 500.0,
                      "Macy EM, Hayes TE, Tracy RP, Clin Chem 1997;43:52 (abstract): within-subject CV of CRP 42.2% "
                      "and analytical CV 5.2% in healthy adults followed over 6 months; together 42.5%, taken as 0.41 "
                      "on the log scale (Riese 2002, BMC Cardiovasc Disord 2:9, abstract: 49% within a working week)",
                      "human observational", "derived"),
    "lm_ratio": Noise("baseline_lm", "log-normal", 0.35, 0.001, 2.0,
                      "assumed: test-to-test scatter of a urinary L:M, including collection, 0.35 on the log scale "
                      "(no within-person CV was found: van Elburg 1995, J Pediatr Gastroenterol Nutr 20:184, abstract, "
                      "prints only a repeat-test regression, slope 0.825)", "assumed", "assumed"),
    "il6_pg_ml": Noise("baseline_il6", "log-normal", 0.27, 0.05, 1000.0,
                       "Knudsen LS et al., Biomarkers 2008;13:59 (abstract): median within-person CV of plasma IL-6 "
                       "27% over one month in 27 healthy adults (31% and 26% over 6 and 12 months); taken as 0.27 on "
                       "the log scale", "human observational", "derived"),
    "lps_pg_ml": Noise("baseline_lps", "log-normal", 0.5, 0.1, 10_000.0,
                       "assumed: 0.5 on the log scale for plasma endotoxin between samples; no within-person "
                       "variation was found, only the LAL assays' own precision (CV 4% to 26%: Harris 1983, J Clin "
                       "Pathol 36:1145; Wong 2016, J Inflamm 13:24; abstracts), a lower bound", "assumed", "assumed"),
    "stiffness_min": Noise("baseline_stiffness", "normal", 65.0, 0.0, 1440.0,
                           "Hazes JM, Hayton R, Burt J, Silman AJ, 'Consistency of morning stiffness: an analysis of "
                           "diary data' (abstract; journal not read): in 49 RA patients' week-long diaries, half had a "
                           "range of 3 h or more; a 3-hour range over 7 days is about 2.7 SD, so an SD of about 65 "
                           "minutes", "human observational", "derived"),
}
"""The measured observables a person's file may hold, with their noise models, plausible ranges (in the model's
unit) and grades (the evidence for the scatter, and the basis of its value; ``assumed`` where no source was
read)."""

UNITS = {
    "pain_nrs": {"NRS": 1.0, "0-10": 1.0, "mm": 0.1, "VAS mm": 0.1},
    "crp_mg_l": {"mg/L": 1.0, "mg/dL": 10.0, "nmol/L": 1 / 9.52},
    "lm_ratio": {"ratio": 1.0},
    "il6_pg_ml": {"pg/mL": 1.0, "ng/L": 1.0},
    "lps_pg_ml": {"pg/mL": 1.0, "EU/mL": 100.0},
    "stiffness_min": {"min": 1.0, "h": 60.0},
}
"""The units a measurement may come in, with the factor to the model's unit (the first). Two factors are
conventions, not read from a source in this project (assumed): 1 mg/L of CRP = 9.52 nmol/L (a molar mass of
about 105 kDa, the pentamer), and 1 EU = 100 pg of endotoxin (endotoxins differ in potency per gram, so an EU/mL
value converts only roughly)."""

@dataclass(frozen=True)
class EventKind:
    """An event a person's file may hold: a course with a length in days (``value``: 1 to ``longest``), or an
    intervention started (``value`` 1) or stopped (0); each sets one model input while it lasts."""

    input: str
    level: float
    longest: float | None  # None: started and stopped by rows of their own
    source: str
    relative: bool = False  # the level multiplies the person's own at the event's start


EVENTS = {
    "enteric_infection": EventKind("enteric_infection", 1.0, 60.0,
                                   "an enteric infection as in the reactive-arthritis scenario (level 1; assumed)"),
    "nsaid": EventKind("barrier_insult", 1.0, 3650.0,
                       "a course of regular NSAIDs as the model's barrier insult at full level (reverse_path."
                       "NSAID_LEVEL, assumed; its permeability effect is the held-out nsaid-ra row). The model has no "
                       "analgesic effect of NSAIDs: pain-diary days on them count as days without it"),
    "barrier_support": EventKind("barrier_support", 1.0, None, "barrier support as in gutjoint report's option"),
    "anti_tnf": EventKind("anti_tnf", 0.9, None, "anti-TNF medicine as in gutjoint report's option"),
    "weight_loss": EventKind("metabolic_stress", 0.5, None, "a weight-loss-like change: the person's metabolic "
                             "stress at its start halved, as gutjoint report's option (its size assumed)",
                             relative=True),
}
"""The events a person's file may hold, by observable name."""


@dataclass(frozen=True)
class Event:
    """One event on a person's timeline: ``input`` at ``level`` from ``start`` to ``end`` (days; 0 is today)."""

    name: str
    input: str
    level: float
    start: float
    end: float
    relative: bool = False


DIAGNOSES = {"coeliac": "coeliac"}
"""A known diagnosis the file may state (``diagnosis``) -> the built-in scenario whose exposures that population
lives at rest (its traits stay the general-adult priors). Untreated coeliac disease is the only gut disease the
model has a population for; IBD is not modelled."""

OBSERVABLES = (*NOISE, *EVENTS, "diagnosis", "hla_b27", "red_flag")
MAX_ROWS = 10_000
REST_SCENARIO = Scenario(name="your own numbers", days=365.0, step_hours=24.0,
                         source="person: each banked person's own exposures, nothing changed")
"""The bank's people at rest on their own exposures: their resting values, and their gut share and pain sources
(the share of that pain which would go without the gut drivers, and the four sources' shares of it)."""


def rest_scenario(diagnosis: str | None = None, days: float = REST_SCENARIO.days) -> Scenario:
    """:data:`REST_SCENARIO` over ``days``, for people with ``diagnosis`` (:data:`DIAGNOSES`: its scenario's
    exposures from day 0 to the end, in place of the person's own for those inputs)."""
    if diagnosis is None:
        return replace(REST_SCENARIO, days=days)
    from gutjoint._studies.scenario import load_scenario

    lived = load_scenario(DIAGNOSES[diagnosis])
    return replace(REST_SCENARIO, name=f"your own numbers, {diagnosis}", days=days,
                   inputs=tuple(InputWindow(w.name, w.level, 0.0, days) for w in lived.inputs),
                   source=f"person: each banked person's own exposures, with those of {DIAGNOSES[diagnosis]}")


OPTION_START = 1.0
"""The day each option of :data:`.options.OPTIONS` starts in the bank, after a day at rest (an option that changes
an exposure must not change the resting state); it then runs :data:`OPTION_DAYS`."""
OPTION_DAYS = 365.0
TRAITS = ("barrier_resilience", "cross_reactivity", "mechanical_load", "pain_sensitivity", "immune_resolution",
          "dysbiosis", "barrier_insult", "metabolic_stress")


@dataclass(frozen=True)
class PersonData:
    """One person's measurements (a table of day, observable, value), events, known HLA-B27 status and red flags."""

    measurements: pd.DataFrame
    hla_b27: int | None = None
    red_flags: tuple[str, ...] = ()
    source: str = "<person>"
    events: tuple[Event, ...] = ()
    diagnosis: str | None = None


def read_person(path: str | Path) -> PersonData:
    """Read and check a person's file; :class:`InputError` names the file, row, field, value and what is allowed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: unreadable ({type(exc).__name__}); allowed: a UTF-8 CSV file with columns "
                         "day,observable,value") from None
    rows = list(csv.DictReader(line for line in text.splitlines() if line.strip() and not line.startswith("#")))
    return person_from_rows(rows, source=str(path))


def person_from_rows(rows: list[dict], *, source: str = "<person>") -> PersonData:
    """:func:`read_person` for rows already read (dicts with ``day``, ``observable``, ``value``)."""
    if not rows:
        raise InputError(f"{source}: no rows; allowed: a CSV with a header day,observable,value and one row per "
                         "measurement")
    if len(rows) > MAX_ROWS:
        raise InputError(f"{source}: {len(rows)} rows; allowed: at most {MAX_ROWS}")
    missing = {"day", "observable", "value"} - set(rows[0])
    if missing:
        raise InputError(f"{source}: header {sorted(rows[0])} lacks {sorted(missing)}; allowed: day,observable,value")
    measured, flags, hla, events, switches, diagnosis = [], [], None, [], [], None
    for i, row in enumerate(rows, start=2):
        where, at = f"{source}: row {i}", f"rows[{i - 2}]"  # the file's line; the request's index
        name = "" if row.get("observable") is None else str(row.get("observable")).strip()
        if name not in OBSERVABLES:
            raise InputError(f"{where}: field 'observable' is {name!r}; allowed: {', '.join(OBSERVABLES)}",
                             field=f"{at}.observable")
        raw = "" if row.get("value") is None else str(row.get("value")).strip()
        if name == "red_flag":
            if raw not in RED_FLAG_IDS:
                raise InputError(f"{where}: field 'value' is {raw!r}; allowed for a red_flag: {', '.join(RED_FLAG_IDS)}",
                                 field=f"{at}.value")
            flags.append(raw)
            continue
        day = _number(where, f"{at}.day", "day", row.get("day"), -3650.0, 0.0, "a day from -3650 to 0 (0 is today)")
        if name == "diagnosis":
            if raw not in DIAGNOSES:
                raise InputError(f"{where}: field 'value' is {raw!r}; allowed for a diagnosis: "
                                 f"{', '.join(DIAGNOSES)} (untreated, on gluten; IBD is not modelled)",
                                 field=f"{at}.value")
            diagnosis = raw
            continue
        if name == "hla_b27":
            if raw not in ("0", "1"):
                raise InputError(f"{where}: field 'value' is {raw!r}; allowed for hla_b27: 0 or 1", field=f"{at}.value")
            hla = int(raw)
            continue
        if name in EVENTS:
            kind = EVENTS[name]
            if kind.longest is None:
                if raw not in ("0", "1", "0.0", "1.0"):
                    raise InputError(f"{where}: field 'value' is {raw!r}; allowed for {name}: 1 (started that day) or 0 "
                                     "(stopped that day)", field=f"{at}.value")
                switches.append((day, i, name, float(raw) == 1.0, where, at))
            else:
                length = _number(where, f"{at}.value", "value", raw, 1.0, kind.longest,
                                 f"the {name}'s length, 1 to {kind.longest:g} days")
                events.append(Event(name, kind.input, kind.level, day, day + length, kind.relative))
            continue
        noise = NOISE[name]
        unit = "" if row.get("unit") is None else str(row.get("unit")).strip()
        factor = UNITS[name].get(unit or next(iter(UNITS[name])))
        if factor is None:
            raise InputError(f"{where}: field 'unit' is {unit!r}; allowed for {name}: {', '.join(UNITS[name])} (or "
                             "empty for the first)", field=f"{at}.unit")
        low, high, first = noise.low / factor, noise.high / factor, unit or next(iter(UNITS[name]))
        value = factor * _number(where, f"{at}.value", "value", raw, low, high,
                                 f"a {name} from {low:g} to {high:g} {first}")
        measured.append({"day": day, "observable": name, "value": value})
    events += _switched(switches)
    return PersonData(pd.DataFrame(measured, columns=["day", "observable", "value"]), hla, tuple(flags), source,
                      tuple(sorted(events, key=lambda e: (e.start, e.name))), diagnosis)


def _switched(switches: list) -> list[Event]:
    """Interventions from their start (1) and stop (0) rows, in day order: a stop needs a start before it, a start
    needs the one before it stopped; one still running goes on past today."""
    events: list[Event] = []
    running: dict[str, float] = {}
    for day, _, name, start, where, at in sorted(switches, key=lambda r: (r[0], r[1])):
        if start and name in running:
            raise InputError(f"{where}: field 'value' is 1 on day {day:g}, but {name} started on day "
                             f"{running[name]:g} has not stopped; allowed: a stop (0) first", field=f"{at}.value")
        if not start and name not in running:
            raise InputError(f"{where}: field 'value' is 0 on day {day:g}, but {name} was not started before; "
                             "allowed: a start (1) on an earlier day", field=f"{at}.value")
        if start:
            running[name] = day
        else:
            kind = EVENTS[name]
            events.append(Event(name, kind.input, kind.level, running.pop(name), day, kind.relative))
    for name, began in running.items():
        kind = EVENTS[name]
        events.append(Event(name, kind.input, kind.level, began, math.inf, kind.relative))
    return events


def _number(where: str, path: str, field_name: str, raw, low: float, high: float, allowed: str) -> float:
    try:
        value = float(str(raw).strip())
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and low <= value <= high):
        raise InputError(f"{where}: field '{field_name}' is {raw!r}; allowed: {allowed}", field=path)
    return value


# --- the bank of virtual people ---------------------------------------------------------------------------------

def person_bank(size: int, seed: int = 31, *, parameters: dict[str, float] | None = None,
                workers: int = 1, diagnosis: str | None = None, options: bool = True) -> pd.DataFrame:
    """``size`` virtual general adults under ``parameters`` (an ensemble draw; default the table): each at rest on
    their own exposures (``population.run_population`` of :data:`REST_SCENARIO`: resting values, the gut share and
    the pain sources at rest, the traits), and the same people under each option (:func:`option_outcomes`).
    ``diagnosis``: people with that gut disease (:func:`rest_scenario`). ``options=False`` leaves the options out
    (a timeline's forecast runs its own). The frame's ``attrs`` keep the parameters and the diagnosis for a
    timeline (:func:`timeline_values`)."""
    from gutjoint._studies.population import run_population

    with tempfile.TemporaryDirectory() as folder:
        out = run_population(rest_scenario(diagnosis), n=size, seed=seed, out=Path(folder) / "bank", workers=workers,
                             parameters=parameters, comparisons=True)
        rest = pd.read_parquet(out / "subjects.parquet")
    rest = rest[rest["status"] == "success"].reset_index(drop=True)
    sources = rest[[f"final_pain_{s}" for s in species.PAIN_SOURCES]].to_numpy(float)
    total = sources.sum(axis=1, keepdims=True)
    shares = np.divide(sources, total, out=np.full_like(sources, np.nan), where=total > 0)
    for k, source in enumerate(species.PAIN_SOURCES):
        rest[f"share_{source}"] = shares[:, k]
    if options:
        both = rest.join(option_outcomes(rest, parameters, diagnosis=diagnosis))
        both = both[np.isfinite(both[[f"pain_after_{o}" for o in OPTION_KEYS]]).all(axis=1)].reset_index(drop=True)
    else:
        both = rest
    both.attrs["parameters"] = dict(parameters or {})
    both.attrs["diagnosis"] = diagnosis
    return both


def _subjects(rest: pd.DataFrame) -> list[dict[str, float]]:
    """Each banked person's drawn traits, exposures and parameters, from the population's ``prior_`` columns."""
    columns = [c for c in rest.columns if c.startswith("prior_")]
    return [{c.removeprefix("prior_"): float(v) for c, v in zip(columns, row)}
            for row in rest[columns].to_numpy(float)]


def option_outcomes(rest: pd.DataFrame, parameters: dict[str, float] | None = None, *,
                    chunk: int = 500, diagnosis: str | None = None) -> pd.DataFrame:
    """Each person of ``rest`` (a population table of :data:`REST_SCENARIO`) under each option of
    :data:`.options.OPTIONS` from :data:`OPTION_START` for :data:`OPTION_DAYS`: the pain at the end
    (``pain_after_<key>``) and the days to 30% less pain than at rest (``days_to_30pct_<key>``; +inf: not within
    the run). A run that fails is NaN. The options share each person's resting state (solved once)."""
    from gutjoint._studies.outcomes import time_to_improvement
    from gutjoint._studies.people import living_under, subject_scenario
    from gutjoint._studies.problem import MANY_RUN_TOLERANCES, prepare_many, relax_for, solve_many

    base = living_under(rest_scenario(diagnosis, OPTION_START + OPTION_DAYS), dict(parameters or {}))
    people = _subjects(rest)
    out = {f"{kind}_{o.key}": np.full(len(people), np.nan) for o in OPTIONS for kind in ("pain_after", "days_to_30pct")}
    for first in range(0, len(people), chunk):
        group = people[first:first + chunk]
        cache: dict = {}
        for option in OPTIONS:
            scenarios = [with_option(subject_scenario(base, person), option, OPTION_START) for person in group]
            problems = prepare_many(scenarios, rest_cache=cache, relax=relax_for(parameters))
            for k, solution in enumerate(solve_many(problems, tolerances=MANY_RUN_TOLERANCES)):
                if not solution.ok:
                    continue
                pain = solution["pain_nrs"]
                out[f"pain_after_{option.key}"][first + k] = float(pain[-1])
                days = time_to_improvement(solution.times, pain, OPTION_START, 0.30)
                out[f"days_to_30pct_{option.key}"][first + k] = days if math.isfinite(days) else math.inf
    return pd.DataFrame(out, index=rest.index)


BANK_COLUMNS = ("baseline_pain", "baseline_crp", "baseline_lm", "baseline_il6", "baseline_lps", "baseline_stiffness",
                "gut_share",
                *(f"share_{s}" for s in species.PAIN_SOURCES),
                *(f"{kind}_{o}" for o in OPTION_KEYS for kind in ("pain_after", "days_to_30pct")),
                *(f"prior_{t}" for t in TRAITS), "prior_hla_b27")
SHIPPED_BANK = ("person_bank.parquet", "person_bank.json")
SHIPPED_SIZE, SHIPPED_SEED = 15_000, 31
DRAW_BANK_SIZE = 2_000
"""People in the bank made under each ensemble draw for the parameter spread (a median per draw, not intervals)."""


def bank_key() -> str:
    """What a shipped bank depends on: the model, the engine's many-run tolerances, the bank scenario and size."""
    import hashlib

    from gutjoint._studies.scenario import scenario_to_dict
    from gutjoint._studies.trial import engine_key

    text = repr((engine_key(), scenario_to_dict(REST_SCENARIO), OPTION_START, OPTION_DAYS, OPTIONS, SHIPPED_SIZE,
                 SHIPPED_SEED, BANK_COLUMNS))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def write_shipped_bank(folder=None, *, workers: int = 2) -> Path:
    """Make the bank of :data:`SHIPPED_SIZE` people and store it with its key in the package data (or ``folder``),
    for the web and for ``gutjoint person`` to load instead of simulating it: an amortised prior."""
    import json
    from importlib import resources

    from gutjoint._files import atomic_write

    folder = Path(folder) if folder is not None else Path(str(resources.files("gutjoint.data")))
    bank = person_bank(SHIPPED_SIZE, SHIPPED_SEED, workers=workers)[list(BANK_COLUMNS)].astype("float32")
    atomic_write(folder / SHIPPED_BANK[0], lambda tmp: bank.to_parquet(tmp, index=False, compression="zstd"),
                 field="out")
    atomic_write(folder / SHIPPED_BANK[1], lambda tmp: tmp.write_text(json.dumps({"key": bank_key(), "people": len(bank)})),
                 field="out")
    return folder / SHIPPED_BANK[0]


def shipped_bank() -> pd.DataFrame | None:
    """The bank shipped with the package, or None when it was made under another model or engine (then a bank is
    simulated; regenerate with ``person.write_shipped_bank()``)."""
    import json
    from importlib import resources

    folder = resources.files("gutjoint.data")
    try:
        meta = json.loads(folder.joinpath(SHIPPED_BANK[1]).read_text(encoding="utf-8"))
        if meta.get("key") != bank_key():
            return None
        with folder.joinpath(SHIPPED_BANK[0]).open("rb") as handle:
            return pd.read_parquet(handle).astype("float64")
    except (OSError, ValueError):
        return None


def default_bank(workers: int = 1) -> pd.DataFrame:
    """The shipped bank when it is current, else one simulated now (:func:`person_bank`)."""
    bank = shipped_bank()
    return bank if bank is not None else person_bank(SHIPPED_SIZE, SHIPPED_SEED, workers=workers)


def log_weights(bank: pd.DataFrame, data: PersonData) -> np.ndarray:
    """The log-likelihood of the person's data under each banked person."""
    logw = np.zeros(len(bank))
    for row in data.measurements.itertuples():
        noise = NOISE[row.observable]
        logw += noise.log_likelihood(bank[noise.column].to_numpy(float), row.value)
    if data.hla_b27 is not None:
        logw = np.where(bank["prior_hla_b27"].to_numpy() == data.hla_b27, logw, -np.inf)
    return logw


# --- a person's timeline: events, and measurements read when they were taken --------------------------------------

EVENT_BANK_SIZE = 10_000
"""People simulated through a timeline with events (each answer makes its own bank: the shipped one holds the
people at rest only)."""


def timeline_start(data: PersonData) -> float:
    """The person's day that is their timeline's day 0: one day before their first measurement or event (a day at
    rest). The timeline ends today, at its day ``-timeline_start(data)``."""
    days = [*data.measurements["day"].tolist(), *(e.start for e in data.events)]
    return min(days, default=0.0) - 1.0


def with_events(lived: Scenario, events: tuple[Event, ...], first: float, end: float) -> Scenario:
    """A person's own scenario (``lived``, on a clock whose day 0 is the person's day ``first``) with ``events`` on
    top, each from its start to its end or ``end``, whichever comes first; a relative event's level multiplies the
    person's own level of its input at its start."""
    from gutjoint._studies.options import level_at

    windows = []
    for e in events:
        start, stop = e.start - first, min(e.end - first, end)
        if stop > start:
            level = e.level * level_at(lived, e.input, start) if e.relative else e.level
            windows.append(InputWindow(e.input, level, start, stop))
    return replace(lived, inputs=lived.inputs + tuple(windows))


def timeline_values(bank: pd.DataFrame, data: PersonData, *, chunk: int = 2000) -> tuple[dict, np.ndarray]:
    """Each banked person (with their ``prior_`` columns, as :func:`person_bank` returns them, under the parameters
    in ``bank.attrs``) living the person's timeline (:func:`timeline_start`, :func:`with_events`), read at the days
    of the measurements and today: ``{output: array (people, days)}`` (NaN where a run failed) and those days."""
    from gutjoint._studies.people import living_under, subject_scenario
    from gutjoint._studies.problem import MANY_RUN_TOLERANCES, prepare_many, relax_for, solve_many

    if "prior_barrier_resilience" not in bank:
        raise ValueError("a timeline needs a bank with every drawn trait and exposure (person_bank's own frame)")
    parameters = dict(bank.attrs.get("parameters") or {})
    first = timeline_start(data)
    days = np.array(sorted({*data.measurements["day"].tolist(), 0.0}))
    base = living_under(rest_scenario(bank.attrs.get("diagnosis"), -first), parameters)
    people = _subjects(bank)
    outputs = sorted({*NOISE, "pain_nrs"})
    values = {o: np.full((len(people), days.size), np.nan) for o in outputs}
    for start in range(0, len(people), chunk):
        scenarios = []
        for person in people[start:start + chunk]:  # their own exposures; the events on top, up to today
            scenarios.append(with_events(subject_scenario(base, person), data.events, first, -first))
        problems = [p.at(days - first) for p in prepare_many(scenarios, relax=relax_for(parameters))]
        for k, solution in enumerate(solve_many(problems, tolerances=MANY_RUN_TOLERANCES)):
            if solution.ok:
                for o in outputs:
                    values[o][start + k] = solution[o]
    return values, days


NO_CHANGE = Option("no_change", "No change (your events' own course)", (), (), "What happens without any new "
                   "option: pain raised by an infection or a course may settle by itself, and an intervention you "
                   "are still on goes on.")
"""The forecast's comparison run on a timeline with events (at rest nothing changes without an option)."""


def timeline_forecast(bank: pd.DataFrame, data: PersonData, *, chunk: int = 1000) -> pd.DataFrame:
    """Each banked person's forecast from today on the person's timeline: the events lived up to today (an
    intervention still running, or a course that ends later, goes on), then each option of :data:`.options.OPTIONS`
    from today for :data:`OPTION_DAYS`, and :data:`NO_CHANGE` (the events' own course: pain after an infection or
    a course may settle by itself). Columns as the bank's own (``pain_after_<key>``, ``days_to_30pct_<key>``: 30%
    below the pain of today; +inf: not within the run; NaN: the run failed)."""
    from gutjoint._studies.outcomes import time_to_improvement
    from gutjoint._studies.people import living_under, subject_scenario
    from gutjoint._studies.problem import MANY_RUN_TOLERANCES, prepare_many, relax_for, solve_many

    parameters = dict(bank.attrs.get("parameters") or {})
    first = timeline_start(data)
    today, end = -first, -first + OPTION_DAYS
    base = living_under(rest_scenario(bank.attrs.get("diagnosis"), end), parameters)
    grid = np.arange(today, end + 1e-9, 1.0)
    people = _subjects(bank)
    runs = (*OPTIONS, NO_CHANGE)
    out = {f"{kind}_{o.key}": np.full(len(people), np.nan) for o in runs for kind in ("pain_after", "days_to_30pct")}
    for start in range(0, len(people), chunk):
        lived = [with_events(subject_scenario(base, person), data.events, first, end)
                 for person in people[start:start + chunk]]
        cache: dict = {}
        for option in runs:
            problems = prepare_many([with_option(sc, option, today) for sc in lived], rest_cache=cache,
                                    relax=relax_for(parameters))
            for k, solution in enumerate(solve_many([p.at(grid) for p in problems], tolerances=MANY_RUN_TOLERANCES)):
                if solution.ok:
                    pain = solution["pain_nrs"]
                    out[f"pain_after_{option.key}"][start + k] = float(pain[-1])
                    days = time_to_improvement(solution.times, pain, today, 0.30)
                    out[f"days_to_30pct_{option.key}"][start + k] = days if math.isfinite(days) else math.inf
    return pd.DataFrame(out, index=bank.index)


def timeline_log_weights(values: dict, days: np.ndarray, data: PersonData, bank: pd.DataFrame) -> np.ndarray:
    """The log-likelihood of the person's data under each banked person's timeline (:func:`timeline_values`)."""
    logw = np.zeros(len(bank))
    column = {d: k for k, d in enumerate(days)}
    for row in data.measurements.itertuples():
        logw += NOISE[row.observable].log_likelihood(values[row.observable][:, column[row.day]], row.value)
    failed = ~np.isfinite(values["pain_nrs"]).all(axis=1)
    logw[failed] = -np.inf
    if data.hla_b27 is not None:
        logw = np.where(bank["prior_hla_b27"].to_numpy() == data.hla_b27, logw, -np.inf)
    return logw


def timeline_measurements(rng: np.random.Generator, values: dict, days: np.ndarray, who: int,
                          plan: PersonData) -> PersonData:
    """``plan``'s measurements (its days and observables; its values ignored) drawn with noise around person
    ``who``'s timeline (:func:`timeline_values`), with ``plan``'s events."""
    column = {d: k for k, d in enumerate(days)}
    rows = [{"day": row.day, "observable": row.observable,
             "value": float(NOISE[row.observable].draw(rng, float(values[row.observable][who, column[row.day]]), 1)[0])}
            for row in plan.measurements.itertuples()]
    return replace(plan, measurements=pd.DataFrame(rows, columns=["day", "observable", "value"]))


def simulated_measurements(rng: np.random.Generator, truth, plan) -> PersonData:
    """A person's measurements by ``plan`` (``(observable, count)`` pairs), each drawn with its noise around the
    resting value ``truth[column]`` (a bank row, or a mapping of bank columns), on consecutive days back from 0."""
    rows = [{"day": -float(day), "observable": observable, "value": float(value)}
            for observable, count in plan
            for day, value in enumerate(NOISE[observable].draw(rng, float(truth[NOISE[observable].column]), count))]
    return PersonData(pd.DataFrame(rows, columns=["day", "observable", "value"]))


def _normalised(logw: np.ndarray) -> np.ndarray:
    finite = np.isfinite(logw)
    if not finite.any():
        return np.zeros_like(logw)
    w = np.where(finite, np.exp(logw - logw[finite].max()), 0.0)
    return w / w.sum()


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs=(0.05, 0.5, 0.95)) -> list[float]:
    """Quantiles ``qs`` of ``values`` under ``weights`` (NaN left out; +inf, such as "never", kept and returned)."""
    ok = ~np.isnan(values) & (weights > 0)
    if not ok.any():
        return [math.nan] * len(qs)
    order = np.argsort(values[ok])
    v, w = values[ok][order], weights[ok][order]
    cumulative = (np.cumsum(w) - 0.5 * w) / w.sum()
    out = []
    for q in qs:
        k = int(np.searchsorted(cumulative, q))
        if k >= v.size or not np.isfinite(v[min(k, v.size - 1)]) or (k > 0 and not np.isfinite(v[k - 1])):
            out.append(float(v[min(k, v.size - 1)]))  # at or next to an infinite value: no interpolation
        else:
            out.append(float(np.interp(q, cumulative, v)))
    return out


# --- the answer -------------------------------------------------------------------------------------------------

@dataclass
class PersonResult:
    """What a person's data say: the triage (alone, when a red flag is present), or the posterior and forecast."""

    triage: Triage
    stopped: bool
    effective_people: float = 0.0
    bank_size: int = 0
    summaries: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    traits: dict = field(default_factory=dict)
    parameter_spread: dict = field(default_factory=dict)
    measure_next: list = field(default_factory=list)


SUMMARIES = {
    "gut_share": "share of the pain at rest that would go without the gut drivers",
    "baseline_pain": "pain at rest today (NRS)",
}
TWELVE_WEEKS = 84.0


def infer_person(data: PersonData, *, bank: pd.DataFrame | None = None, parameter_banks: list | None = None,
                 candidates: bool = True, workers: int = 1) -> PersonResult:
    """The posterior of a person's traits, gut share and pain sources, and their forecast under each option of
    :data:`.options.OPTIONS`, given their data (:func:`read_person`). ``bank``: the virtual people to weight
    (default: :func:`default_bank`); ``parameter_banks``: banks made under ensemble draws, for the spread across
    the model's parameters, kept apart from what is not known about the person. With events in the data, each
    banked person lives the person's timeline (:func:`timeline_values`) and is weighed by the measurements at
    the days they were taken (default bank: :data:`EVENT_BANK_SIZE` people simulated now, on ``workers``), and
    the forecast starts from today on that timeline (:func:`_forecast`)."""
    care = triage(data.red_flags)
    if data.red_flags:
        return PersonResult(care, stopped=True)
    if bank is None:
        bank = (person_bank(EVENT_BANK_SIZE, SHIPPED_SEED, workers=workers, diagnosis=data.diagnosis,
                            options=not data.events) if data.events or data.diagnosis else default_bank())
    if bank.attrs.get("diagnosis") != data.diagnosis:
        raise ValueError(f"the bank's people have diagnosis {bank.attrs.get('diagnosis')!r}, the person "
                         f"{data.diagnosis!r}: make the bank with person_bank(..., diagnosis=...)")
    if data.events:
        values, days = timeline_values(bank, data)
        w = _normalised(timeline_log_weights(values, days, data, bank))
    else:
        w = _normalised(log_weights(bank, data))
    result = PersonResult(care, stopped=False, effective_people=float(1.0 / np.sum(w**2)) if w.any() else 0.0,
                          bank_size=len(bank))
    for name in SUMMARIES:
        result.summaries[name] = weighted_quantiles(bank[name].to_numpy(float), w)
    if data.events:
        result.summaries["pain_now"] = weighted_quantiles(values["pain_nrs"][:, -1], w)
    for source in species.PAIN_SOURCES:
        result.sources[source] = weighted_quantiles(bank[f"share_{source}"].to_numpy(float), w)
    forecast, fw = _forecast(bank, data, w)
    for option in (*OPTIONS, NO_CHANGE) if data.events else OPTIONS:
        reach = forecast[f"days_to_30pct_{option.key}"].to_numpy(float)
        result.options[option.key] = {
            "label": option.label, "links": list(option.links), "caveat": option.caveat,
            "improves_within_12_weeks": float(np.sum(fw * (reach <= TWELVE_WEEKS))),
            "improves_within_a_year": float(np.sum(fw * np.isfinite(reach))),
            "days_to_30pct": weighted_quantiles(reach, fw),
            "final_pain": weighted_quantiles(forecast[f"pain_after_{option.key}"].to_numpy(float), fw)}
    for trait in TRAITS:
        prior = bank[f"prior_{trait}"].to_numpy(float)
        result.traits[trait] = {"prior": weighted_quantiles(prior, np.full(len(prior), 1 / len(prior))),
                                "posterior": weighted_quantiles(prior, w)}
    for other in parameter_banks or []:
        wk = _normalised(timeline_log_weights(*timeline_values(other, data), data, other) if data.events
                         else log_weights(other, data))
        result.parameter_spread.setdefault("gut_share_median", []).append(
            weighted_quantiles(other["gut_share"].to_numpy(float), wk, (0.5,))[0])
        other_forecast, ow = _forecast(other, data, wk)
        for option in OPTIONS:
            reach = other_forecast[f"days_to_30pct_{option.key}"].to_numpy(float)
            result.parameter_spread.setdefault(f"{option.key}_within_12_weeks", []).append(
                float(np.sum(ow * (reach <= TWELVE_WEEKS))))
    if candidates and data.events:  # what a measurement taken now reads: each person's value today
        today = bank.assign(**{NOISE[o].column: values[o][:, -1] for o in NOISE})
        result.measure_next = measure_next(today, data, w, base=timeline_log_weights(values, days, data, bank))
    elif candidates:
        result.measure_next = measure_next(bank, data, w)
    return result


FORECAST_MASS = 0.999
"""With events, the forecast is simulated for the most weighted people who together carry this share of the
posterior weight (the rest, at most 0.1%, are left out and the weights renormalised)."""


def _forecast(bank: pd.DataFrame, data: PersonData, w: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Each option's outcome per banked person and the weights to read them with: the bank's own (from rest) without
    events; with events, :func:`timeline_forecast` for the people carrying :data:`FORECAST_MASS` of ``w``."""
    if not data.events:
        return bank, w
    order = np.argsort(w)[::-1]
    carrying = order[:int(np.searchsorted(np.cumsum(w[order]), FORECAST_MASS)) + 1]
    chosen = bank.iloc[np.sort(carrying)]
    chosen.attrs = dict(bank.attrs)
    weights = w[np.sort(carrying)]
    return timeline_forecast(chosen, data), weights / weights.sum()


CANDIDATES = {
    "one CRP": [("crp_mg_l", 1)],
    "one L:M test": [("lm_ratio", 1)],
    "one IL-6": [("il6_pg_ml", 1)],
    "one plasma endotoxin": [("lps_pg_ml", 1)],
    "four weeks of a daily pain diary": [("pain_nrs", 28)],
    "four weeks of a morning-stiffness diary": [("stiffness_min", 28)],
}


def measure_next(bank: pd.DataFrame, data: PersonData, weights: np.ndarray, *, base: np.ndarray | None = None,
                 simulations: int = 64, seed: int = 7) -> list[dict]:
    """For each candidate measurement, the expected narrowing of the gut share's posterior (its SD now, and its
    expected SD after the measurement: preposterior over the person's own predictive distribution). A new
    measurement scatters around each banked person's value in the bank's resting columns; ``base`` is the data's
    log-likelihood (default: at rest, :func:`log_weights`)."""
    rng = np.random.default_rng(seed)
    share = bank["gut_share"].to_numpy(float)
    ok = np.isfinite(share)
    sd_now = _weighted_sd(share[ok], weights[ok])
    base = log_weights(bank, data) if base is None else base
    out = []
    for name, plan in CANDIDATES.items():
        sds = []
        for _ in range(simulations):
            truth = bank.iloc[rng.choice(len(bank), p=weights)]
            w = _normalised(base + log_weights(bank, simulated_measurements(rng, truth, plan)))
            sds.append(_weighted_sd(share[ok], w[ok]))
        out.append({"measurement": name, "gut_share_sd_now": sd_now, "gut_share_sd_after": float(np.mean(sds))})
    return sorted(out, key=lambda r: r["gut_share_sd_after"])


def _weighted_sd(values: np.ndarray, weights: np.ndarray) -> float:
    total = weights.sum()
    if total <= 0:
        return math.nan
    mean = float(np.sum(weights * values) / total)
    return float(math.sqrt(np.sum(weights * (values - mean) ** 2) / total))


# --- calibration of the inference -------------------------------------------------------------------------------

DIARY_PLANS = {
    "nothing": [],
    "one CRP": [("crp_mg_l", 1)],
    "a 4-week diary": [("pain_nrs", 28)],
    "a 4-week diary, an L:M and a CRP": [("pain_nrs", 28), ("lm_ratio", 1), ("crp_mg_l", 1)],
}


def simulation_based_calibration(bank: pd.DataFrame, truths: pd.DataFrame, plan: list, *, seed: int = 11,
                                 quantity: str = "gut_share") -> dict:
    """Simulation-based calibration (Talts et al. 2018) of the weighting for ``quantity``: for each true person of
    ``truths`` (simulated apart from ``bank``), draw their measurements by ``plan`` with noise, weight the bank,
    and record the posterior rank of the truth (the weighted share of the bank below it) and whether the central
    90% interval holds it. With a correct posterior the ranks are uniform and the coverage is 90%."""
    rng = np.random.default_rng(seed)
    weights = [_normalised(log_weights(bank, simulated_measurements(rng, truth, plan))) for _, truth in truths.iterrows()]
    return _ranks(bank[quantity].to_numpy(float), truths[quantity].to_numpy(float), weights)


TIMELINE_PLAN = [{"day": -60, "observable": "nsaid", "value": 21}, {"day": -50, "observable": "lm_ratio", "value": 0.05},
                 {"day": -3, "observable": "lm_ratio", "value": 0.05}, {"day": -3, "observable": "crp_mg_l", "value": 2},
                 *({"day": -d, "observable": "pain_nrs", "value": 3} for d in range(28))]
"""The calibration's timeline (:func:`timeline_calibration`): a 3-week NSAID course with an L:M during it, then a
4-week daily diary, an L:M and a CRP (the values are placeholders: each true person's are drawn)."""
TIMELINE_QUANTITIES = ("gut_share", "prior_barrier_resilience", "prior_cross_reactivity", "prior_pain_sensitivity")


def timeline_calibration(bank: pd.DataFrame, truths: pd.DataFrame, plan: PersonData, *, seed: int = 11,
                         quantities: tuple[str, ...] = ("gut_share",)) -> dict[str, dict]:
    """:func:`simulation_based_calibration` for a timeline with events: the bank and the true people (both
    :func:`person_bank` frames) live ``plan``'s events, each truth's measurements are drawn at ``plan``'s days around
    their own timeline, and the bank is weighed by :func:`timeline_log_weights`. One result per quantity (the gut
    share, or a trait's ``prior_`` column)."""
    rng = np.random.default_rng(seed)
    values, days = timeline_values(bank, plan)
    truth_values, _ = timeline_values(truths, plan)
    weights = []
    for who in range(len(truths)):
        data = timeline_measurements(rng, truth_values, days, who, plan)
        weights.append(_normalised(timeline_log_weights(values, days, data, bank)))
    return {q: _ranks(bank[q].to_numpy(float), truths[q].to_numpy(float), weights) for q in quantities}


def _ranks(values: np.ndarray, truths: np.ndarray, weights: list[np.ndarray]) -> dict:
    """Each truth's posterior rank and whether the central 90% interval holds it, over ``weights`` (one array per
    truth): the coverage, the median interval width, the rank histogram and its chi-square p-value."""
    from scipy import stats

    ok = np.isfinite(values)
    ranks, inside, widths = [], [], []
    for truth, w in zip(truths, weights):
        if not np.isfinite(truth) or w[ok].sum() <= 0:
            continue
        w_ok = w[ok] / w[ok].sum()
        ranks.append(float(np.sum(w_ok * (values[ok] < truth)) + 0.5 * np.sum(w_ok * (values[ok] == truth))))
        low, _, high = weighted_quantiles(values[ok], w_ok)
        inside.append(low <= truth <= high)
        widths.append(high - low)
    counts = np.histogram(np.array(ranks), bins=10, range=(0, 1))[0]
    return {"people": len(ranks), "coverage_90": float(np.mean(inside)),
            "interval_width_median": float(np.median(widths)), "rank_counts": counts.tolist(),
            "uniformity_p": float(stats.chisquare(counts).pvalue)}
