"""Turn a symbolic ODE system into compiled code, cached on disk.

The system is any set of SymPy expressions ``dy/dt = f(y, p, u)`` with output expressions ``g(y, p, u)``:
this module knows nothing of biology. It writes one Python module of numba functions into a cache folder keyed by
a hash of the caller's definition: the right-hand side, the analytic Jacobian and the outputs (built with
common-subexpression elimination), a sparse LU factorisation and solve specialised to the Jacobian's structure,
and the RODAS4 integrator that drives them. A second process imports that module and loads numba's own on-disk
cache, so neither SymPy nor LLVM runs again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # SymPy is imported only to generate code, never to load it from the cache
    import sympy as sp

CODEGEN_VERSION = "6"  # 6: the Jacobian's structure is stored with the module (5: the integrator bound, not pasted)
_INTEGRATOR = Path(__file__).with_name("rodas4.py")
_STATUS_TABLE = Path(__file__).with_name("status.py")


@dataclass(frozen=True)
class SymbolicSystem:
    """An ODE system in symbols: state ``y``, parameters ``p``, piecewise-constant inputs ``u``."""

    states: Sequence[sp.Symbol]
    parameters: Sequence[sp.Symbol]
    inputs: Sequence[sp.Symbol]
    rhs: Sequence[sp.Expr]
    outputs: Sequence[sp.Expr]


@dataclass(frozen=True)
class CompiledSystem:
    """Compiled callables of a :class:`SymbolicSystem`.

    ``rhs(y, t, p, u)`` and ``jac(y, t, p, u)`` follow SciPy ``odeint``'s argument order (the steady-state
    solver uses them); ``outputs(y, p, u)`` returns the output vector and ``outputs_batch`` evaluates many rows, ``outputs_scheduled`` many subjects' rows under their packed schedules;
    ``rodas4_batch`` is the compiled integrator (see :mod:`gutjoint._numerics.rodas4` and
    :func:`gutjoint._numerics.integrate.integrate_many`).
    """

    rhs: Callable
    jac: Callable
    outputs: Callable
    outputs_batch: Callable
    outputs_scheduled: Callable
    rodas4_batch: Callable
    rest_newton: Callable
    rest_newton_batch: Callable
    n_states: int
    n_outputs: int
    path: Path
    jacobian_pattern: tuple[tuple[int, int], ...] = ()
    """The Jacobian's structural non-zeros ``(row, column)``: entries that are not zero as expressions."""


