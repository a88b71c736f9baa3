"""Bayesian calibration: the posterior of the fitted blocks, sampled with emcee, and the parameter ensemble
that every prediction's band is drawn from.

Likelihood: the blocks' standardised residuals (each target's own error model: log-normal cytokines, normal
temperature, the 2-SD threshold band, the L:M probes; see :mod:`gutjoint._studies.calibration.fit`) give
``log L = -sum(r**2) / 2``, except that a dataset with at least :data:`NOISE_MIN_POINTS` points (the Janum 2016
curves) has its own noise scale, integrated out (:func:`deviance`): the SDs its rows state are the spread between
people, wider than the error of the mean curve the model is held to.

Priors, from the parameter table (each rule is applied by :func:`prior_of`):

- a parameter fitted here with a value from a published human endotoxemia model (:data:`LITERATURE_PRIORS`:
  Dobreva 2021, Windoloski 2024): log-normal around that value, a factor of 2 at 1 SD, truncated to the range;
- any other parameter fitted here: log-uniform over its plausible range (the range is the literature's span; nothing
  narrower is known before the fit); uniform where the range starts at 0 (a fraction, or a gain that may
  vanish: a log-uniform prior there would put half its mass below a thousandth of the range). The nuisance levels of the gluten-free-diet condition: log-uniform over
  ``fit.NUISANCE_RANGES`` (with 1e-6 for a lower end of 0).
- a value read from a source (human measurement, published model, derived): log-normal around the value with
  the plausible range as +-2 SD in the log (a normal for a range that includes 0), truncated to the range.
- an ``assumed`` value: the same log-normal (or normal) around the assumed value, the range as +-2 SD. These are
  *prior-only*: no data here update them, so their spread is what the bands show about the assumptions.
  (Log-uniform priors over the whole ranges were tried first: 96% of such draws put a healthy person at rest
  above NRS 2, because the joint's cytokine feedback runs away in much of the box; centred priors keep the
  modeller's guess as the most likely value.)
- every draw must give the healthy scenario a plausible resting state (:data:`HEALTHY_REST`); prior values are
  redrawn until it does.
- definitions (traits, switches, reference levels) are not uncertain: traits are set by the scenario, and the two
  attribution references are recomputed for every draw from its own healthy resting state.

Sampling (emcee's ensemble samplers, Foreman-Mackey et al. 2013, PASP 125:306: differential evolution with
snooker updates by default, ter Braak 2006 and ter Braak & Vrugt 2008, or the affine-invariant stretch move of
Goodman & Weare 2010, Comm App Math Comp Sci 5:65) runs block by block: the barrier block (L:M probes) and the
innate block (the LPS challenge), each conditional on the table's values of everything else; the two share no
targets. Only the parameters the data inform are sampled (:data:`NOT_SAMPLED` names the others, held at the fit).
Walkers start around the posterior mode, at 1.5 times the Laplace SD (:func:`laplace`): over-dispersed, but not
spread over the whole prior box, from which the first ensembles' innate walkers never settled. The cohort
block (CRP distribution, 300 ms a likelihood) and the one-parameter fits (``lps_per_fat``: recomputed from each
draw, as the fit does; ``reactive_seeding``) are not sampled: ``lps_per_fat`` follows each draw, the others stay at
their fitted values and are marked ``held``. Chains are stored with emcee's HDF5 backend, so an interrupted run
resumes where it stopped.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from gutjoint._errors import SolverError, require
from gutjoint._processes import Executor
from gutjoint._biology.parameters import load_parameters
from gutjoint._studies.calibration import fit, observations
from gutjoint._studies.ensemble import ENSEMBLE_FILE, PROVENANCE_FILE, ensemble_path

SAMPLED = ("barrier", "innate")
"""The blocks whose posterior is sampled."""
HELD = ("crp_max", "il6_per_metabolic", "il6_per_synovitis", "reactive_seeding")
"""Fitted parameters kept at their fitted values in the ensemble (their likelihood is a cohort, or a fit of its
own; see the module docstring)."""
DERIVED_PER_DRAW = ("lps_per_fat", "reference_joint_cytokines", "reference_autoreactivity")


def _block(name: str) -> fit.Block:
    return next(b for b in fit.BLOCKS if b.name == name)


NOT_SAMPLED = {
    "il6_basal": "at the floor of its range in the fit; " + fit.BOUND_REASONS["il6_basal"],
    "threshold_recovery": "at the floor of its range in the fit; " + fit.BOUND_REASONS["threshold_recovery"],
    "il10_half_inhibition_il6_il8": "at the top of its range in the fit; "
                                    + fit.BOUND_REASONS["il10_half_inhibition_il6_il8"],
    "il8_tnf_upregulation": fit.BOUND_REASONS["il8_tnf_upregulation"],
    "tj_repair_rate": "none of the barrier data moves it: the L:M probes are read at days to months, when the tight "
                      "junctions (hours) have long settled",
    "absorptive_recovery_rate": "none of the barrier data moves it: its only target, the mannitol recovery on the "
                                "gluten-free diet, is carried by the villus loss and the structural repair rate",
    "support_drive_relief": "at the top of its range in the fit, and the one barrier-support trial (Zhou 2019) is met "
                            "by the repair boost alone",
}
"""Fitted parameters the sampler leaves at their fitted values, and why: the data do not inform them (their Laplace
posterior SD at the fit is at least :data:`UNINFORMED` of the prior's; ``tests/test_calibration.py`` recomputes
it), so a chain over them would only wander over the prior, which is what made the innate chains of the first
ensembles fail to converge (25 parameters, R-hat up to 1.28 after 24,536 steps). In the ensemble they are held at
the fit, like :data:`HELD`."""
UNINFORMED = 0.95

LITERATURE_PRIORS = {
    "monocyte_deactivation": (2.51, "Dobreva 2021 kma = 2.51 1/h (fixed there; EVIDENCE 3e)"),
    "lps_half_activation": (80.0, "Dobreva 2021: a half-maximum of 3.3 ng/kg, about 80 pg/mL in 40 mL/kg of plasma"),
    "tnf_activation_boost": (209.0, "Windoloski 2024 bolus fit: kMTNF / kM = 8.65 / 0.0414"),
    "tnf_half_activation": (140.8, "Windoloski 2024 bolus fit: xMTNF = 140.8 pg/mL"),
    "il6_clearance": (0.797, "Dobreva 2021 k6 = 0.797 1/h (EVIDENCE 3e)"),
    "il8_clearance": (0.698, "Dobreva 2021 k8 = 0.698 1/h (EVIDENCE 3e)"),
}
"""Fitted parameters with a value from a published human endotoxemia model: their prior is log-normal around that
value (truncated to the range), with :data:`LITERATURE_SD` in the log, in place of a log-uniform over the range."""
LITERATURE_SD = math.log(2.0)
"""The log-SD of a :data:`LITERATURE_PRIORS` prior: a factor of 2 at 1 SD (assumed: the published models differ in
structure from this one, so their values carry over only roughly; neither paper prints an uncertainty for these)."""


def sampled(block_name: str) -> tuple[str, ...]:
    """The parameters the sampler moves in a block: the block's, less :data:`NOT_SAMPLED`."""
    return tuple(n for n in _block(block_name).parameters if n not in NOT_SAMPLED)


