"""The gut-to-joint magnitudes fitted to human trials, without a likelihood (issue 30).

The virtual population is the simulator. Each fitted row of the observation table's ``gut-joint`` block
(:data:`~gutjoint._studies.calibration.observations.GUT_JOINT_FITTED`) is a result of a virtual trial; one
simulation runs that trial at the published size (the row's ``per_arm``) under a fresh seed, so the simulated
estimate scatters as the published one did: between people, by randomisation, and by the trial layer's reporting
noise. The summary statistics are those estimates; the data are the printed estimates.

Two methods, compared in ``benchmarks/bench_gut_joint.py``:

- ABC-SMC (Toni et al. 2009, J R Soc Interface 6:187; Beaumont et al. 2009, Biometrika 96:983) with pyabc
  (Klinger, Rickert & Hasenauer 2018, Bioinformatics 34:3591): an adaptive distance that scales each statistic by
  its spread, epsilon the median distance of the previous generation; resumable from its SQLite history;
- Bayesian synthetic likelihood (Wood 2010, Nature 466:1102; Price et al. 2018, J Comput Graph Stat 27:1):
  simulations on a lattice over the prior's central box, a regression emulator of the statistics' mean and
  covariance (:class:`Grid`), and the posterior read on a fine lattice; with two parameters a lattice replaces
  MCMC, and the simulations serve a simulation-based calibration check as well (:func:`calibration_check`). This
  is the method kept.

Everything else is held at the parameter table (as the sampled blocks are, :mod:`.posterior`), and the priors are
those the ensemble draws these assumed parameters from (:func:`.posterior.prior_of`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from gutjoint._errors import require
from gutjoint._processes import Executor

FITTED = ("synovitis_per_autoreactivity", "memory_half_mimicry")
"""The gut-to-joint magnitudes fitted: the two assumed parameters that carried most of the ensemble's spread in
pain before this fit (issue 30)."""


@dataclass(frozen=True)
class FittedResult:
    """One fitted row: a ``[[published]]`` entry of a built-in trial, its printed estimate and size."""

    trial: str
    arm: str
    endpoint: str
    estimate: float
    per_arm: int
    low: float
    high: float
    source: str


def fitted_results() -> list[FittedResult]:
    """The published results the magnitudes are fitted to, in the observation table's order."""
    from gutjoint._studies.calibration.observations import GUT_JOINT_FITTED, GUT_JOINT_TRIALS
    from gutjoint._studies.trial import load_trial

    out = []
    for name in GUT_JOINT_TRIALS:
        for entry in load_trial(name).published:
            if (name, entry.arm) in GUT_JOINT_FITTED:
                if entry.per_arm is None:
                    raise ValueError(f"{name}: a fitted result needs its published per_arm")
                out.append(FittedResult(name, entry.arm, entry.endpoint, entry.centre, entry.per_arm, entry.low,
                                        entry.high, entry.source))
    return out


def observed() -> np.ndarray:
    """The printed estimates of :func:`fitted_results`."""
    return np.array([r.estimate for r in fitted_results()])


def simulate(values: dict[str, float], seed: int) -> np.ndarray:
    """The fitted results' estimates in one simulated run of each trial at its published size, under the
    parameter ``values`` (the rest at the table) and trial ``seed``. NaN where a trial's runs failed."""
    from gutjoint._studies.trial import load_trial, run_trial

    results = fitted_results()
    out = np.full(len(results), np.nan)
    for name in dict.fromkeys(r.trial for r in results):
        size = max(r.per_arm for r in results if r.trial == name)
        shipped = load_trial(name)
        # screening stops once enough are eligible; the cap only has to leave room for the published size
        trial = replace(shipped, per_arm=size, seed=int(seed), screened=max(shipped.screened, 40 * size))
        checks = {(c["arm"], c["endpoint"]): c["model"] for c in run_trial(trial, parameters=values).published}
        for i, r in enumerate(results):
            if r.trial == name:
                out[i] = checks[(r.arm, r.endpoint)]
    return out


