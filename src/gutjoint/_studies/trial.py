"""Virtual trials: screen a virtual population, randomise the eligible, run every arm, analyse like a trial.

A trial file (TOML, checked field by field like a scenario) names the screening population (a built-in scenario's
exposures lived by people drawn from the general-adult priors), eligibility on each person's resting outputs,
traits and labels, the arms (interventions with their timing; one arm is the control), the size per arm, seeded
and optionally stratified permuted-block randomisation, dropout, and the endpoint week.

The placebo response is a separate, visible term (:data:`PLACEBO`), never part of the mechanism: every blinded
arm's reported pain is the model's pain minus ``size * (1 - exp(-t / onset))`` times the person's own factor;
CRP and L:M are the model's, untouched.

Analysis, each active arm against the control, with SciPy: the difference in mean pain change (Welch's t-test
and its 95% interval), the IMMPACT 30% and 50% responder rates (Dworkin et al. 2008, J Pain 9:105) with their
odds ratio (conditional maximum likelihood, exact 95% interval) and Fisher's exact test, and the mean changes of
CRP and L:M. Power (:func:`trial_power`) repeats the trial's sampling and randomisation over a pool of eligible
people whose outcomes under every arm are simulated once, with the table's parameters ("if the model is right")
and over ensemble draws ("over what we do not know").
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from gutjoint._errors import OptionError, ScenarioError
from gutjoint._biology import species
from gutjoint._studies.scenario import InputWindow, load_scenario


@dataclass(frozen=True)
class PlaceboResponse:
    """The placebo response in pain (NRS points), the same in every blinded arm."""

    size: float
    onset_weeks: float
    person_sd: float
    grade: str
    value_grade: str
    source: str

    def at(self, weeks: np.ndarray, factor: np.ndarray) -> np.ndarray:
        """Pain taken off by the placebo response (subject x time), for each person's ``factor``."""
        return np.asarray(factor)[:, None] * self.size * (1.0 - np.exp(-np.asarray(weeks) / self.onset_weeks))[None]

    def factors(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Each person's multiplier of the mean response: gamma-distributed, mean 1, SD ``person_sd`` (never
        negative: placebo does not make pain worse here)."""
        shape = 1.0 / self.person_sd**2
        return rng.gamma(shape, 1.0 / shape, n)


PLACEBO = PlaceboResponse(
    size=1.1, onset_weeks=1.0, person_sd=1.0, grade="human RCT",
    value_grade="human measurement (size and onset, from placebo arms); person_sd assumed",
    source="size: RA placebo arm -11.0 mm of 100 (VAS, from 70.2) at week 26 (van de Putte 2004 Ann Rheum Dis "
           "63:508, week-26 table); the OA placebo effect size 0.51 (Zhang 2008 Ann Rheum Dis 67:1716) is about 1 "
           "NRS point at an SD of 2. Onset: most of it within the first week (FAST4WARD placebo -5.2 mm at week 1, "
           "Fleischmann 2009 Ann Rheum Dis 68:805, Table 2). Spread between people (person_sd: a gamma factor with mean "
           "1): assumed, no pooled individual distribution was found. No effect on CRP (FAST4WARD: CRP rose on "
           "placebo) or on L:M.")


@dataclass(frozen=True)
class ReportingNoise:
    """The visit-to-visit scatter of a reported pain score around the model's pain (NRS points): each visit's report
    is the model's pain (less any placebo response) plus an independent normal error of SD ``sd``, kept within
    0-10. It is in every arm, blinded or not, and on nothing but reported pain."""

    sd: float
    low: float
    high: float
    grade: str
    value_grade: str
    source: str

    def draw(self, rng: np.random.Generator, n: int, visits: int) -> np.ndarray:
        return rng.normal(0.0, self.sd, (n, visits))


REPORTING_NOISE = ReportingNoise(
    sd=1.08, low=0.69, high=1.08, grade="human observational", value_grade="derived",
    source="smallest detectable difference of pain VAS 30 mm over 28-day test-retest intervals (19 mm over 1 day) in 40 "
           "RA patients on stable treatment reporting daily for two months ('Reliability of patient-reported "
           "outcomes in rheumatoid arthritis patients: an observational prospective study', abstract); SD of one "
           "report = SDD / (1.96 x sqrt 2) = 10.8 mm. The 28-day value is used for visits weeks apart (assumed not to "
           "grow further); range: 0.69 (the 1-day SDD) to 1.08 NRS points.")


@dataclass(frozen=True)
class Criterion:
    """``low <= value <= high`` for a resting output, a trait or a label (None: no bound)."""

    name: str
    low: float | None
    high: float | None

    def holds(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


@dataclass(frozen=True)
class Published:
    """A published result the trial is held to: ``endpoint`` of ``arm`` (for an endpoint ending in ``_difference``: the arm
    minus the control) must lie in ``[low, high]``, the published span with its stated tolerance, in the model's
    units (NRS points, %, shares)."""

    arm: str
    endpoint: str
    low: float
    high: float
    source: str
    estimate: float | None = None  # the printed point estimate, where the source prints one
    per_arm: int | None = None  # people per arm behind the estimate (a fit simulates a trial of this size)

    @property
    def centre(self) -> float:
        """The printed estimate, or the middle of the span where none is printed."""
        return self.estimate if self.estimate is not None else (self.low + self.high) / 2

    @property
    def derived(self) -> bool:
        """A number worked out here from printed ones (its source starts "derived"), not printed itself: it is
        labelled and counted apart from the published results everywhere."""
        return self.source.startswith("derived")

    def check(self, arms: dict[str, dict], comparisons: dict[str, dict]) -> dict:
        if self.endpoint == "pain_change_difference":
            value = comparisons[self.arm]["pain_change_difference"]["estimate"]
        elif self.endpoint == "crp_change_difference":
            value = comparisons[self.arm]["crp_change_difference"]
        else:
            value = arms[self.arm][self.endpoint]
        return {"arm": self.arm, "endpoint": self.endpoint, "model": float(value), "low": self.low,
                "high": self.high, "inside": bool(self.low <= value <= self.high), "source": self.source,
                "kind": "derived" if self.derived else "published"}


def held_counts(checks: list[dict]) -> dict[str, tuple[int, int]]:
    """For each kind of result a trial is held to (``published``, ``derived``): how many hold, of how many."""
    return {kind: (sum(c["inside"] for c in checks if c["kind"] == kind), sum(c["kind"] == kind for c in checks))
            for kind in ("published", "derived") if any(c["kind"] == kind for c in checks)}


def held_words(checks: list[dict]) -> str:
    """'5 of 6 published results hold; 2 of 2 derived results hold' (the derived apart, always)."""
    return "; ".join(f"{held} of {total} {kind} results hold"
                     for kind, (held, total) in held_counts(checks).items())


PUBLISHED_ENDPOINTS = {
    "pain_change_mean": "mean change in pain (NRS points)",
    "pain_change_pct_mean": "mean percentage change in pain",
    "pain_change_sd": "SD of the change in pain between people (NRS points)",
    "responder_30": "share with at least 30% less pain",
    "responder_50": "share with at least 50% less pain",
    "crp_change_mean": "mean change in CRP (mg/L)",
    "pain_change_difference": "mean change in pain, arm minus control (NRS points)",
    "crp_change_difference": "mean change in CRP, arm minus control (mg/L)",
    "permeability_raised": "share with a raised intestinal permeability (L:M at least 0.03) at the endpoint",
    "pain_moderate": "share with at least moderate pain (NRS at least 4) at the endpoint",
}
ARM_EXPOSURE_START = 1e-6
"""Day an arm's exposure change begins at the earliest (0.09 s): after the baseline rest, which is solved at day 0."""
PAIN_MODERATE = 4.0
"""Reported pain at or above this is at least moderate (the project's trials' eligibility for joint pain; used as the
model's stand-in for clinical arthritis, assumed: the model has no joint examination)."""
LM_RAISED = 0.03
"""An L:M at or above this is raised permeability (the barrier-support trial's eligibility; the healthy cohort's
median is about 0.014)."""
"""What a trial's ``[[published]]`` entry may hold the model to."""


