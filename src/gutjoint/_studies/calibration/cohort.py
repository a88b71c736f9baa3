"""A reference adult cohort for the population targets (CRP distribution, healthy L:M, fasting endotoxin).

Each subject is a resting steady state (no integration needed) with traits, exposures and a few parameters
drawn from the general-adult priors of ``gutjoint._studies.priors``.
"""

from __future__ import annotations

import numpy as np

from gutjoint._biology import species
from gutjoint._studies import priors
from gutjoint._studies.people import people_problems
from gutjoint._studies.priors import EXPOSURE_NAMES
from gutjoint._studies.runtime import get_runtime
from gutjoint._studies.scenario import Scenario

COHORT_SIZE = 400
COHORT_SEED = 20071286


def draw_cohort(n: int = COHORT_SIZE, seed: int = COHORT_SEED) -> list[dict[str, float]]:
    """The reference cohort: ``n`` subjects from the general-adult priors (``gutjoint._studies.priors``)."""
    return priors.draw_cohort(n, seed)


COHORT_SCENARIO = Scenario(name="cohort", days=1.0)
"""Where the reference cohort lives: at rest, with each person's own background exposures."""


def cohort_rest(params: dict[str, float], subjects: list[dict[str, float]] | None = None,
                *, healthy: bool = False) -> dict[str, np.ndarray]:
    """Resting CRP, L:M and plasma endotoxin of every cohort subject (``healthy``: exposures set to zero), in one
    batch (``people.people_problems``). A drawn factor multiplies the value being calibrated (``params``, else
    the table's); a person without a resting state has NaN."""
    table = get_runtime().parameters
    subjects = subjects if subjects is not None else draw_cohort()
    people, overrides = [], []
    for subject in subjects:
        person = {k: (0.0 if healthy else v) if k in EXPOSURE_NAMES else v for k, v in subject.items()}
        own = dict(params)
        for name, value in subject.items():
            if name in EXPOSURE_NAMES or name in priors.LABELS or name in species.TRAITS:
                continue
            if name in priors.DRAWS and priors.DRAWS[name].kind == "factor":  # a multiplier of the value being calibrated
                rec = table[name]
                value = float(np.clip(params.get(name, rec.value) * value / rec.value, rec.low, rec.high))
            own[name] = person[name] = value
        people.append(person)
        overrides.append(own)
    columns = ("crp_mg_l", "lm_ratio", "lps_pg_ml")
    out = {c: np.full(len(subjects), np.nan) for c in columns}
    for k, problem in enumerate(people_problems(COHORT_SCENARIO, people, parameters=overrides)):
        if problem.rest.ok:
            rest = problem.resting_outputs()
            for c in columns:
                out[c][k] = rest[c]
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
