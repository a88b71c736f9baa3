"""One table of observations: every datum the model is held to, as a row.

The pattern is PEtab's measurement table. A row names the ``dataset`` it comes from, the ``experiment`` (a run of
the model, see :data:`EXPERIMENTS`), the ``observable`` read from it (an output column at ``time_days``, a named
summary of a column such as ``il6_pg_ml.peak_fold``, or a number the experiment reports), the ``value``, and its
``noise`` model with ``sigma`` (and ``n`` for a share). ``block`` is the fit block it informs, or ``validation``
for the held-out results; ``role`` is ``calibrate``, ``validate`` or ``condition`` (a datum that sets up an
experiment, met exactly by construction: the fit does not score it). ``low``/``high`` is the target's tolerance
where the target is a range. ``scale`` names a group of rows that share one unknown multiplicative factor (a
laboratory's assay scale for one cytokine): the factor is profiled out in closed form (:func:`standardised`), so
the rows test the shape of a time course, not its absolute level.

Everything that compares the model with data reads this table: the fit's residuals (:func:`residuals`), the
posterior predictive check, the validation targets of ``calibrate --check``, and the PEtab export. A new datum is a
new row (and, for a new kind of run, an entry in :data:`EXPERIMENTS`); a new error model is an entry in
:data:`NOISE_MODELS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from gutjoint._errors import SolverError
from gutjoint._files import file_version
from gutjoint._studies.calibration import data, experiments
from gutjoint._studies.calibration.experiments import Evaluation

FAILED = 1e3
"""The residual given to a datum whose run failed, so that an optimiser walks away from it and a predictive check
counts the draw as failed."""

COLUMNS = ("block", "dataset", "target", "experiment", "observable", "label", "time_days", "value", "noise", "sigma",
           "n", "low", "high", "role", "scale", "source")
ROLES = ("calibrate", "validate", "condition")


@dataclass(frozen=True)
class NoiseModel:
    """How a datum's error is stated. ``standardise`` gives (model - data) / SD on the model's own scale;
    ``petab`` is PEtab v1's (transformation, distribution), or None where PEtab cannot state it."""

    name: str
    standardise: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    petab: tuple[str, str] | None
    meaning: str


def _normal(model, value, sigma, n):
    return (model - value) / sigma


def _log_normal(model, value, sigma, n):
    return (np.log(np.maximum(model, 1e-6)) - np.log(value)) / sigma


def _share(model, value, sigma, n):
    return (model - value) / np.sqrt(value * (1 - value) / n)


def _at_most(model, value, sigma, n):
    return np.maximum(0.0, model - value) / sigma


NOISE_MODELS = {m.name: m for m in (
    NoiseModel("normal", _normal, ("lin", "normal"), "data = model + N(0, sigma)"),
    NoiseModel("log-normal", _log_normal, ("log", "normal"),
               "log data = log model + N(0, sigma): sigma is the coefficient of variation (model floored at 1e-6)"),
    NoiseModel("binomial", _share, None,
               "a share of n people, its SD sqrt(p (1 - p) / n) at the observed share p (normal approximation)"),
    NoiseModel("at-most", _at_most, None,
               "a one-sided bound: no penalty up to the value, then (model - value) / sigma (a hinge)"),
)}


# --- experiments: how each is run, once per parameter set, through an Evaluation --------------------------------

