"""Which way does "a leaky gut goes with joint pain" run? The path back: pain -> NSAIDs -> a leakier barrier.

People in pain take NSAIDs, and NSAIDs open the barrier (the model's chronic barrier insult, links L1 and M1). A
cross-section of adults then shows raised permeability with joint pain even where the gut did nothing to the joint.
:func:`cross_section` measures the association three ways in one virtual population, each person simulated with and
without regular NSAIDs for :data:`WEEKS` weeks:

- ``forward``: nobody's NSAID use follows their pain (the model as it is: background barrier insults are drawn
  independently of pain); whatever association remains runs from gut to joint, or from shared causes;
- ``both``: people in pain take NSAIDs (:data:`NSAID_BEHAVIOUR`); users' L:M and pain both come from their NSAID
  run, so the opened barrier also feeds forward to their joints;
- ``reverse only``: users' L:M comes from their NSAID run, their pain from the run without: the barrier answers the
  pain, and the pain does not answer the barrier.

The association is how much higher L:M is in people with at least moderate pain (NRS at least
:data:`~gutjoint._studies.trial.PAIN_MODERATE`) than in the rest (the ratio of geometric means, as cross-sectional
studies compare patients with controls); beside it, the odds ratio of raised permeability (L:M at least
:data:`~gutjoint._studies.trial.LM_RAISED`) and Spearman's rho between L:M and pain. The share the path back adds is
that of the log ratio of means.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Behaviour:
    """A person-level response the studies layer adds to the model: who does what, graded like a parameter."""

    name: str
    value: float
    unit: str
    link_grade: str
    value_grade: str
    source: str


NSAID_BEHAVIOUR = Behaviour(
    "regular NSAID use with at least moderate joint pain", 0.45, "share of people with pain NRS at least 4",
    "human observational", "human measurement",
    "Kingsbury 2013 Arthritis Res Ther 15:R106, Table 1 (987 people with symptomatic knee OA, US): NSAIDs on more "
    "than half the days of the previous month, over the counter 26.8%, prescribed 8.2%, coxibs 10.2%, 45% if no "
    "one took two kinds (an upper bound: the overlap is not printed); 'symptomatic' read as pain NRS at least 4 "
    "(assumed)")
NSAID_LEVEL = 1.0
"""The barrier insult of regular NSAIDs (the model's chronic insult at full level, as in the ``nsaid-ra`` trial;
assumed). Its effect on permeability is the held-out ``nsaid-ra`` row (23/29 raised on NSAIDs)."""
WEEKS = 8
"""Weeks of regular NSAID use before the cross-section is read (the ``nsaid-ra`` trial's length)."""


def _odds_ratio(exposed: np.ndarray, outcome: np.ndarray) -> float:
    """The odds ratio of ``outcome`` for ``exposed``, with 0.5 added to each cell (Haldane)."""
    a = np.sum(exposed & outcome) + 0.5
    b = np.sum(exposed & ~outcome) + 0.5
    c = np.sum(~exposed & outcome) + 0.5
    d = np.sum(~exposed & ~outcome) + 0.5
    return float(a * d / (b * c))


def _association(lm: np.ndarray, pain: np.ndarray) -> dict[str, float]:
    from scipy.stats import spearmanr

    from gutjoint._studies.trial import LM_RAISED, PAIN_MODERATE

    moderate = pain >= PAIN_MODERATE
    return {"lm_ratio_of_means": float(np.exp(np.mean(np.log(lm[moderate])) - np.mean(np.log(lm[~moderate])))),
            "odds_ratio": _odds_ratio(moderate, lm >= LM_RAISED),
            "spearman_rho": float(spearmanr(lm, pain).statistic),
            "raised_share": float(np.mean(lm >= LM_RAISED)), "pain_share": float(np.mean(pain >= PAIN_MODERATE))}


def cross_section(n: int = 4000, *, seed: int = 1, parameters: dict[str, float] | None = None,
                  use: float = NSAID_BEHAVIOUR.value) -> dict:
    """The association between raised permeability and joint pain in ``n`` general adults, three ways (module
    docstring), with the share of the ``both`` association (log ratio of means) that the path back adds. People whose
    runs fail are left out and counted."""
    from gutjoint._studies.trial import PAIN_MODERATE, potential_outcomes, screen, trial_from_dict

    trial = trial_from_dict({"description": "a cross-section of adults, with and without regular NSAIDs",
                             "weeks": WEEKS, "screening": "general", "screened": n, "per_arm": 2, "seed": seed,
                             "endpoint_week": WEEKS, "arms": [
                                 {"name": "as they are", "control": True},
                                 {"name": "NSAID", "interventions": [{"name": "barrier_insult",
                                                                      "level": NSAID_LEVEL}], "blinded": False}]},
                            source="<cross-section>", name="cross-section")
    cache: dict = {}
    people = [p for p in screen(trial, parameters=parameters, rest_cache=cache) if p["eligible"]]
    outcomes = potential_outcomes(trial, people, rest_cache=cache, parameters=parameters)
    k = int(np.argmin(np.abs(outcomes["weeks"] - WEEKS)))
    pain0, lm0 = outcomes["as they are"]["pain_nrs"][:, k], outcomes["as they are"]["lm_ratio"][:, k]
    pain1, lm1 = outcomes["NSAID"]["pain_nrs"][:, k], outcomes["NSAID"]["lm_ratio"][:, k]
    ok = np.isfinite(pain0) & np.isfinite(lm0) & np.isfinite(pain1) & np.isfinite(lm1)
    pain0, lm0, pain1, lm1 = pain0[ok], lm0[ok], pain1[ok], lm1[ok]
    rng = np.random.default_rng([seed, 4517])
    users = (pain0 >= PAIN_MODERATE) & (rng.uniform(size=pain0.size) < use)
    worlds = {"forward": _association(lm0, pain0),
              "both": _association(np.where(users, lm1, lm0), np.where(users, pain1, pain0)),
              "reverse only": _association(np.where(users, lm1, lm0), pain0)}
    log_both = math.log(worlds["both"]["lm_ratio_of_means"])
    log_forward = math.log(worlds["forward"]["lm_ratio_of_means"])
    return {"people": int(ok.sum()), "failed": int((~ok).sum()), "users": int(users.sum()), "use": use,
            "worlds": worlds,
            "reverse_share": (log_both - log_forward) / log_both if log_both > 0 else math.nan}
