"""Fitting: the target-informed parameters, in four blocks, by multi-start bounded least squares.

Method (documented choice, no gradients): each block minimises a sum of squared standardised residuals with
SciPy's trust-region reflective ``least_squares`` in log-parameter space within the plausible ranges, using
finite-difference Jacobians. The blocks are small (1-16 parameters) and each residual costs one to five short
simulations, so forward sensitivities would save little; multi-start guards against local minima. Blocks run
in the order their targets depend on each other: barrier -> innate -> meal -> population.

Assays: all cytokine data come from one study (Janum 2016), so no per-study scale factors are needed; they are
fixed at 1. A second cohort (other assay) would get its own factor here.

Uncertainty: profile likelihood per parameter (others re-optimised), with the 95% threshold Δχ² = 3.84. A
parameter whose profile stays below the threshold on either side within its plausible range is reported as
not identifiable from these targets.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
from scipy.optimize import least_squares

from gutjoint._errors import ModelDefinitionError
from gutjoint._processes import Executor
from gutjoint._biology.parameters import COLUMNS, load_parameters
from gutjoint._studies.calibration import experiments, observations
from gutjoint._studies.calibration.conditions import load_conditions
from gutjoint._studies.context import context
from gutjoint._studies.calibration.targets import BARRIER, BASAL, FEVER, INNATE, SUPPORT, THRESHOLD, TOLERANCE

CHI2_95 = 3.84
NUISANCE_RANGES = {"gfd_insult": (0.0, 1.0), "gfd_injury": (0.001, 1.0)}

BOUND_REASONS = {
    "il6_basal": "resting IL-6 (1.05 pg/mL in Janum 2016, 1.3-1.5 in population samples) already comes from the "
                 "model's other resting sources (resting endotoxin, synovitis, metabolic stress), so the basal term "
                 "is pushed to its floor; which resting source is right is open",
    "threshold_recovery": "the Janum threshold is as far down at 6 h as at 2 h, so no recovery is seen inside the "
                          "data; Dobreva 2021 used 0.15/h. A later time point (24 h) would settle it",
    "il10_half_inhibition_il6_il8": "the data need no IL-10 brake on IL-6 and IL-8, so the fit switches it off; the "
                                    "term stays for the TNF brake's sake and is a candidate for removal",
    "injury_per_insult": "the only barrier target that exercises the chronic-insult input is C6 (L:M back to normal "
                         "7-14 days after alcohol stops), which leaves no room for lasting epithelial damage, so the "
                         "fit switches damage by insult off. That contradicts its own prior: chronic NSAID use "
                         "inflames the small bowel in 54-72% of long-term users (Sigthorsson 1998). No readable "
                         "time course of NSAID damage is in the calibration data, so the value is the data's silence "
                         "about enteropathy, not a finding that there is none. And C6's source puts the alcohol L:M "
                         "rise on mannitol uptake, not on the tight junctions or the epithelium (C6's caveat)",
    "il8_tnf_upregulation": "the direct endotoxin drive reproduces Janum 2016's IL-8 curve at 2 ng/kg without TNF's "
                            "boost of IL-8 production, so the fit sets the boost near zero; TNF does induce IL-8 in "
                            "cells (the link's in-vitro grade), but these data cannot tell how much",
}
"""Why each fitted parameter that a fit leaves at an edge of its range is there (the report and ``gutjoint params``
print the reason; a fit at a bound without one fails a test)."""


def fit_at_bound(name: str, value: float) -> str | None:
    """``"low"`` or ``"high"`` where fitted parameter (or nuisance condition) ``name`` at ``value`` sits at that end of
    its plausible range, by :func:`gutjoint._biology.parameters.bound_side` on the scale it is fitted on; else None.
    The one test of a bound fit: the calibration report, ``gutjoint params`` and the tests use it."""
    from gutjoint._biology.parameters import bound_side

    low, high = NUISANCE_RANGES.get(name) or (load_parameters()[name].low, load_parameters()[name].high)
    return bound_side(value, low, high, scale_of(name))


# --- residuals, one function per block: the block's rows of the observation table -----------------------------

def innate_residuals(params: dict[str, float]) -> np.ndarray:
    """C1 (log cytokines / CV), C2 (temperature / SD), C3 (threshold, control-corrected, 2 SD = 7 points),
    tolerance, N1 (the 0.5 ng/kg 0-6 h mean over rest, log scale, factor 2 as 2 SD): ``observations.py``."""
    return observations.residuals("innate", params)


def barrier_residuals(params: dict[str, float]) -> np.ndarray:
    """C6 (hinge: excess left at day 14 above 5%), C7 (the L:R at 1 week and 2 months, L:M normal at 1 year, the
    rhamnose rise at 3 months and the lactulose fall at 12 months), Zhou 2019. Nuisance levels among ``params``
    (``gfd_insult``, ``gfd_injury``) replace the fitted ones; the caller's dict is left as it was."""
    conditions = {**load_conditions(), **{k: v for k, v in params.items() if k in NUISANCE_RANGES}}
    return observations.residuals("barrier", {k: v for k, v in params.items() if k not in NUISANCE_RANGES},
                                  conditions)