EXPERIMENTS: dict[str, Callable[[Evaluation], object]] = {
    "lps-bolus-2ngkg": lambda ev: ev.bolus_of(2.0),
    "lps-bolus-0.5ngkg": lambda ev: ev.bolus_of(0.5),
    "lps-bolus-0.2ngkg": lambda ev: ev.bolus_of(0.2),
    "lps-bolus-4ngkg": lambda ev: ev.bolus_of(4.0),
    "lps-daily-2ngkg": lambda ev: ev.tolerance,
    "alcohol-cessation": lambda ev: ev.alcohol,
    "gluten-free-diet": lambda ev: ev.gfd,
    "zhou-glutamine": lambda ev: ev.zhou,
    "reference-cohort": lambda ev: ev.cohort,
    "mechanical-oa-vs-healthy": lambda ev: {"crp_excess": ev.oa_crp_excess},
    "ra-anti-tnf": lambda ev: ev.anti_tnf_in_ra,
    "lps-bolus-0.3ngkg": lambda ev: ev.bolus_of(0.3),
    "lps-bolus-1ngkg": lambda ev: ev.bolus_of(1.0),
    "lps-1ngkg-then-1ngkgh-3h": lambda ev: ev.lps(1.0, 1.0, 3.0),
}
"""Each experiment a row can name, and how to run it: a simulation (its frame), or a mapping of the numbers the
experiment reports (see ``experiments.py`` for what each one is)."""


GUT_JOINT_TRIALS = ("probiotic-ra", "probiotic-spa", "nsaid-ra", "fmt-psa", "gluten-free-diet-joints",
                    "gluten-free-diet-joint-pain")
"""Built-in virtual trials whose ``[[published]]`` results are rows of the gut-to-joint block."""
GUT_JOINT_FITTED = {("probiotic-spa", "probiotic (best case)"), ("gluten-free-diet-joints", "gluten")}
"""The (trial, arm) results the gut-to-joint magnitudes are fitted to (:mod:`gutjoint._studies.calibration.gut_joint`):
the probiotic trial in spondyloarthritis (how much pain a gut-ecosystem change moves) and how common arthritis is in
coeliacs on gluten. Every other row of the block is held out: FMT in psoriatic arthritis, coeliacs on the diet (the
diet's effect, and how often joint symptoms improve on it), the probiotic trials' CRP in rheumatoid arthritis, the
NSAID permeability and the coeliac L:M."""
EXPERIMENTS.update({f"trial:{name}": (lambda ev, name=name: trial_numbers(name, ev.params))
                    for name in GUT_JOINT_TRIALS})


def trial_numbers(name: str, params: dict[str, float]) -> dict[str, float]:
    """The model's value of each ``[[published]]`` result of built-in trial ``name`` under ``params``, by
    ``"<arm>:<endpoint>"``."""
    from gutjoint._studies.trial import load_trial, run_trial

    result = run_trial(load_trial(name), parameters=dict(params) or None)
    return {f"{c['arm']}:{c['endpoint']}": c["model"] for c in result.published}


def _fall_by_week6(frame: pd.DataFrame, column: str) -> float:
    """1 - the value at day 72 over the value at day 29.75 (six weeks after a blocker started at day 30)."""
    return float(1 - frame.loc[72.0, column] / frame.loc[29.75, column])


SUMMARIES: dict[str, Callable[[object, str], float]] = {
    "peak_fold": lambda run, column: experiments.peak(run, column)[0],
    "peak_time_h": lambda run, column: experiments.peak(run, column)[1],
    "rise": lambda run, column: float(np.max(run[column]) - np.asarray(run[column])[0]),
    "mean_over_rest_6h": lambda run, column: experiments.mean_over_rest(run, column, 6.0),
    "fall_by_week6": _fall_by_week6,
}
"""Named summaries of one output column of a run (a :class:`SimulationResult`, or the frame an experiment returns):
an observable ``<column>.<summary>``."""


ABOVE_REST = "above_rest"
"""An observable ``<column>.above_rest`` is the column at the row's time less its value at the run's start (a
curve digitised as the change from baseline)."""


def observe(run, observable: str, time_days: float) -> float:
    """The model's value of ``observable`` in ``run`` (what an :data:`EXPERIMENTS` entry returns) at ``time_days``."""
    if isinstance(run, dict):
        return float(run[observable])
    if hasattr(run, "ok") and not run.ok:  # a SimulationResult (read as arrays, no frame built)
        return math.nan
    column, _, summary = observable.partition(".")
    if summary == ABOVE_REST:
        return float(experiments.at_days(run, column, time_days)) - float(np.asarray(run[column])[0])
    if summary:
        return float(SUMMARIES[summary](run, column))
    return float(experiments.at_days(run, column, time_days))


