"""The examples in docs/other-tools.md run as written (libRoadRunner, COPASI, PEtab, the COMBINE archive in
tellurium and COPASI)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "other-tools.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_page_has_five_examples():
    assert len(BLOCKS) == 5


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_example_runs(index, tmp_path, monkeypatch):
    pytest.importorskip("roadrunner")
    pytest.importorskip("basico")
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[index], f"{DOC.name}[example {index + 1}]", "exec"), {"__name__": "__doc_example__"})


def test_the_antimony_equations_in_the_docs_are_current():
    """docs/model.antimony is the readable form of the equations; regenerate it with
    `gutjoint export antimony --out docs/model.antimony` whenever the model changes."""
    from gutjoint._interfaces.sbml import antimony_text

    def dated(text):  # the modified date is the day of the export
        return "\n".join(line for line in text.strip().splitlines() if not line.strip().startswith("model modified"))

    committed = (DOC.parent / "model.antimony").read_text(encoding="utf-8")
    assert dated(committed) == dated(antimony_text())


def test_the_model_report_in_the_docs_is_current():
    """docs/model.md is the model report's Markdown; regenerate it with
    `gutjoint export model-report --out docs` (and delete docs/model-report.html) whenever the model changes."""
    from gutjoint._interfaces.model_report import model_markdown

    committed = (DOC.parent / "model.md").read_text(encoding="utf-8")
    assert committed.strip() == model_markdown().strip()


def test_the_model_report_shows_every_state_equation_parameter_and_link(tmp_path):
    import html as html_module
    import subprocess
    import sys

    from gutjoint._biology.links import load_links
    from gutjoint._biology.parameters import load_parameters
    from gutjoint._biology.species import STATES
    from gutjoint._safety import DISCLAIMER

    run = subprocess.run([sys.executable, "-m", "gutjoint", "export", "model-report", "--out",
                          str(tmp_path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    page = (tmp_path / "model-report.html").read_text(encoding="utf-8")
    assert html_module.escape(DISCLAIMER) in page and "<script" not in page and "http" not in page.split("<body>")[0]
    for state in STATES:
        assert f"<mi>d{state.name}/dt</mi>" in page
    for p in load_parameters().records:
        assert f"<td>{p.name}</td>" in page
    for link in load_links():
        assert f"<td>{link.id}</td>" in page
    assert page.count("<math") >= len(STATES) + 40 and "uniprot:P01375" in page
