"""Clinical readings of a pain trajectory: IMMPACT improvement thresholds and time to improvement.

Dworkin RH et al., J Pain 2008;9:105 (IMMPACT): on a 0-10 NRS, a 10-20% reduction is minimally important,
>= 30% moderately and >= 50% substantially important (EVIDENCE.md §5e; data/calibration/population_targets.csv).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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


def time_to_improvement(frame: pd.DataFrame, start_day: float, threshold: float = 0.30) -> float:
    """Days from ``start_day`` until pain first falls ``threshold`` below its value at ``start_day``
    (NaN if it never does within the run)."""
    t = frame["time_days"].to_numpy()
    pain = frame["pain_nrs"].to_numpy()
    baseline = float(np.interp(start_day, t, pain))
    after = t >= start_day
    hit = np.nonzero(after & (pain <= (1 - threshold) * baseline))[0]
    return float(t[hit[0]] - start_day) if hit.size else float("nan")