# --- the table --------------------------------------------------------------------------------------------------

def observations() -> pd.DataFrame:
    """Every datum the model is held to, one row each (:data:`COLUMNS`), built from the calibration tables as they
    are on disk now. Read-only: callers must not modify it."""
    return _observations_at(_versions())


def _versions() -> tuple:
    folder = resources.files("gutjoint.data.calibration")
    return tuple(file_version(folder.joinpath(name)) for name in sorted(
        entry.name for entry in folder.iterdir() if entry.name.endswith(".csv")))


def rows_of(block: str) -> pd.DataFrame:
    """The rows a fit block (or ``validation``) scores, in table order, without the ``condition`` rows."""
    return _rows_at(_versions(), block)


@lru_cache(maxsize=8)
def _rows_at(versions: tuple, block: str) -> pd.DataFrame:
    table = _observations_at(versions)
    return table[(table["block"] == block) & (table["role"] != "condition")]


@lru_cache(maxsize=2)
def _observations_at(versions: tuple) -> pd.DataFrame:
    rows: list[dict] = []

    def add(block, dataset, target, experiment, observable, value, noise, sigma, *, time_days=math.nan, label="",
            n=math.nan, low=math.nan, high=math.nan, role="calibrate", scale="", source=""):
        rows.append(dict(block=block, dataset=dataset, target=target, experiment=experiment, observable=observable,
                         label=label or observable, time_days=float(time_days), value=float(value), noise=noise,
                         sigma=float(sigma), n=float(n), low=float(low), high=float(high), role=role, scale=scale,
                         source=source))

    janum = "Janum 2016 Innate Immun 22:546, Table/Figure data (synthetic rows excluded)"
    cytokines = data.janum_cytokines()
    for key, name in (("tnf", "TNF"), ("il6", "IL-6"), ("il8", "IL-8"), ("il10", "IL-10")):
        sigma = data.log_noise(cytokines[f"{key}_mean"], cytokines[f"{key}_sd"])
        for (_, r), s in zip(cytokines.iterrows(), sigma):
            add("innate", f"Janum 2016 {name} after 2 ng/kg", f"C1_{key}", "lps-bolus-2ngkg", f"{key}_pg_ml",
                r[f"{key}_mean"], "log-normal", s, time_days=r["time_h"] / 24, source=janum)
    for _, r in data.janum_temperature().iterrows():
        add("innate", "Janum 2016 temperature", "C2_temperature", "lps-bolus-2ngkg", "temperature_c",
            r["temperature_c_mean"], "normal", r["temperature_c_sd"], time_days=r["time_h"] / 24, source=janum)
    hours, effect = data.janum_threshold_effect()
    for h, rel in zip(hours[1:], effect[1:]):
        add("innate", "Janum 2016 pressure-pain threshold", "C3_pain_threshold", "lps-bolus-2ngkg",
            "pain_threshold_rel", rel, "normal", data.THRESHOLD_SD, time_days=h / 24,
            source=janum + "; control-corrected by de Goeij 2013 (derived)")
    tolerance = "endotoxin tolerance (TNF, IL-6)"
    for key, value, sigma in (("tnf", 0.97, 0.03), ("il6", 0.88, 0.08)):
        add("innate", tolerance, "tolerance", "lps-daily-2ngkg", key, value, "normal", sigma,
            label=f"{key.upper()} day-5 response cut", source="Crit Care Med 2009 (5 daily boluses of 2 ng/kg)")
    studies = data.other_studies()
    for key in ("tnf", "il6", "il8"):
        add("innate", "Dillingh 2014 0.5 ng/kg (TNF, IL-6, IL-8)", "N1_dose_0p5", "lps-bolus-0.5ngkg",
            f"{key}_pg_ml.mean_over_rest_6h", 1 + float(studies.loc[f"dillingh2014_{key}", "value"]) / 100,
            "log-normal", math.log(2) / 2, source=str(studies.loc[f"dillingh2014_{key}", "study"])
            + "; the factor-2 tolerance taken as 2 SD")

    barrier = data.barrier_targets()
    add("barrier", "alcohol cessation, L:M excess at day 14 (hinge)", "C6_alcohol", "alcohol-cessation",
        "excess_left_day14", 0.05, "at-most", 0.02, time_days=14, source=barrier.loc["alcohol_cessation", "source"])
    for target_id, key, dataset in (("gfd_week1", "rel_day7", "gluten-free diet L:R, week 1"),
                                    ("gfd_month2", "rel_day60", "gluten-free diet L:R, month 2")):
        add("barrier", dataset, f"C7_{target_id}", "gluten-free-diet", key, data.gfd_relative(target_id), "normal",
            data.relative_sd(target_id), time_days=barrier.loc[target_id, "time_days"],
            source=barrier.loc[target_id, "source"])
    add("barrier", "gluten-free diet L:M normal at 1 year (hinge)", "C7_gfd_month12", "gluten-free-diet",
        "lm_day365", 0.025, "at-most", 0.0025, time_days=365, source=barrier.loc["gfd_month12", "source"])
    for target_id, key, dataset in (("gfd_rhamnose_month3", "mannitol_day90", "gluten-free diet rhamnose, month 3"),
                                    ("gfd_lactulose_month12", "lactulose_day365",
                                     "gluten-free diet lactulose, month 12")):
        add("barrier", dataset, f"C7_{target_id}", "gluten-free-diet", key, data.gfd_relative(target_id), "normal",
            data.relative_sd(target_id), time_days=barrier.loc[target_id, "time_days"],
            source=barrier.loc[target_id, "source"])
    before, after, day = data.support_definition()
    zhou = barrier.loc["barrier_support_definition", "source"]
    add("barrier", "Zhou 2019 barrier support, L:M at week 8", "barrier_support", "zhou-glutamine", "lm_start",
        before, "normal", data.relative_sd("barrier_support_definition"), time_days=0.0, role="condition",
        source=zhou + "; the injury level is solved so that the model starts here")
    add("barrier", "Zhou 2019 barrier support, L:M at week 8", "barrier_support", "zhou-glutamine", "lm_week8",
        after, "normal", data.relative_sd("barrier_support_definition"), time_days=day, source=zhou)

    add("population", "reference cohort CRP median", "C5_crp_median", "reference-cohort", "crp_median", 1.9,
        "normal", 0.2, source="NHANES-like surveys (population_targets.csv)")
    add("population", "reference cohort share with CRP above 3 mg/L", "C5_crp_share", "reference-cohort",
        "crp_share_above_3", 0.346, "normal", 0.025, source="NHANES-like surveys (population_targets.csv)")
    add("population", "Jin 2015 OA CRP excess", "oa_crp_excess", "mechanical-oa-vs-healthy", "crp_excess", 1.19,
        "normal", 0.27, source="Jin 2015: +1.19 mg/L (95% CI 0.64-1.73)")

    for target, experiment, label, observable, low, high, scale in HELD_OUT_RANGES:
        value, sigma = ((math.sqrt(low * high), math.log(high / low) / 4) if scale == "log"
                        else ((low + high) / 2, (high - low) / 4))
        add("validation", f"{target}: {HELD_OUT_WHAT[target]}", target, experiment, observable, value,
            "log-normal" if scale == "log" else "normal", sigma, label=label, low=low, high=high, role="validate",
            source="the target's tolerance range as data: its centre (geometric for a fold), a quarter of it as SD")
    barrier_source = "Gan 2022 BMC Gastroenterol 22:16 (meta-analysis, 19 coeliac studies; abstract): pooled L:M"
    for observable, value, low, high, what in (
            ("lm_start", 0.133, 0.089, 0.178, "untreated coeliac disease"),
            ("lm_day365", 0.037, 0.019, 0.055, "treated coeliac disease (the model: a year on the diet)")):
        add("gut-joint", f"Gan 2022: L:M in {what}", "coeliac_lm", "gluten-free-diet", observable, value, "normal",
            (high - low) / (2 * 1.959964), time_days=0.0 if observable == "lm_start" else 365.0, label=what,
            low=low, high=high, role="validate", source=f"{barrier_source} {value} (95% CI {low}-{high})")
    from gutjoint._studies.trial import load_trial

    for name in GUT_JOINT_TRIALS:
        trial = load_trial(name)
        for entry in trial.published:
            add("gut-joint", f"{name}: {entry.arm}, {entry.endpoint}", name, f"trial:{name}",
                f"{entry.arm}:{entry.endpoint}", entry.centre, "normal", (entry.high - entry.low) / 4,
                label=f"{entry.arm}: {entry.endpoint}", low=entry.low, high=entry.high,
                role="calibrate" if (name, entry.arm) in GUT_JOINT_FITTED else "validate",
                source=entry.source + "; the span taken as 2 SD each side of its centre")
    courses = data.other_timecourses()
    for (dataset, cytokine), course in courses.groupby(["dataset", "cytokine"], sort=False):
        first = course.iloc[0]
        experiment = _lps_experiment(first["dose_ng_kg"], first["infusion_ng_kg_h"], first["infusion_hours"])
        for r in course.itertuples():
            if r.value > 0:  # a zero (below detection, or a baseline subtracted) has no log
                add("timecourses", f"{first['study']}, {first['dose_ng_kg']:g} ng/kg {first['regimen']}",
                    dataset, experiment, f"{cytokine}_pg_ml" + ("" if first["levels"] == "level" else f".{ABOVE_REST}"),
                    r.value, "log-normal", TIMECOURSE_SIGMA,
                    time_days=r.time_h / 24, label=cytokine, role="validate", scale=f"{dataset}:{cytokine}",
                    source=f"{r.how}; {r.where}")
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    check(table)
    return table