def _flat(names) -> np.ndarray:
    """Which of the parameters are on the ``lin`` scale (a range from 0: a fraction, or a gain that may vanish):
    their prior is uniform on the natural scale, not log-uniform."""
    return np.array([fit.scale_of(n) == "lin" for n in names])


def _log_prior(x: np.ndarray, names) -> float:
    """The log prior density at log-parameters ``x`` (up to a constant), in ``x``: flat for a log-uniform, the
    Jacobian ``x`` for a uniform on the natural scale, a normal for a :data:`LITERATURE_PRIORS` log-normal."""
    value = float(np.sum(x[_flat(names)]))
    for i, name in enumerate(names):
        if name in LITERATURE_PRIORS:
            value -= 0.5 * ((x[i] - math.log(LITERATURE_PRIORS[name][0])) / LITERATURE_SD) ** 2
    return value


NOISE_MIN_POINTS = 5
"""A dataset of a sampled block with at least this many points has its noise scale estimated (:func:`deviance`);
one with fewer keeps the SDs its rows state."""


def noise_groups(block_name: str) -> dict[str, np.ndarray]:
    """The datasets of a block whose noise scale is estimated, each with the positions of its rows in the block's
    residual vector."""
    names = observations.rows_of(block_name)["dataset"].to_numpy()
    return {d: np.flatnonzero(names == d) for d in dict.fromkeys(names) if (names == d).sum() >= NOISE_MIN_POINTS}


def deviance(r: np.ndarray, groups: dict[str, np.ndarray]) -> float:
    """-2 log likelihood (up to a constant) of a block's standardised residuals ``r``. A row outside ``groups``
    counts ``r**2``. A dataset in ``groups`` has an unknown noise scale ``k`` (its rows' SDs times ``k``: the
    Janum 2016 SDs are between people, wider than the error of a mean curve): with the scale-invariant prior
    ``p(k) ~ 1/k`` integrated out, it counts ``n log(sum r**2)`` for its ``n`` rows (Gelman et al., Bayesian Data
    Analysis, 3rd ed., sec. 3.2)."""
    inside = np.zeros(len(r), dtype=bool)
    total = 0.0
    for rows in groups.values():
        inside[rows] = True
        total += len(rows) * math.log(max(float(np.sum(r[rows] ** 2)), 1e-300))
    return total + float(np.sum(r[~inside] ** 2))


def noise_scales(r: np.ndarray, groups: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, float]:
    """One draw of each dataset's noise scale from its conditional posterior given the residuals ``r``:
    ``k**2 = sum r**2 / chi2(n)`` (the scaled inverse chi-square of :func:`deviance`'s prior)."""
    return {d: math.sqrt(float(np.sum(r[rows] ** 2)) / rng.chisquare(len(rows))) for d, rows in groups.items()}


NOISE_PREFIX = "noise scale: "
"""Ensemble columns holding each draw's noise scale of a dataset (:func:`noise_scales`)."""


def log_probability(x: np.ndarray, block_name: str, lo: np.ndarray, hi: np.ndarray) -> float:
    """Log posterior (up to a constant) of a block at the log-values ``x`` of its :func:`sampled` parameters: the
    prior of :func:`prior_of` (:func:`_log_prior`), and the likelihood of :func:`deviance`."""
    if np.any(x <= lo) or np.any(x >= hi):
        return -np.inf
    block, names = _block(block_name), sampled(block_name)
    r = block.residuals(dict(zip(names, np.exp(x))))
    value = -0.5 * deviance(r, noise_groups(block_name)) + _log_prior(x, names)
    return value if math.isfinite(value) else -np.inf


