"""The parameter and link tables are complete: value, unit, range, source and grade everywhere."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

import gutjoint
from gutjoint import ModelDefinitionError
from gutjoint._biology.model import build_model
from gutjoint._biology.parameters import GRADES, VALUE_GRADES


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
    proc = subprocess.run([sys.executable, "-m", "gutjoint", "params", "--json"], capture_output=True,
                          text=True, encoding="utf-8", timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {r["name"] for r in data["parameters"]} == set(gutjoint.parameters().names)
    assert all("grade" in link for link in data["links"])
    assert all(r["value_grade"] in VALUE_GRADES for r in data["parameters"])
    assert sum(data["value_grade_counts"].values()) == len(data["parameters"])


def test_every_parameter_has_two_grades_that_agree_with_its_source():
    """The link grade says whether the effect exists, and in what species; the value grade says what the number
    rests on. An assumed number is graded assumed and a fitted one human fit, whatever its link's grade."""
    for p in gutjoint.parameters().records:
        assert p.grade in GRADES and p.value_grade in VALUE_GRADES, p.name
        if p.source_kind == "assumed":
            assert p.value_grade == "assumed", p.name
        if p.source_kind == "fitted":
            assert p.value_grade == "human fit", p.name
    bad = dataclasses.replace(gutjoint.parameters()["tj_per_tnf"], value_grade="human measurement")
    with pytest.raises(ModelDefinitionError, match="value_grade 'assumed'"):
        bad.check()


def test_each_parameter_declares_one_scale_and_how_it_is_estimated():
    """``scale`` is the one scale sensitivity, the priors and PEtab read; ``estimate`` names the calibration block
    that fits a value, and agrees with both its source and the blocks the sampler runs."""
    from gutjoint._studies.calibration import fit, posterior
    from gutjoint._studies.sensitivity import problem as problem_spec

    table = gutjoint.parameters()
    fit.check_estimates()
    for block in fit.BLOCKS[:2]:
        flat = posterior._flat(block.parameters)
        assert list(flat) == [fit.scale_of(n) == "lin" for n in block.parameters]
        for name in block.parameters:
            if name in table:
                prior = posterior.prior_of(name)
                expected = "log-normal" if name in posterior.LITERATURE_PRIORS else {
                    "log": "log-uniform", "lin": "uniform"}[table[name].scale]
                assert prior.kind == expected, name
    spec = problem_spec(("tnf_basal", "tj_per_tnf"))
    assert spec["dists"] == ["logunif", "unif"]  # tnf_basal 0.5-3 is positive; tj_per_tnf's range starts at 0
    tj = table["tj_per_tnf"]
    for change, message in (({"scale": "log"}, "scale 'log' must be"), ({"estimate": "lumen"}, "estimate 'lumen'"),
                            ({"estimate": "barrier"}, "its source is 'assumed'")):
        with pytest.raises(ModelDefinitionError, match=message):
            dataclasses.replace(tj, **change).check()


def test_links_are_graded_by_their_weakest_part_not_their_strongest():
    """TNF and dysbiosis opening the barrier, and permeability raising plasma endotoxin, are shown in animals;
    in people only NSAIDs and alcohol (L1) and the fat meal (L2) are. IDEA measured no synovitis (L20)."""
    links = {link.id: link for link in gutjoint.links()}
    assert links["L1b"].grade == links["L1c"].grade == links["L2b"].grade == "animal"
    assert "tj_per_tnf" in links["L1b"].parameters and "lps_unrestricted_gain" in links["L2b"].parameters
    assert "synovitis" not in links["L20"].target


def test_public_api_is_curated():
    assert gutjoint.__all__ == sorted(gutjoint.__all__)
    for name in gutjoint.__all__:
        assert hasattr(gutjoint, name)


def test_no_parameter_is_graded_above_its_link_and_no_link_above_its_weakest_part():
    """The rule both tables' headers state, checked for every row (the loader enforces it too)."""
    from gutjoint._biology.links import check_grades, link_parameters, shapes_only

    table, links = gutjoint.parameters(), gutjoint.links()
    check_grades(links, table)
    order = {grade: k for k, grade in enumerate(GRADES)}
    for link in links:
        for name in link_parameters(link):
            grade = table[name].grade
            if grade != "definition":
                assert order[grade] >= order[link.grade], (name, link.id)
                assert shapes_only(name) or order[grade] == order[link.grade], (name, link.id)
    # the audit's four (gut_lps_bioactivity on L5, pain_per_cytokine on M9, sensitization_per_synovitis on L18,
    # lum_lps_per_high_fat on L14) and L1's infection arm would each break it
    raised = {"gut_lps_bioactivity": "human experimental"}
    with pytest.raises(ModelDefinitionError, match="above its link L5"):
        check_grades(links, _with_grades(table, raised))
    lumped = [dataclasses.replace(link, parameters="tj_per_insult, tj_per_infection") if link.id == "L1" else link
              for link in links]
    with pytest.raises(ModelDefinitionError, match="weakest part"):
        check_grades(lumped, table)


def _with_grades(table, grades: dict[str, str]):
    from gutjoint._biology.parameters import ParameterTable

    return ParameterTable(tuple(dataclasses.replace(p, grade=grades.get(p.name, p.grade)) for p in table.records))


def test_the_audits_grades_hold():
    """L16 rests on one uncontrolled before/after study; the IDEA trial isolates weight loss for IL-6, not pain."""
    links = {link.id: link for link in gutjoint.links()}
    table = gutjoint.parameters()
    assert links["L16"].grade == "human observational" and table["treg_rate"].grade == "human observational"
    assert links["L20"].grade == "human RCT" and links["L20"].target == "IL-6"
    assert links["L20b"].grade == table["pain_per_metabolic"].grade == "human observational"
    assert links["L1d"].grade == table["tj_per_infection"].grade == "hypothesis"


UNRESOLVED_AT_MOST = 11
"""Works cited with no DOI or PubMed ID seen printed for them (each row says so); this number may only fall."""


def test_every_citation_in_the_tables_resolves_to_a_reference():
    """Every author-year or journal-year citation in the parameter and link tables, the scenarios and the trials has
    a row in references.csv, with a DOI or a PubMed ID, or a note saying none was found."""
    from pathlib import Path

    from gutjoint._biology.links import citations, load_references

    package = Path(gutjoint.__file__).parent
    files = [package / "_biology" / "parameters.csv", package / "_biology" / "links.csv",
             *sorted((package / "_studies" / "scenarios").glob("*.toml")),
             *sorted((package / "_studies" / "trials").glob("*.toml"))]
    references = load_references()
    cited = {c: f.name for f in files for c in citations(f.read_text(encoding="utf-8"))}
    assert len(cited) >= 60
    missing = {c: where for c, where in cited.items() if c not in references}
    assert not missing, f"citations without a references.csv row: {missing}"
    unresolved = [r.key for r in references.values() if not r.resolved]
    assert all("no DOI or PMID" in references[k].note for k in unresolved)
    assert len(unresolved) <= UNRESOLVED_AT_MOST, unresolved
    assert citations("as in van de Putte 2004, De Maeyer 2020 and Allen, Rieger & Musante 2016 (Am J Gastroenterol "
                     "1994; NHANES 2009)") == {"van de Putte 2004", "De Maeyer 2020", "Allen, Rieger & Musante 2016",
                                               "Am J Gastroenterol 1994"}