TIMECOURSE_SIGMA = 0.5
"""Assumed error (log scale) of a digitised mean cytokine level from another laboratory, which prints no spread we
can read: about the between-person CV of Janum 2016's cytokines at their peaks (0.19-0.84). Used for the rows'
standardised residuals only; :func:`timecourse_predictions` reports the spread the data imply instead."""


def _lps_experiment(dose: float, rate: float, hours: float) -> str:
    """The name of the endotoxin experiment of a regimen (:data:`EXPERIMENTS` must hold it: :func:`check`)."""
    return f"lps-bolus-{dose:g}ngkg" if rate == 0 else f"lps-{dose:g}ngkg-then-{rate:g}ngkgh-{hours:g}h"


HELD_OUT_WHAT = {
    "V1_dose_0p2": "TNF and IL-6 after 0.2 ng/kg IV LPS (held out)",
    "V2_timing_4ngkg": "order and times of the peaks after 4 ng/kg IV LPS (held out)",
    "V3_anti_tnf_crp": "serum CRP 6 weeks into TNF blockade in rheumatoid arthritis (held out)",
}
"""What each held-out target is (its ``Target.what`` in ``targets.py``, and its datasets' name here)."""

HELD_OUT_RANGES = (
    ("V1_dose_0p2", "lps-bolus-0.2ngkg", "TNF peak fold", "tnf_pg_ml.peak_fold", 1.0, 4.0, "log"),
    ("V1_dose_0p2", "lps-bolus-0.2ngkg", "IL-6 peak fold", "il6_pg_ml.peak_fold", 3.5, 14.0, "log"),
    ("V1_dose_0p2", "lps-bolus-0.2ngkg", "TNF peak time, h", "tnf_pg_ml.peak_time_h", 2.0, 4.0, "lin"),
    ("V1_dose_0p2", "lps-bolus-0.2ngkg", "IL-6 peak time, h", "il6_pg_ml.peak_time_h", 2.0, 4.0, "lin"),
    ("V1_dose_0p2", "lps-bolus-0.2ngkg", "fever, degC", "temperature_c.rise", -0.3, 0.3, "lin"),
    ("V2_timing_4ngkg", "lps-bolus-4ngkg", "TNF peak time, h", "tnf_pg_ml.peak_time_h", 1.25, 2.5, "lin"),
    ("V2_timing_4ngkg", "lps-bolus-4ngkg", "IL-6 peak time, h", "il6_pg_ml.peak_time_h", 2.25, 3.75, "lin"),
    ("V2_timing_4ngkg", "lps-bolus-4ngkg", "IL-10 peak time, h", "il10_pg_ml.peak_time_h", 2.25, 3.75, "lin"),
    ("V2_timing_4ngkg", "lps-bolus-4ngkg", "temperature peak time, h", "temperature_c.peak_time_h", 3.25, 4.75, "lin"),
    ("V3_anti_tnf_crp", "ra-anti-tnf", "CRP fall by week 6", "crp_mg_l.fall_by_week6", 0.65, 0.95, "lin"),
)
"""The held-out targets' ranges, each the tolerance around its data (Krabbe 2005: x2 and x7 at 3 h, no fever;
Fijen 2000, Shannon 2007 and Pernerstorfer 1999: TNF at 1.5-2 h, IL-6 and IL-10 at 3 h, temperature at 4 h;
Elliott 1993: median CRP 39.5 -> 8 mg/L, -80%). A target passes when every number is in its range."""