@dataclass(frozen=True)
class Arm:
    name: str
    interventions: tuple[InputWindow, ...]
    control: bool
    blinded: bool


@dataclass(frozen=True)
class Trial:
    name: str
    description: str
    weeks: float
    screening: str
    screened: int
    per_arm: int
    seed: int
    dropout: float
    endpoint_week: float
    eligibility: tuple[Criterion, ...]
    arms: tuple[Arm, ...]
    stratify: str | None
    source: str
    published: tuple[Published, ...] = ()

    @property
    def control(self) -> Arm:
        return next(a for a in self.arms if a.control)


TOP_LEVEL = ("description", "weeks", "screening", "screened", "per_arm", "seed", "dropout", "endpoint_week",
             "eligibility", "arms", "stratify", "published")
ARM_KEYS = ("name", "interventions", "control", "blinded")
INTERVENTION_KEYS = ("name", "level", "start_week", "end_week")
ARM_INPUTS = (*species.INTERVENTIONS, "dysbiosis", "barrier_insult", "enteric_infection", "diet_antigen",
              "high_fat_diet")
"""What an arm may set for its weeks: a treatment, or an exposure set to a level (for a gut-ecosystem intervention,
``dysbiosis`` at 0 is its best case: the dysbiosis the person lives with removed). The arm's window comes after
the person's own exposures, so it replaces them while it lasts."""
PUBLISHED_KEYS = ("arm", "endpoint", "low", "high", "source", "estimate", "per_arm")
MAX_SCREENED = 200_000


def builtin_trials() -> dict[str, Path]:
    folder = resources.files("gutjoint._studies").joinpath("trials")
    return {Path(str(f)).stem: Path(str(f)) for f in sorted(folder.iterdir(), key=str) if str(f).endswith(".toml")}


def load_trial(spec) -> Trial:
    """A trial from a built-in name, a ``.toml`` path or a dict; one :class:`ScenarioError` line per problem."""
    if isinstance(spec, Trial):
        return spec
    if isinstance(spec, dict):
        return trial_from_dict(spec, source="<trial>", name="trial")
    text = str(spec)
    path = builtin_trials().get(text) or Path(text)
    if path.suffix != ".toml":
        raise ScenarioError(text, "TRIAL", text, f"a built-in trial ({', '.join(builtin_trials())}) or a .toml file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(str(path), "<file>", str(path), "an existing trial file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(path), "<toml>", str(exc).splitlines()[0], "valid TOML") from None
    return trial_from_dict(data, source=str(path), name=path.stem)


def _num(source, field, value, low, high, *, integer=False) -> float:
    ok = not isinstance(value, bool) and isinstance(value, int if integer else (int, float))
    if not ok or not (low <= value <= high) or (not integer and not math.isfinite(value)):
        kind = "a whole number" if integer else "a number"
        raise ScenarioError(source, field, value, f"{kind} in [{low:g}, {high:g}]")
    return value


