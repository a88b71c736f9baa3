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

from gutjoint._biology.parameters import load_parameters


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
(95% CI 4.6-8.2), NHANES 2009 (Reveille 2012 Arthritis Rheum 64:1407). Non-Hispanic white adults 7.5%; Finland
and northern Scandinavia 13-16%."""
REACTIVE_SUSCEPTIBILITY = {1: (2.0, 3.0), 0: (1.0, 5.4)}
"""Beta shapes of ``reactive_susceptibility`` for HLA-B27 carriers (1) and non-carriers (0). Assumed, and chosen
so that about 30% of carriers and 2.4% of non-carriers pass susceptibility 0.5: that is the split a carrier risk
ratio of ~12 (Ekman 2000, crude, from 8 cases) and a 4% incidence imply at 6.1% carriage, and it puts B27 near
the 42% of population-based Salmonella cases (14-42% across series) while most cases stay B27-negative. The
incidence, onset, duration and B27 share that result are checked in tests/test_reactive_arthritis.py
(docs/literature-notes.md)."""
LABELS = ("hla_b27",)
"""Drawn with a subject and reported with it, but neither a trait nor a parameter of the model."""


def draw_subject(rng: np.random.Generator, base: dict[str, float] | None = None) -> dict[str, float]:
    """One subject: values for every prior, clipped to the plausible ranges (``base`` overrides the table
    values that ``factor`` draws multiply)."""
    base = base or {}
    subject = {}
    for name, kind, a, b, low, high, value in _draw_plan():
        if kind == "lognormal":
            x = rng.lognormal(math.log(a), b)
        elif kind == "factor":
            x = base.get(name, value) * rng.lognormal(0.0, b)
        else:
            x = rng.beta(a, b)
        subject[name] = float(min(max(x, low), high))
    # drawn last, so that every earlier draw is the same as before these were added
    carrier = int(rng.random() < HLA_B27_PREVALENCE)
    subject["hla_b27"] = float(carrier)
    subject["reactive_susceptibility"] = float(rng.beta(*REACTIVE_SUSCEPTIBILITY[carrier]))
    return subject


@lru_cache(maxsize=1)
def _draw_plan() -> tuple[tuple, ...]:
    """Each draw with its plausible range and table value (an unbounded range for a name not in the table)."""
    table = load_parameters()
    plan = []
    for name, d in DRAWS.items():
        record = table[name] if name in table else None
        low, high = (record.low, record.high) if record is not None else (-math.inf, math.inf)
        plan.append((name, d.kind, d.a, d.b, low, high, record.value if record is not None else None))
    return tuple(plan)


def draw_cohort(n: int, seed: int, base: dict[str, float] | None = None) -> list[dict[str, float]]:
    """``n`` subjects; subject ``i`` uses the stream ``default_rng([seed, i])``."""
    return [draw_subject(np.random.default_rng([seed, i]), base) for i in range(n)]
