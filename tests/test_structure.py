"""The layers hold: imports go one way (ground floor → numerics → biology → studies → interfaces), and only the
interfaces draw, print progress or serve."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import gutjoint

PACKAGE = Path(gutjoint.__file__).parent
RANK = {"_errors": 0, "_arguments": 0, "_processes": 0, "_memory": 0, "_files": 0, "_safety": 0, "data": 0, "_numerics": 1, "_biology": 2, "_studies": 3,
        "_interfaces": 4, "__main__": 5}
PRESENTATION = ("matplotlib", "rich", "typer", "fastapi", "uvicorn")


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts
        if parts == ("__init__.py",):
            continue  # the public face re-exports every layer
        yield path, (parts[0] if len(parts) > 1 else path.stem)


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize(("path", "layer"), list(_modules()), ids=lambda v: str(v).split("gutjoint/")[-1])
def test_a_module_imports_only_its_own_layer_and_those_below(path, layer):
    upward = [name for name in _imports(path) if name.startswith("gutjoint.")
              and RANK[name.split(".")[1]] > RANK[layer]]
    assert not upward, f"{path.relative_to(PACKAGE)} ({layer}) imports {upward}"


@pytest.mark.parametrize(("path", "layer"), [m for m in _modules() if m[1] != "_interfaces"],
                         ids=lambda v: str(v).split("gutjoint/")[-1])
def test_only_the_interfaces_draw_print_progress_or_serve(path, layer):
    found = [name for name in _imports(path) if name.split(".")[0] in PRESENTATION]
    assert not found, f"{path.relative_to(PACKAGE)} ({layer}) imports {found}"


def test_the_check_sees_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from gutjoint._interfaces.figures import plot_simulation\n")
    assert any(RANK[name.split(".")[1]] > RANK["_studies"] for name in _imports(bad) if name.startswith("gutjoint."))


def test_every_module_behind_the_public_face_is_private():
    """httpx's layout: ``import gutjoint`` is the API; each module below it has a leading underscore in its path,
    so that no one mistakes ``gutjoint._studies.population`` for a name kept across versions."""
    allowed = {("__init__.py",), ("__main__.py",), ("data", "__init__.py")}
    public = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
              if path.relative_to(PACKAGE).parts not in allowed
              and not any(part.startswith("_") for part in path.relative_to(PACKAGE).parts)]
    assert not public, f"public modules: {public}"


def _module_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Every import between the modules under ``root`` (at the top and inside functions); ``from pkg import mod``
    is an edge to ``pkg.mod`` where that is a module."""
    modules = {}
    for path in root.rglob("*.py"):
        name = ".".join((package, *path.relative_to(root).with_suffix("").parts)).removesuffix(".__init__")
        modules[name] = path
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                           for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            edges[name].update(t for t in targets if t in modules and t != name)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan, through SciPy)."""
    import numpy as np
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    names = sorted(edges)
    index = {n: i for i, n in enumerate(names)}
    rows = [index[a] for a, targets in edges.items() for _ in targets]
    cols = [index[b] for targets in edges.values() for b in targets]
    graph = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(names),) * 2)
    _, labels = connected_components(graph, directed=True, connection="strong")
    groups = [[n for n in names if labels[index[n]] == k] for k in set(labels)]
    return [g for g in groups if len(g) > 1]


def test_the_studies_layer_has_no_import_cycle():
    """Within the studies layer imports go one way too (the ensemble below the bands and the sampler,
    ``without_gut_drivers`` beside the scenario), counting imports inside functions."""
    assert _cycles(_module_graph(PACKAGE / "_studies", "gutjoint._studies")) == []


def test_the_cycle_check_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