def trial_from_dict(data: dict, *, source: str = "<trial>", name: str = "trial") -> Trial:
    from gutjoint._studies.scenario import _check_keys, _name, _table, builtin_scenarios

    _check_keys(source, "", _table(source, "<top level>", data), TOP_LEVEL)
    for key in ("weeks", "arms", "per_arm"):
        if key not in data:
            raise ScenarioError(source, key, None, "required")
    weeks = _num(source, "weeks", data["weeks"], 1, 520)
    screening = data.get("screening", "general")
    if screening != "general" and screening not in builtin_scenarios():
        raise ScenarioError(source, "screening", screening, f"general or a built-in scenario "
                                                             f"({', '.join(builtin_scenarios())})")
    per_arm = _num(source, "per_arm", data["per_arm"], 2, 50_000, integer=True)
    screened = _num(source, "screened", data.get("screened", 20 * per_arm), 2, MAX_SCREENED, integer=True)
    seed = _num(source, "seed", data.get("seed", 1), 0, 2**31 - 1, integer=True)
    dropout = _num(source, "dropout", data.get("dropout", 0.0), 0.0, 0.9)
    endpoint = _num(source, "endpoint_week", data.get("endpoint_week", weeks), 0.5, weeks)
    outputs = set(species.MODEL_OUTPUTS) | set(species.TRAITS) | {"hla_b27"}
    criteria = []
    eligibility = data.get("eligibility", {})
    if not isinstance(eligibility, dict):
        raise ScenarioError(source, "eligibility", eligibility, "a table of {min = ..., max = ...} bounds")
    for key, bounds in eligibility.items():
        if key not in outputs:
            raise ScenarioError(source, f"eligibility.{key}", bounds, "a resting output, a trait or hla_b27")
        if not isinstance(bounds, dict) or not bounds or set(bounds) - {"min", "max"}:
            raise ScenarioError(source, f"eligibility.{key}", bounds, "a table with min and/or max")
        low = _num(source, f"eligibility.{key}.min", bounds["min"], -1e9, 1e9) if "min" in bounds else None
        high = _num(source, f"eligibility.{key}.max", bounds["max"], -1e9, 1e9) if "max" in bounds else None
        criteria.append(Criterion(key, low, high))
    arms = []
    if not isinstance(data["arms"], list) or len(data["arms"]) < 2:
        raise ScenarioError(source, "arms", data["arms"], "a list of at least two [[arms]]")
    for i, arm in enumerate(data["arms"]):
        where = f"arms[{i}]"
        _check_keys(source, f"{where}.", _table(source, where, arm), ARM_KEYS)
        if not isinstance(arm.get("name"), str) or not arm["name"].strip():
            raise ScenarioError(source, f"{where}.name", arm.get("name"), "a name")
        windows = []
        for j, item in enumerate(arm.get("interventions", [])):
            at = f"{where}.interventions[{j}]"
            _check_keys(source, f"{at}.", _table(source, at, item), INTERVENTION_KEYS)
            _name(source, f"{at}.name", item.get("name"), ARM_INPUTS)
            level = _num(source, f"{at}.level", item.get("level", 1.0), 0.0, 1.0)
            start = _num(source, f"{at}.start_week", item.get("start_week", 0.0), 0.0, weeks)
            end = _num(source, f"{at}.end_week", item.get("end_week", weeks), start, weeks)
            # an exposure set by the arm starts just after week 0, so that each person's resting state (the trial's
            # baseline) is their own; a treatment (an intervention) is left out of the rest anyway
            begin = 7.0 * start if item["name"] in species.INTERVENTIONS else max(7.0 * start, ARM_EXPOSURE_START)
            windows.append(InputWindow(item["name"], float(level), begin, 7.0 * end))
        control = arm.get("control", False)
        blinded = arm.get("blinded", True)
        for key, value in (("control", control), ("blinded", blinded)):
            if not isinstance(value, bool):
                raise ScenarioError(source, f"{where}.{key}", value, "true or false")
        arms.append(Arm(arm["name"].strip(), tuple(windows), control, blinded))
    if sum(a.control for a in arms) != 1:
        raise ScenarioError(source, "arms", [a.name for a in arms], "exactly one arm with control = true")
    if len({a.name for a in arms}) != len(arms):
        raise ScenarioError(source, "arms", [a.name for a in arms], "arms with distinct names")
    stratify = data.get("stratify")
    if stratify is not None and stratify not in outputs:
        raise ScenarioError(source, "stratify", stratify, "a resting output, a trait or hla_b27")
    published = _published(source, data.get("published", []), arms)
    return Trial(name, str(data.get("description", "")), float(weeks), screening, int(screened), int(per_arm),
                 int(seed), float(dropout), float(endpoint), tuple(criteria), tuple(arms), stratify, source,
                 published)