# --- priors, in the coordinate each is normal in ----------------------------------------------------------------

@dataclass(frozen=True)
class Coordinate:
    """A fitted parameter's prior as a truncated normal in ``log`` (log-normal prior) or natural units."""

    name: str
    log: bool
    centre: float
    sd: float
    low: float
    high: float

    def value(self, x: float) -> float:
        return float(math.exp(x)) if self.log else float(x)

    def log_density(self, x: np.ndarray) -> np.ndarray:
        inside = (x >= self.low) & (x <= self.high)
        return np.where(inside, -0.5 * ((x - self.centre) / self.sd) ** 2, -np.inf)


def coordinates() -> list[Coordinate]:
    """Each fitted parameter's prior (:func:`.posterior.prior_of`: the ensemble's prior of an assumed value), in
    the coordinate it is normal in (:func:`.posterior._transform`)."""
    from gutjoint._studies.calibration.posterior import _transform, prior_of

    out = []
    for name in FITTED:
        prior = prior_of(name)
        _, a, b, c, sd = _transform(prior, prior.centre)
        out.append(Coordinate(name, prior.kind == "log-normal", c, sd, a, b))
    return out


# --- results ------------------------------------------------------------------------------------------------------

@dataclass
class FitResult:
    """Weighted draws of the fitted parameters (natural units) from one method, with what it cost."""

    method: str
    draws: pd.DataFrame
    weights: np.ndarray
    simulations: int
    seconds: float
    notes: dict

    def summary(self) -> pd.DataFrame:
        """Per parameter: weighted median, 5% and 95% quantiles, and the prior's median and 90% interval."""
        rows = []
        for c in coordinates():
            x = self.draws[c.name].to_numpy()
            q = _weighted_quantiles(x, self.weights, (0.05, 0.5, 0.95))
            prior = _prior_quantiles(c)
            rows.append({"parameter": c.name, "median": q[1], "q05": q[0], "q95": q[2], "prior_median": prior[1],
                         "prior_q05": prior[0], "prior_q95": prior[2],
                         "width_over_prior": (q[2] - q[0]) / (prior[2] - prior[0])})
        return pd.DataFrame(rows)

    def effective_draws(self) -> float:
        """Kish's effective sample size of the weights."""
        w = self.weights / self.weights.sum()
        return float(1.0 / np.sum(w ** 2))

    def resample(self, n: int, seed: int = 0) -> list[dict[str, float]]:
        """``n`` parameter sets drawn by weight."""
        rng = np.random.default_rng(seed)
        idx = rng.choice(len(self.weights), size=n, p=self.weights / self.weights.sum())
        return [{k: float(v) for k, v in self.draws.iloc[i].items()} for i in idx]


def _weighted_quantiles(x: np.ndarray, w: np.ndarray, qs) -> list[float]:
    order = np.argsort(x)
    cdf = np.cumsum(w[order]) / np.sum(w)
    return [float(x[order][min(np.searchsorted(cdf, q), len(x) - 1)]) for q in qs]


def _prior_quantiles(c: Coordinate) -> list[float]:
    from scipy.stats import truncnorm

    a, b = (c.low - c.centre) / c.sd, (c.high - c.centre) / c.sd
    q = truncnorm.ppf([0.05, 0.5, 0.95], a, b, loc=c.centre, scale=c.sd)
    return [c.value(v) for v in q]


# --- ABC-SMC (pyabc) ---------------------------------------------------------------------------------------------

def _abc_model(parameters) -> dict:
    values = {c.name: c.value(parameters[c.name]) for c in coordinates()}
    stats = simulate(values, int(np.random.randint(1, 2**31 - 1)))
    return {f"s{i}": float(v) if math.isfinite(v) else 1e6 for i, v in enumerate(stats)}