def laplace(block_name: str, step: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """The posterior mode of a block (log-values of its :func:`sampled` parameters; L-BFGS-B from the fitted values)
    and the Laplace covariance there: the inverse of the Gauss-Newton information of :func:`deviance` (each noise
    group's residuals weighted by ``n / sum r**2``) plus the prior's (the range as 4 SD, or the literature prior's
    SD). Where the walkers start."""
    from scipy.optimize import minimize

    block, names = _block(block_name), sampled(block_name)
    lo, hi = fit._bounds(names)
    inner = list(zip(lo + 2 * step, hi - 2 * step))
    start = np.clip(fit._current(names, {}), lo + 2 * step, hi - 2 * step)

    def cost(x):
        value = -log_probability(x, block_name, lo, hi)
        return value if math.isfinite(value) else 1e12

    mode = minimize(cost, start, method="L-BFGS-B", bounds=inner, options={"maxiter": 200}).x
    r = block.residuals(dict(zip(names, np.exp(mode))))
    weights = np.ones(len(r))
    for rows in noise_groups(block_name).values():
        weights[rows] = math.sqrt(len(rows) / max(float(np.sum(r[rows] ** 2)), 1e-12))
    J = _jacobian(block, names, mode, step) * weights[:, None]
    return mode, np.linalg.inv(J.T @ J + np.diag(1 / _prior_sd(names) ** 2))


def _jacobian(block: fit.Block, names, x: np.ndarray, step: float) -> np.ndarray:
    """Central-difference Jacobian of a block's standardised residuals in the log-values ``x`` of ``names``."""
    def r(z):
        return block.residuals(dict(zip(names, np.exp(z))))

    return np.column_stack([(r(x + step * e) - r(x - step * e)) / (2 * step) for e in np.eye(len(names))])


def _prior_sd(names) -> np.ndarray:
    """Each parameter's prior SD in its log-value: the literature prior's, else its range as 4 SD."""
    lo, hi = fit._bounds(names)
    return np.array([LITERATURE_SD if n in LITERATURE_PRIORS else (b - a) / 4 for n, a, b in zip(names, lo, hi)])


def information_ratio(block_name: str, step: float = 1e-4) -> dict[str, float]:
    """Each fitted parameter of a block (sampled or not): its Laplace posterior SD at the fitted values over its
    prior SD, with the rows' stated SDs (1: the data say nothing about it). The rule behind :data:`NOT_SAMPLED`."""
    block = _block(block_name)
    names = block.parameters
    lo, hi = fit._bounds(names)
    x0 = np.clip(fit._current(names, {}), lo + 2 * step, hi - 2 * step)
    J = _jacobian(block, names, x0, step)
    sd = _prior_sd(names)
    cov = np.linalg.inv(J.T @ J + np.diag(1 / sd**2))
    return dict(zip(names, (np.sqrt(np.diag(cov)) / sd).tolist()))


@dataclass(frozen=True)
class Chain:
    """A block's stored chain: log-parameters ``(step, walker, parameter)`` and log posteriors."""

    block: str
    parameters: tuple[str, ...]
    samples: np.ndarray
    log_prob: np.ndarray
    acceptance: float
    seconds: float

    def posterior(self, burn: float = 0.5) -> np.ndarray:
        """Log-parameters after the first ``burn`` share of steps, walkers as chains: (chain, draw, parameter)."""
        start = int(self.samples.shape[0] * burn)
        return np.swapaxes(self.samples[start:], 0, 1)


def sample_block(block_name: str, path: Path, *, steps: int, walkers: int | None = None, seed: int = 1,
                 seconds: float | None = None, moves=None, progress=None, start_from: str = "prior",
                 pool: Executor | None = None) -> Chain:
    """Run (or resume) emcee on one block until ``steps`` steps are stored or ``seconds`` have passed; the
    chain is kept in the HDF5 file ``path`` under the block's name. A new chain's walkers start drawn from the
    prior (``start_from="prior"``), around the posterior mode at 1.5 times the Laplace SD (``"laplace"``, what
    ``calibrate --sample`` uses) or in a 1e-3 ball around the fitted values (``"fit"``). ``pool``: an executor
    whose workers evaluate the walkers."""
    emcee = require("emcee", "inference")

    names = sampled(block_name)
    lo, hi = fit._bounds(names)
    ndim = len(names)
    walkers = walkers or 2 * ndim + 2
    backend = emcee.backends.HDFBackend(str(path), name=block_name)
    done = backend.iteration if Path(path).exists() and block_name in _groups(path) else 0
    if done == 0:
        backend.reset(walkers, ndim)
        rng = np.random.default_rng([seed, ndim])
        if start_from == "prior":
            flat = _flat(names)
            u = rng.uniform(size=(walkers, ndim))
            start = np.where(flat, np.log(np.exp(lo) + u * (np.exp(hi) - np.exp(lo))), lo + u * (hi - lo))
        elif start_from == "laplace":  # 1.5 times the Laplace SD around the mode: over-dispersed, as R-hat wants
            centre, cov = laplace(block_name)
            start = centre + 1.5 * rng.standard_normal((walkers, ndim)) @ np.linalg.cholesky(cov).T
        else:
            centre = np.clip(fit._current(names, {}), lo + 1e-6, hi - 1e-6)
            start = centre + 1e-3 * rng.standard_normal((walkers, ndim))
        start = np.clip(start, lo + 1e-9, hi - 1e-9)
    else:
        start = backend.get_last_sample()  # resume from the stored walkers
    sampler = emcee.EnsembleSampler(walkers, ndim, log_probability, args=(block_name, lo, hi), backend=backend,
                                    moves=moves, pool=pool)  # a pool evaluates the walkers in parallel
    sampler.random_state = np.random.RandomState(seed + done).get_state()  # a resumed run continues reproducibly
    t0 = time.perf_counter()
    for k, _ in enumerate(sampler.sample(start, iterations=max(0, steps - done), store=True)
                          if steps > done else ()):
        if progress:
            progress(done + k + 1, steps)
        if seconds is not None and time.perf_counter() - t0 > seconds:
            break
    return read_chain(path, block_name, seconds=time.perf_counter() - t0)


def _groups(path) -> set[str]:
    h5py = require("h5py", "inference")

    with h5py.File(path, "r", locking=False) as handle:
        return set(handle.keys())


def read_chain(path, block_name: str, seconds: float = float("nan")) -> Chain:
    """A block's stored chain (emcee's HDF5 layout: ``chain``, ``log_prob`` and ``accepted`` under the block's
    group, the steps done in its ``iteration`` attribute), read without an HDF5 file lock: a reader's lock would
    make the next step of a sampler writing the file fail (``BlockingIOError``), so reading a chain mid-run, for
    its diagnostics, is safe. A read between two of the writer's steps may miss the last one."""
    h5py = require("h5py", "inference")

    with h5py.File(path, "r", locking=False) as handle:
        group = handle[block_name]
        done = int(group.attrs["iteration"])
        samples, log_prob = group["chain"][:done], group["log_prob"][:done]
        accepted = np.asarray(group["accepted"][...], dtype=float)
    return Chain(block_name, sampled(block_name), samples, log_prob, float(np.mean(accepted / max(done, 1))), seconds)


def diagnostics(chain: Chain, burn: float = 0.5) -> dict[str, dict[str, float]]:
    """ArviZ's rank-normalised split R-hat and bulk effective sample size of each parameter (walkers as
    chains), after the burn-in; and emcee's integrated autocorrelation time in steps."""
    az = require("arviz", "inference")
    emcee = require("emcee", "inference")

    post = chain.posterior(burn)
    data = az.convert_to_inference_data({name: post[:, :, i] for i, name in enumerate(chain.parameters)})
    rhat, ess = az.rhat(data), az.ess(data)
    tau = emcee.autocorr.integrated_time(np.swapaxes(post, 0, 1), quiet=True)
    return {name: {"r_hat": float(rhat[name]), "ess_bulk": float(ess[name]), "tau_steps": float(tau[i])}
            for i, name in enumerate(chain.parameters)}


# --- priors -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Prior:
    """A parameter's prior: ``kind`` is ``log-uniform``, ``uniform``, ``log-normal`` or ``normal`` (the last two
    truncated to [low, high]); ``basis`` says why (``fitted``, ``prior-only`` for an assumed value, ``source``)."""

    kind: str
    low: float
    high: float
    centre: float
    basis: str
    sd: float | None = None  # in the normal's coordinate (the log for a log-normal); None: the range as +-2 SD

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        lo, hi = self.low, self.high
        if self.kind == "log-uniform":
            return np.exp(rng.uniform(math.log(lo), math.log(hi), n))
        if self.kind == "uniform":
            return rng.uniform(lo, hi, n)
        log = self.kind == "log-normal"
        a, b, c = (math.log(lo), math.log(hi), math.log(self.centre)) if log else (lo, hi, self.centre)
        sd = self.sd or (b - a) / 4.0
        out = np.empty(0)
        while out.size < n:  # truncation by rejection (the range is +-2 SD, so ~95% are kept)
            x = rng.normal(c, sd, 2 * n)
            out = np.concatenate([out, x[(x >= a) & (x <= b)]])
        out = out[:n]
        return np.exp(out) if log else out


def prior_of(name: str) -> Prior | None:
    """The prior of a parameter by the rules in the module docstring (None: not uncertain)."""
    rec = load_parameters()[name]
    if rec.value_grade == "definition" or rec.low == rec.high:
        return None
    log = rec.scale == "log"
    if rec.estimated and name in LITERATURE_PRIORS:  # as sampled (log_probability)
        return Prior("log-normal", max(rec.low, 1e-6), rec.high, LITERATURE_PRIORS[name][0], "fitted", LITERATURE_SD)
    if rec.estimated:  # log-uniform, or uniform on the lin scale
        return Prior("log-uniform" if log else "uniform", max(rec.low, 1e-6), rec.high, rec.value, "fitted")
    return Prior("log-normal" if log and rec.value > 0 else "normal", rec.low, rec.high, rec.value,
                 "prior-only" if rec.source_kind == "assumed" else "source")


# --- the ensemble ------------------------------------------------------------------------------------------------

HEALTHY_REST = {"pain_nrs": (0.0, 2.0), "crp_mg_l": (0.2, 3.0), "lm_ratio": (0.005, 0.05)}
"""What a parameter set must give the healthy scenario at rest to enter the ensemble: little pain (NRS < 2, the
'low pain' band of the population phenotypes; assumed), CRP at most 3 mg/L (the cut of the adult CRP targets,
data/calibration/population_targets.csv; a healthy person sits below it) and a normal lactulose:mannitol ratio
(the lower limit 0.005 of ``population.LM_PLAUSIBLE``, Hirsch 1997; the upper 0.05 assumed). This is the
plausibility step of Allen, Rieger & Musante 2016 (CPT Pharmacometrics Syst Pharmacol 5:140) applied to the
prior-only draws."""
MAX_ROUNDS = 40


def _plausible(sets: list[dict[str, float]]) -> np.ndarray:
    from gutjoint._studies.problem import prepare_many

    problems = prepare_many(["healthy"] * len(sets), sets, within_ranges=False)  # a prior's tail may pass a range
    ok = np.zeros(len(sets), dtype=bool)
    for i, problem in enumerate(problems):
        if problem.rest.ok:
            rest = problem.resting_outputs()
            ok[i] = all(lo <= rest[k] <= hi for k, (lo, hi) in HEALTHY_REST.items())
    return ok


def steps_of(steps: int | dict[str, int], block: str) -> int:
    """The steps of ``block``: one count for every block, or one per block."""
    return int(steps[block] if isinstance(steps, dict) else steps)


def share_of(burn: float | dict[str, float], block: str) -> float:
    """The burn-in share of ``block``: one share for every block, or one per block."""
    return float(burn[block] if isinstance(burn, dict) else burn)


def build_ensemble(chains: dict[str, Chain], *, draws: int = 500, seed: int = 2026,
                   burn: float | dict[str, float] = 0.5, condition: bool = True, workers: int = 1):
    """``draws`` parameter sets: the sampled blocks' posterior (thinned evenly over walkers and steps), every
    other uncertain parameter from its prior, redrawn until the healthy resting state is plausible
    (:data:`HEALTHY_REST`), and ``lps_per_fat`` and the attribution references recomputed for each set.

    With ``condition``, the prior-drawn parameters that act in the sampled blocks' data
    (:func:`acting_parameters`) are then conditioned on those data, draw by draw (:func:`condition_draw`, on
    ``workers`` processes), and marked ``conditioned``. Drawn from their priors alone, they raised the blocks'
    misfit from about 40-110 to 150-3,000 (the LPS challenge met by 5% of single draws). A conditioned draw must
    pass the healthy window too; one that leaves it is drawn again from the priors.

    Returns a DataFrame (one row per draw), the per-parameter basis, and a summary of the prior draws'
    acceptance and the conditioning."""
    import pandas as pd

    table = load_parameters()
    rng = np.random.default_rng(seed)
    posterior: dict[str, np.ndarray] = {}
    basis: dict[str, str] = {}
    for block_name, chain in chains.items():
        post = chain.posterior(share_of(burn, block_name)).reshape(-1, len(chain.parameters))
        pick = np.linspace(0, len(post) - 1, draws).round().astype(int)
        for i, name in enumerate(chain.parameters):  # parameters, and the calibration conditions' levels
            posterior[name] = np.exp(post[pick, i])
            basis[name] = f"posterior ({block_name} block)" + ("" if name in table else ", calibration condition")
    priors = {}
    for name in table.names:
        if name in posterior or name in DERIVED_PER_DRAW:
            continue
        prior = prior_of(name)
        if name in HELD:
            basis[name] = "held at the fit"
        elif name in NOT_SAMPLED:
            basis[name] = "held at the fit (the data do not inform it)"
        elif prior is not None and prior.basis != "fitted":
            priors[name] = prior
            basis[name] = prior.basis
    rows: list[dict[str, float] | None] = [None] * draws
    pending, tried, plausible_priors = list(range(draws)), 0, 0
    scales = acting_parameters(priors) if condition else {}
    rates, redrawn = [], 0
    with Executor(workers if scales else 1) as executor:
        for attempt in range(MAX_ROUNDS):
            if not pending:
                break
            candidates = [{**{k: float(v[i]) for k, v in posterior.items()},
                           **{k: float(p.draw(rng, 1)[0]) for k, p in priors.items()}} for i in pending]
            tried += len(candidates)
            keep = _plausible([{k: v for k, v in c.items() if k in table} for c in candidates])
            accepted = [(i, c) for i, c, ok in zip(pending, candidates, keep) if ok]
            plausible_priors += len(accepted)
            if scales and accepted:
                # conditioning may move a draw out of the healthy window: checked again, and redrawn if so
                jobs = [(c, priors, scales, [seed, i, attempt]) for i, c in accepted]
                done = executor.map(_condition_one, jobs)
                rates += [rate for _, rate in done]
                again = _plausible([{k: v for k, v in c.items() if k in table} for c, _ in done])
                redrawn += int((~again).sum())
                accepted = [(i, c) for (i, _), (c, _), ok in zip(accepted, done, again) if ok]
            for i, candidate in accepted:
                rows[i] = candidate
            pending = [i for i in pending if rows[i] is None]
    if pending:
        raise RuntimeError(f"{len(pending)} of {draws} draws found no plausible prior values in {MAX_ROUNDS} rounds")
    summary = {"prior_draw_acceptance": plausible_priors / tried}
    if scales:
        summary["conditioning"] = {
            "parameters": {k: round(v, 4) for k, v in scales.items()}, "steps": CONDITION_STEPS,
            "acceptance": float(np.mean(rates)), "redrawn": redrawn,
            "rule": f"median |change| of the blocks' misfit > {ACTING_THRESHOLD:g} at the fitted value "
                    f"{', '.join(f'{k:+g}' for k in ACTING_PROBES)} prior SDs; scales: the SD each leaves in its "
                    "prior's coordinate"}
        for name in scales:
            basis[name] = f"conditioned on the calibration data ({priors[name].basis} prior)"
    frame = pd.DataFrame(rows)
    noise = [_draw_noise_scales(row, np.random.default_rng([seed, i, 13])) for i, row in enumerate(rows)]
    for name in noise[0]:
        frame[NOISE_PREFIX + name] = [k.get(name, np.nan) for k in noise]
        basis[NOISE_PREFIX + name] = "drawn per draw from its conditional posterior (posterior.noise_scales)"
    derived = [_derived({k: v for k, v in row.items() if k in table}) for row in rows]
    for name in DERIVED_PER_DRAW:
        frame[name] = [d.get(name, np.nan) for d in derived]
        basis[name] = "recomputed per draw"
    frame.insert(0, "draw", np.arange(draws))
    return frame, basis, summary


def _draw_noise_scales(values: dict[str, float], rng: np.random.Generator) -> dict[str, float]:
    """The noise scale of each dataset of :func:`noise_groups`, drawn given one ensemble draw's residuals (only the
    blocks that have such datasets are run)."""
    groups = {name: noise_groups(name) for name in SAMPLED if noise_groups(name)}
    residuals = _block_residuals(values, tuple(groups)) or {}
    out = {}
    for name, own in groups.items():
        out.update(noise_scales(residuals[name], own, rng) if name in residuals else dict.fromkeys(own, math.nan))
    return out


def _condition_one(args):
    draw, priors, scales, seed = args
    return condition_draw(draw, priors, scales, seed)


ACTING_THRESHOLD = 1.0
"""A parameter drawn from its prior *acts in* a sampled block's data when moving it across its prior, with
everything else at the fitted values, changes the blocks' sum of squared standardised residuals by more than this
(median over the :data:`ACTING_PROBES`): a likelihood ratio beyond exp(-1/2)."""
ACTING_PROBES = (-2.0, -1.0, -0.5, 0.5, 1.0, 2.0)
"""Where a parameter is probed: its fitted value plus these multiples of its prior's SD, in the prior's coordinate
(clipped to the range). Fixed points, so the same parameters are found every time."""
CONDITION_STEPS = 40
"""Metropolis steps that condition one draw's acting parameters on the calibration data."""


def _transform(prior: Prior, value):
    """The coordinate a prior is normal in (log for a log-normal), and its centre and SD there."""
    log = prior.kind == "log-normal"
    z = np.log(value) if log else value
    a, b, c = (math.log(prior.low), math.log(prior.high), math.log(prior.centre)) if log else (
        prior.low, prior.high, prior.centre)
    return z, a, b, c, prior.sd or (b - a) / 4.0


def _block_residuals(values: dict[str, float], blocks: tuple[str, ...] = SAMPLED) -> dict[str, np.ndarray] | None:
    """Each of ``blocks``' standardised residuals under ``values`` (None where an experiment has no resting state or
    its run fails). Each block gets its own copy, with only its own calibration-condition levels (an ensemble row
    carries the barrier block's)."""
    out, table = {}, load_parameters()
    for name in blocks:
        block = _block(name)
        own = {k: v for k, v in values.items() if k in table or k in block.parameters}
        try:
            out[name] = block.residuals(own)
        except (SolverError, ValueError, FloatingPointError, ZeroDivisionError):  # no resting state, or a failed run
            return None
    return out


def _misfit(values: dict[str, float]) -> float:
    """The sampled blocks' summed :func:`deviance` under ``values``; inf where an experiment has no resting state or
    its run fails."""
    residuals = _block_residuals(values)
    if residuals is None:
        return math.inf
    total = sum(deviance(r, noise_groups(name)) for name, r in residuals.items())
    return total if math.isfinite(total) else math.inf


def acting_parameters(priors: dict[str, Prior]) -> dict[str, float]:
    """The prior-drawn parameters that act in the sampled blocks' data (:data:`ACTING_THRESHOLD`, probed at
    :data:`ACTING_PROBES`), each with the SD, in its prior's coordinate, that the data leave it around the fitted
    values: estimated from the same probes as a quadratic misfit, ``|dz| / sqrt(d misfit)``, and capped at the
    prior's SD. Everything else at the table's (fitted) values."""
    table = load_parameters()
    base = _misfit({})
    acting = {}
    for name, prior in priors.items():
        z0, lo, hi, _, sd = _transform(prior, table[name].value)
        z = np.clip(z0 + sd * np.array(ACTING_PROBES), lo, hi)
        values = np.exp(z) if prior.kind == "log-normal" else z
        change = np.array([_misfit({name: float(v)}) - base for v in values])
        if np.median(np.abs(change)) <= ACTING_THRESHOLD:
            continue
        rises = np.isfinite(change) & (change > 0)  # a probe without a resting state says nothing about the width
        widths = np.abs(z - z0)[rises] / np.sqrt(change[rises])
        acting[name] = float(min(sd, np.median(widths))) if widths.size else sd
    return acting


def condition_draw(draw: dict[str, float], priors: dict[str, Prior], scales: dict[str, float], seed: int,
                   steps: int = CONDITION_STEPS) -> tuple[dict[str, float], float]:
    """Condition one ensemble draw's acting parameters on the calibration data, given its sampled blocks' values:
    random-walk Metropolis on ``p(data | draw) * prior`` over the parameters in ``scales`` (proposal SD
    ``2.38 / sqrt(d)`` times each one's scale, Gelman, Roberts & Gilks 1996), from the table's values, where the
    blocks were sampled. Returns the draw with the final values, and the acceptance rate."""
    if not scales:
        return dict(draw), 0.0
    rng = np.random.default_rng([seed, 5])
    table = load_parameters()
    names = list(scales)
    forms = [_transform(priors[n], table[n].value) for n in names]
    z = np.array([f[0] for f in forms])
    lo, hi, centre, sd = (np.array([f[k] for f in forms]) for k in (1, 2, 3, 4))
    logs = np.array([priors[n].kind == "log-normal" for n in names])
    step = 2.38 / math.sqrt(len(names)) * np.array([scales[n] for n in names])

    def values_at(zz):
        return {**draw, **dict(zip(names, np.where(logs, np.exp(zz), zz).tolist()))}

    def log_target(zz):
        if np.any(zz < lo) or np.any(zz > hi):
            return -math.inf
        return -0.5 * _misfit(values_at(zz)) - 0.5 * float(np.sum(((zz - centre) / sd) ** 2))

    current, accepted = log_target(z), 0
    for _ in range(steps):
        proposal = z + step * rng.standard_normal(z.size)
        value = log_target(proposal)
        if math.log(rng.uniform()) < value - current:
            z, current, accepted = proposal, value, accepted + 1
    return values_at(z), accepted / steps


def _derived(values: dict[str, float]) -> dict[str, float]:
    """``lps_per_fat`` (the meal fit) and the attribution references under one draw's values (NaN where the
    draw has no healthy resting state)."""
    try:
        meal = fit.fit_meal(values)
        refs = fit.references({**values, **meal})
    except (SolverError, KeyError, ValueError, ZeroDivisionError):  # no healthy rest, or no meal fit
        return {}
    return {**meal, **refs}


def write_ensemble(frame, basis: dict[str, str], provenance: dict, folder: Path | None = None) -> Path:
    """The ensemble (Parquet) and its provenance (JSON) in ``folder`` (default: the package data)."""
    from gutjoint._files import atomic_write

    folder = Path(folder) if folder is not None else ensemble_path().parent
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / ENSEMBLE_FILE, lambda tmp: frame.to_parquet(tmp, index=False), field="out")
    atomic_write(folder / PROVENANCE_FILE, lambda tmp: tmp.write_text(json.dumps({**provenance, "basis": basis},
                                                                                  indent=1)), field="out")
    return folder / ENSEMBLE_FILE