def _published(source: str, entries, arms: list[Arm]) -> tuple[Published, ...]:
    from gutjoint._studies.scenario import _check_keys, _table

    if not isinstance(entries, list):
        raise ScenarioError(source, "published", entries, "a list of [[published]] tables")
    out = []
    for i, entry in enumerate(entries):
        where = f"published[{i}]"
        _check_keys(source, f"{where}.", _table(source, where, entry), PUBLISHED_KEYS)
        endpoint = entry.get("endpoint")
        if endpoint not in PUBLISHED_ENDPOINTS:
            raise ScenarioError(source, f"{where}.endpoint", endpoint, ", ".join(PUBLISHED_ENDPOINTS))
        names = [a.name for a in arms if not (endpoint.endswith("_difference") and a.control)]
        if entry.get("arm") not in names:
            raise ScenarioError(source, f"{where}.arm", entry.get("arm"), ", ".join(names))
        low = _num(source, f"{where}.low", entry.get("low"), -1e6, 1e6)
        high = _num(source, f"{where}.high", entry.get("high"), low, 1e6)
        if not isinstance(entry.get("source"), str) or not entry["source"].strip():
            raise ScenarioError(source, f"{where}.source", entry.get("source"), "where the published numbers were read")
        estimate = entry.get("estimate")
        if estimate is not None:
            estimate = _num(source, f"{where}.estimate", estimate, low, high)
        per_arm = entry.get("per_arm")
        if per_arm is not None:
            per_arm = int(_num(source, f"{where}.per_arm", per_arm, 2, 100_000, integer=True))
        out.append(Published(entry["arm"], endpoint, float(low), float(high), entry["source"].strip(),
                             None if estimate is None else float(estimate), per_arm))
    return tuple(out)


# --- screening ------------------------------------------------------------------------------------------------

def screening_scenario(trial: Trial):
    """What the trial's screened people live: its screening scenario's exposures over the trial's weeks, without
    any treatment (each arm adds its own)."""
    from gutjoint._studies.people import GENERAL_ADULTS

    base = GENERAL_ADULTS if trial.screening == "general" else load_scenario(trial.screening)
    keep = tuple(w for w in base.inputs if w.name not in species.INTERVENTIONS)
    return replace(base, days=7.0 * trial.weeks, step_hours=24.0, inputs=keep, doses=())


def screen(trial: Trial, *, parameters: dict[str, float] | None = None, screened: int | None = None,
           rest_cache: dict | None = None, needed: int | None = None, batch: int = 512) -> list[dict]:
    """Draw up to ``screened`` people (general-adult priors, living the screening scenario's exposures) in
    batches, solve each one's resting state and mark who is eligible; stop early once ``needed`` are eligible.
    Returns one record per person screened, with the resting outputs. Under a draw (``parameters``), a person whose
    resting state the compiled Newton does not settle is not eligible (``problem.relax_for``)."""
    from gutjoint._studies.people import living_under, people_problems
    from gutjoint._studies.population import select_subjects
    from gutjoint._studies.problem import relax_for

    base = living_under(screening_scenario(trial), dict(parameters or {}))
    relax = relax_for(parameters)
    limit = screened or trial.screened
    records: list[dict] = []
    for start in range(0, limit, batch):
        picked = select_subjects(trial.seed, range(start, min(limit, start + batch)), True, parameters=parameters)
        people = [(row, subject) for row, subject in picked if subject is not None]
        problems = people_problems(base, [subject for _, subject in people], rest_cache=rest_cache, relax=relax)
        for (row, subject), problem in zip(people, problems):
            scenario = problem.scenario
            record = {"subject": row["subject"], "scenario": scenario, "rest_ok": problem.rest.ok,
                      "hla_b27": subject.get("hla_b27", 0.0), **{t: subject.get(t) for t in species.TRAITS}}
            if problem.rest.ok:
                rest = problem.resting_outputs()
                rest["pain_threshold_rel"] = 1.0
                record.update({k: float(v) for k, v in rest.items()})
            record["eligible"] = problem.rest.ok and all(c.holds(float(record.get(c.name, float("nan"))))
                                                         for c in trial.eligibility)
            records.append(record)
        if needed is not None and sum(r["eligible"] for r in records) >= needed:
            break
    return records


def randomise(trial: Trial, eligible: list[dict], per_arm: int, rng: np.random.Generator) -> list[tuple[dict, str]]:
    """The first ``per_arm * arms`` eligible people, allocated by :func:`allocate`."""
    n_arms = len(trial.arms)
    chosen = eligible[: per_arm * n_arms]
    if len(chosen) < per_arm * n_arms:
        raise OptionError("trial", "screened", trial.screened,
                          f"more people: only {len(eligible)} eligible, {per_arm * n_arms} needed", problem="is too few")
    return list(zip(chosen, allocate(trial, stratify_values(trial, chosen), rng)))


def stratify_values(trial: Trial, people: list[dict]) -> np.ndarray:
    """Each person's value of ``trial.stratify`` (zeros when the trial is not stratified)."""
    return np.array([float(p.get(trial.stratify, 0.0)) if trial.stratify else 0.0 for p in people])


def allocate(trial: Trial, values: np.ndarray, rng: np.random.Generator) -> list[str]:
    """The trial's one randomisation: permuted blocks of two per arm within each stratum of ``trial.stratify``
    (above/below the median of ``values`` for a continuous value, its two levels for a 0/1 one)."""
    strata = np.zeros(len(values), dtype=int)
    if trial.stratify and len(values):
        strata = (values > (0.5 if set(np.unique(values)) <= {0.0, 1.0} else np.median(values))).astype(int)
    assignment: list = [None] * len(values)
    names = [a.name for a in trial.arms]
    for stratum in np.unique(strata):
        members = np.flatnonzero(strata == stratum)
        blocks: list[str] = []
        while len(blocks) < len(members):
            blocks.extend(rng.permutation(names * 2).tolist())
        for k, i in enumerate(members):
            assignment[i] = blocks[k]
    return assignment