def abc_smc(out, *, population: int = 200, generations: int = 6, max_simulations: int = 4000,
            workers: int = 2) -> FitResult:
    """ABC-SMC with pyabc: ``population`` particles a generation, at most ``generations`` generations or
    ``max_simulations`` simulations in all. The history is kept in ``out/abc.db``: a rerun continues the stored
    run with as many more generations as are missing."""
    pyabc = require("pyabc", "inference")

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    db = f"sqlite:///{out / 'abc.db'}"
    prior = pyabc.Distribution(**{c.name: pyabc.RV("truncnorm", (c.low - c.centre) / c.sd, (c.high - c.centre) / c.sd,
                                                   loc=c.centre, scale=c.sd) for c in coordinates()})
    sampler = (pyabc.sampler.MulticoreEvalParallelSampler(n_procs=workers) if workers > 1
               else pyabc.sampler.SingleCoreSampler())
    abc = pyabc.ABCSMC(_abc_model, prior, pyabc.AdaptivePNormDistance(p=2), population_size=population,
                       sampler=sampler)
    t0 = time.perf_counter()
    if (out / "abc.db").exists():
        abc.load(db, 1)
        done = abc.history.max_t + 1
    else:
        abc.new(db, {f"s{i}": float(v) for i, v in enumerate(observed())})
        done = 0
    if done < generations:
        abc.run(max_nr_populations=generations - done, max_total_nr_simulations=max_simulations)
    history = abc.history
    frame, weights = history.get_distribution(t=history.max_t)
    draws = pd.DataFrame({c.name: [c.value(v) for v in frame[c.name]] for c in coordinates()})
    populations = history.get_all_populations()
    return FitResult("ABC-SMC (pyabc)", draws, np.asarray(weights, dtype=float),
                     int(history.total_nr_simulations), time.perf_counter() - t0,
                     {"generations": int(history.max_t + 1),
                      "epsilon": [float(e) for e in populations["epsilon"] if math.isfinite(e)]})


# --- Bayesian synthetic likelihood on a grid ---------------------------------------------------------------------

def _grid_job(job) -> np.ndarray:
    values, seed = job
    return simulate(values, seed)


def _features(z: np.ndarray, degree: int) -> np.ndarray:
    """Monomials of the columns of ``z`` (points x 2, scaled to [-1, 1]) up to ``degree``."""
    return np.column_stack([z[:, 0] ** i * z[:, 1] ** j for i in range(degree + 1) for j in range(degree + 1 - i)])


