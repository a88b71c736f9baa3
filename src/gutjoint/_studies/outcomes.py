"""Clinical readings of a pain trajectory: IMMPACT improvement thresholds, time to improvement, and the case
definition of reactive arthritis.

Dworkin RH et al., J Pain 2008;9:105 (IMMPACT): on a 0-10 NRS, a 10-20% reduction is minimally important,
>= 30% moderately and >= 50% substantially important (data/calibration/population_targets.csv).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IMPROVEMENT_THRESHOLDS = {"minimal": 0.10, "moderate": 0.30, "substantial": 0.50}


def improvement_category(baseline: float, now: float) -> str:
    """'none', 'minimal', 'moderate' or 'substantial' for a pain change from ``baseline`` to ``now``."""
    if baseline <= 0:
        return "none"
    drop = (baseline - now) / baseline
    category = "none"
    for name, threshold in IMPROVEMENT_THRESHOLDS.items():
        if drop >= threshold - 1e-12:
            category = name
    return category


def time_to_improvement(times, pain, start_day: float, threshold: float = 0.30) -> float:
    """Days from ``start_day`` until ``pain`` (at ``times``, days) first falls ``threshold`` below its value at
    ``start_day`` (NaN if it never does within the run)."""
    t, pain = np.asarray(times, dtype=float), np.asarray(pain, dtype=float)
    baseline = float(np.interp(start_day, t, pain))
    after = t >= start_day
    hit = np.nonzero(after & (pain <= (1 - threshold) * baseline))[0]
    return float(t[hit[0]] - start_day) if hit.size else float("nan")


@dataclass(frozen=True)
class ArthritisCase:
    """When a rise in joint pain after an infection counts as reactive arthritis: pain at least ``pain_rise`` NRS
    points above its value at the start of the infection, starting within ``window_days`` of the infection's start
    and lasting at least ``min_days``; the episode ends when the rise falls below ``resolved_below``. The 8-week window is the case window of the population-based FoodNet
    study (Townes 2008 Ann Rheum Dis 67:1689); 2 points is the change a patient notices (IMMPACT: about 2 points
    or 30% is moderately important); two weeks keeps the infection's own few days of aches out; an episode is over
    when less than half of that rise is left."""

    pain_rise: float = 2.0
    min_days: float = 14.0
    window_days: float = 56.0
    resolved_below: float = 1.0

    def describe(self) -> str:
        return (f"pain >= {self.pain_rise:g} NRS above its value at the infection's start, for >= {self.min_days:g} "
                f"days, starting within {self.window_days:g} days; over when the rise is below "
                f"{self.resolved_below:g}")

    def episode(self, t: np.ndarray, pain: np.ndarray, infection_start: float) -> tuple[bool, float, float]:
        """(is a case, onset in days after the infection's start, days the rise lasted); NaN where not a case."""
        t, pain = np.asarray(t, dtype=float), np.asarray(pain, dtype=float)
        before = float(np.interp(infection_start, t, pain))
        raised = (t >= infection_start) & (pain - before >= self.pain_rise)
        hits = np.nonzero(raised)[0]
        if not hits.size or t[hits[0]] - infection_start > self.window_days:
            return False, float("nan"), float("nan")
        first = hits[0]
        ongoing = pain - before >= self.resolved_below
        ends = np.nonzero(~ongoing[first:])[0]
        last = first + ends[0] if ends.size else len(t) - 1  # the first time below again, or the end of the run
        duration = float(t[last] - t[first])
        if duration < self.min_days:
            return False, float("nan"), float("nan")
        return True, float(t[first] - infection_start), duration


REACTIVE_ARTHRITIS = ArthritisCase()
"""The one case definition used by populations, tests and docs."""
