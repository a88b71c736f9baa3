"""PEtab (v1) export of the calibration problem: SBML from the single definition plus the five tables.

What is in it: the time-series targets that PEtab v1 can state without events, each with a preequilibration
(the subject's resting steady state) and a simulation condition:

- the 2 ng/kg LPS bolus (Janum 2016: TNF, IL-6, IL-8, IL-10 on a log scale, temperature, pressure-pain
  threshold relative to before the dose and control-corrected, with the fit's error), the bolus given as the
  initial amount of ``lps_iv``; synthetic rows excluded;
- alcohol cessation (L:M back to the healthy median by day 14);
- coeliac disease on a gluten-free diet (L:M relative to its start at 1 week and 2 months; each probe on its own:
  rhamnose, as the model's monosaccharide uptake, at 3 months and lactulose at 12 months);
- PI-IBS-D with barrier support (Zhou 2019: L:M 0.11 -> 0.05 at 8 weeks).

Left out, and why: the 5-day repeated bolus (needs events), the meal (a dose into the stomach, needs an event),
and the population targets (a cohort, not one condition). ``gutjoint calibrate`` covers those.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gutjoint._biology import species
from gutjoint._biology.model import build_model
from gutjoint._biology.parameters import load_parameters
from gutjoint._files import atomic_write
from gutjoint._interfaces.sbml import build_sbml
from gutjoint._studies.calibration import data, experiments
from gutjoint._studies.calibration.conditions import load_conditions
from gutjoint._studies.scenario import Scenario
from gutjoint._studies.simulate import resting_outputs
from gutjoint._studies.scenario import INPUT_DEFAULTS

ESTIMATED_BLOCKS = ("barrier", "innate")
"""The ``gutjoint calibrate`` blocks whose targets this problem holds (the population block's targets are a cohort,
the meal's one fold change, neither in it)."""
CYTOKINE_COLUMNS = {"tnf": "tnf", "il6": "il6", "il8": "il8", "il10": "il10"}


def _inputs(**levels) -> dict[str, object]:
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
        {"conditionId": "drinking", **_inputs(barrier_insult=1.0), "lps_iv": np.nan, **rest},
        {"conditionId": "abstinent", **_inputs(), "lps_iv": np.nan, **run},
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


def measurements_table() -> pd.DataFrame:
    rows = []
    bolus = {"simulationConditionId": "lps_bolus_2ngkg", "preequilibrationConditionId": "healthy"}
    cyt = data.janum_cytokines()  # synthetic rows already excluded
    for key in CYTOKINE_COLUMNS:
        for _, r in cyt.iterrows():
            cv = float(data.log_noise(r[f"{key}_mean"], r[f"{key}_sd"]))
            rows.append({**bolus, "observableId": f"obs_{key}", "time": r["time_h"] / 24, "measurement": r[f"{key}_mean"],
                         "noiseParameters": cv, "observableParameters": np.nan, "datasetId": "janum2016"})
    for _, r in data.janum_temperature().iterrows():
        rows.append({**bolus, "observableId": "obs_temperature", "time": r["time_h"] / 24,
                     "measurement": r["temperature_c_mean"], "noiseParameters": r["temperature_c_sd"],
                     "observableParameters": np.nan, "datasetId": "janum2016"})
    hours, effect = data.janum_threshold_effect()  # relative to pre-dose and control-corrected, as the fit states it
    for time_h, measurement in zip(hours[1:], effect[1:]):
        rows.append({**bolus, "observableId": "obs_ppt_relative", "time": time_h / 24,
                     "measurement": measurement, "noiseParameters": data.THRESHOLD_SD,
                     "observableParameters": np.nan, "datasetId": "janum2016"})
    rows.append({"simulationConditionId": "abstinent", "preequilibrationConditionId": "drinking", "observableId": "obs_lm",
                 "time": 14.0, "measurement": 0.014, "noiseParameters": 0.008, "observableParameters": np.nan,
                 "datasetId": "alcohol_cessation"})
    targets = data.barrier_targets()
    for target in ("gfd_week1", "gfd_month2"):
        rows.append({"simulationConditionId": "gluten_free_diet", "preequilibrationConditionId": "coeliac_on_gluten",
                     "observableId": "obs_lm_relative", "time": float(targets.loc[target, "time_days"]),
                     "measurement": data.gfd_relative(target), "noiseParameters": data.relative_sd(target),
                     "observableParameters": "gfd_lm_start", "datasetId": "gluten_free_diet"})
    for target, observable, start in (("gfd_rhamnose_month3", "obs_mannitol_relative", "gfd_mannitol_start"),
                                      ("gfd_lactulose_month12", "obs_lactulose_relative", "gfd_lactulose_start")):
        rows.append({"simulationConditionId": "gluten_free_diet", "preequilibrationConditionId": "coeliac_on_gluten",
                     "observableId": observable, "time": float(targets.loc[target, "time_days"]),
                     "measurement": data.gfd_relative(target), "noiseParameters": data.relative_sd(target),
                     "observableParameters": start, "datasetId": "gluten_free_diet"})
    before, after, day = data.support_definition()
    for time, value in ((0.0, before), (day, after)):
        rows.append({"simulationConditionId": "pi_ibs_d_supported", "preequilibrationConditionId": "pi_ibs_d",
                     "observableId": "obs_lm", "time": time, "measurement": value,
                     "noiseParameters": data.relative_sd("barrier_support_definition"),
                     "observableParameters": np.nan, "datasetId": "zhou2019"})
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


def export_petab(folder: str | Path) -> Path:
    """Write the PEtab problem into ``folder``; return the path of its YAML file."""
    folder = Path(folder)
    model = build_model()
    initial = dict(species.REST_GUESS)
    doc = build_sbml(model, initial=initial, structural_switch=STRUCTURAL_SWITCH)
    import libsbml

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
        atomic_write(folder / name, lambda tmp, t=table: t.to_csv(tmp, sep="\t", index=False))
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
    import petab.v1 as petab

    problem = petab.Problem.from_yaml(str(yaml_path))
    return not petab.lint_problem(problem)
