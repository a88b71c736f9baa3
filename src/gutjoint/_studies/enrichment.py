"""Enrichment of a trial by the posterior gut share (issue 31): screen each eligible person with a diary and two
labs, weigh them against a bank of the screening population (:mod:`.person`'s weighting), and enrol those whose
posterior gut share is high; compare the power with the unselected trial at equal size, under the table's values
and over the parameter ensemble."""

from __future__ import annotations

import hashlib
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from gutjoint._errors import ScenarioError
from gutjoint._studies.shipped import ShippedResult
from gutjoint._studies.person import NOISE, _normalised, log_weights, simulated_measurements, weighted_quantiles

SCREENING_PLAN = [("pain_nrs", 28), ("lm_ratio", 1), ("crp_mg_l", 1)]
"""What each screened person measures: a 4-week daily pain diary, one L:M and one CRP."""


def enrichment(trial_name: str = "barrier-support-joint-pain", *, threshold: float | None = None, per_arm: int = 60,
               repeats: int = 200, pool_size: int = 800, bank_size: int = 6000, seed: int = 5,
               alpha: float = 0.05, parameters: dict[str, float] | None = None) -> dict:
    """A trial enriched by the posterior gut share against the same trial unselected, at equal size. Each eligible
    person of the trial's pool measures :data:`SCREENING_PLAN` (with noise) at screening; weighed against a bank of
    people living the trial's screening scenario (apart from the pool), their posterior mean gut share decides
    enrolment (at least ``threshold``; default: the pool's median, so that half enrol). Returns the share enrolled,
    each design's power for the pain change over ``repeats`` trials (with its binomial standard error), the true
    effect in each design's people and the screening posteriors' spread, if the model is right: under the table's
    values, or under ``parameters`` (an ensemble draw: the pool, the bank and the trials all live it;
    :func:`enrichment_over_ensemble` runs one per draw)."""
    from gutjoint._studies import trial as T
    from gutjoint._studies.population import run_population

    trial = T.load_trial(trial_name)
    pool_ = T.pool(trial, pool_size, parameters)
    with tempfile.TemporaryDirectory() as folder:
        out = run_population(T.screening_scenario(trial), n=bank_size, seed=seed + 1000, out=Path(folder) / "bank",
                             parameters=parameters)
        bank = pd.read_parquet(out / "subjects.parquet")
    bank = bank[bank["status"] == "success"]
    eligible = np.ones(len(bank), bool)
    for criterion in trial.eligibility:
        column = {"pain_nrs": "baseline_pain", "lm_ratio": "baseline_lm", "crp_mg_l": "baseline_crp"}.get(criterion.name)
        if column is not None:
            eligible &= [criterion.holds(v) for v in bank[column].to_numpy(float)]
    bank = bank[eligible].reset_index(drop=True)
    control = pool_["outcomes"][trial.control.name]
    rng = np.random.default_rng(seed)
    rows = pool_["rows"]
    posterior = np.full(rows.size, np.nan)
    share = bank["gut_share"].to_numpy(float)
    for k, row in enumerate(rows):
        rest = {"baseline_pain": control["pain_nrs"][row, 0], "baseline_lm": control["lm_ratio"][row, 0],
                "baseline_crp": control["crp_mg_l"][row, 0]}
        w = _normalised(log_weights(bank, simulated_measurements(rng, rest, SCREENING_PLAN)))
        posterior[k] = float(np.sum(w * np.nan_to_num(share)))
    threshold = float(np.median(posterior)) if threshold is None else threshold
    enriched = dict(pool_, rows=rows[posterior >= threshold])
    result = {"trial": trial_name, "threshold": threshold, "per_arm": per_arm, "repeats": repeats,
              "pool": int(rows.size), "enrolled_share": float(np.mean(posterior >= threshold)),
              "bank_people": len(bank)}
    for name, chosen in (("unselected", pool_), ("enriched", enriched)):
        if chosen["rows"].size < 2 * per_arm:
            result[name] = {"power": math.nan, "power_se": math.nan, "people": int(chosen["rows"].size)}
            continue
        draws = np.random.default_rng(seed + 1)
        hits = np.array([T.one_trial(trial, chosen, per_arm, draws, alpha)[0] for _ in range(repeats)])
        result[name] = {"power": float(hits.mean()), "power_se": float(math.sqrt(hits.mean() * (1 - hits.mean())
                                                                                   / repeats)),
                        "people": int(chosen["rows"].size), "effect": _effect(trial, chosen)}
    result["posterior_gut_share"] = weighted_quantiles(posterior, np.full(posterior.size, 1 / posterior.size))
    return result


