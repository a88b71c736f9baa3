"""A reference adult cohort for the population targets (CRP distribution, healthy L:M, fasting endotoxin).

Each subject is a resting steady state (no integration needed) with traits, exposures and a few parameters
drawn from the distributions below. The distributions are **assumed** unless a source is given: they stand in
for a real virtual-population design (issue 4), and only their broad shape matters for these targets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gutjoint.studies.runtime import get_runtime
from gutjoint.studies.scenario import InputWindow, Scenario
from gutjoint.studies.simulate import parameter_vector, resting_state

COHORT_SIZE = 400
COHORT_SEED = 20071286


@dataclass(frozen=True)
class Draw:
    kind: str  # "lognormal" (median, sigma), "beta" (a, b), "factor" (lognormal multiplier: median 1, sigma b)
    a: float
    b: float
    source: str


DRAWS = {
    # parameters
    "lps_baseline": Draw("lognormal", 8.2, 1.02, "Erridge 2007: median 8.2 pg/mL, IQR 3.4-13.5 (sigma = ln(13.5/3.4)/1.349)"),
    "il6_basal": Draw("lognormal", 1.0, 0.47, "Janum 2016 baseline IL-6 1.05 +- 0.52 pg/mL (CV ~0.5)"),
    "crp_max": Draw("factor", 1.0, 0.9, "assumed: people differ in hepatic CRP output at the same IL-6 (CRP is "
                    "partly heritable); spread chosen so that the cohort's CRP is as wide as NHANES (median ~2, "
                    "a third above 3 mg/L)"),
    # traits
    "barrier_resilience": Draw("lognormal", 1.0, 0.3, "assumed"),
    "cross_reactivity": Draw("beta", 2.0, 6.0, "assumed"),
    "mechanical_load": Draw("beta", 2.0, 6.0, "assumed"),
    "pain_sensitivity": Draw("lognormal", 1.0, 0.3, "assumed"),
    # exposures (held constant: the cohort is at rest)
    "metabolic_stress": Draw("beta", 1.0, 1.6, "assumed: roughly 40% of adults with marked adiposity"),
    "dysbiosis": Draw("beta", 1.0, 8.0, "assumed"),
    "barrier_insult": Draw("beta", 0.5, 8.0, "assumed: regular NSAID or alcohol use in a minority"),
}
TRAIT_NAMES = ("barrier_resilience", "cross_reactivity", "mechanical_load", "pain_sensitivity")
EXPOSURE_NAMES = ("metabolic_stress", "dysbiosis", "barrier_insult")


def draw_cohort(n: int = COHORT_SIZE, seed: int = COHORT_SEED) -> list[dict[str, float]]:
    """``n`` subjects as dicts of parameter/trait/exposure values, clipped to the plausible ranges."""
    rng = np.random.default_rng(seed)
    table = get_runtime().parameters
    columns = {}
    for name, d in DRAWS.items():
        if d.kind == "lognormal":
            x = rng.lognormal(np.log(d.a), d.b, n)
        elif d.kind == "factor":
            x = rng.lognormal(0.0, d.b, n)
        else:
            x = rng.beta(d.a, d.b, n)
        if name in table and d.kind != "factor":
            x = np.clip(x, table[name].low, table[name].high)
        columns[name] = x
    return [{k: float(v[i]) for k, v in columns.items()} for i in range(n)]


def cohort_rest(params: dict[str, float], subjects: list[dict[str, float]] | None = None,
                *, healthy: bool = False) -> dict[str, np.ndarray]:
    """Resting CRP, L:M and plasma endotoxin of every cohort subject (``healthy``: exposures set to zero)."""
    runtime = get_runtime()
    subjects = subjects if subjects is not None else draw_cohort()
    if healthy:
        subjects = [{**s, **{e: 0.0 for e in EXPOSURE_NAMES}} for s in subjects]
    idx = {c: runtime.output_names.index(c) for c in ("crp_mg_l", "lm_ratio", "lps_pg_ml")}
    out = {c: np.empty(len(subjects)) for c in idx}
    for k, subject in enumerate(subjects):
        exposures = {e: subject[e] for e in EXPOSURE_NAMES}
        scenario = Scenario(name="cohort", days=1.0, inputs=tuple(InputWindow(e, v, 0.0, 1.0) for e, v in exposures.items()))
        overrides = dict(params)
        for name, value in subject.items():
            if name in EXPOSURE_NAMES:
                continue
            if DRAWS[name].kind == "factor":
                rec = runtime.parameters[name]
                value = float(np.clip(params.get(name, rec.value) * value, rec.low, rec.high))
            overrides[name] = value
        p = parameter_vector(runtime, scenario, overrides)
        rest = resting_state(runtime, scenario, p)
        u = np.zeros(len(runtime.input_names))
        u[runtime.input_index("diet_antigen")] = 1.0
        for e, v in exposures.items():
            u[runtime.input_index(e)] = v
        g = runtime.compiled.outputs(rest.y, p, u) if rest.ok else np.full(len(runtime.output_names), np.nan)
        for c, i in idx.items():
            out[c][k] = g[i]
    return out


def cohort_summary(params: dict[str, float]) -> dict[str, float]:
    """CRP median and share above 3 mg/L in the whole cohort; L:M and endotoxin medians in its healthy copy."""
    subjects = draw_cohort()
    rest = cohort_rest(params, subjects)
    healthy = cohort_rest(params, subjects, healthy=True)
    crp = rest["crp_mg_l"]
    return {"crp_median": float(np.nanmedian(crp)), "crp_share_above_3": float(np.nanmean(crp > 3.0)),
            "healthy_lm_median": float(np.nanmedian(healthy["lm_ratio"])),
            "healthy_lps_median": float(np.nanmedian(healthy["lps_pg_ml"])),
            "failed": int(np.isnan(crp).sum() + np.isnan(healthy["crp_mg_l"]).sum())}
