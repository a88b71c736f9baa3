"""Global sensitivity of any output, resolved in time: Sobol (Saltelli/Jansen) and Morris, through SALib.

SALib draws the samples and computes the indices; gutjoint evaluates every sample with the compiled engine
(:func:`gutjoint._studies.simulate.simulate_many`, in blocks, on worker processes if asked) and repeats SALib's
analysis at each reported time point, so the indices, with their bootstrap confidence intervals, become curves
over the whole horizon. The pipeline is checked on the Ishigami function, whose indices are known in closed form
(:func:`ishigami_check`).

Parameter ranges are the plausible ranges of the parameter table, as a SALib ``ProblemSpec`` whose ``dists``
follow each parameter's ``scale``: a log-scaled parameter is sampled log-uniformly (``logunif``), so that a rate
between 0.005 and 0.5 is not explored almost only near 0.5.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gutjoint._arguments import real, whole
from gutjoint._errors import OptionError
from gutjoint._studies.scenario import load_scenario

DEFAULT_PARAMETERS = (
    "tj_repair_rate", "structural_repair_rate", "tj_per_dysbiosis", "support_repair_boost", "gut_lps_bioactivity",
    "lps_half_activation", "tolerance_decay", "antigen_clearance", "adjuvant_gain", "effector_rate", "memory_rate",
    "memory_half_mimicry", "mimicry_effector_share", "autoreactivity_rate", "tnf_half_joint", "il6_half_joint",
    "synovitis_per_cytokine", "synovitis_per_autoreactivity", "sensitization_rate", "sensitization_per_synovitis",
)
"""Twenty parameters along the chain from barrier to pain (the CLI's default; ``--params`` picks others)."""

MAX_EVALUATIONS = 500_000


@dataclass(frozen=True)
class Method:
    """A sensitivity method: how SALib samples and analyses it, which indices it gives (the last is the one
    parameters are ranked by), and what sample sizes it accepts."""

    name: str
    indices: tuple[str, ...]
    rank_by: str
    sample: Callable[[dict, int, int], np.ndarray]
    analyse: Callable[[dict, np.ndarray, np.ndarray, int, int], dict]
    sizes: str
    size_ok: Callable[[int], bool]
    reads_inputs: bool = True  # whether ``analyse`` needs the sample matrix (Sobol's estimators need only Y)


def _sobol_sample(spec, n, seed):
    from SALib.sample import sobol

    return sobol.sample(spec, n, calc_second_order=False, seed=seed)


def _sobol_analyse(spec, X, Y, seed, resamples):
    """First-order (Saltelli et al. 2010) and total (Jansen 1999) indices with 95% bootstrap half-widths, as
    SALib's ``sobol.analyze(calc_second_order=False, seed=seed)`` gives them, with every parameter at once: the
    same normalisation, estimators and resamples, so the same numbers up to the order of summation
    (``tests/test_sensitivity.py``). SALib gathers the resamples anew for each parameter, 0.1 s per analysed time,
    3 s of a 1024-sample run on 2 workers; its estimator functions cannot take a parameter axis."""
    from SALib.analyze.sobol import separate_output_values
    from scipy.stats import norm

    d = spec["num_vars"]
    n = Y.size // (d + 2)
    Y = (Y - Y.mean()) / Y.std()
    A, B, AB, _ = separate_output_values(Y, d, n, False)
    r = np.random.default_rng(seed).integers(n, size=(n, resamples))  # as SALib draws them for a seed
    z = norm.ppf(0.5 + 0.95 / 2)
    s1, st = _saltelli_jansen(A[:, None], AB, B[:, None])
    A_r, B_r = A[r][..., None], B[r][..., None]  # (sample, resample, 1)
    if np.ptp(np.r_[A_r, B_r]) == 0.0:
        return {"S1": (s1, np.zeros(d)), "ST": (st, np.zeros(d))}
    s1_r, st_r = _saltelli_jansen(A_r, AB[r], B_r)  # (resample, parameter)
    return {"S1": (s1, z * s1_r.std(axis=0, ddof=1)), "ST": (st, z * st_r.std(axis=0, ddof=1))}


def _saltelli_jansen(A, AB, B):
    """First-order and total indices along axis 0 (samples), normalised by the variance of ``A`` and ``B``
    together; zero where that variance vanishes (SALib's convention)."""
    y = np.r_[A, B]
    var = np.var(y, axis=0)
    if np.ptp(y) <= np.finfo(float).eps:
        zero = np.zeros(np.broadcast_shapes(var.shape, AB.shape[1:]))
        return zero, zero
    safe = np.where(var > np.finfo(float).eps, var, np.inf)
    return np.mean(B * (AB - A), axis=0) / safe, 0.5 * np.mean((A - AB) ** 2, axis=0) / safe


def _morris_sample(spec, n, seed):
    from SALib.sample import morris

    return morris.sample(spec, n, num_levels=4, seed=seed)


def _morris_analyse(spec, X, Y, seed, resamples):
    from SALib.analyze import morris

    r = morris.analyze(spec, X, Y, num_resamples=resamples, conf_level=0.95, num_levels=4, seed=seed)
    return {"mu_star": (np.asarray(r["mu_star"]), np.asarray(r["mu_star_conf"])),
            "sigma": (np.asarray(r["sigma"]), np.full(len(spec["names"]), np.nan))}


METHOD_REGISTRY = {m.name: m for m in (
    Method("sobol", ("S1", "ST"), "ST", _sobol_sample, _sobol_analyse,
           "a power of two, at least 2 (Sobol sequence)", lambda n: n >= 2 and not n & (n - 1), reads_inputs=False),
    Method("morris", ("mu_star", "sigma"), "mu_star", _morris_sample, _morris_analyse, "at least 2",
           lambda n: n >= 2),
)}
"""The methods by name (Saltelli/Jansen Sobol indices without second order; Morris elementary effects)."""
METHODS = tuple(METHOD_REGISTRY)


@dataclass(frozen=True)
class SensitivityResult:
    """Indices in long form: one row per (time, parameter, index) with ``value`` and ``conf`` (95% half-width)."""

    scenario: str
    output: str
    method: str
    parameters: tuple[str, ...]
    n_evaluations: int
    n_failed: int
    indices: pd.DataFrame

    def at(self, day: float) -> pd.DataFrame:
        """The indices at the reported time closest to ``day``, one row per parameter."""
        times = self.indices["time_days"].unique()
        t = times[np.abs(times - day).argmin()]
        frame = self.indices[self.indices["time_days"] == t]
        return frame.pivot(index="parameter", columns="index", values=["value", "conf"])


def problem(names: tuple[str, ...]):
    """SALib ``ProblemSpec`` over ``names``: their table ranges, log-uniform for log-scaled parameters."""
    from SALib import ProblemSpec

    from gutjoint._biology.parameters import load_parameters

    table = load_parameters()
    unknown = [n for n in names if n not in table]
    if unknown:
        raise OptionError("sensitivity", "params", unknown[0], "names from `gutjoint params`",
                          problem="is not a parameter")
    for name in names:
        if not table[name].high > table[name].low:
            raise OptionError("sensitivity", "params", name, "parameters whose range is not a single value",
                              problem=f"has a fixed value ({table[name].low:g})")
    return ProblemSpec({"names": list(names), "bounds": [[table[n].low, table[n].high] for n in names],
                        "dists": ["logunif" if table[n].scale == "log" else "unif" for n in names]})


def sample(spec, method: str, n: int, seed: int) -> np.ndarray:
    """Sample matrix in natural units (SALib scales each column by its distribution)."""
    return METHOD_REGISTRY[method].sample(spec, n, seed)


def analyse(spec, method: str, X: np.ndarray, Y: np.ndarray, seed: int, resamples: int = 200) -> dict:
    """SALib's indices of one output vector, with 95% bootstrap confidence half-widths."""
    return METHOD_REGISTRY[method].analyse(spec, X, Y, seed, resamples)


def _evaluate_block(scenario, names, values, output, times=None):
    """Run one block of samples through the engine; the output column at each of ``times`` (default: every
    output time), NaN for a failed run."""
    from gutjoint._studies.problem import MANY_RUN_TOLERANCES, prepare_many, solve_many

    problems = prepare_many([scenario] * len(values), [dict(zip(names, map(float, row))) for row in values])
    if times is not None:
        problems = [problem.at(times) for problem in problems]
    return np.array([s[output] if s.ok else np.full(s.times.size, np.nan)
                     for s in solve_many(problems, tolerances=MANY_RUN_TOLERANCES)])


def evaluate(scenario, names: tuple[str, ...], values: np.ndarray, output: str, *, workers: int = 1,
             block: int = 512, times: np.ndarray | None = None, pool=None) -> np.ndarray:
    """The output column for every parameter row of ``values`` (natural scale) at ``times`` (default: every
    output time): an array [rows, times]. ``pool``: the :class:`~gutjoint._processes.Executor` to run the blocks
    on (else one of ``workers`` local processes)."""
    from gutjoint._processes import Executor

    if pool is None:
        with Executor(workers) as own:
            return evaluate(scenario, names, values, output, block=block, times=times, pool=own)
    blocks = [values[i:i + block] for i in range(0, len(values), block)]
    n = len(blocks)
    return np.vstack(pool.map(_evaluate_block, [scenario] * n, [names] * n, blocks, [output] * n, [times] * n))


def run_sensitivity(scenario, output: str = "pain_nrs", *, method: str = "sobol", n: int = 256,
                    parameters: tuple[str, ...] = DEFAULT_PARAMETERS, every_days: float | None = None, seed: int = 1,
                    workers: int = 1, scheduler: str | None = None) -> SensitivityResult:
    """Time-resolved global sensitivity of ``output`` in ``scenario`` to ``parameters``.

    Sobol: ``n`` base samples, n * (D + 2) runs (first-order and total indices). Morris: ``n`` trajectories,
    n * (D + 1) runs (mu*, sigma). Indices are reported every ``every_days`` (default: about 50 points)."""
    from gutjoint._biology import species

    scenario = load_scenario(scenario)
    n = whole("sensitivity", "n", n, 1)
    seed = whole("sensitivity", "seed", seed, 0, 2**32 - 1)
    workers = whole("sensitivity", "workers", workers, 1, 1024)
    if every_days is not None:
        every_days = real("sensitivity", "every_days", every_days, 0.0, scenario.days, low_open=True,
                          what=f"days in (0, {scenario.days:g}] (the run)")
    if method not in METHODS:
        raise OptionError("sensitivity", "method", method, ", ".join(METHODS))
    columns = ("time_days", *species.PINNED_OUTPUTS, *species.EXTRA_OUTPUTS)
    if output not in columns:
        raise OptionError("sensitivity", "output", output, ", ".join(c for c in columns if c != "time_days"),
                          problem="is not an output column")
    if not METHOD_REGISTRY[method].size_ok(n):
        raise OptionError("sensitivity", "n", n, METHOD_REGISTRY[method].sizes)
    names = tuple(parameters)
    spec = problem(names)
    X = sample(spec, method, n, seed)
    if len(X) > MAX_EVALUATIONS:
        raise OptionError("sensitivity", "n", n, f"at most {MAX_EVALUATIONS} runs", problem=f"needs {len(X)} runs")
    from gutjoint._studies.scenario import output_times

    grid = output_times(scenario)
    step = every_days or max(scenario.days / 50, float(grid[1] - grid[0]) if len(grid) > 1 else 1.0)
    picks = sorted({int(np.abs(grid - t).argmin()) for t in np.arange(0.0, scenario.days + 1e-9, step)}
                   | {len(grid) - 1})
    times = grid[picks]  # the runs report only the times analysed (Problem.at: the same values as the full grid)
    with _pool(workers, scheduler) as pool:
        Y = evaluate(scenario, names, X, output, times=times, pool=pool)
        failed = ~np.isfinite(Y).all(axis=1)
        if failed.any():  # SALib needs the full design; a failed run gets the column mean (counted in n_failed)
            Y[failed] = np.nanmean(Y[~failed], axis=0)
        varying = [k for k in range(times.size) if np.ptp(Y[:, k]) > 0]
        m = len(varying)
        if pool.parallel and m > 1:  # one analysis per reported time: spread over the same workers
            shipped = X if METHOD_REGISTRY[method].reads_inputs else None  # not pickled 50 times for nothing
            analysed = dict(zip(varying, pool.map(analyse, [spec] * m, [method] * m, [shipped] * m,
                                                  [Y[:, k] for k in varying], [seed] * m)))
        else:
            analysed = {k: analyse(spec, method, X, Y[:, k], seed) for k in varying}
    rows = []
    for k, t in enumerate(times):
        # nothing varies at a time outside `analysed` (e.g. rest before any exposure): all indices are zero
        result = analysed.get(k) or {i: (np.zeros(len(names)), np.zeros(len(names)))
                                     for i in METHOD_REGISTRY[method].indices}
        for index, (value, conf) in result.items():
            rows += [{"time_days": float(t), "parameter": p, "index": index, "value": float(v),
                      "conf": float(c)} for p, v, c in zip(names, value, conf)]
    return SensitivityResult(scenario.name, output, method, names, len(X), int(failed.sum()), pd.DataFrame(rows))


def _pool(workers: int, scheduler: str | None = None):
    """The executor shared by the runs and the analyses: ``workers`` local processes or a Dask cluster."""
    from gutjoint._memory import keep_freed_memory
    from gutjoint._processes import Executor

    # SALib's bootstrap frees and allocates megabyte arrays thousands of times: 3x faster with this
    return Executor(workers, scheduler, initializer=keep_freed_memory)


ISHIGAMI_A, ISHIGAMI_B = 7.0, 0.1  # SALib.test_functions.Ishigami's defaults


def ishigami_exact() -> dict[str, np.ndarray]:
    """Closed-form first-order and total Sobol indices of the Ishigami function (Ishigami & Homma 1990; Sobol'
    & Levitan 1999), a = 7, b = 0.1, inputs uniform on [-pi, pi]."""
    a, b, pi = ISHIGAMI_A, ISHIGAMI_B, math.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v13
    return {"S1": np.array([v1, v2, 0.0]) / var, "ST": np.array([v1 + v13, v2, v13]) / var}


def ishigami_check(n: int = 1024, seed: int = 1) -> dict[str, np.ndarray]:
    """The same sampling and analysis as :func:`run_sensitivity`, on SALib's Ishigami test function; returns S1,
    ST and their confidence half-widths, to compare with :func:`ishigami_exact`."""
    from SALib import ProblemSpec
    from SALib.test_functions import Ishigami

    spec = ProblemSpec({"names": ["x1", "x2", "x3"], "bounds": [[-math.pi, math.pi]] * 3, "dists": ["unif"] * 3})
    X = sample(spec, "sobol", n, seed)
    r = analyse(spec, "sobol", X, Ishigami.evaluate(X, ISHIGAMI_A, ISHIGAMI_B), seed)
    return {"S1": r["S1"][0], "S1_conf": r["S1"][1], "ST": r["ST"][0], "ST_conf": r["ST"][1]}