def check(table: pd.DataFrame) -> None:
    """Every row names a known experiment, noise model and role, with a positive SD (and n for a share)."""
    for row in table.itertuples():
        problems = []
        if row.experiment not in EXPERIMENTS:
            problems.append(f"experiment {row.experiment!r} (allowed: {', '.join(EXPERIMENTS)})")
        if row.noise not in NOISE_MODELS:
            problems.append(f"noise {row.noise!r} (allowed: {', '.join(NOISE_MODELS)})")
        if row.role not in ROLES:
            problems.append(f"role {row.role!r} (allowed: {', '.join(ROLES)})")
        if not row.sigma > 0 and row.noise != "binomial":
            problems.append(f"sigma {row.sigma!r} (allowed: above 0)")
        if row.scale and row.noise != "log-normal":
            problems.append(f"scale {row.scale!r} with noise {row.noise!r} (allowed: a scale group of log-normal rows)")
        if row.noise == "binomial" and not (row.n > 0 and 0 < row.value < 1):
            problems.append(f"n {row.n!r}, value {row.value!r} (allowed: n above 0, a share strictly inside 0-1)")
        if problems:
            raise ValueError(f"observation {row.dataset!r}: " + "; ".join(problems))


# --- the model against the table ----------------------------------------------------------------------------------

