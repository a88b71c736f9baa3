"""Calibration of the innate core on human endotoxemia data (first pass; issue 3 extends it).

Targets used here, all from ``gutjoint/data/calibration`` (copied from the project's shared data, with
provenance in its README) or from the literature notes:

- C1: 2 ng/kg IV LPS bolus, plasma TNF, IL-6, IL-8, IL-10 at 0-6 h (Janum 2016). Rows flagged
  ``synthetic_exclude`` are dropped before fitting. Cytokines are compared on a log scale, weighted by the
  coefficient of variation at each point.
- C2: body temperature at 0-6 h (Janum 2016), weighted by its SD.
- C3: pressure-pain threshold relative to baseline at 2 h and 6 h (Janum 2016).
- Endotoxin tolerance: 2 ng/kg on 5 consecutive days cut the TNF response by 97 +- 3% and IL-6 by
  88 +- 8% on day 5 (Crit Care Med 2009 "Development of endotoxin tolerance in humans in vivo";
  docs/literature-notes.md).
- Postprandial endotoxin: 33 g of fat (cream) raised plasma endotoxin by 45 +- 17% at 3 h (Deopurkar 2010,
  EVIDENCE.md §2).
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from gutjoint.studies.scenario import Dose, Scenario
from gutjoint.studies.simulate import simulate

INNATE_FIT = (
    "monocyte_activation", "monocyte_deactivation", "lps_half_activation", "tnf_activation_boost",
    "tnf_half_activation",
    "tnf_per_monocyte", "il6_per_monocyte", "il8_per_monocyte", "il10_per_monocyte",
    "il10_half_inhibition", "il10_half_inhibition_il6_il8", "il6_tnf_upregulation", "il8_tnf_upregulation",
    "il10_il6_upregulation", "tnf_half_fever", "il6_half_fever", "fever_max",
    "threshold_drop_per_lps", "threshold_recovery", "tolerance_induction", "tolerance_max",
)
CYTOKINES = {"tnf": "tnf_pg_ml", "il6": "il6_pg_ml", "il8": "il8_pg_ml", "il10": "il10_pg_ml"}


@lru_cache(maxsize=None)
def load_target(filename: str) -> pd.DataFrame:
    """A calibration table shipped with the package, without rows flagged synthetic."""
    with resources.files("gutjoint.data.calibration").joinpath(filename).open("r", encoding="utf-8") as fh:
        frame = pd.read_csv(fh, comment="#")
    if "flag" in frame:
        frame = frame[~frame["flag"].fillna("").str.contains("synthetic")].drop(columns="flag")
    return frame.reset_index(drop=True)


def bolus_scenario(hours: float = 8.0, step_hours: float = 0.25) -> Scenario:
    return Scenario(name="bolus-2ngkg", days=hours / 24, step_hours=step_hours,
                    doses=(Dose("lps_iv", 2.0, 0.0),), source="calibration: 2 ng/kg bolus")


def repeated_bolus_scenario(n_days: int = 5) -> Scenario:
    doses = tuple(Dose("lps_iv", 2.0, float(d)) for d in range(n_days))
    return Scenario(name="bolus-daily", days=n_days, step_hours=0.25, doses=doses,
                    source="calibration: daily 2 ng/kg")


def fat_meal_scenario(grams: float = 33.0) -> Scenario:
    return Scenario(name="fat-meal", days=0.5, step_hours=0.25, doses=(Dose("fat_meal", grams, 0.0),),
                    source="calibration: fat meal")


def _at_hours(frame: pd.DataFrame, column: str, hours: np.ndarray) -> np.ndarray:
    return np.interp(hours, frame["time_days"].to_numpy() * 24, frame[column].to_numpy())


def bolus_residuals(params: dict[str, float]) -> np.ndarray:
    """Weighted residuals of C1, C2, C3 and the tolerance target for a set of parameter overrides."""
    res = simulate(bolus_scenario(), parameters=params)
    if not res.ok:
        return np.full(64, 50.0)
    out = []
    cyt = load_target("endotoxemia_bolus_2ngkg_janum2016_cytokines.csv")
    hours = cyt["time_h"].to_numpy()
    for key, column in CYTOKINES.items():
        mean, sd = cyt[f"{key}_mean"].to_numpy(), cyt[f"{key}_sd"].to_numpy()
        model = np.maximum(_at_hours(res.frame, column, hours), 1e-6)
        cv = np.clip(sd / mean, 0.15, 1.0)
        out.extend((np.log(model) - np.log(mean)) / cv)
    temp = load_target("endotoxemia_bolus_2ngkg_janum2016_temperature.csv")
    model_t = _at_hours(res.frame, "temperature_c", temp["time_h"].to_numpy())
    out.extend((model_t - temp["temperature_c_mean"].to_numpy()) / temp["temperature_c_sd"].to_numpy())
    ppt = load_target("endotoxemia_bolus_2ngkg_janum2016_pain_threshold.csv")
    rel = ppt["ppt_mean"].to_numpy() / ppt["ppt_mean"].iloc[0]
    model_p = _at_hours(res.frame, "pain_threshold_rel", ppt["time_h"].to_numpy())
    out.extend((model_p[1:] - rel[1:]) / 0.05)

    daily = simulate(repeated_bolus_scenario(), parameters=params)
    if not daily.ok:
        return np.full(len(out) + 2, 50.0)
    f = daily.frame
    day_of = np.floor(f["time_days"].to_numpy() + 1e-9)
    for column, target, sd in (("tnf_pg_ml", 0.03, 0.03), ("il6_pg_ml", 0.12, 0.08)):
        base = f[column].iloc[0]
        peak1 = f[column][day_of == 0].max() - base
        peak5 = f[column][day_of == 4].max() - base
        out.append((peak5 / peak1 - target) / sd)
    return np.asarray(out)


def fit_innate(start: dict[str, float] | None = None, names=INNATE_FIT, max_nfev: int = 400):
    """Fit the innate-core parameters (log scale, within their plausible ranges)."""
    from gutjoint.biology.parameters import load_parameters

    table = load_parameters()
    x0 = np.log([start.get(n, table[n].value) if start else table[n].value for n in names])
    lo = np.log([max(table[n].low, 1e-9) for n in names])
    hi = np.log([table[n].high for n in names])
    x0 = np.clip(x0, lo + 1e-9, hi - 1e-9)

    def fun(x):
        return bolus_residuals(dict(zip(names, np.exp(x))))

    sol = least_squares(fun, x0, bounds=(lo, hi), x_scale=1.0, max_nfev=max_nfev, diff_step=1e-3)
    return dict(zip(names, np.exp(sol.x))), sol


def fit_fat_meal(params: dict[str, float] | None = None, grams: float = 33.0, target: float = 1.45) -> float:
    """``lps_per_fat`` such that ``grams`` of fat raise plasma endotoxin ``target``-fold at 3 h (linear in it)."""
    base = dataclasses.replace(fat_meal_scenario(grams))
    trial = 1.0
    res = simulate(base, parameters={**(params or {}), "lps_per_fat": trial})
    fold = _at_hours(res.frame, "lps_pg_ml", np.array([3.0]))[0] / res.frame["lps_pg_ml"].iloc[0]
    return trial * (target - 1) / (fold - 1)
