"""PEtab (v1) export of the calibration problem: SBML from the single definition plus the five tables.

What is in it: the time-series targets that PEtab v1 can state without events, each with a preequilibration
(the subject's resting steady state) and a simulation condition:

- the 2 ng/kg LPS bolus (Janum 2016: TNF, IL-6, IL-8, IL-10 on a log scale, temperature, pressure-pain
  threshold relative to before the dose and control-corrected, with the fit's error), the bolus given as the
  initial amount of ``lps_iv``; synthetic rows excluded;
- coeliac disease on a gluten-free diet (L:M relative to its start at 1 week and 2 months; each probe on its own:
  rhamnose, as the model's monosaccharide uptake, at 3 months and lactulose at 12 months);
- PI-IBS-D with barrier support (Zhou 2019: L:M 0.11 -> 0.05 at 8 weeks).

The measurements are the rows of the observation table (``_studies/calibration/observations.py``) whose
experiment and noise model PEtab v1 can state; :func:`left_out` lists the others, each with why: the 5-day repeated
bolus and the 0.5 ng/kg bolus's summary (need events or a summary over time), the population targets (a cohort,
not one condition), the held-out validation rows, and the two one-sided bounds (alcohol cessation's L:M excess at
day 14 and the coeliac L:M at a year, hinges PEtab v1 cannot state). ``gutjoint calibrate`` covers those.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

from gutjoint._biology import species
from gutjoint._biology.model import build_model
from gutjoint._biology.parameters import load_parameters
from gutjoint._files import atomic_write
from gutjoint._interfaces.sbml import build_sbml
from gutjoint._studies.calibration import experiments, observations
from gutjoint._studies.calibration.conditions import load_conditions
from gutjoint._studies.scenario import Scenario
from gutjoint._studies.simulate import resting_outputs
from gutjoint._studies.scenario import INPUT_DEFAULTS
from gutjoint._errors import require

ESTIMATED_BLOCKS = ("barrier", "innate")
"""The ``gutjoint calibrate`` blocks whose targets this problem holds (the population block's targets are a cohort,
the meal's one fold change, neither in it)."""
CYTOKINE_COLUMNS = {"tnf": "tnf", "il6": "il6", "il8": "il8", "il10": "il10"}


def _inputs(**levels) -> dict[str, float]:
    row = {f"u_{k}": v for k, v in INPUT_DEFAULTS.items()}
    row.update({f"u_{k}": v for k, v in levels.items()})
    return row


STRUCTURAL_SWITCH = "structural_change"
"""0 in every preequilibration condition: the rest holds cartilage at its initial value, as gutjoint's does."""


def conditions_table(pi_ibs_level: float) -> pd.DataFrame:
    to_state = species.DOSE_ROUTES["lps_iv"].factor(lambda k: load_parameters()[k].value)  # ng/kg -> pg/mL
    rest, run = {STRUCTURAL_SWITCH: 0.0}, {STRUCTURAL_SWITCH: 1.0}
    rows = [
        {"conditionId": "healthy", **_inputs(), "lps_iv": np.nan, **rest},
        {"conditionId": "lps_bolus_2ngkg", **_inputs(), "lps_iv": 2.0 * to_state, **run},
        {"conditionId": "coeliac_on_gluten", **_inputs(enteric_infection="gfd_injury", barrier_insult="gfd_insult"),
         "lps_iv": np.nan, **rest},
        {"conditionId": "gluten_free_diet", **_inputs(), "lps_iv": np.nan, **run},
        {"conditionId": "pi_ibs_d", **_inputs(enteric_infection=pi_ibs_level), "lps_iv": np.nan, **rest},
        {"conditionId": "pi_ibs_d_supported", **_inputs(enteric_infection=pi_ibs_level, barrier_support=1.0),
         "lps_iv": np.nan, **run},
    ]
    return pd.DataFrame(rows)


def observables_table() -> pd.DataFrame:
    rows = [{"observableId": f"obs_{k}", "observableName": f"plasma {k.upper()} (pg/mL)", "observableFormula": state,
             "observableTransformation": "log", "noiseFormula": f"noiseParameter1_obs_{k}", "noiseDistribution": "normal"}
            for k, state in CYTOKINE_COLUMNS.items()]
    rows += [
        {"observableId": "obs_temperature", "observableName": "body temperature (degC)", "observableFormula": "temperature",
         "observableTransformation": "lin", "noiseFormula": "noiseParameter1_obs_temperature", "noiseDistribution": "normal"},
        {"observableId": "obs_ppt_relative", "observableName": "pressure-pain threshold relative to before the dose",
         "observableFormula": "pain_threshold_rel", "observableTransformation": "lin",
         "noiseFormula": "noiseParameter1_obs_ppt_relative", "noiseDistribution": "normal"},
        {"observableId": "obs_lm", "observableName": "lactulose:mannitol ratio", "observableFormula": "lm_ratio",
         "observableTransformation": "lin", "noiseFormula": "noiseParameter1_obs_lm", "noiseDistribution": "normal"},
        {"observableId": "obs_lm_relative", "observableName": "L:M (or L:R) relative to the start of treatment",
         "observableFormula": "lm_ratio / observableParameter1_obs_lm_relative", "observableTransformation": "lin",
         "noiseFormula": "noiseParameter1_obs_lm_relative", "noiseDistribution": "normal"},
        {"observableId": "obs_mannitol_relative", "observableName": "monosaccharide (rhamnose) uptake relative to the "
         "start of treatment", "observableFormula": "mannitol_rel / observableParameter1_obs_mannitol_relative",
         "observableTransformation": "lin", "noiseFormula": "noiseParameter1_obs_mannitol_relative",
         "noiseDistribution": "normal"},
        {"observableId": "obs_lactulose_relative", "observableName": "lactulose permeation relative to the start of "
         "treatment", "observableFormula": "lactulose_rel / observableParameter1_obs_lactulose_relative",
         "observableTransformation": "lin", "noiseFormula": "noiseParameter1_obs_lactulose_relative",
         "noiseDistribution": "normal"},
    ]
    return pd.DataFrame(rows)


PETAB_EXPERIMENTS = {
    "lps-bolus-2ngkg": ("lps_bolus_2ngkg", "healthy"),
    "gluten-free-diet": ("gluten_free_diet", "coeliac_on_gluten"),
    "zhou-glutamine": ("pi_ibs_d_supported", "pi_ibs_d"),
}
"""The experiments of the observation table this problem states: (simulation, preequilibration) condition."""

PETAB_OBSERVABLES = {
    "tnf_pg_ml": ("obs_tnf", np.nan), "il6_pg_ml": ("obs_il6", np.nan), "il8_pg_ml": ("obs_il8", np.nan),
    "il10_pg_ml": ("obs_il10", np.nan), "temperature_c": ("obs_temperature", np.nan),
    "pain_threshold_rel": ("obs_ppt_relative", np.nan),
    "rel_day7": ("obs_lm_relative", "gfd_lm_start"), "rel_day60": ("obs_lm_relative", "gfd_lm_start"),
    "mannitol_day90": ("obs_mannitol_relative", "gfd_mannitol_start"),
    "lactulose_day365": ("obs_lactulose_relative", "gfd_lactulose_start"),
    "lm_start": ("obs_lm", np.nan), "lm_week8": ("obs_lm", np.nan),
}
"""The table's observables as this problem's observables (with the observable parameter a relative one needs)."""


NOT_STATED = {
    "lps-daily-2ngkg": "five daily boluses need events",
    "lps-bolus-0.5ngkg": "a mean over 0-6 h relative to rest is a summary of a time course, not a point",
    "alcohol-cessation": "the excess left at day 14 is relative to the healthy rest, a second condition",
    "reference-cohort": "a cohort of 400 people, not one condition",
    "mechanical-oa-vs-healthy": "a difference between two conditions",
}
"""Why an experiment of the observation table is not in this problem (validation rows: never fitted, so left
out of a calibration problem)."""


def _why_not(row) -> str:
    if row.role == "validate":
        return "held-out validation: never fitted"
    if observations.NOISE_MODELS[row.noise].petab is None:
        return f"PEtab v1 cannot state its noise model ({row.noise})"
    if row.experiment.startswith("trial:"):
        return "a virtual trial's estimate over simulated people, not one condition (fitted by synthetic likelihood)"
    return NOT_STATED.get(row.experiment, "")


def left_out() -> pd.DataFrame:
    """The rows of the observation table this problem does not state, each with why."""
    table = observations.observations()
    out = table.assign(why=[_why_not(row) for row in table.itertuples()])
    return out[out["why"] != ""][["block", "dataset", "experiment", "observable", "noise", "why"]]


def measurements_table() -> pd.DataFrame:
    """The observation table's rows that PEtab v1 can state (:func:`left_out` lists the others)."""
    table = observations.observations()
    stated = table.drop(left_out().index)
    rows = []
    for row in stated.itertuples():
        simulation, preequilibration = PETAB_EXPERIMENTS[row.experiment]
        observable, parameters = PETAB_OBSERVABLES[row.observable]
        rows.append({"simulationConditionId": simulation, "preequilibrationConditionId": preequilibration,
                     "observableId": observable, "time": row.time_days, "measurement": row.value,
                     "noiseParameters": row.sigma, "observableParameters": parameters,
                     "datasetId": row.target})
    return pd.DataFrame(rows)


def parameters_table(extra: dict[str, tuple[float, float, float, bool]]) -> pd.DataFrame:
    rows = []
    for rec in load_parameters().records:
        rows.append({"parameterId": rec.name, "parameterName": rec.rationale[:60],
                     "parameterScale": "log10" if rec.scale == "log" else "lin",
                     "lowerBound": rec.low, "upperBound": rec.high, "nominalValue": rec.value,
                     "estimate": int(rec.estimate in ESTIMATED_BLOCKS and rec.low < rec.high)})
    for name, (value, low, high, estimate) in extra.items():
        rows.append({"parameterId": name, "parameterName": name, "parameterScale": "lin", "lowerBound": low,
                     "upperBound": high, "nominalValue": value, "estimate": int(estimate)})
    return pd.DataFrame(rows)


def _write_tsv(table, path: Path) -> None:
    table.to_csv(path, sep="\t", index=False)


def export_petab(folder: str | Path) -> Path:
    """Write the PEtab problem into ``folder``; return the path of its YAML file."""
    folder = Path(folder)
    model = build_model()
    initial = dict(species.REST_GUESS)
    doc = build_sbml(model, initial=initial, structural_switch=STRUCTURAL_SWITCH)
    libsbml = require("libsbml", "exchange")

    # pain_threshold_rel is relative to the resting threshold of the preequilibrated (healthy) subject
    threshold_at_rest = resting_outputs(Scenario(name="healthy", days=1.0), {})["pain_threshold_rel"]
    doc.getModel().getParameter("pain_threshold_at_rest").setValue(float(threshold_at_rest))
    sbml_text = libsbml.writeSBMLToString(doc)
    pi_ibs_level = experiments.pi_ibs_injury_level({})
    levels = load_conditions()
    gfd = experiments.gluten_free_diet({}, levels["gfd_insult"], levels["gfd_injury"])
    extra = {
        "gfd_insult": (levels["gfd_insult"], 0.0, 1.0, True),
        "gfd_injury": (levels["gfd_injury"], 0.0, 1.0, True),
        "gfd_lm_start": (gfd["lm_start"], 0.01, 2.0, True),
        "gfd_mannitol_start": (gfd["mannitol_start"], 0.05, 1.0, True),
        "gfd_lactulose_start": (gfd["lactulose_start"], 1.0, 100.0, True),
    }
    tables = {
        "conditions.tsv": conditions_table(pi_ibs_level),
        "observables.tsv": observables_table(),
        "measurements.tsv": measurements_table(),
        "parameters.tsv": parameters_table(extra),
    }
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "model.xml", lambda tmp: tmp.write_text(sbml_text, encoding="utf-8"))
    for name, table in tables.items():
        atomic_write(folder / name, functools.partial(_write_tsv, table))
    atomic_write(folder / "left_out.tsv", lambda tmp: left_out().to_csv(tmp, sep="\t", index=False))
    yaml_text = "\n".join([
        "format_version: 1",
        "parameter_file: parameters.tsv",
        "problems:",
        "  - sbml_files: [model.xml]",
        "    condition_files: [conditions.tsv]",
        "    measurement_files: [measurements.tsv]",
        "    observable_files: [observables.tsv]",
        "",
    ])
    atomic_write(folder / "gutjoint.yaml", lambda tmp: tmp.write_text(yaml_text, encoding="utf-8"))
    return folder / "gutjoint.yaml"


def lint(yaml_path: str | Path) -> bool:
    """True when the PEtab linter finds no error."""
    petab = require("petab.v1", "exchange")

    problem = petab.Problem.from_yaml(str(yaml_path))
    return not petab.lint_problem(problem)