@dataclass
class Grid:
    """The synthetic likelihood's simulations: lattice points (prior coordinates) and the statistics of
    ``replicates`` simulations at each, (point, replicate, statistic).

    The likelihood is normal with a mean and a covariance that vary smoothly with the parameters: each statistic's
    mean is a cubic surface fitted to every simulation, its log variance a quadratic surface fitted to the
    replicates' variances, and their correlation is pooled (a regression emulator of the synthetic likelihood,
    so that ten simulations a point are enough and the posterior is read on a ``fine`` lattice, not the coarse
    one)."""

    points: np.ndarray
    stats: np.ndarray
    seconds: float
    fine: int = 81

    @cached_property
    def _box(self) -> tuple[np.ndarray, np.ndarray]:
        half = np.array([np.diff(np.unique(self.points[:, j])).mean() / 2 for j in range(self.points.shape[1])])
        return self.points.min(axis=0) - half, self.points.max(axis=0) + half

    def _scaled(self, x: np.ndarray) -> np.ndarray:
        lo, hi = self._box
        return 2 * (x - lo) / (hi - lo) - 1

    @cached_property
    def _surfaces(self) -> dict:
        n_points, n_rep, n_stats = self.stats.shape
        ok = np.all(np.isfinite(self.stats), axis=2)
        z = self._scaled(self.points)
        F3 = _features(np.repeat(z, n_rep, axis=0), 3)
        Y = self.stats.reshape(-1, n_stats)
        keep = ok.ravel()
        mean = np.linalg.lstsq(F3[keep], Y[keep], rcond=None)[0]
        residual = np.where(keep[:, None], Y - F3 @ mean, np.nan).reshape(n_points, n_rep, n_stats)
        variance = np.nanmean(residual ** 2, axis=1)
        F2 = _features(z, 2)
        log_var = np.linalg.lstsq(F2, np.log(np.maximum(variance, 1e-12)), rcond=None)[0]
        standard = residual / np.sqrt(np.exp(F2 @ log_var))[:, None, :]
        flat = standard.reshape(-1, n_stats)
        correlation = np.corrcoef(flat[np.all(np.isfinite(flat), axis=1)].T)
        return {"mean": mean, "log_var": log_var, "correlation": np.atleast_2d(correlation)}

    def lattice(self) -> np.ndarray:
        """The fine lattice (cell centres over the simulated box, prior coordinates) the posterior is read on."""
        lo, hi = self._box
        axes = [a + (np.arange(self.fine) + 0.5) * (b - a) / self.fine for a, b in zip(lo, hi)]
        return np.array(np.meshgrid(*axes, indexing="ij")).reshape(len(axes), -1).T

    def emulate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The statistics' emulated mean (points x statistics) and SD at parameters ``x`` (prior coordinates)."""
        z = self._scaled(x)
        surfaces = self._surfaces
        return _features(z, 3) @ surfaces["mean"], np.sqrt(np.exp(_features(z, 2) @ surfaces["log_var"]))

    def log_posterior(self, y: np.ndarray) -> np.ndarray:
        """Log synthetic likelihood of statistics ``y`` at each point of :meth:`lattice`, plus the log prior."""
        x = self.lattice()
        mean, sd = self.emulate(x)
        precision = np.linalg.inv(self._surfaces["correlation"])
        gap = (y - mean) / sd
        value = -0.5 * np.einsum("ij,jk,ik->i", gap, precision, gap) - np.sum(np.log(sd), axis=1)
        for j, c in enumerate(coordinates()):
            value = value + c.log_density(x[:, j])
        return value

    def posterior(self, y: np.ndarray) -> FitResult:
        log_post = self.log_posterior(y)
        weights = np.exp(log_post - np.max(log_post))
        coords = coordinates()
        x = self.lattice()
        draws = pd.DataFrame({c.name: [c.value(v) for v in x[:, j]] for j, c in enumerate(coords)})
        return FitResult("synthetic likelihood (regression emulator)", draws, weights,
                         int(self.stats.shape[0] * self.stats.shape[1]), self.seconds,
                         {"lattice": round(len(self.points) ** (1 / len(coords))), "replicates": int(self.stats.shape[1]),
                          "fine": self.fine})

    def marginal_cdf(self, y: np.ndarray, truth: np.ndarray) -> np.ndarray:
        """For each parameter, the posterior's marginal CDF at ``truth`` (prior coordinates): the lattice weights
        spread evenly over each point's cell. Uniform over synthetic datasets whose truth is drawn from the prior,
        if the method is calibrated (Talts et al. 2018, arXiv:1804.06788, in its continuous form)."""
        log_post = self.log_posterior(y)
        w = np.exp(log_post - np.max(log_post))
        x = self.lattice()
        out = []
        for j in range(x.shape[1]):
            axis = np.unique(x[:, j])
            mass = np.array([w[x[:, j] == a].sum() for a in axis])
            mass = mass / mass.sum()
            half = np.diff(axis).mean() / 2
            inside = np.clip((truth[j] - (axis - half)) / (2 * half), 0.0, 1.0)
            out.append(float(np.sum(mass * inside)))
        return np.array(out)


def _grid_box(span: float) -> list[np.ndarray]:
    return [np.array([max(c.low, c.centre - span * c.sd), min(c.high, c.centre + span * c.sd)]) for c in coordinates()]


GRID, REPLICATES = 9, 10
"""The synthetic likelihood's lattice (points per parameter) and simulations per point: 810 simulated pairs of
trials (258 s on 2 cores, measured 2026-12-07)."""


