"""Numbers in prose come from code: every computed passage of the README is what its function writes today, and
the ensemble report's coverage sentence is what its own table gives."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gutjoint._interfaces import prose
from gutjoint._interfaces.ensemble_report import coverage_words

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_marks_every_computed_passage_once():
    found = re.findall(r"<!-- computed: ([a-z0-9-]+) -->", README)
    assert sorted(found) == sorted(prose.PASSAGES), "every passage is in the README, and only once"


@pytest.mark.parametrize("name", sorted(prose.PASSAGES))
def test_each_computed_passage_is_what_the_code_writes_today(name):
    assert prose.passages(README)[name] == prose.PASSAGES[name](), (
        f"README passage {name!r} is stale: run `python -m gutjoint._interfaces.prose README.md`")


def test_a_changed_number_is_seen_as_stale():
    text = prose.render("<!-- computed: value-grades -->\nold\n<!-- /computed -->\n")
    assert prose.stale(text) == []
    assert prose.stale(text.replace("assumed**", "assumed (edited)**")) == ["value-grades"]


def test_the_ensemble_reports_coverage_sentence_is_its_own_tables():
    text = (ROOT / "docs" / "calibration" / "ensemble.md").read_text(encoding="utf-8")
    rows = [{"block": m.group(1), "points": int(m.group(2)), "covered": int(m.group(3))}
            for m in re.finditer(r"^\| (innate|barrier|validation) \| .+? \| (\d+) \| (\d+) \| \d+% \| \d+ \|$",
                                 text, re.M)]
    assert rows and coverage_words(rows) in text


def test_a_band_that_holds_every_point_is_called_too_wide():
    words = coverage_words([{"block": "innate", "points": 60, "covered": 60}])
    assert "too wide" in words and "60 of 60" in words
    assert "about what honest" in coverage_words([{"block": "innate", "points": 60, "covered": 54}])


def test_the_shipped_calibration_report_checks_todays_parameters(tmp_path):
    """docs/calibration/report.md holds `calibrate --check` of the shipped parameters: it is what the code writes
    today (a full refit's profiles are in refit.md beside it, dated)."""
    from gutjoint._interfaces.calibration_report import write_report
    from gutjoint._studies.calibration import check

    today = write_report(tmp_path, None, check()).read_text(encoding="utf-8")
    shipped = (ROOT / "docs" / "calibration" / "report.md").read_text(encoding="utf-8")
    assert shipped == today, "run `gutjoint calibrate --check --out docs/calibration`"
