"""Fitted nuisance levels of calibration conditions (``data/calibration/fitted_conditions.csv``)."""

from __future__ import annotations

from importlib import resources

from gutjoint._studies.calibration.data import read_table

FILENAME = "fitted_conditions.csv"


def load_conditions() -> dict[str, float]:
    table = read_table(FILENAME)
    return dict(zip(table["name"], table["value"].astype(float)))


def conditions_path():
    return resources.files("gutjoint.data.calibration").joinpath(FILENAME)