# --- posterior predictive checks ----------------------------------------------------------------------------------

HELD_OUT_BLOCKS = ("validation", "timecourses")
"""The observation blocks never fitted whose points the predictive check also scores: the validation targets and
the time courses from other laboratories (each with its assay factor profiled, draw by draw)."""


def residual_labels() -> dict[str, list[str]]:
    """The dataset each entry of a block's residual vector belongs to (the ``dataset`` of its observation row)."""
    return {block: list(observations.rows_of(block)["dataset"]) for block in (*SAMPLED, *HELD_OUT_BLOCKS)}


def validation_residuals(params: dict[str, float]) -> np.ndarray:
    """Standardised residuals (model - data) / SD of the held-out validation rows of the observation table under
    ``params``: each target's tolerance range read as data, its centre (geometric for a fold) with a quarter of
    the range as SD. None of the sources reports a spread for these numbers, so the tolerance is taken as 2 SD, as
    for C7 and N1."""
    return observations.residuals("validation", params)


def predictive_coverage(ensemble, *, draws: int = 200, seed: int = 3, level: float = 0.90) -> list[dict]:
    """Posterior predictive check of every calibration data point with a measurement error model, and of the
    held-out points (:data:`HELD_OUT_BLOCKS`): the share of points inside the central ``level`` band of the
    predictive distribution (model under each draw plus the point's own measurement noise, drawn once per draw: its
    row's SD, times the draw's noise scale where its dataset has one). Residuals are standardised (model - data) /
    SD, so a point is covered when 0 lies inside the band of ``r + noise``. Blocks draw their noise in the order of
    :func:`residual_labels`, so adding a held-out block leaves the earlier blocks' coverage as it was."""
    rng = np.random.default_rng(seed)
    labels = residual_labels()
    sets = ensemble.parameter_sets()[:draws]
    records = ensemble.values.iloc[:draws].to_dict("records")
    conditions = [{k: float(v) for k, v in row.items() if k in fit.NUISANCE_RANGES} for row in records]
    residuals: dict[str, list[np.ndarray]] = {block: [] for block in labels}
    own_parameters = {block: set(_block(block).parameters) if block in SAMPLED else set() for block in labels}
    for values, levels in zip(sets, conditions):
        for block in labels:
            try:
                own = {**values, **{k: v for k, v in levels.items() if k in own_parameters[block]}}
                residuals[block].append(_block(block).residuals(own) if block in SAMPLED
                                        else observations.residuals(block, values))
            except (SolverError, ValueError, FloatingPointError):  # a draw without a resting state in an experiment
                residuals[block].append(np.full(len(labels[block]), observations.FAILED))
    tail = (1 - level) / 2
    rows = []
    for block, names in labels.items():
        R = np.array(residuals[block])
        ok = (np.abs(R) < observations.FAILED).all(axis=1)
        scale = np.ones(R.shape)  # each point's noise SD in its row's SD: the draw's scale of its dataset, or 1
        if block in SAMPLED:
            for j, name in enumerate(names):
                scale[:, j] = [row.get(NOISE_PREFIX + name, 1.0) for row in records[:len(R)]]
        predictive = R[ok] + scale[ok] * rng.standard_normal(R[ok].shape)
        lo, hi = np.quantile(predictive, [tail, 1 - tail], axis=0)
        covered = (lo <= 0) & (0 <= hi)
        for dataset in dict.fromkeys(names):
            idx = [i for i, name in enumerate(names) if name == dataset]
            rows.append({"block": block, "dataset": dataset, "points": len(idx),
                         "covered": int(covered[idx].sum()), "coverage": float(covered[idx].mean()),
                         "draws": int(ok.sum())})
    return rows


