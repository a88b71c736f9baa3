"""Calibration tables shipped with the package (``gutjoint/data/calibration``), read with provenance.

Rows whose ``flag`` column mentions ``synthetic`` (model-maker additions, not measurements) are removed here,
at the single place every table is read, so no fit or check can see them.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from gutjoint._files import file_version

SYNTHETIC_MARK = "synthetic"


def read_table(filename: str, *, keep_synthetic: bool = False) -> pd.DataFrame:
    """A calibration table as it is on disk now; rows flagged synthetic (and the flag column) are dropped unless
    ``keep_synthetic``. Read once per version of the file; callers must not modify the frame."""
    resource = resources.files("gutjoint.data.calibration").joinpath(filename)
    return _table_at(resource, file_version(resource), keep_synthetic)


@lru_cache(maxsize=32)
def _table_at(resource, version: tuple, keep_synthetic: bool) -> pd.DataFrame:
    with resource.open("r", encoding="utf-8") as fh:
        frame = pd.read_csv(fh, comment="#")
    if "flag" in frame and not keep_synthetic:
        synthetic = frame["flag"].fillna("").astype(str).str.contains(SYNTHETIC_MARK, case=False)
        frame = frame[~synthetic].drop(columns="flag")
    return frame.reset_index(drop=True)


def janum_cytokines() -> pd.DataFrame:
    return read_table("endotoxemia_bolus_2ngkg_janum2016_cytokines.csv")


HELD_OUT_TABLES = ("endotoxemia_timecourses.csv",)
"""Tables no fit or sampler reads (held-out validation only): the ensemble's data digest leaves them out, so adding
one does not ask for the posterior to be sampled again."""


def other_timecourses() -> pd.DataFrame:
    """Cytokine time courses from other laboratories (``endotoxemia_timecourses.csv``: Taudorf 2007, Dillingh
    2014, Kiers 2017, Copeland 2005), one row per dataset, time and cytokine, in pg/mL."""
    return read_table("endotoxemia_timecourses.csv")


def janum_temperature() -> pd.DataFrame:
    return read_table("endotoxemia_bolus_2ngkg_janum2016_temperature.csv")


def janum_pain_threshold() -> pd.DataFrame:
    return read_table("endotoxemia_bolus_2ngkg_janum2016_pain_threshold.csv")


THRESHOLD_CONTROL_CHANGE = -0.07
"""How much the pressure-pain threshold falls 2 h later without endotoxin: de Goeij 2013 (PLoS One 8:e84159,
abstract): -7 +- 3% (SEM) in 20 controls not exposed to endotoxin, against -20 +- 4% in 27 given 2 ng/kg. Repeated
testing lowers the threshold by itself, so a before/after change overstates what endotoxin does."""


def control_corrected(relative_threshold):
    """A threshold relative to its pre-dose value, divided by what it would have been without endotoxin (the
    control change of :data:`THRESHOLD_CONTROL_CHANGE`, applied from the first post-dose measurement on): the
    endotoxin effect the model's threshold carries. Derived, not published: Janum 2016 has no control arm (both of
    its study days gave endotoxin), so the control change is de Goeij's, measured at 2 h, assumed to hold at 6 h."""
    rel = np.asarray(relative_threshold, dtype=float)
    return np.where(np.arange(rel.size) == 0, rel, rel / (1 + THRESHOLD_CONTROL_CHANGE))


def janum_threshold_effect() -> tuple[np.ndarray, np.ndarray]:
    """Janum 2016's hours and pressure-pain threshold relative to pre-dose, control-corrected
    (:func:`control_corrected`): what C3 and the innate fit compare the model with."""
    table = janum_pain_threshold()
    return table["time_h"].to_numpy(), control_corrected(table["ppt_mean"].to_numpy() / table["ppt_mean"].iloc[0])


def degoeij_threshold_effect() -> tuple[float, float]:
    """de Goeij 2013's change in pressure-pain threshold at 2 h over its controls' (percent) and its spread: the
    two groups' SEMs combined (independent groups). Derived from the abstract's -20 +- 4% and -7 +- 3%."""
    row = other_studies().loc["degoeij2013_ppt"]
    value, spread = float(row["value"]), float(row["spread"])
    control, control_spread = 100 * THRESHOLD_CONTROL_CHANGE, 3.0
    effect = 100 * ((1 + value / 100) / (1 + control / 100) - 1)
    return effect, float(np.hypot(spread, control_spread))


CV_FLOOR, CV_CEIL = 0.15, 1.0
"""A cytokine's error on the log scale is its coefficient of variation, kept within these bounds: the floor stops
a few tight points from dominating a fit, the ceiling keeps near-zero means from weighing nothing."""


THRESHOLD_SD = 0.035
"""Error of the relative pressure-pain threshold: the C3 tolerance of +-7 percentage points taken as 2 SD (the
Janum SDs are of single people's thresholds in study units, not of the relative mean the target states)."""


def log_noise(mean, sd):
    """Standard deviation on the log scale of a cytokine measured as mean +- SD (the CV, bounded)."""
    return np.clip(np.asarray(sd, dtype=float) / np.asarray(mean, dtype=float), CV_FLOOR, CV_CEIL)


def relative_sd(target_id: str) -> float:
    """The SD of a barrier target whose tolerance reads "+-N% of ..." in its table: the tolerance taken as 2 SD."""
    row = barrier_targets().loc[target_id]
    tolerance = str(row["tolerance"])
    if not tolerance.startswith("+-") or "%" not in tolerance:
        raise ValueError(f"barrier target {target_id!r}: tolerance {tolerance!r} is not a relative one")
    fraction = float(tolerance[2:tolerance.index("%")]) / 100
    value = support_definition()[1] if target_id == "barrier_support_definition" else float(row["value"])
    return fraction * value / 2


def other_studies() -> pd.DataFrame:
    """Endotoxemia and anti-TNF results beyond Janum 2016 (abstract-level), with their group and provenance."""
    return read_table("endotoxemia_other_studies.csv").set_index("id")


def barrier_targets() -> pd.DataFrame:
    return read_table("barrier_recovery_targets.csv").set_index("id")


def gfd_relative(target_id: str) -> float:
    """A coeliac gluten-free-diet value relative to diet start: the L:R at 1 week or 2 months, rhamnose at 3 months,
    lactulose at 12 months (Clin Sci 2001)."""
    return float(barrier_targets().loc[target_id, "value"])


def support_definition() -> tuple[float, float, float]:
    """Zhou 2019: L:M at entry, L:M at ``time_days`` with barrier_support = 1, and that day."""
    row = barrier_targets().loc["barrier_support_definition"]
    after, before = (float(v) for v in str(row["value"]).split(" from "))
    return before, after, float(row["time_days"])


def population_targets() -> pd.DataFrame:
    return read_table("population_targets.csv").set_index("id")