def _effect(trial, chosen: dict) -> float:
    """The mean pain change under the active arm minus the control, over a pool's people (no placebo or noise)."""
    from gutjoint._studies import trial as T

    active = next(a for a in trial.arms if not a.control)
    ones = np.ones(chosen["rows"].size)
    return float(np.mean(T.endpoints(trial, active, chosen["outcomes"], chosen["rows"], ones)["pain_change"]
                         - T.endpoints(trial, trial.control, chosen["outcomes"], chosen["rows"], ones)["pain_change"]))


ENSEMBLE_DRAWS = 40
SHIPPED = "enrichment_ensemble.json"
SETTINGS = {"trial_name": "barrier-support-joint-pain", "per_arm": 40, "repeats": 200}
"""The shipped comparison over the ensemble: the README's trial and size."""


def key(draws: int = ENSEMBLE_DRAWS) -> str:
    """What the shipped comparison depends on: the engine and model, the ensemble, the trial file, the settings and
    the screening measurements' noise."""
    from gutjoint._studies.ensemble import load_ensemble
    from gutjoint._studies.trial import engine_key, load_trial

    trial = load_trial(SETTINGS["trial_name"])
    noise = [(o, NOISE[o].kind, NOISE[o].sd) for o, _ in SCREENING_PLAN]
    text = repr((engine_key(), load_ensemble().key, Path(trial.source).read_text(encoding="utf-8"), draws,
                 sorted(SETTINGS.items()), SCREENING_PLAN, noise))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def enrichment_over_ensemble(draws: int = ENSEMBLE_DRAWS, *, trial_name: str = SETTINGS["trial_name"],
                             per_arm: int = SETTINGS["per_arm"], repeats: int = SETTINGS["repeats"],
                             progress=None) -> dict:
    """:func:`enrichment` under each of the ensemble's first ``draws`` parameter sets (default :data:`SETTINGS`): per
    draw the two powers, the gain (enriched minus unselected) and the true effects; over draws the gain's median,
    90% interval and the share of draws where enriching helps, beside the Monte Carlo standard error of one draw's
    gain. A draw whose screening finds too few eligible people is counted, not used."""
    from gutjoint._studies.ensemble import load_ensemble

    per_draw: list[dict | None] = []
    for k, values in enumerate(load_ensemble().parameter_sets(draws=draws)):
        try:
            r = enrichment(trial_name, per_arm=per_arm, repeats=repeats, parameters=values)
        except ScenarioError:
            per_draw.append(None)
        else:
            u, e = r["unselected"], r["enriched"]
            per_draw.append({"unselected": u["power"], "enriched": e["power"], "gain": e["power"] - u["power"],
                             "gain_se": math.sqrt(u["power_se"] ** 2 + e["power_se"] ** 2),
                             "effect_unselected": u["effect"], "effect_enriched": e["effect"],
                             "threshold": r["threshold"]})
        if progress:
            progress(k + 1, draws)
    used = [d for d in per_draw if d is not None]
    if not used:
        raise ScenarioError(trial_name, "screened", draws, "a screening that finds enough eligible people under at "
                            "least one parameter set")
    gains = np.array([d["gain"] for d in used])
    q05, q50, q95 = np.quantile(gains, [0.05, 0.5, 0.95])
    settings = {"trial_name": trial_name, "per_arm": per_arm, "repeats": repeats}
    return {"key": key(draws) if settings == SETTINGS else None, "draws": draws, "settings": settings,
            "per_draw": per_draw,
            "unscreenable": draws - len(used), "gain_median": float(q50), "gain_q05": float(q05),
            "gain_q95": float(q95), "helps_share": float(np.mean(gains > 0)),
            "gain_se_median": float(np.median([d["gain_se"] for d in used])),
            "unselected_median": float(np.median([d["unselected"] for d in used])),
            "enriched_median": float(np.median([d["enriched"] for d in used]))}


SHIPPED_RESULT = ShippedResult(
    SHIPPED, enrichment_over_ensemble, lambda result: key(result["draws"]),
    "the shipped enrichment over the ensemble is missing or stale (the model, the ensemble or the trial changed): "
    "run `python -c \"from gutjoint._studies import enrichment; enrichment.write_shipped()\"`")
write_shipped, shipped, STALE = SHIPPED_RESULT.write, SHIPPED_RESULT.load, SHIPPED_RESULT.stale