def target_pass_rates(ensemble, *, draws: int = 60) -> list[dict]:
    """For every calibration and validation target, the share of ensemble draws under which the model meets it
    (the held-out validation targets were never fitted: this is their predictive check). A draw under which some
    experiment has no resting state is left out of every rate and counted in ``draws_without_rest``."""
    from gutjoint._studies.calibration.targets import check

    sets = ensemble.parameter_sets()[:draws]
    conditions = [{k: float(v) for k, v in row.items() if k in fit.NUISANCE_RANGES}
                  for row in ensemble.values.iloc[:draws].to_dict("records")]
    tallies: dict[str, dict] = {}
    unsettled = 0
    for values, levels in zip(sets, conditions):
        try:
            outcomes = check(values, {**_shipped_conditions(), **levels})
        except (SolverError, ValueError, FloatingPointError):  # a draw without a resting state in an experiment
            unsettled += 1
            continue
        for target, outcome in outcomes:
            row = tallies.setdefault(target.id, {"target": target.id, "group": target.group, "passed": 0,
                                                 "evaluated": 0, "what": target.what})
            if outcome.passed is not None:
                row["evaluated"] += 1
                row["passed"] += int(bool(outcome.passed))
    return [{**row, "pass_rate": row["passed"] / row["evaluated"] if row["evaluated"] else None,
             "draws_without_rest": unsettled} for row in tallies.values()]


