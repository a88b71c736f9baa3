"""The documentation site (mkdocs-material + mkdocstrings, ``mkdocs.yml``) builds in strict mode, its four
tutorials run as written, and every public name has a docstring for its API page (issue 32)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import gutjoint

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("*.md"))


def test_every_public_name_has_a_docstring_and_an_api_entry():
    """Callables by their ``__doc__``; the constants (``DISCLAIMER``, ``RED_FLAGS``) by the attribute docstring
    under their assignment in ``_safety.py``."""
    page = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    for name in gutjoint.__all__:
        if name.startswith("__"):
            continue
        value = getattr(gutjoint, name)
        if callable(value):
            doc = (value.__doc__ or "").strip()
            assert doc and not doc.startswith(f"{getattr(value, '__name__', name)}("), (
                f"gutjoint.{name} has no docstring (a dataclass's generated signature is not one)")
        else:
            source = (ROOT / "src" / "gutjoint" / "_safety.py").read_text(encoding="utf-8")
            assert re.search(rf"^{name}\b.*?\n\)\n\"\"\"", source, flags=re.S | re.M), f"gutjoint.{name} has no docstring"
        assert f"## `gutjoint.{name}`" in page, f"docs/api.md lacks gutjoint.{name}"


@pytest.mark.parametrize("tutorial", TUTORIALS, ids=lambda p: p.stem)
def test_a_tutorial_runs_as_written(tutorial, tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", tutorial.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, f"{tutorial.name} has no code"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__tutorial__"}
    for block in blocks:
        exec(compile(block, str(tutorial), "exec"), namespace)


def test_the_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # mkdocs-material's banner about its successor
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, env=environment)
    assert done.returncode == 0, done.stderr[-4000:]
    assert (tmp_path / "site" / "api" / "index.html").is_file()
    assert (tmp_path / "site" / "tutorials" / "one-person" / "index.html").is_file()
