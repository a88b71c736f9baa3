"""The public API type-checks: mypy over ``gutjoint/__init__.py`` and every module that defines a name it exports
(issue 32). The package ships ``py.typed``, so users' type checkers read these annotations."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import gutjoint

mypy_api = pytest.importorskip("mypy.api")


def public_modules() -> list[Path]:
    """The source files behind ``gutjoint.__all__``: the package's ``__init__`` and the module of each name."""
    modules = {"gutjoint"}
    for name in gutjoint.__all__:
        if name in gutjoint._STUDIES:
            modules.add(gutjoint._STUDIES[name][0])
        else:
            value = getattr(gutjoint, name)
            modules.add(getattr(value, "__module__", None) or "gutjoint")
    return sorted(Path(importlib.import_module(m).__file__) for m in modules if m.startswith("gutjoint"))


def test_the_package_says_it_is_typed():
    assert (Path(gutjoint.__file__).parent / "py.typed").is_file()


def test_the_public_api_type_checks(tmp_path):
    files = public_modules()
    assert len(files) > 10
    stdout, stderr, status = mypy_api.run([*map(str, files), "--follow-imports=silent", "--ignore-missing-imports",
                                           "--cache-dir", str(tmp_path / "mypy"), "--no-error-summary"])
    assert status == 0, stdout + stderr