def _shipped_conditions() -> dict[str, float]:
    from gutjoint._studies.calibration.conditions import load_conditions

    return dict(load_conditions())


# --- the whole run: `gutjoint calibrate --sample` -------------------------------------------------------------------

def data_digest() -> str:
    """SHA-256 of the calibration data tables the chains read (their rows, not their comments; the held-out
    tables of ``data.HELD_OUT_TABLES`` are not among them) and of what the chains read from the parameter table:
    each parameter's name, value, range, scale and estimate (a new column, a comment or a reworded source leaves
    it)."""
    import hashlib

    from gutjoint._studies.calibration.data import HELD_OUT_TABLES

    digest = hashlib.sha256()
    folder = resources.files("gutjoint.data.calibration")
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".csv") and item.name not in HELD_OUT_TABLES:
            rows = [line for line in item.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
            digest.update("\n".join(rows).encode())
    for rec in load_parameters().records:
        digest.update(f"{rec.name},{rec.value!r},{rec.low!r},{rec.high!r},{rec.scale},{rec.estimate}\n".encode())
    return digest.hexdigest()[:16]


MOVES = {"stretch": "the affine-invariant stretch move (a = 2; Goodman & Weare 2010)",
         "de-snooker": "differential evolution (ter Braak 2006) 80% with snooker updates (ter Braak & Vrugt 2008) "
                       "20%"}
"""emcee moves by name; benchmarks/bench_sampler.py compares them on the innate block."""


def _moves(name: str):
    emcee = require("emcee", "inference")

    if name == "stretch":
        return None
    return [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)]


