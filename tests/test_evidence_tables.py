"""The parameter and link tables are complete: value, unit, range, source and grade everywhere."""

from __future__ import annotations

import json
import subprocess
import sys

import gutjoint
from gutjoint.biology.model import build_model
from gutjoint.biology.parameters import GRADES


def test_every_parameter_is_documented():
    for p in gutjoint.parameters().records:
        assert p.unit, p.name
        assert p.low <= p.value <= p.high, p.name
        assert p.grade in GRADES, p.name
        assert len(p.source) > 10, p.name
        assert p.rationale, p.name
        if p.source_kind == "assumed":
            assert ":" in p.source and len(p.source.split(":", 1)[1].strip()) > 3, f"{p.name}: assumed, but why?"


def test_every_parameter_is_used_by_the_model():
    model = build_model()
    used = set().union(*(expr.free_symbols for expr in (*model.rhs, *model.outputs.values())))
    used_names = {s.name for s in used}
    exempt = {"plasma_volume", "cartilage_initial"}  # used by the scenario layer (dose conversion, start state)
    unused = [n for n in model.parameter_names if n not in used_names and n not in exempt]
    assert not unused


def test_every_link_is_graded():
    links = gutjoint.links()
    assert len(links) >= 15
    assert all(link.grade in GRADES for link in links)


def test_crp_half_life_is_fixed_at_19_hours():
    p = gutjoint.parameters()["crp_half_life"]
    assert p.value == p.low == p.high == 19 and p.unit == "h"


def test_params_cli_json():
    proc = subprocess.run([sys.executable, "-m", "gutjoint.interfaces.cli", "params", "--json"], capture_output=True,
                          text=True, encoding="utf-8", timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {r["name"] for r in data["parameters"]} == set(gutjoint.parameters().names)
    assert all("grade" in link for link in data["links"])


def test_public_api_is_curated():
    assert gutjoint.__all__ == sorted(gutjoint.__all__)
    for name in gutjoint.__all__:
        assert hasattr(gutjoint, name)