def _grid_key(*settings) -> str:
    """What a stored lattice depends on: the model, the fitted results, the priors and the lattice's settings."""
    import hashlib

    from gutjoint._studies.runtime import model_key

    text = f"{model_key()}|{fitted_results()!r}|{coordinates()!r}|{settings!r}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def grid_statistics(*, grid: int = GRID, replicates: int = REPLICATES, workers: int = 2, seed: int = 1,
                    span: float = 2.5, store: Path | None = None) -> Grid:
    """The simulations of Bayesian synthetic likelihood: a ``grid`` x ``grid`` lattice of cell centres over the
    prior's centre +- ``span`` SD (cut to the range), ``replicates`` simulations at each point, every simulation
    with a seed of its own. (Common random numbers, the same ten seeds at every point, biased the emulated mean by
    the ten trials' own luck: the pain statistic by -0.2 NRS and the calibration check failed.) With ``store`` (an
    ``.npz`` path), a lattice stored there is read instead of simulated, and a new one is stored."""
    key = _grid_key(grid, replicates, seed, span)
    if store is not None and Path(store).exists():
        saved = np.load(store)
        if "key" in saved and str(saved["key"]) == key:  # the same model, results, priors and lattice
            return Grid(saved["points"], saved["stats"], float(saved["seconds"]))
    box = _grid_box(span)
    axes = [lo + (np.arange(grid) + 0.5) * (hi - lo) / grid for lo, hi in box]
    points = np.array(np.meshgrid(*axes, indexing="ij")).reshape(len(axes), -1).T
    coords = coordinates()
    jobs = [({c.name: c.value(x) for c, x in zip(coords, p)}, seed * 1_000_000 + i * replicates + k)
            for i, p in enumerate(points) for k in range(replicates)]
    t0 = time.perf_counter()
    with Executor(workers) as pool:
        stats = np.array(list(pool.map(_grid_job, jobs))).reshape(len(points), replicates, -1)
    result = Grid(points, stats, time.perf_counter() - t0)
    if store is not None:
        from gutjoint._files import atomic_write

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:  # a handle: np.savez would add ".npz" to a temporary file's name
                np.savez(handle, points=points, stats=stats, seconds=result.seconds, key=key)

        atomic_write(Path(store), write, field="out")
    return result


def calibration_check(grid: Grid, *, people: int = 200, seed: int = 7, workers: int = 2, span: float = 2.5) -> dict:
    """Simulation-based calibration of the grid method: ``people`` synthetic datasets, each from a truth drawn from
    the prior (within the lattice's box) and one simulation under it; for each, the posterior's marginal CDF at the
    truth. Returns the CDF values, the share of truths inside the central 90% interval, and a Kolmogorov-Smirnov
    test of uniformity per parameter."""
    from scipy.stats import kstest, truncnorm

    rng = np.random.default_rng(seed)
    coords = coordinates()
    box = _grid_box(span)
    truths = np.column_stack([truncnorm.rvs((lo - c.centre) / c.sd, (hi - c.centre) / c.sd, loc=c.centre,
                                            scale=c.sd, size=people, random_state=rng)
                              for c, (lo, hi) in zip(coords, box)])
    jobs = [({c.name: c.value(x) for c, x in zip(coords, t)}, 10_000_000 + seed * people + i)
            for i, t in enumerate(truths)]
    with Executor(workers) as pool:
        ys = np.array(list(pool.map(_grid_job, jobs)))
    ok = np.all(np.isfinite(ys), axis=1)
    cdf = np.array([grid.marginal_cdf(y, t) for y, t, good in zip(ys, truths, ok) if good])
    return {"people": int(ok.sum()), "cdf": cdf,
            "coverage_90": [float(np.mean((cdf[:, j] >= 0.05) & (cdf[:, j] <= 0.95))) for j in range(len(coords))],
            "ks_p": [float(kstest(cdf[:, j], "uniform").pvalue) for j in range(len(coords))]}


# --- into the ensemble, and what ships ------------------------------------------------------------------------------

FIT_FILE = "gut_joint_fit.json"
"""The shipped fit (package data): the method, the two parameters' prior and posterior, the rows before and after,
the calibration check and what it was made from."""


