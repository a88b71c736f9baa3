"""IMMPACT readings of pain trajectories (Dworkin 2008): categories and time to improvement."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from gutjoint._studies.outcomes import improvement_category, time_to_improvement


@pytest.mark.parametrize(("baseline", "now", "expected"), [
    (6.0, 6.0, "none"), (6.0, 5.5, "none"), (6.0, 5.4, "minimal"), (6.0, 4.2, "moderate"),
    (6.0, 3.0, "substantial"), (6.0, 7.0, "none"), (0.0, 0.0, "none"),
])
def test_improvement_category(baseline, now, expected):
    assert improvement_category(baseline, now) == expected


def test_time_to_improvement():
    frame = pd.DataFrame({"time_days": [0, 10, 20, 30, 40], "pain_nrs": [5.0, 5.0, 4.0, 3.4, 2.4]})
    assert time_to_improvement(frame["time_days"], frame["pain_nrs"], 10, 0.30) == 20.0  # 3.4 <= 0.7 * 5.0 first at day 30
    assert time_to_improvement(frame["time_days"], frame["pain_nrs"], 10, 0.50) == 30.0
    assert math.isnan(time_to_improvement(frame["time_days"], frame["pain_nrs"], 10, 0.60))
