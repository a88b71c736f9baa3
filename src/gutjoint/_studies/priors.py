"""Priors of a general adult population: traits, background exposures and a few parameters.

Used by the calibration's reference cohort and by virtual populations. Each entry says where its shape comes
from; most are **assumed** (no population data for these latent quantities), and only their broad shape
matters for the population targets they are checked against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from gutjoint._biology.parameters import ParameterTable, load_parameters


@dataclass(frozen=True)
class Draw:
    """``lognormal`` (median a, log-SD b), ``beta`` (a, b), or ``factor`` (a lognormal multiplier of the
    parameter's current value: median 1, log-SD b)."""

    kind: str
    a: float
    b: float
    source: str


DRAWS: dict[str, Draw] = {
    # parameters
    "lps_baseline": Draw("lognormal", 8.2, 1.02, "Erridge 2007: median 8.2 pg/mL, IQR 3.4-13.5 (sigma = ln(13.5/3.4)/1.349)"),
    "il6_basal": Draw("factor", 1.0, 0.47, "Janum 2016 baseline IL-6 1.05 +- 0.52 pg/mL (CV ~0.5)"),
    "crp_max": Draw("factor", 1.0, 0.9, "assumed: people differ in hepatic CRP output at the same IL-6 (CRP is "
                    "partly heritable); spread chosen so that the cohort's CRP is as wide as NHANES (median ~2, "
                    "a third above 3 mg/L)"),
    # traits
    "barrier_resilience": Draw("lognormal", 1.0, 0.3, "assumed"),
    "cross_reactivity": Draw("beta", 2.0, 6.0, "assumed"),
    "mechanical_load": Draw("beta", 2.0, 6.0, "assumed"),
    "pain_sensitivity": Draw("lognormal", 1.0, 0.3, "assumed"),
    "immune_resolution": Draw("lognormal", 1.0, 0.5, "assumed: resolution is slower in older humans (De Maeyer "
                              "2020); the population spread is unknown, log-SD 0.5 gives a 10-90% range of x0.5-x1.9"),
    # background exposures (constant over the run)
    "metabolic_stress": Draw("beta", 1.0, 1.6, "assumed: roughly 40% of adults with marked adiposity"),
    "dysbiosis": Draw("beta", 1.0, 8.0, "assumed"),
    "barrier_insult": Draw("beta", 0.5, 8.0, "assumed: regular NSAID or alcohol use in a minority"),
}
EXPOSURE_NAMES = ("metabolic_stress", "dysbiosis", "barrier_insult")

HLA_B27_PREVALENCE = 0.061
"""HLA-B27 carriers among US adults, the population the default represents (its CRP targets are NHANES): 6.1%
(95% CI 4.6-8.2), NHANES 2009 (Reveille 2012 Arthritis Rheum 64:1407). Non-Hispanic white adults 7.5%."""
HLA_B27_PREVALENCE_FINLAND = 0.14
"""HLA-B27 carriers in Finland, where the population-based reactive-arthritis numbers come from (Tuompo 2013):
13 of 100 healthy Finnish controls in Ekman 2000 (Arthritis Rheum 43:1527), and 14-16% as other studies quote it
(no primary Finnish survey was read). The reactive-arthritis prior is checked at this carriage."""
REACTIVE_SUSCEPTIBILITY = {1: (2.0, 3.0), 0: (1.0, 3.5)}
"""Beta shapes of ``reactive_susceptibility`` for HLA-B27 carriers (1) and non-carriers (0). Assumed, and set in
the population the numbers come from: at Finnish carriage (:data:`HLA_B27_PREVALENCE_FINLAND`), the
population-based Salmonella series of Tuompo 2013 (Scand J Rheumatol 42:196: reactive arthritis in 22 of 496,
4.4%, HLA-B27 in 42% of the cases) implies a carrier risk ratio of about 4 (derived: (0.42 / 0.14) / (0.58 / 0.86)
= 4.4; 3.8-4.9 for carriage 13-16%). These shapes give 4.2 in a 10,000-person Finnish-carriage population
(with ``reactive_seeding`` scanned to the 4.4%). Ekman 2000's larger ratio (about 12, derived from 6 of 8
confirmed cases being carriers) rests on too few cases to set it; population series tie B27 more clearly to
severity and chronicity than to occurrence (docs/literature-notes.md). In the default (US) population the same
ratio gives a smaller B27 share of cases (about 22%). The incidence, onset, duration and B27 share that result are
checked in tests/test_reactive_arthritis.py."""
LABELS = ("hla_b27",)
"""Drawn with a subject and reported with it, but neither a trait nor a parameter of the model."""


def draw_subject(rng: np.random.Generator, base: dict[str, float] | None = None, *,
                 hla_b27_prevalence: float = HLA_B27_PREVALENCE) -> dict[str, float]:
    """One subject: values for every prior, clipped to the plausible ranges (``base`` overrides the table
    values that ``factor`` draws multiply), an HLA-B27 carrier with probability ``hla_b27_prevalence``."""
    base = base or {}
    subject = {}
    for name, kind, a, b, low, high, value in _draw_plan(load_parameters()):
        if kind == "lognormal":
            x = rng.lognormal(math.log(a), b)
        elif kind == "factor":
            x = base.get(name, value) * rng.lognormal(0.0, b)
        else:
            x = rng.beta(a, b)
        subject[name] = float(min(max(x, low), high))
    # drawn last, so that every earlier draw is the same as before these were added
    carrier = int(rng.random() < hla_b27_prevalence)
    subject["hla_b27"] = float(carrier)
    subject["reactive_susceptibility"] = float(rng.beta(*REACTIVE_SUSCEPTIBILITY[carrier]))
    return subject


@lru_cache(maxsize=2)
def _draw_plan(table: ParameterTable) -> tuple[tuple, ...]:
    """Each draw with its plausible range and its value in ``table`` (an unbounded range for a name not in it)."""
    plan = []
    for name, d in DRAWS.items():
        record = table[name] if name in table else None
        low, high = (record.low, record.high) if record is not None else (-math.inf, math.inf)
        plan.append((name, d.kind, d.a, d.b, low, high, record.value if record is not None else None))
    return tuple(plan)


def draw_cohort(n: int, seed: int, base: dict[str, float] | None = None) -> list[dict[str, float]]:
    """``n`` subjects; subject ``i`` uses the stream ``default_rng([seed, i])``."""
    return [draw_subject(np.random.default_rng([seed, i]), base) for i in range(n)]