def _sample_to_file(block_name: str, folder: Path, steps: int, seconds: float | None, seed: int, moves: str,
                    pool: Executor, progress=None) -> Chain:
    counter = Path(folder) / f"progress_{block_name}.txt"

    def tick(k, n):
        if k % 10 == 0 or k == n:
            counter.write_text(f"{k} {n}")
            if progress:
                progress(_progress(Path(folder)), n * len(SAMPLED))

    return sample_block(block_name, Path(folder) / f"chain_{block_name}.h5", steps=steps, seconds=seconds,
                        seed=seed, progress=tick, moves=_moves(moves), start_from="laplace", pool=pool)


def sample_posterior(out, *, steps: int | dict[str, int] = 4000, seconds: float | None = None, draws: int = 500,
                     seed: int = 1, workers: int = 2, write: bool = False, progress=None, moves: str = "de-snooker",
                     burn: float | dict[str, float] = 0.5, history: str = "") -> dict:
    """Sample every block in :data:`SAMPLED` (one after the other, each block's walkers evaluated on ``workers``
    processes; ``steps``: one count, or one per block; an interrupted run resumes from its HDF5 chains in
    ``out``), check the chains, build the ensemble and write it with its provenance into ``out`` (and, with
    ``write``, into the package data). ``progress(done, total)`` is called every 10 steps. ``moves``: a
    name in :data:`MOVES`; ``burn``: the share of each chain's steps discarded (one for all, or per block);
    ``history``: how earlier runs that the chains resume from were made (kept in the provenance)."""
    import datetime
    import importlib.metadata
    from gutjoint._errors import OptionError
    if min(steps_of(steps, name) for name in SAMPLED) < 100:
        raise OptionError("calibrate", "steps", steps, "at least 100 (half are discarded as burn-in)")
    if not 10 <= draws <= 5000:
        raise OptionError("calibrate", "draws", draws, "10 to 5000")
    if moves not in MOVES:
        raise OptionError("calibrate", "moves", moves, ", ".join(MOVES))
    for name in SAMPLED:
        if not 0.0 <= share_of(burn, name) < 0.95:
            raise OptionError("calibrate", "burn", burn, "a share of the steps in [0, 0.95)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with Executor(max(1, workers)) as pool:  # one block after the other, its walkers over the workers
        chains = {name: _sample_to_file(name, out, steps_of(steps, name), seconds, seed, moves, pool, progress)
                  for name in SAMPLED}
    elapsed = time.perf_counter() - t0
    checks = {name: diagnostics(chain, share_of(burn, name)) for name, chain in chains.items()}
    frame, basis, built = build_ensemble(chains, draws=draws, seed=seed, burn=burn, workers=workers)
    provenance = {
        "created": datetime.date.today().isoformat(),
        "data_sha256": data_digest(),
        "sampler": f"emcee {importlib.metadata.version('emcee')} EnsembleSampler, {MOVES[moves]}"
                   + (f"; resumed from: {history}" if history else ""),
        "blocks": {name: {"parameters": list(chain.parameters), "walkers": int(chain.samples.shape[1]),
                          "steps": int(chain.samples.shape[0]),
                          "burn_in": f"first {share_of(burn, name):.0%} of the steps",
                          "acceptance": chain.acceptance, "seconds": chain.seconds,
                          "diagnostics": checks[name]} for name, chain in chains.items()},
        "draws": draws, "thinning": "evenly spaced over the post-burn-in draws of all walkers",
        **built, "healthy_rest_window": HEALTHY_REST, "held": list(HELD),
        "seed": seed, "wall_seconds": elapsed,
    }
    write_ensemble(frame, basis, provenance, out)
    if write:
        write_ensemble(frame, basis, provenance)
    return provenance


def _progress(out: Path) -> int:
    done = 0
    for name in SAMPLED:
        try:
            done += int((out / f"progress_{name}.txt").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return done