def join_ensemble(fit: FitResult, ensemble, *, seed: int = 11, rounds: int = 40) -> tuple[pd.DataFrame, dict, dict]:
    """The ensemble with each draw's fitted parameters drawn from ``fit`` (by weight) in place of their priors; a
    draw that leaves the healthy resting window (:data:`.posterior.HEALTHY_REST`) is drawn again, and each draw's
    attribution references are recomputed. Returns the frame, the basis and the provenance, to be written by
    :func:`.posterior.write_ensemble`."""
    from gutjoint._biology.parameters import load_parameters
    from gutjoint._studies.calibration import posterior

    table = load_parameters()
    frame = ensemble.values.copy()
    pending = list(range(len(frame)))
    redrawn = 0
    for attempt in range(rounds):
        if not pending:
            break
        picks = fit.resample(len(pending), seed=seed * 1000 + attempt)
        candidates = []
        for i, pick in zip(pending, picks):
            row = {k: float(v) for k, v in frame.iloc[i].items() if k in table}
            candidates.append({**row, **pick})
        keep = posterior._plausible(candidates)
        for i, pick, ok in zip(pending, picks, keep):
            if ok:
                for name, value in pick.items():
                    frame.loc[i, name] = value
        redrawn += int((~keep).sum())
        pending = [i for i, ok in zip(pending, keep) if not ok]
    if pending:
        raise RuntimeError(f"{len(pending)} draws found no plausible fitted values in {rounds} rounds")
    for i in range(len(frame)):
        derived = posterior._derived({k: float(v) for k, v in frame.iloc[i].items() if k in table})
        for name in posterior.DERIVED_PER_DRAW:
            frame.loc[i, name] = derived.get(name, np.nan)
    basis = dict(ensemble.basis)
    for name in FITTED:
        basis[name] = f"posterior (gut-joint fit, {fit.method})"
    provenance = {**ensemble.provenance, "gut_joint": {
        "method": fit.method, "parameters": list(FITTED), "redrawn_for_healthy_rest": redrawn,
        "rows": [f"{r.trial}: {r.arm}, {r.endpoint}" for r in fitted_results()]}}
    return frame, basis, provenance


def predictions(parameter_sets: list[dict[str, float]]) -> pd.DataFrame:
    """Every gut-joint row under each parameter set (the shipped trials at their own sizes): one column per set."""
    from gutjoint._studies.calibration.observations import gut_joint_predictions

    columns = [gut_joint_predictions(values)["model"].to_numpy() for values in parameter_sets]
    return pd.DataFrame(np.column_stack(columns))


def fit_digest() -> str:
    """What a shipped fit depends on: the model, the observation rows of the gut-joint block and the fitted
    parameters' priors."""
    import hashlib

    from gutjoint._studies.calibration.observations import rows_of
    from gutjoint._studies.runtime import model_key

    rows = rows_of("gut-joint")[["dataset", "value", "low", "high", "role"]].to_csv(index=False)
    priors = repr(coordinates())
    return hashlib.sha256(f"{model_key()}|{rows}|{priors}".encode()).hexdigest()[:16]


def shipped_fit() -> dict | None:
    """The shipped fit (:data:`FIT_FILE`), or None if the package has none."""
    import json
    from importlib import resources

    path = Path(str(resources.files("gutjoint.data").joinpath(FIT_FILE)))
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


STALE = ("the shipped gut-joint fit is missing or stale (the model, the gut-joint rows or the priors changed): "
         "rerun gutjoint calibrate --gut-joint --out DIR --write")


def current_fit() -> dict | None:
    """The shipped fit if it was made from today's model, rows and priors (:func:`fit_digest`); None otherwise
    (:data:`STALE` says what to run)."""
    fit = shipped_fit()
    return fit if fit is not None and fit["digest"] == fit_digest() else None