def default_cache_dir() -> Path:
    """``$GUTJOINT_CACHE``, else ``$XDG_CACHE_HOME/gutjoint``, else ``~/.cache/gutjoint``."""
    if os.environ.get("GUTJOINT_CACHE"):
        return Path(os.environ["GUTJOINT_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "gutjoint"


def cache_folder(name: str) -> Path | None:
    """The folder ``name`` in the disk cache (:func:`default_cache_dir`), made if needed; None where it cannot be
    made (a read-only home), and the caller then keeps its results in memory only."""
    folder = default_cache_dir() / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder


def _printer_code(names: dict[sp.Symbol, str], expr: sp.Expr) -> str:
    import sympy as sp

    return sp.pycode(expr.xreplace(names), fully_qualified_modules=True)


def _body(system: SymbolicSystem, exprs: list[sp.Expr]) -> tuple[list[str], list[str]]:
    """CSE the expressions; return the temporaries' lines and the final expressions, as code."""
    import sympy as sp

    rename: dict[sp.Symbol, sp.Symbol] = {}
    for i, s in enumerate(system.states):
        rename[s] = sp.Symbol(f"y[{i}]")
    for i, s in enumerate(system.parameters):
        rename[s] = sp.Symbol(f"p[{i}]")
    for i, s in enumerate(system.inputs):
        rename[s] = sp.Symbol(f"u[{i}]")
    replacements, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("c"), optimizations="basic")
    lines = [f"    {sym} = {_printer_code(rename, e)}" for sym, e in replacements]
    finals = [_printer_code(rename, e) for e in reduced]
    return lines, finals


def markowitz_order(pattern) -> list[int]:
    """Diagonal pivot order with least fill: at each step the pivot with the smallest Markowitz count
    (off-diagonal row entries x column entries) in the structure left, fill included (Markowitz 1957)."""
    n = len(pattern)
    struct = {(i, j) for i in range(n) for j in range(n) if pattern[i][j] or i == j}
    left, order = set(range(n)), []
    while left:
        def cost(k: int) -> tuple[int, int]:
            rows = sum((i, k) in struct for i in left if i != k)
            cols = sum((k, j) in struct for j in left if j != k)
            return rows * cols, k
        pivot = min(left, key=cost)
        order.append(pivot)
        left.remove(pivot)
        rows = [i for i in left if (i, pivot) in struct]
        cols = [j for j in left if (pivot, j) in struct]
        struct.update((i, j) for i in rows for j in cols)
    return order


def lu_summary(pattern) -> dict[str, int]:
    """The size of the factorisation :func:`sparse_lu_source` generates for ``pattern``: the matrix order, its
    structural non-zeros (J's and the diagonal), the fill-ins the Markowitz order adds, and the multiply-adds."""
    factor, _, flops = sparse_lu_source(pattern)
    n = len(pattern)
    initial = sum(1 for i in range(n) for j in range(n) if pattern[i][j] or i == j)
    final = sum(1 for line in factor if re.match(r"    M\[\d+, \d+\] = (c\[|0\.0)", line))
    return {"order": n, "nonzeros": initial, "fill_ins": final - initial, "multiply_adds": flops}


def sparse_lu_source(pattern) -> tuple[list[str], list[str], int]:
    """Straight-line numba code that factorises ``M = diag(c) - J`` in place without row exchanges, in Markowitz
    order, touching only the structural non-zeros and their fill; and the matching forward/back solve.

    Diagonal pivots suit the stage matrices of stiff integrators, which are dominated by ``c`` for small steps
    and by the (negative) decay rates on J's diagonal for large ones; this is how the Kinetic PreProcessor
    factorises its Rosenbrock matrices (Damian et al. 2002, Comput Chem Eng 26:1567). ``lu_factor`` returns the
    smallest pivot relative to its diagonal's size, so the integrator can retry a step whose pivot collapses.
    Returns the factor lines, the solve lines and the number of multiply-adds in the factorisation.
    """
    n = len(pattern)
    order = markowitz_order(pattern)
    struct = {(i, j) for i in range(n) for j in range(n) if pattern[i][j] or i == j}
    done: set[int] = set()
    factor: list[str] = []  # filled after the symbolic pass, once the fill is known
    elimination = ["    worst = 1.0"]
    lower: list[tuple[int, int]] = []  # (row, pivot) multipliers, in elimination order
    upper: dict[int, list[int]] = {}   # pivot -> columns eliminated after it
    flops = 0
    for k in order:
        done.add(k)
        rows = [i for i in order if i not in done and (i, k) in struct]
        cols = [j for j in order if j not in done and (k, j) in struct]
        upper[k] = cols
        elimination.append(f"    worst = min(worst, abs(M[{k}, {k}]) / (c[{k}] + abs(J[{k}, {k}])))")
        elimination.append(f"    M[{k}, {k}] = 1.0 / M[{k}, {k}]")  # the diagonal keeps the inverse pivot
        for i in rows:
            elimination.append(f"    M[{i}, {k}] *= M[{k}, {k}]")
            lower.append((i, k))
            for j in cols:
                struct.add((i, j))
                elimination.append(f"    M[{i}, {j}] -= M[{i}, {k}] * M[{k}, {j}]")
                flops += 1
    for i, j in sorted(struct):  # only entries of the structure (fill included) are ever read
        value = (f"c[{i}]" if i == j else "0.0") + (f" - J[{i}, {j}]" if pattern[i][j] else "")
        factor.append(f"    M[{i}, {j}] = {value}")
    factor += elimination
    factor.append("    return worst")
    solve = [f"    b[{i}] -= M[{i}, {k}] * b[{k}]" for i, k in lower]
    for k in reversed(order):
        solve += [f"    b[{k}] -= M[{k}, {j}] * b[{j}]" for j in upper[k]]
        solve.append(f"    b[{k}] *= M[{k}, {k}]")
    return factor, solve, flops


def generate_source(system: SymbolicSystem) -> tuple[str, dict]:
    """Python source of the numba module for ``system``, and its band metadata."""
    import sympy as sp

    n, m = len(system.states), len(system.outputs)
    rhs_lines, rhs_final = _body(system, list(system.rhs))
    jac_matrix = sp.Matrix(system.rhs).jacobian(sp.Matrix(system.states))
    entries = [(i, j) for i in range(n) for j in range(n) if jac_matrix[i, j] != 0]
    nonzero = set(entries)
    pattern = [[1 if (i, j) in nonzero else 0 for j in range(n)] for i in range(n)]
    jac_lines, jac_final = _body(system, [jac_matrix[i, j] for i, j in entries])
    out_lines, out_final = _body(system, list(system.outputs))
    lu_factor_lines, lu_solve_lines, lu_flops = sparse_lu_source(pattern)

    src = [
        '"""Generated by gutjoint._numerics.codegen from the symbolic model. Do not edit."""',
        "import math",
        "import numpy as np",
        "from numba import njit",
        "",
        "",
        "@njit(cache=True, fastmath=False, error_model=\"numpy\")",
        "def rhs(y, t, p, u):",
        *rhs_lines,
        f"    dy = np.empty({n})",
        *[f"    dy[{i}] = {e}" for i, e in enumerate(rhs_final)],
        "    return dy",
        "",
        "",
        "@njit(cache=True, fastmath=False, error_model=\"numpy\")",
        "def jac(y, t, p, u):",
        *jac_lines,
        f"    J = np.zeros(({n}, {n}))",
        *[f"    J[{i}, {j}] = {e}" for (i, j), e in zip(entries, jac_final)],
        "    return J",
        "",
        "",
        "# In-place forms for the compiled integrator (no allocation per call); the Jacobian writes only its",
        "# structural non-zeros, so J must start zeroed.",
        f"N_STATES = {n}",
        "",
        "",
        "@njit(cache=True, fastmath=False, error_model=\"numpy\")",
        "def rhs_into(y, p, u, dy):",
        *rhs_lines,
        *[f"    dy[{i}] = {e}" for i, e in enumerate(rhs_final)],
        "",
        "",
        "@njit(cache=True, fastmath=False, error_model=\"numpy\")",
        "def jac_into(y, p, u, J):",
        *jac_lines,
        *[f"    J[{i}, {j}] = {e}" for (i, j), e in zip(entries, jac_final)],
        "",
        "",
        "@njit(cache=True, fastmath=False, error_model=\"numpy\")",
        "def lu_factor(J, c, M):",
        *lu_factor_lines,
        "",
        "",
        "@njit(cache=True, fastmath=False, error_model=\"numpy\")",
        "def lu_solve(M, b):",
        *lu_solve_lines,
        "",
        "",
        "@njit(cache=True, fastmath=False, error_model=\"numpy\")",
        "def outputs_into(y, p, u, g):",
        *out_lines,
        *[f"    g[{i}] = {e}" for i, e in enumerate(out_final)],
        "",
        "",
        "@njit(cache=True, fastmath=False, error_model=\"numpy\")",
        "def outputs(y, p, u):",
        f"    g = np.empty({m})",
        "    outputs_into(y, p, u, g)",
        "    return g",
        "",
        "",
        "@njit(cache=True, fastmath=False, error_model=\"numpy\")",
        "def outputs_batch(Y, p, U):",
        f"    G = np.empty((Y.shape[0], {m}))",
        "    for k in range(Y.shape[0]):",
        "        G[k, :] = outputs(Y[k], p, U[k])",
        "    return G",
        "",
        "",
        "@njit(cache=True, fastmath=False, error_model=\"numpy\")",
        "def outputs_scheduled(Y, P, bounds, counts, inputs, times):",
        "    # outputs of many subjects on one output grid, each under its own packed schedule; rows a run never",
        "    # reached (non-finite states) are NaN and not evaluated",
        f"    G = np.full((Y.shape[0], Y.shape[1], {m}), np.nan)",
        "    for b in range(Y.shape[0]):",
        "        s = 0",
        "        for k in range(Y.shape[1]):",
        "            while s + 1 < counts[b] and times[k] >= bounds[b, s + 1]:",
        "                s += 1",
        "            reached = True",
        "            for i in range(Y.shape[2]):",
        "                if not np.isfinite(Y[b, k, i]):",
        "                    reached = False",
        "                    break",
        "            if reached:",
        "                outputs_into(Y[b, k], P[b], inputs[b, s], G[b, k])",
        "    return G",
        "",
        "",
    ]
    src += [
        "# The integrator and the resting-state Newton, compiled against this module's functions.",
        "from gutjoint._numerics import rodas4  # noqa: E402",
        "",
        "rodas4_step, rodas4_batch, rest_newton, rest_newton_batch = rodas4.bind(globals())",
        "",
    ]
    return "\n".join(src), {"jacobian_nonzeros": len(entries), "lu_multiply_adds": lu_flops,
                             "jacobian_pattern": entries}


def _load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def compile_system(
    key: str,
    build: Callable[[], SymbolicSystem],
    *,
    cache_dir: Path | None = None,
    metadata: dict | None = None,
) -> CompiledSystem:
    """Compiled code for the system that ``build()`` returns, reusing the disk cache entry for ``key``.

    ``key`` must change whenever the definition changes (callers hash their definition files). ``build``
    is called only on a cache miss, so the symbolic layer is not imported on a warm start.
    """
    import numba  # noqa: F401  (imported here so the import cost is paid only when compiling or loading)

    # the generator, the integrator and the status table are all part of what the cache holds
    template = hashlib.sha256(_INTEGRATOR.read_bytes() + Path(__file__).read_bytes()
                              + _STATUS_TABLE.read_bytes()).hexdigest()[:12]
    digest = hashlib.sha256(f"{key}|{CODEGEN_VERSION}|{template}|{numba.__version__}".encode()).hexdigest()[:16]
    folder = (cache_dir or default_cache_dir()) / f"model_{digest}"
    source_path = folder / "generated.py"
    meta_path = folder / "meta.json"
    if not (source_path.exists() and meta_path.exists()):
        system = build()
        source, band = generate_source(system)
        meta = dict(metadata or {}, n_states=len(system.states), n_outputs=len(system.outputs), **band)
        _atomic_write(source_path, source)
        _atomic_write(meta_path, json.dumps(meta, indent=1))
    meta = json.loads(meta_path.read_text())
    module = _load_module(source_path, f"gutjoint_generated_{digest}")
    return CompiledSystem(
        rhs=module.rhs,
        jac=module.jac,
        outputs=module.outputs,
        outputs_batch=module.outputs_batch,
        outputs_scheduled=module.outputs_scheduled,
        rodas4_batch=module.rodas4_batch,
        rest_newton=module.rest_newton,
        rest_newton_batch=module.rest_newton_batch,
        n_states=meta["n_states"],
        n_outputs=meta["n_outputs"],
        path=source_path,
        jacobian_pattern=tuple(map(tuple, meta["jacobian_pattern"])),
    )