def conduct(trial: Trial, outcomes: dict, rows: np.ndarray, arm_of: np.ndarray, rng: np.random.Generator) -> dict:
    """The trial's one way of turning allocated people into endpoints: each person's placebo factor, dropout (a
    uniform week, for the share ``trial.dropout``) and reporting scatter, then each arm's endpoints over those who
    completed. ``rows`` index ``outcomes``; ``arm_of`` is each one's arm. The same for one trial and for every
    trial of a power curve."""
    n = len(rows)
    factor = PLACEBO.factors(rng, n)
    dropped_week = np.where(rng.random(n) < trial.dropout, rng.uniform(0, trial.weeks, n), np.inf)
    noise = REPORTING_NOISE.draw(rng, n, outcomes["weeks"].size)
    finite = np.isfinite(outcomes[trial.arms[0].name]["pain_nrs"][rows]).all(axis=1) if n else np.zeros(0, bool)
    completed = (dropped_week > trial.endpoint_week) & finite
    results = {}
    for arm in trial.arms:
        k = np.flatnonzero((arm_of == arm.name) & completed)
        results[arm.name] = endpoints(trial, arm, outcomes, rows[k], factor[k], noise[k])
    return {"results": results, "completed": completed, "factor": factor, "dropped_week": dropped_week}


# --- running ------------------------------------------------------------------------------------------------------

def _arm_scenario(person: dict, arm: Arm):
    sc = person["scenario"]
    return replace(sc, name=f"{sc.name} [{arm.name}]", inputs=sc.inputs + arm.interventions)


def potential_outcomes(trial: Trial, people: list[dict], *, rest_cache: dict | None = None,
                       parameters: dict[str, float] | None = None) -> dict[str, dict]:
    """Every person's trajectories under every arm (the model's pain, CRP and L:M, weekly): arm name ->
    arrays (person x week). People whose run fails are NaN. ``parameters``: the draw the people were screened
    under (it decides the resting states' fast path, ``problem.relax_for``)."""
    from gutjoint._studies.problem import MANY_RUN_TOLERANCES, prepare_many, relax_for, solve_many

    weeks = np.arange(0.0, math.floor(trial.weeks) + 1e-9) if trial.weeks >= 1 else np.array([0.0])
    weeks = np.unique(np.append(weeks, [trial.endpoint_week, trial.weeks]))
    out: dict[str, Any] = {}
    for arm in trial.arms:
        problems = prepare_many([_arm_scenario(p, arm) for p in people], rest_cache=rest_cache,
                                relax=relax_for(parameters))
        grid = problems[0].times if problems else np.zeros(1)
        picked = grid[np.minimum(np.searchsorted(grid, 7.0 * weeks - 1e-9), grid.size - 1)]  # each week's day
        at = np.unique(picked)
        idx = np.searchsorted(at, picked)
        # reported weekly only (Problem.at: the values the daily grid has on those days)
        solutions = solve_many([problem.at(at) for problem in problems], tolerances=MANY_RUN_TOLERANCES)
        rows = {c: [s[c][idx] if s.ok else np.full(weeks.size, np.nan) for s in solutions]
                for c in ("pain_nrs", "crp_mg_l", "lm_ratio")}
        out[arm.name] = {c: np.array(v).reshape(len(people), weeks.size) for c, v in rows.items()}
    out["weeks"] = weeks
    return out


def reported_pain(trial: Trial, arm: Arm, pain: np.ndarray, weeks: np.ndarray, factor: np.ndarray,
                  noise: np.ndarray | None = None) -> np.ndarray:
    """The pain a person reports: the model's, less the placebo response in a blinded arm, plus the visit's
    reporting error (``noise``, person x week, from :data:`REPORTING_NOISE`; None: none), within 0-10."""
    if arm.blinded:
        pain = np.maximum(pain - PLACEBO.at(weeks, factor), 0.0)
    if noise is None:
        return pain
    return np.clip(pain + noise, 0.0, 10.0)