def model_values(rows: pd.DataFrame, ev: Evaluation) -> np.ndarray:
    """The model's value of each row under the parameters of ``ev`` (each experiment run once); NaN where a run
    failed or has no resting state."""
    out = np.full(len(rows), np.nan)
    runs: dict[str, object] = {}
    for k, row in enumerate(rows.itertuples()):
        if row.experiment not in runs:
            try:
                runs[row.experiment] = EXPERIMENTS[row.experiment](ev)
            except (SolverError, ValueError, FloatingPointError):  # no resting state, or a run that failed
                runs[row.experiment] = None
        if runs[row.experiment] is not None:
            out[k] = observe(runs[row.experiment], row.observable, row.time_days)
    return out


def profiled_scales(rows: pd.DataFrame, model: np.ndarray) -> np.ndarray:
    """Each row's multiplicative factor: 1 without a ``scale`` group; within a group (log-normal rows), the factor
    that minimises the group's squared standardised residuals, exp(sum w (log data - log model)) / sum w) with
    w = 1 / sigma^2, over the rows with a model value."""
    factors = np.ones(len(rows))
    groups = rows["scale"].to_numpy()
    logs = np.log(np.maximum(model, 1e-6)) if len(model) else model
    for group in set(groups) - {""}:
        mask = (groups == group) & np.isfinite(model)
        if not mask.any():
            continue
        w = 1 / rows["sigma"].to_numpy()[mask] ** 2
        gap = np.log(rows["value"].to_numpy()[mask]) - logs[mask]
        factors[groups == group] = math.exp(float(np.sum(w * gap) / np.sum(w)))
    return factors