def population_residuals(params: dict[str, float]) -> np.ndarray:
    """C5 and the OA CRP excess (Jin 2015: +1.19, CI 0.64-1.73 mg/L).

    C5: cohort CRP median 1.9 mg/L and share above 3 mg/L 34.6%. Both come from NHANES-like surveys (median
    2.1, share 32-37%), so they are fitted together near the top of the 0.8-2.1 median range: a median of ~1.5
    with a third above 3 mg/L would need an implausibly wide distribution (log-SD ~1.9)."""
    return observations.residuals("population", params)


@dataclass(frozen=True)
class Block:
    name: str
    parameters: tuple[str, ...]
    residuals: Callable[[dict[str, float]], np.ndarray]
    targets: tuple[str, ...]
    prior_sd: float | None = None  # weak log-normal prior around the current value (natural-log units)


BLOCKS = (
    Block("barrier", BARRIER + SUPPORT + ("gfd_insult", "gfd_injury"), barrier_residuals,
          ("C6_alcohol", "C7_gfd_week1", "C7_gfd_month2", "C7_gfd_month12", "C7_gfd_rhamnose_month3",
           "C7_gfd_lactulose_month12", "barrier_support"), prior_sd=1.0),
    Block("innate", INNATE + BASAL + FEVER + THRESHOLD + TOLERANCE, innate_residuals,
          ("C1_tnf", "C1_il6", "C1_il8", "C1_il10", "C2_temperature", "C3_pain_threshold", "tolerance", "N1_dose_0p5")),
    Block("population", ("crp_max", "il6_per_metabolic", "il6_per_synovitis"), population_residuals,
          ("C5_crp_median", "C5_crp_share", "oa_crp_excess"), prior_sd=1.0),
)


def check_estimates() -> None:
    """The table's ``estimate`` column names, for each parameter, the block here that fits it (the meal's one
    parameter is fitted by :func:`fit_meal`): a mismatch is an error, so the sampler, the PEtab export and the
    report cannot disagree about what is fitted."""
    table = load_parameters()
    listed = {n: b.name for b in BLOCKS for n in b.parameters if n in table}
    listed.update({n: "meal" for n in MEAL})
    declared = {p.name: p.estimate for p in table.records if p.estimate not in ("no", "scan")}
    if listed != declared:
        wrong = sorted(set(listed.items()) ^ set(declared.items()))
        raise ModelDefinitionError(f"parameters.csv 'estimate' disagrees with the calibration blocks for {wrong}")


def scale_of(name: str) -> str:
    """A fitted parameter's scale (``log`` or ``lin``, :data:`gutjoint._biology.parameters.SCALES`); a nuisance
    condition is ``lin`` when its range starts at 0. The optimiser itself moves in log coordinates either way."""
    if name in NUISANCE_RANGES:
        return "lin" if NUISANCE_RANGES[name][0] == 0 else "log"
    return load_parameters()[name].scale


# --- the optimiser ------------------------------------------------------------------------------------------------