def make_fit(out, *, method: str = "sl", workers: int = 2, draws: int = 30, people: int = 200) -> dict:
    """The fit behind the shipped numbers: the kept ``method`` (``sl``: the grid's synthetic likelihood, with its
    simulation-based calibration; ``abc``: the stored ABC-SMC run in ``out``), every gut-joint row at the table
    values (before) and over ``draws`` posterior draws (after), and the path back in the general population under
    both. Working files stay in ``out`` so a rerun redoes only the cheap parts."""
    import datetime

    from gutjoint._studies.calibration.observations import gut_joint_predictions, rows_of
    from gutjoint._studies.reverse_path import NSAID_BEHAVIOUR, cross_section

    out = Path(out)
    check = None
    if method == "sl":
        grid = grid_statistics(workers=workers, store=out / "grid.npz")
        fit = grid.posterior(observed())
        check = calibration_check(grid, people=people, workers=workers)
    else:
        fit = abc_smc(out, workers=workers)
    rows = rows_of("gut-joint")
    before = gut_joint_predictions({})["model"].to_numpy()
    after = predictions(fit.resample(draws, seed=5)).to_numpy()
    q05, q50, q95 = np.nanquantile(after, [0.05, 0.5, 0.95], axis=1)
    summary = fit.summary().to_dict("records")
    medians = {r["parameter"]: r["median"] for r in summary}
    row_records = []
    for k, r in enumerate(rows.itertuples()):
        row_records.append({"dataset": r.dataset, "role": r.role, "low": r.low, "high": r.high, "value": r.value,
                            "before": float(before[k]), "after_median": float(q50[k]), "after_q05": float(q05[k]),
                            "after_q95": float(q95[k]),
                            "inside_before": bool(r.low <= before[k] <= r.high),
                            "inside_after": bool(r.low <= q50[k] <= r.high)})
    return {"digest": fit_digest(), "created": datetime.date.today().isoformat(), "method": fit.method,
            "simulations": fit.simulations, "seconds": fit.seconds, "effective_draws": fit.effective_draws(),
            "parameters": summary, "rows": row_records, "draws": draws,
            "calibration": None if check is None else {k: v for k, v in check.items() if k != "cdf"},
            "reverse_path": {"behaviour": NSAID_BEHAVIOUR.__dict__, "table": cross_section(),
                             "fitted": cross_section(parameters=medians)},
            "posterior_draws": fit.resample(200, seed=9)}


def run(out, *, method: str = "sl", workers: int = 2, write: bool = False) -> dict:
    """Make the fit in ``out`` (:func:`make_fit`, resumable) and write it there; with ``write``, ship it in the
    package data and draw the shipped ensemble's fitted parameters from it (:func:`join_ensemble`)."""
    import json

    from gutjoint._files import atomic_write

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = make_fit(out, method=method, workers=workers)
    text = json.dumps(result, indent=1, default=float)
    atomic_write(out / FIT_FILE, lambda tmp: tmp.write_text(text), field="out")
    if write:
        from importlib import resources

        from gutjoint._studies.calibration.posterior import write_ensemble
        from gutjoint._studies.ensemble import load_ensemble

        atomic_write(Path(str(resources.files("gutjoint.data").joinpath(FIT_FILE))),
                     lambda tmp: tmp.write_text(text), field="out")
        draws = pd.DataFrame(result["posterior_draws"])
        fit = FitResult(result["method"], draws, np.ones(len(draws)), result["simulations"], result["seconds"], {})
        frame, basis, provenance = join_ensemble(fit, load_ensemble())
        write_ensemble(frame, basis, provenance)
    return result


def main(argv: list[str] | None = None) -> int:
    """``python -m gutjoint._studies.calibration.gut_joint --out DIR [--write]``, the same as ``gutjoint calibrate
    --gut-joint``."""
    import argparse
    import json

    ap = argparse.ArgumentParser(prog="python -m gutjoint._studies.calibration.gut_joint")
    ap.add_argument("--out", required=True)
    ap.add_argument("--method", choices=("sl", "abc"), default="sl")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--write", action="store_true", help="ship the fit and draw the ensemble's fitted parameters from it")
    args = ap.parse_args(argv)
    result = run(args.out, method=args.method, workers=args.workers, write=args.write)
    print(json.dumps({k: result[k] for k in ("method", "simulations", "parameters", "calibration")}, indent=1,
                     default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
