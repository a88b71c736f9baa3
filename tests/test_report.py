"""The person-facing HTML report: self-contained, with the chain, sources, options, evidence, red flags, disclaimer."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from gutjoint._interfaces.cli import app
from gutjoint._safety import DISCLAIMER, RED_FLAG_LINE, RED_FLAGS


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "report.html"
    result = CliRunner().invoke(app, ["report", "gut-driven-joint-pain", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def test_report_is_self_contained(page):
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched from a network
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) == 3 and all(i.startswith("data:image/png;base64,") for i in images)


def test_report_carries_safety_and_evidence(page):
    assert page.count(DISCLAIMER) >= 2 and RED_FLAG_LINE in page
    assert all(flag.label in page for flag in RED_FLAGS)
    for grade in ("human RCT", "hypothesis", "animal"):
        assert grade in page
    assert "not been tested in people" in page  # the barrier-to-joint-pain link is not overstated


def test_report_says_how_sure_it_is(page):
    """Bands in the chain figure, the last day's pain and the gut share as 90% intervals in words, the parameters
    that carry the spread with what their values rest on, and what is assumed."""
    assert "How sure is this?" in page
    assert re.search(r"the pain is\s+<b>between [\d.]+ and [\d.]+ out of 10</b>", page)
    assert re.search(r"gut share on day [\d.]+ is\s+<b>between \d+% and \d+%</b>", page)
    assert "share of the spread" in page and "rest on assumptions" in page


def test_report_compares_the_four_options_with_times_to_improvement(page):
    for option in ("Barrier support", "Microbiome restoration", "Anti-TNF", "Weight-loss-like"):
        assert option in page
    assert re.search(r"\d+ days \(\d+ (weeks|months)\)", page)  # a time to a 30% improvement
    assert "IMMPACT" in page and "Shapley" in page


def test_report_bad_input(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(app, ["report", "healthy", "--out", str(tmp_path / "r.pdf")])
    assert bad.exit_code != 0
    late = runner.invoke(app, ["report", "healthy", "--out", str(tmp_path / "r.html"), "--start-day", "400"])
    assert late.exit_code != 0
