"""The examples in docs/other-tools.md run as written (libRoadRunner, COPASI, PEtab)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "other-tools.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_page_has_three_examples():
    assert len(BLOCKS) == 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_example_runs(index, tmp_path, monkeypatch):
    pytest.importorskip("roadrunner")
    pytest.importorskip("basico")
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[index], f"{DOC.name}[example {index + 1}]", "exec"), {"__name__": "__doc_example__"})


def test_the_antimony_equations_in_the_docs_are_current():
    """docs/model.antimony is the readable form of the equations; regenerate it with
    `gutjoint export antimony --out docs/model.antimony` whenever the model changes."""
    from gutjoint.interfaces.sbml import antimony_text

    committed = (DOC.parent / "model.antimony").read_text(encoding="utf-8")
    assert committed.strip() == antimony_text().strip()
