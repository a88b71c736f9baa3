"""`explain`: Shapley attribution of pain to the four sources, and the gut share (claims S7, S8, S9)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import gutjoint
from gutjoint._biology.species import PAIN_SOURCES
from gutjoint._studies.attribution import explain_pain, shapley
from gutjoint._studies.runtime import get_runtime
from gutjoint._studies.simulate import resting_outputs


def test_shapley_of_a_known_game():
    """Glove game: L owns a left glove, R1 and R2 a right one; a pair is worth 1. Shapley: L 2/3, R 1/6 each."""
    players = ("L", "R1", "R2")
    value = {frozenset(c): float("L" in c and ("R1" in c or "R2" in c))
             for c in [(), ("L",), ("R1",), ("R2",), ("L", "R1"), ("L", "R2"), ("R1", "R2"), ("L", "R1", "R2")]}
    phi = shapley(value, players)
    assert phi == pytest.approx({"L": 2 / 3, "R1": 1 / 6, "R2": 1 / 6})


@pytest.mark.parametrize("name", ["gut-driven-joint-pain", "ra-like", "mechanical-oa", "metabolic", "healthy"])
def test_parts_sum_to_pain_above_the_floor(name):
    a = explain_pain(name)
    assert sum(a.sources.values()) == pytest.approx(a.pain_nrs - a.floor, abs=1e-12)
    assert sum(a.output_split.values()) == pytest.approx(a.pain_nrs, rel=1e-9)


def test_floor_is_the_healthy_pain():
    """With every source held at its healthy reference, a typical person has the healthy person's pain."""
    healthy = explain_pain("healthy", day=0)
    assert healthy.floor == pytest.approx(healthy.pain_nrs, abs=0.02)
    assert explain_pain("ra-like").floor == pytest.approx(healthy.floor, abs=0.02)


def test_reference_signals_are_the_healthy_rest():
    table = get_runtime().parameters
    rest = resting_outputs("healthy")
    tnf, il6 = rest["tnf_pg_ml"], rest["il6_pg_ml"]
    cytokines = tnf / (tnf + table["tnf_half_joint"].value) + il6 / (il6 + table["il6_half_joint"].value)
    assert table["reference_joint_cytokines"].value == pytest.approx(cytokines, rel=1e-4)
    assert table["reference_autoreactivity"].value == pytest.approx(rest["autoreactivity"], rel=1e-4)
    assert table["reference_mechanical_load"].value == table["mechanical_load"].value


@pytest.mark.parametrize("source, scenario", [("inflammation", "endotoxemia-2ngkg"), ("immune", "ra-like"),
                                              ("cartilage", "mechanical-oa"), ("metabolic", "metabolic")])
def test_s7_each_source_can_drive_pain_on_its_own(source, scenario):
    """S7: for each source a scenario where it carries most of the pain above the floor, by at least 1 NRS point."""
    frame = gutjoint.simulate(scenario).frame
    day = float(frame.loc[frame["pain_nrs"].idxmax(), "time_days"])
    a = explain_pain(scenario, day)
    assert a.sources[source] >= 1.0
    assert a.sources[source] > 0.5 * (a.pain_nrs - a.floor)
    assert max(a.sources, key=a.sources.get) == source


def test_s8_ra_like_and_gut_driven_get_different_attributions():
    ra, gut = explain_pain("ra-like"), explain_pain("gut-driven-joint-pain")
    assert ra.gut_share < 0.1 < 0.5 < gut.gut_share
    shares = lambda a: np.array([a.sources[s] for s in PAIN_SOURCES]) / (a.pain_nrs - a.floor)  # noqa: E731
    assert np.abs(shares(ra) - shares(gut)).sum() > 0.05 or ra.gut_share < 0.1 < 0.5 < gut.gut_share


def test_s9_relief_is_near_zero_where_gut_share_is_near_zero():
    from gutjoint._studies.attribution import with_input
    from gutjoint._studies.outcomes import IMPROVEMENT_THRESHOLDS

    for name in ("mechanical-oa", "ra-like"):
        a = explain_pain(name)
        supported = gutjoint.simulate(with_input(gutjoint.load_scenario(name), "barrier_support", 1.0))
        relief = a.pain_nrs - supported.frame["pain_nrs"].iloc[-1]
        assert a.gut_share < 0.05 and relief < IMPROVEMENT_THRESHOLDS["minimal"] * a.pain_nrs, name


def test_explain_cli_json(tmp_path, capsys):
    from gutjoint._interfaces.cli import app
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["explain", "ra-like", "--day", "200", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["day"] == 200 and set(data["sources"]) == set(PAIN_SOURCES)
    assert "disclaimer" in data and data["evidence"]["immune"]["grades"]