def endpoints(trial: Trial, arm: Arm, outcomes: dict, rows: np.ndarray, factor: np.ndarray,
              noise: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per-person endpoints at the endpoint week for people ``rows`` of the pool under ``arm`` (``noise``: their
    reporting errors, person x week)."""
    weeks = outcomes["weeks"]
    k = int(np.argmin(np.abs(weeks - trial.endpoint_week)))
    pain = reported_pain(trial, arm, outcomes[arm.name]["pain_nrs"][rows], weeks, factor, noise)
    base = pain[:, 0]
    end = pain[:, k]
    return {"pain_change": end - base,
            "pain_change_pct": np.where(base > 0, 100 * (end - base) / np.maximum(base, 1e-9), np.nan),
            "responder_30": end <= 0.7 * base, "responder_50": end <= 0.5 * base,
            "crp_change": outcomes[arm.name]["crp_mg_l"][rows, k] - outcomes[arm.name]["crp_mg_l"][rows, 0],
            "lm_change": outcomes[arm.name]["lm_ratio"][rows, k] - outcomes[arm.name]["lm_ratio"][rows, 0],
            "permeability_raised": outcomes[arm.name]["lm_ratio"][rows, k] >= LM_RAISED,
            "pain_moderate": end >= PAIN_MODERATE, "pain": pain}


def compare(active: dict, control: dict, *, odds_ratios: bool = True) -> dict:
    """Active arm against control: mean pain change difference (Welch, 95% CI), responder rates with odds ratio
    and Fisher's exact test, and the CRP and L:M change differences (``odds_ratios=False`` leaves out the odds
    ratios, which a power curve's thousands of trials do not read)."""
    from scipy import stats
    from scipy.stats.contingency import odds_ratio

    out: dict[str, Any] = {}
    welch = stats.ttest_ind(active["pain_change"], control["pain_change"], equal_var=False)
    ci = welch.confidence_interval(0.95)
    out["pain_change_difference"] = {"estimate": float(np.mean(active["pain_change"]) - np.mean(control["pain_change"])),
                                     "ci95": [float(ci.low), float(ci.high)], "p": float(welch.pvalue)}
    for key in ("responder_30", "responder_50"):
        a, c = active[key].astype(bool), control[key].astype(bool)
        table = [[int(a.sum()), int((~a).sum())], [int(c.sum()), int((~c).sum())]]
        entry: dict[str, Any] = {"active": float(a.mean()), "control": float(c.mean()),
                                 "difference": float(a.mean() - c.mean()),
                                 "p_fisher": float(stats.fisher_exact(table).pvalue)}
        if odds_ratios and min(min(r) for r in table) > 0:
            ratio = odds_ratio(table)
            interval = ratio.confidence_interval(0.95)
            entry.update(odds_ratio=float(ratio.statistic), odds_ratio_ci95=[float(interval.low), float(interval.high)])
        out[key] = entry
    for key in ("crp_change", "lm_change"):
        out[f"{key}_difference"] = float(np.nanmean(active[key]) - np.nanmean(control[key]))
    return out


@dataclass
class TrialResult:
    trial: Trial
    consort: dict
    arms: dict[str, dict]
    comparisons: dict[str, dict]
    people: object  # pandas.DataFrame
    weekly: dict[str, dict]
    published: list[dict] = field(default_factory=list)  # each [[published]] entry, with the model's value


def run_trial(trial, *, parameters: dict[str, float] | None = None) -> TrialResult:
    """Screen, randomise, run and analyse ``trial`` once (its seed fixes who is screened, randomised and lost)."""
    import pandas as pd

    trial = load_trial(trial)
    cache: dict = {}
    people = screen(trial, parameters=parameters, rest_cache=cache, needed=trial.per_arm * len(trial.arms))
    eligible = [p for p in people if p["eligible"]]
    rng = np.random.default_rng([trial.seed, 7919])
    assigned = randomise(trial, eligible, trial.per_arm, rng)
    pool = [p for p, _ in assigned]
    outcomes = potential_outcomes(trial, pool, rest_cache=cache, parameters=parameters)
    arm_of = np.array([a for _, a in assigned])
    conducted = conduct(trial, outcomes, np.arange(len(pool)), arm_of, rng)
    results, completed = conducted["results"], conducted["completed"]
    factor, dropped_week = conducted["factor"], conducted["dropped_week"]
    weekly = {}
    for arm in trial.arms:
        pain = results[arm.name]["pain"]
        weekly[arm.name] = {"weeks": outcomes["weeks"], "mean": pain.mean(axis=0),
                            "q25": np.quantile(pain, 0.25, axis=0), "q75": np.quantile(pain, 0.75, axis=0)}
    control = trial.control.name
    comparisons = {a.name: compare(results[a.name], results[control]) for a in trial.arms if not a.control}
    consort = {"screened": len(people), "eligible": len(eligible), "randomised": {a.name: int((arm_of == a.name).sum()) for a in trial.arms},
               "completed": {a.name: int(((arm_of == a.name) & completed).sum()) for a in trial.arms},
               "lost": {a.name: int(((arm_of == a.name) & ~completed).sum()) for a in trial.arms}}
    table = pd.DataFrame({"subject": [p["subject"] for p in pool], "arm": arm_of, "completed": completed,
                          "dropout_week": np.where(np.isfinite(dropped_week), dropped_week, np.nan),
                          "placebo_factor": factor,
                          **{c: [p.get(c) for p in pool] for c in ("pain_nrs", "lm_ratio", "crp_mg_l", "hla_b27")}})
    table = table.rename(columns={"pain_nrs": "baseline_pain", "lm_ratio": "baseline_lm", "crp_mg_l": "baseline_crp"})
    for column in ("pain_change", "responder_30", "responder_50", "crp_change", "lm_change"):
        table[column] = np.nan
    for arm in trial.arms:
        rows = np.flatnonzero((arm_of == arm.name) & completed)
        for column in ("pain_change", "responder_30", "responder_50", "crp_change", "lm_change"):
            table.loc[rows, column] = results[arm.name][column].astype(float)
    summary = {a: _arm_summary(r) for a, r in results.items()}
    published = [p.check(summary, comparisons) for p in trial.published]
    return TrialResult(trial, consort, summary, comparisons, table, weekly, published)


def _arm_summary(r: dict) -> dict:
    return {"n": int(r["pain_change"].size), "pain_change_mean": float(np.mean(r["pain_change"])),
            "pain_change_sd": float(np.std(r["pain_change"], ddof=1)) if r["pain_change"].size > 1 else float("nan"),
            "pain_change_pct_mean": float(np.nanmean(r["pain_change_pct"])),
            "responder_30": float(np.mean(r["responder_30"])), "responder_50": float(np.mean(r["responder_50"])),
            "crp_change_mean": float(np.nanmean(r["crp_change"])), "lm_change_mean": float(np.nanmean(r["lm_change"])),
            "permeability_raised": float(np.mean(r["permeability_raised"])),
            "pain_moderate": float(np.mean(r["pain_moderate"])),
            "baseline_pain_mean": float(np.mean(r["pain"][:, 0]))}


# --- power ------------------------------------------------------------------------------------------------------

def trial_power(trial, sizes: list[int], *, repeats: int = 200, ensemble_draws: int = 0, alpha: float = 0.05,
                pool_size: int | None = None, progress=None, pools: list[dict] | None = None,
                out: str | Path | None = None, workers: int = 1, scheduler: str | None = None) -> dict:
    """Power against sample size: the share of ``repeats`` trials (fresh sampling from the eligible pool,
    randomisation, placebo factors and dropout) whose primary comparison (mean pain change, Welch) has
    p < ``alpha``, and the same for the 30% responder rate (Fisher). With ``ensemble_draws``, a pool per draw
    too: power over what we do not know.

    The pools (screening and every arm's runs: nearly all the work) are built by :func:`build_pools`: on
    ``workers`` local processes or a Dask ``scheduler``, and kept under ``out/power/`` so that an interrupted
    or extended run (more draws) reuses every pool already built. The trials drawn from them are the same
    whoever built them."""
    trial = load_trial(trial)
    if not sizes or min(sizes) < 2:
        raise OptionError("trial", "power", sizes, "sample sizes per arm of at least 2, e.g. 50,100,200")
    if repeats < 10:
        raise OptionError("trial", "repeats", repeats, "at least 10")
    unscreenable = 0
    ensemble_key = None
    if not pools:
        sets: list = [None]
        if ensemble_draws:
            from gutjoint._studies.uncertainty import load_ensemble

            ensemble = load_ensemble()
            sets += ensemble.parameter_sets(draws=ensemble_draws)
            ensemble_key = ensemble.key
        built = build_pools(trial, sets, pool_size or max(sizes) * len(trial.arms) * 2, out=out, workers=workers,
                            scheduler=scheduler)
        unscreenable = sum(p is None for p in built)  # under such a draw too few people meet the criteria
        pools = [p for p in built if p is not None]
    rows = []
    for n in sizes:
        row: dict[str, float] = {"per_arm": n}
        for label, chosen in (("model_right", pools[:1]), ("over_uncertainty", pools[1:])):
            if not chosen:
                continue
            hits = np.zeros(2)
            for r in range(repeats):
                pool = chosen[r % len(chosen)]
                hits += one_trial(trial, pool, n, np.random.default_rng([trial.seed, n, r, 104729]), alpha)
            row[f"power_pain_{label}"] = float(hits[0] / repeats)
            row[f"power_responder30_{label}"] = float(hits[1] / repeats)
        rows.append(row)
        if progress:
            progress(len(rows), len(sizes))

    effects = [p["effect"] for p in pools]
    power: dict[str, Any] = {
        "trial": trial.name, "trial_digest": trial_digest(trial), "model_key": engine_key(), "alpha": alpha,
        "repeats": repeats, "ensemble_draws": ensemble_draws, "rows": rows, "effect_model_right": effects[0],
        "draws_too_few_eligible": unscreenable, "ensemble_key": ensemble_key}
    if len(effects) > 1:
        power["effect_over_uncertainty"] = {"median": float(np.median(effects[1:])),
                                            "q05": float(np.quantile(effects[1:], 0.05)),
                                            "q95": float(np.quantile(effects[1:], 0.95))}
    for label in ("model_right", "over_uncertainty"):
        key = f"power_pain_{label}"
        if key in rows[0]:
            power[f"per_arm_for_80pct_{label}"] = _size_for(sizes, [r[key] for r in rows], 0.8)
    return power


def shipped_power(name: str) -> dict | None:
    """The power curve shipped beside a built-in trial (``trials/<name>.power.json``, written by ``gutjoint trial
    <name> --power ... --uncertainty K``), or None when there is none or it was made under another model or trial
    file (so a stale curve is never shown)."""

    path = resources.files("gutjoint._studies").joinpath("trials", f"{name}.power.json")
    if not path.is_file():
        return None
    curve = json.loads(path.read_text(encoding="utf-8"))
    current = curve.get("model_key") == engine_key() and curve.get("trial_digest") == trial_digest(load_trial(name))
    if current and curve.get("ensemble_draws"):
        from gutjoint._studies.uncertainty import load_ensemble

        current = curve.get("ensemble_key") == load_ensemble().key
    return curve if current else None


def _size_for(sizes: list[int], power: list[float], target: float) -> float | None:
    """People per arm for ``target`` power, interpolated between the sizes tried (None: not reached)."""
    for (n0, p0), (n1, p1) in zip(zip(sizes, power), zip(sizes[1:], power[1:])):
        if p0 < target <= p1:
            return float(n0 + (target - p0) * (n1 - n0) / (p1 - p0))
    if power and power[0] >= target:
        return float(sizes[0])
    return None


def pool(trial, size: int, parameters: dict[str, float] | None = None) -> dict:
    """A pool of ``size`` eligible people with their outcomes under every arm (for :func:`trial_power` and
    :func:`sample_trial`)."""
    return _pool(load_trial(trial), parameters, size)


def sample_trial(trial, pool_: dict, per_arm: int, seed: int = 0) -> dict:
    """One trial drawn from a pool: the arms' endpoint summaries and each active arm against the control."""
    trial = load_trial(trial)
    res = _draw_from_pool(trial, pool_, per_arm, np.random.default_rng([trial.seed, per_arm, seed, 15485863]))
    control = trial.control.name
    return {"arms": {name: _arm_summary(r) for name, r in res.items()},
            "comparisons": {name: compare(res[name], res[control]) for name in res if name != control}}


def build_pools(trial, parameter_sets: list, size: int, *, out: str | Path | None = None, workers: int = 1,
                scheduler: str | None = None) -> list[dict | None]:
    """One pool of ``size`` eligible people per parameter set (None: the table's values), in order; None for a
    set under which screening finds too few (only the first set's shortfall is an error). With ``out``, each
    pool is stored as ``out/power/pool_<key>.npz``, keyed by the trial, the pool size, the model and the set:
    a pool already there is read back instead of rebuilt."""

    trial = load_trial(trial)
    folder = Path(out) / "power" if out is not None else None
    stem = json.dumps([trial_digest(trial), size, engine_key(), POOL_FORMAT])
    paths = [folder / f"pool_{hashlib.sha256(json.dumps([stem, sorted((v or {}).items())]).encode()).hexdigest()[:16]}.npz"
             if folder is not None else None for v in parameter_sets]
    pools: list = [None] * len(parameter_sets)
    todo = []
    for k, path in enumerate(paths):
        if path is not None and path.exists():
            pools[k] = _read_pool(trial, path)
        elif path is not None and path.with_suffix(".none").exists():
            pools[k] = None
        else:
            todo.append(k)
    jobs = [(trial, parameter_sets[k], size, paths[k], k > 0) for k in todo]
    from gutjoint._processes import Executor

    with Executor(workers if len(jobs) > 1 else 1, scheduler if jobs else None) as executor:
        results = executor.map(_pool_job, jobs)
    for k, result in zip(todo, results):
        pools[k] = result
    return pools


POOL_FORMAT = 2
"""The layout of a stored pool (2: with each person's stratification value); a pool of another is rebuilt."""


def engine_key() -> str:
    """The model and the engine tolerances a trial's people are run at: a pool or a curve made under others is
    never reused."""
    from gutjoint._studies.problem import MANY_RUN_TOLERANCES
    from gutjoint._studies.runtime import model_key

    return f"{model_key()}-{MANY_RUN_TOLERANCES.rtol:g}-{MANY_RUN_TOLERANCES.atol:g}"


def trial_digest(trial: Trial) -> str:
    """A hash of everything the trial file says (a changed file never reuses a stored pool), not of where the file
    lies."""
    content = {k: v for k, v in asdict(trial).items() if k != "source"}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _pool_job(job) -> dict | None:
    """Build one pool (and store it, when a path is given); None if it may be unscreenable and is."""
    trial, parameters, size, path, may_fail = job
    from gutjoint._files import atomic_write

    try:
        built = _pool(trial, parameters, size)
    except ScenarioError:
        if not may_fail:
            raise
        if path is not None:
            atomic_write(path.with_suffix(".none"), lambda tmp: tmp.write_text("too few eligible\n"), field="out")
        return None
    if path is not None:
        arrays = {f"{i}|{c}": v for i, arm in enumerate(trial.arms) for c, v in built["outcomes"][arm.name].items()}

        def write(tmp):
            with open(tmp, "wb") as handle:
                np.savez(handle, weeks=built["outcomes"]["weeks"], rows=built["rows"],
                         effect=np.array(built["effect"]), strata=built["strata"], **arrays)

        atomic_write(path, write, field="out")
    return built


def _read_pool(trial: Trial, path: Path) -> dict:
    with np.load(path) as stored:
        outcomes = {arm.name: {c: stored[f"{i}|{c}"] for c in ("pain_nrs", "crp_mg_l", "lm_ratio")}
                    for i, arm in enumerate(trial.arms)}
        outcomes["weeks"] = stored["weeks"]
        return {"outcomes": outcomes, "rows": stored["rows"], "effect": float(stored["effect"]),
                "strata": stored["strata"]}


def _pool(trial: Trial, parameters, size: int) -> dict:
    cache: dict = {}
    people = [p for p in screen(trial, parameters=parameters, screened=max(trial.screened, 4 * size),
                                rest_cache=cache, needed=size) if p["eligible"]]
    if len(people) < size // 2:
        raise ScenarioError(trial.source, "screened", trial.screened, f"a screening that finds at least {size // 2} "
                            f"eligible people for a power pool of {size} (it found {len(people)})")
    people = people[:size]
    strata = stratify_values(trial, people)
    outcomes = potential_outcomes(trial, people, rest_cache=cache, parameters=parameters)
    ok = np.all([np.isfinite(outcomes[a.name]["pain_nrs"]).all(axis=1) for a in trial.arms], axis=0)
    rows = np.flatnonzero(ok)
    control = trial.control
    active = next(a for a in trial.arms if not a.control)
    ones = np.ones(rows.size)
    effect = float(np.mean(endpoints(trial, active, outcomes, rows, ones)["pain_change"]
                           - endpoints(trial, control, outcomes, rows, ones)["pain_change"]))
    return {"outcomes": outcomes, "rows": rows, "effect": effect, "strata": strata}


def _draw_from_pool(trial: Trial, pool_: dict, n: int, rng: np.random.Generator) -> dict[str, dict]:
    """One trial of ``n`` per arm from a pool: ``n`` times the arms drawn from its people, then allocated and
    conducted as :func:`run_trial` does (:func:`allocate`, :func:`conduct`): endpoints by arm."""
    rows = rng.choice(pool_["rows"], size=min(n * len(trial.arms), pool_["rows"].size), replace=False)
    arm_of = np.array(allocate(trial, pool_["strata"][rows], rng))
    return conduct(trial, pool_["outcomes"], rows, arm_of, rng)["results"]


def one_trial(trial: Trial, pool_: dict, n: int, rng: np.random.Generator, alpha: float) -> np.ndarray:
    """Whether one trial of ``n`` per arm shows the pain change and the 30% responders (by :func:`compare`'s
    tests) at ``alpha``."""
    res = _draw_from_pool(trial, pool_, n, rng)
    comparison = compare(res[next(a.name for a in trial.arms if not a.control)], res[trial.control.name],
                         odds_ratios=False)
    return np.array([comparison["pain_change_difference"]["p"] < alpha,
                     comparison["responder_30"]["p_fisher"] < alpha], dtype=float)