def _bounds(names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    table = load_parameters()
    lo, hi = [], []
    for n in names:
        low, high = NUISANCE_RANGES[n] if n in NUISANCE_RANGES else (table[n].low, table[n].high)
        lo.append(math.log(max(low, 1e-6)))
        hi.append(math.log(high))
    return np.array(lo), np.array(hi)


def _current(names: Sequence[str], base: dict[str, float]) -> np.ndarray:
    table = load_parameters()
    conditions = load_conditions()
    values = [base.get(n, conditions.get(n) if n in NUISANCE_RANGES else table[n].value) for n in names]
    return np.log(np.maximum(values, 1e-6))


@dataclass
class BlockFit:
    block: Block
    values: dict[str, float]
    cost: float
    starts: list[float] = field(default_factory=list)
    jacobian: np.ndarray | None = None


def _objective(block: Block, names: Sequence[str], fixed: dict[str, float], x0: np.ndarray):
    def fun(x):
        params = {**fixed, **dict(zip(names, np.exp(x)))}
        r = block.residuals(params)
        if block.prior_sd:
            r = np.concatenate([r, (x - x0) / block.prior_sd])
        return r
    return fun


def fit_block(block: Block, base: dict[str, float], *, starts: int = 4, seed: int = 1, max_nfev: int = 300) -> BlockFit:
    """Multi-start least squares for one block; ``base`` holds values fitted by earlier blocks."""
    names = block.parameters
    lo, hi = _bounds(names)
    x_ref = np.clip(_current(names, base), lo + 1e-9, hi - 1e-9)
    fun = _objective(block, names, dict(base), x_ref)
    rng = np.random.default_rng(seed)
    best = None
    costs = []
    for k in range(starts):
        x0 = x_ref if k == 0 else np.clip(x_ref + rng.uniform(-0.7, 0.7, len(names)), lo + 1e-9, hi - 1e-9)
        sol = least_squares(fun, x0, bounds=(lo, hi), max_nfev=max_nfev, diff_step=1e-3)
        costs.append(float(sol.cost))
        if best is None or sol.cost < best.cost:
            best = sol
    return BlockFit(block, dict(zip(names, np.exp(best.x))), float(best.cost), costs, best.jac)


MEAL = ("lps_per_fat",)


def fit_meal(base: dict[str, float]) -> dict[str, float]:
    """``lps_per_fat`` so that 40 g fat raise plasma endotoxin 1.5-fold at 4 h (Erridge 2007); linear in it."""
    trial = 1.0
    fold = experiments.fat_meal_fold({**base, "lps_per_fat": trial}, 40.0, 4.0)
    return {"lps_per_fat": trial * 0.5 / (fold - 1.0)}


# --- profile likelihood -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Profile:
    parameter: str
    estimate: float
    grid: tuple[float, ...]
    delta_chi2: tuple[float, ...]
    low: float | None  # 95% interval ends; None where the profile never crosses within the range
    high: float | None

    @property
    def identifiable(self) -> bool:
        return self.low is not None and self.high is not None


def _profile_one(args) -> Profile:
    block, fitted, name, base, offsets, max_nfev = args
    names = [n for n in block.parameters if n != name]
    lo_all, hi_all = _bounds(block.parameters)
    i = block.parameters.index(name)
    x_hat = np.log(fitted.values[name])
    x_ref = _current(block.parameters, base)  # the prior centre, as in the fit
    lo, hi = _bounds(names)
    best_cost = fitted.cost
    grid, deltas = [], []
    for off in offsets:
        xi = float(np.clip(x_hat + off, lo_all[i], hi_all[i]))
        if grid and np.isclose(xi, math.log(grid[-1])):
            continue
        fixed = {**base, name: math.exp(xi)}
        start = np.clip(np.log([fitted.values[n] for n in names]), lo + 1e-9, hi - 1e-9)
        ref = np.delete(x_ref, i)

        def fun(x, fixed=fixed, ref=ref, xi=xi):
            params = {**fixed, **dict(zip(names, np.exp(x)))}
            r = block.residuals(params)
            if block.prior_sd:
                r = np.concatenate([r, (x - ref) / block.prior_sd, [(xi - x_ref[i]) / block.prior_sd]])
            return r

        if names:
            sol = least_squares(fun, start, bounds=(lo, hi), max_nfev=max_nfev, diff_step=1e-3)
            cost = float(sol.cost)
        else:
            cost = 0.5 * float(np.sum(fun(np.array([])) ** 2))
        grid.append(math.exp(xi))
        deltas.append(max(0.0, 2.0 * (cost - best_cost)))
    order = np.argsort(grid)
    grid_a, d_a = np.array(grid)[order], np.array(deltas)[order]
    est = fitted.values[name]
    below, above = grid_a < est, grid_a > est

    def crossing(mask, side):
        xs, ds = grid_a[mask], d_a[mask]
        if not np.any(ds >= CHI2_95):
            return None
        j = np.nonzero(ds >= CHI2_95)[0][-1 if side == "low" else 0]
        return float(xs[j])

    return Profile(name, est, tuple(grid_a), tuple(d_a), crossing(below, "low"), crossing(above, "high"))


def profile_block(block: Block, fitted: BlockFit, base: dict[str, float], *, workers: int = 2,
                  offsets=(-1.6, -0.7, 0.7, 1.6), max_nfev: int = 15) -> list[Profile]:
    """Profiles of every parameter of a fitted block (natural-log offsets from the estimate)."""
    jobs = [(block, fitted, name, base, offsets, max_nfev) for name in block.parameters]
    with Executor(workers) as executor:
        return executor.map(_profile_one, jobs)


# --- writing the results back --------------------------------------------------------------------------------------

def _rewrite_csv(path, rows_update: Callable[[list[str]], list[str] | None]) -> None:
    from gutjoint._files import atomic_write

    text = path.read_text(encoding="utf-8")
    lines = []
    for line in text.split("\n"):
        if line and not line.startswith("#") and "," in line:
            row = next(csv.reader([line]))
            new = rows_update(row)
            if new is not None:
                buffer = io.StringIO()
                csv.writer(buffer, lineterminator="").writerow(new)
                line = buffer.getvalue()
        lines.append(line)
    atomic_write(path, lambda tmp: tmp.write_text("\n".join(lines), encoding="utf-8"), field="parameters")


def write_back(values: dict[str, float], tags: dict[str, str], folder=None):
    """Store fitted values, each source marked ``fitted: <target ids>``: as copies of the parameter and condition
    tables in ``folder``, or (``folder`` None) as the package defaults. Returns the context after the write
    (``gutjoint._studies.context``): every table is read once per version of its file, so the next study in this
    process reads the new values with nothing to clear."""
    import shutil
    from pathlib import Path

    from gutjoint._studies.calibration.conditions import conditions_path

    table = load_parameters()
    params_path = resources.files("gutjoint._biology").joinpath("parameters.csv")
    cond_path = conditions_path()
    if folder is not None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        params_path, cond_path = (Path(shutil.copyfile(src, folder / src.name)) for src in (params_path, cond_path))

    def update(row):
        name = row[0]
        if name not in values or name not in table:
            return None
        rec = table[name]
        value = float(np.clip(values[name], rec.low, rec.high))
        prior = rec.source.split("; prior: ", 1)[1] if "; prior: " in rec.source else (
            "" if rec.source.startswith("fitted:") else rec.source)
        row[COLUMNS.index("value")] = f"{value:.5g}"
        row[COLUMNS.index("value_grade")] = "human fit"  # every calibration target is human data
        row[COLUMNS.index("source")] = f"fitted: {tags[name]}" + (f"; prior: {prior}" if prior else "")
        return row

    _rewrite_csv(params_path, update)
    _rewrite_csv(cond_path, lambda row: [row[0], f"{values[row[0]]:.5g}", *row[2:]]
                 if row[0] in values and row[0] in NUISANCE_RANGES else None)
    if folder is None:
        derive_references()
    else:
        derive_references(values, params_path)
    return context()


def derive_references(values: dict[str, float] | None = None, path=None) -> dict[str, float]:
    """Recompute the attribution's healthy references (the joint cytokine signal and autoreactivity of the healthy
    scenario at rest) under ``values`` (default: the current parameters) and store them in the table at ``path``
    (default: the package's), so that they follow every refit."""
    references_ = references(values or {})

    def update(row):
        if row[0] not in references_:
            return None
        row[COLUMNS.index("value")] = f"{references_[row[0]]:.6g}"
        return row

    _rewrite_csv(path or resources.files("gutjoint._biology").joinpath("parameters.csv"), update)
    return references_


def references(values: dict[str, float]) -> dict[str, float]:
    """The attribution's healthy references (joint cytokine signal and autoreactivity of the healthy scenario at
    rest) under ``values`` over the table."""
    from gutjoint._studies.simulate import resting_outputs

    values = {k: v for k, v in values.items() if k not in NUISANCE_RANGES}
    table = load_parameters()
    rest = resting_outputs("healthy", values)  # SolverError where there is no healthy resting state
    tnf, il6 = rest["tnf_pg_ml"], rest["il6_pg_ml"]
    half = {k: values.get(k, table[k].value) for k in ("tnf_half_joint", "il6_half_joint")}
    return {"reference_joint_cytokines": tnf / (tnf + half["tnf_half_joint"])
            + il6 / (il6 + half["il6_half_joint"]), "reference_autoreactivity": rest["autoreactivity"]}


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))