def standardised(rows: pd.DataFrame, model: np.ndarray) -> np.ndarray:
    """(model - data) / SD of each row under its noise model, the model times its row's profiled factor
    (:func:`profiled_scales`); :data:`FAILED` where the model has no value."""
    if "scale" in rows:
        model = model * profiled_scales(rows, model)
    out = np.empty(len(rows))
    noise = rows["noise"].to_numpy()
    for name in set(noise):
        mask = noise == name
        out[mask] = NOISE_MODELS[name].standardise(model[mask], rows["value"].to_numpy()[mask],
                                                   rows["sigma"].to_numpy()[mask], rows["n"].to_numpy()[mask])
    return np.where(np.isfinite(out), out, FAILED)


def residuals(block: str, params: dict[str, float], conditions: dict[str, float] | None = None) -> np.ndarray:
    """The standardised residuals of the rows of ``block`` (:func:`rows_of`) under ``params`` and the nuisance
    ``conditions`` (default: the fitted ones)."""
    rows = rows_of(block)
    ev = Evaluation(dict(params)) if conditions is None else Evaluation(dict(params), dict(conditions))
    return standardised(rows, model_values(rows, ev))


def timecourse_predictions(params: dict[str, float] | None = None) -> pd.DataFrame:
    """The model against each time course from another laboratory (the rows with an assay factor: ``calibrate``
    ones are fitted, ``validate`` ones held out), one row per dataset and cytokine: the assay factor profiled out, the spread of the log residuals left after it (the
    noise the data imply), and the time of the peak in the data and in the model on the data's sampling times."""
    table = observations()
    rows = table[table["scale"] != ""]
    ev = Evaluation(dict(params or {}))
    model = model_values(rows, ev)
    factors = profiled_scales(rows, model)
    out = []
    for group, idx in rows.groupby("scale", sort=False).indices.items():
        r, m = rows.iloc[idx], model[idx]
        ok = np.isfinite(m)
        gap = np.log(r["value"].to_numpy()[ok]) - np.log(np.maximum(m[ok] * factors[idx][ok], 1e-6))
        hours = r["time_days"].to_numpy() * 24
        out.append({"dataset": r["target"].iloc[0], "role": r["role"].iloc[0], "experiment": r["experiment"].iloc[0],
                    "cytokine": r["label"].iloc[0], "points": int(ok.sum()),
                    "assay_factor": float(factors[idx][0]),
                    "log_residual_sd": float(np.sqrt(np.mean(gap ** 2))) if ok.any() else math.nan,
                    "data_peak_h": float(hours[int(np.argmax(r["value"].to_numpy()))]),
                    "model_peak_h": float(hours[int(np.nanargmax(m))]) if ok.any() else math.nan})
    return pd.DataFrame(out)


def gut_joint_predictions(params: dict[str, float] | None = None) -> pd.DataFrame:
    """The model against the human gut-to-joint results (block ``gut-joint``, held out, never fitted): each row's
    data span and the model's value, inside or not."""
    rows = rows_of("gut-joint")
    model = model_values(rows, Evaluation(dict(params or {})))
    return pd.DataFrame({"dataset": rows["dataset"].to_numpy(), "low": rows["low"].to_numpy(),
                         "high": rows["high"].to_numpy(), "model": model,
                         "inside": (rows["low"].to_numpy() <= model) & (model <= rows["high"].to_numpy()),
                         "source": rows["source"].to_numpy()})
