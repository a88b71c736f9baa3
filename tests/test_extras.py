"""The core installs alone, and a feature whose optional extra is missing says which extra to install, in one line
(exit code 2 in the CLI), never a traceback (issue 32)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from gutjoint._errors import EXTRAS, MissingExtraError, require

ROOT = Path(__file__).resolve().parents[1]


def test_the_extras_in_pyproject_are_the_ones_the_errors_name():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(extras) - {"all", "test", "dev"} == set(EXTRAS)
    assert extras["all"] == [f"gutjoint[{','.join(EXTRAS)}]"]


def test_require_names_the_extra_and_the_missing_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "fastapi", None)  # an import of it now fails as if it were not installed
    with pytest.raises(MissingExtraError) as caught:
        require("fastapi", "web")
    assert str(caught.value) == ("fastapi is not installed; it comes with the 'web' extra (the web page and its JSON "
                                 "API (gutjoint serve)): pip install 'gutjoint[web]'")
    assert require("json", "web").__name__ == "json"
    install = (ROOT / "docs" / "install.md").read_text(encoding="utf-8")
    assert f"error: {caught.value}" in install, "docs/install.md quotes the message as the code writes it"


CORE_ONLY = ("import sys\n"
             "for name in ('fastapi', 'uvicorn', 'orjson', 'libsbml', 'libsedml', 'libcombine', 'petab', 'antimony',"
             " 'emcee', 'arviz', 'h5py', 'dask', 'distributed'):\n"
             "    sys.modules[name] = None\n"
             "from gutjoint._interfaces.cli import main\n"
             "main(sys.argv[1:])\n")


@pytest.mark.parametrize("argv, extra", [
    (["serve", "--port", "8799"], "web"),
    (["export", "sbml", "--out", "model.xml"], "exchange"),
    (["export", "omex", "--out", "model.omex"], "exchange"),
    (["calibrate", "--sample", "--steps", "100", "--out", "chains"], "inference"),
])
def test_a_feature_without_its_extra_exits_2_with_one_line(argv, extra, tmp_path):
    done = subprocess.run([sys.executable, "-c", CORE_ONLY, *argv], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"'{extra}' extra" in lines[0] and f"pip install 'gutjoint[{extra}]'" in lines[0]


def test_the_core_simulates_without_any_extra(tmp_path):
    done = subprocess.run([sys.executable, "-c", CORE_ONLY, "simulate", "healthy", "--out", "run.csv",
                           "--uncertainty", "--draws", "10"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "run.csv").stat().st_size > 0
