"""The gut share of joint pain by who the people are, over the parameters' uncertainty, before and after the
gut-joint fit.

For each population of :data:`POPULATIONS` and each of the ensemble's first :data:`DRAWS` parameter sets, one
virtual population of :data:`PEOPLE` (the same people in every draw: common random numbers) is run, and two
numbers are read: the share of people with at least moderate pain (:data:`.trial.PAIN_MODERATE`) and the median
gut share among them. *After* is the shipped ensemble, whose fitted magnitudes are drawn from the gut-joint
posterior; *before* is the same draws with those magnitudes drawn again from their priors
(:func:`.calibration.gut_joint.coordinates`). The spread over draws is what is not known about the model; the
spread between people lives inside each draw.

The result ships as package data (:data:`SHIPPED`, keyed by :func:`key`) because it takes minutes; a test
recomputes one of its draws."""

from __future__ import annotations

import hashlib
import math
import tempfile

import numpy as np
import pandas as pd

from gutjoint._studies.shipped import ShippedResult

POPULATIONS = {"healthy": "general adults", "coeliac": "untreated coeliac disease",
               "gut-driven-joint-pain": "dysbiosis and a stressed barrier (the SpA-like trials' people)",
               "ra-like": "RA-like autoimmunity, healthy barrier"}
"""Scenario -> who its people are. Every population draws its traits from the general-adult priors; the scenario
sets its exposures."""

DRAWS = 100
PEOPLE = 300
SEED = 1
PRIOR_SEED = 17
MIN_MODERATE = 5
"""Fewer people with moderate pain than this in a draw and its median gut share is not read (NaN)."""
SHIPPED = "gut_share_populations.json"


def prior_parameter_sets(draws: int = DRAWS, seed: int = PRIOR_SEED) -> list[dict[str, float]]:
    """The ensemble's first ``draws`` parameter sets with the gut-joint fitted magnitudes drawn from their priors
    (truncated normal in each prior's own coordinate), as they were before the fit."""
    from scipy.stats import truncnorm

    from gutjoint._studies.calibration.gut_joint import coordinates
    from gutjoint._studies.ensemble import load_ensemble

    sets = load_ensemble().parameter_sets(draws=draws)
    rng = np.random.default_rng(seed)
    for c in coordinates():
        a, b = (c.low - c.centre) / c.sd, (c.high - c.centre) / c.sd
        xs = truncnorm.rvs(a, b, loc=c.centre, scale=c.sd, size=len(sets), random_state=rng)
        for values, x in zip(sets, xs):
            values[c.name] = c.value(float(x))
    return sets


def moderate_gut_shares(scenario: str, parameters: dict[str, float] | None = None, *, people: int = PEOPLE,
                        seed: int = SEED) -> tuple[float, np.ndarray]:
    """``scenario``'s people under ``parameters`` (default the table): the share of them with at least moderate pain
    at the end, and the gut shares of those people."""
    from gutjoint._studies.population import run_population
    from gutjoint._studies.trial import PAIN_MODERATE

    with tempfile.TemporaryDirectory() as folder:
        run_population(scenario, n=people, seed=seed, out=folder, parameters=parameters)
        frame = pd.read_parquet(f"{folder}/subjects.parquet")
    frame = frame[frame["status"] == "success"]
    moderate = frame.loc[frame["final_pain"] >= PAIN_MODERATE, "gut_share"].dropna()
    return len(moderate) / max(len(frame), 1), moderate.to_numpy(float)


def population_numbers(scenario: str, parameters: dict[str, float], *, people: int = PEOPLE,
                       seed: int = SEED) -> dict[str, float]:
    """One draw: the share of ``scenario``'s people with at least moderate pain at the end, and the median gut
    share among them (NaN when fewer than :data:`MIN_MODERATE`)."""
    share, gut = moderate_gut_shares(scenario, parameters, people=people, seed=seed)
    return {"moderate": share, "gut_share": float(np.median(gut)) if gut.size >= MIN_MODERATE else math.nan}


def key(draws: int = DRAWS, people: int = PEOPLE) -> str:
    """What the shipped numbers depend on: the model and engine, the ensemble, the fitted magnitudes' priors, the
    populations' scenarios and the settings."""
    from gutjoint._studies.calibration.gut_joint import coordinates
    from gutjoint._studies.ensemble import load_ensemble
    from gutjoint._studies.scenario import load_scenario, scenario_to_dict
    from gutjoint._studies.trial import engine_key

    text = repr((engine_key(), load_ensemble().key, [c.__dict__ for c in coordinates()],
                 {s: scenario_to_dict(load_scenario(s)) for s in POPULATIONS}, draws, people, SEED, PRIOR_SEED,
                 MIN_MODERATE))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _over_draws(values: list[float]) -> dict:
    x = np.asarray(values, dtype=float)
    finite = x[np.isfinite(x)]
    if not finite.size:
        return {"per_draw": values, "median": None, "q05": None, "q95": None, "draws": 0}
    q05, q50, q95 = np.quantile(finite, [0.05, 0.5, 0.95])
    return {"per_draw": values, "median": float(q50), "q05": float(q05), "q95": float(q95), "draws": int(finite.size)}


def compute(*, draws: int = DRAWS, people: int = PEOPLE, progress=None) -> dict:
    """Every population under every draw, before and after the fit (minutes: ``8 * draws`` populations)."""
    from gutjoint._studies.ensemble import load_ensemble

    phases = {"before": prior_parameter_sets(draws), "after": load_ensemble().parameter_sets(draws=draws)}
    result = {"key": key(draws, people), "draws": draws, "people": people, "populations": {}}
    done, total = 0, len(POPULATIONS) * 2 * draws
    for scenario in POPULATIONS:
        entry = {}
        for phase, sets in phases.items():
            numbers = []
            for values in sets:
                numbers.append(population_numbers(scenario, values, people=people))
                done += 1
                if progress:
                    progress(done, total)
            entry[phase] = {name: _over_draws([n[name] for n in numbers]) for name in ("moderate", "gut_share")}
        result["populations"][scenario] = entry
    return result


SHIPPED_RESULT = ShippedResult(
    SHIPPED, compute, lambda result: key(result["draws"], result["people"]),
    "the shipped gut share by population is missing or stale (the model, the ensemble or a population's scenario "
    "changed): run `python -c \"from gutjoint._studies import gut_share; gut_share.write_shipped()\"`")
write_shipped, shipped, STALE = SHIPPED_RESULT.write, SHIPPED_RESULT.load, SHIPPED_RESULT.stale
