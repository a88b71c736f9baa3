"""Where does the pain come from? The four-source split, and the gut-attributable share.

The four sources (inflammation, immune activation, cartilage breakdown, metabolic stress) each reach the joint
through one signal. :func:`explain_pain` removes sources by holding their signals at the healthy reference,
simulates every combination, and shares the pain above the subject's floor out by Shapley values, which sum
exactly to it. The gut share is a second counterfactual: the same subject and scenario with every gut exposure
removed (no dysbiosis, barrier insult, enteric infection or high-fat diet; a typical antigen load; typical
barrier resilience).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from gutjoint._arguments import real
from gutjoint._errors import OptionError, SolverError
from gutjoint._biology.species import PAIN_SOURCES
from gutjoint._studies.scenario import (InputWindow, Scenario, load_scenario,
                                     without_gut_drivers)
from gutjoint._studies.problem import MANY_RUN_TOLERANCES
from gutjoint._studies.simulate import simulate_many

RUNS = 2 ** len(PAIN_SOURCES) + 1
"""Simulations behind one explanation: every combination of sources held, and one without the gut drivers."""

SOURCE_LINKS = {  # the causal links (_biology/links.csv) through which each source reaches joint pain
    "inflammation": ("L13", "L18"),
    "immune": ("L6", "L6b", "L22", "M8"),
    "cartilage": ("L19", "L19b", "M9"),
    "metabolic": ("L20b", "L14"),
}


def source_grades() -> dict[str, list[str]]:
    """Evidence grade of each link in :data:`SOURCE_LINKS`."""
    from gutjoint._biology.links import load_links

    grade = {link.id: link.grade for link in load_links()}
    return {source: [grade[i] for i in ids] for source, ids in SOURCE_LINKS.items()}


def with_input(scenario: Scenario, name: str, level: float, start_day: float = 0.0) -> Scenario:
    """``scenario`` plus one more input window from ``start_day`` to the horizon."""
    window = InputWindow(name, level, start_day, scenario.days)
    return dataclasses.replace(scenario, name=f"{scenario.name} + {name}", inputs=scenario.inputs + (window,))


@dataclass(frozen=True)
class PainAttribution:
    """Pain on one day, split among the four sources (Shapley values, NRS points) above the subject's floor.

    ``floor`` is the pain with every source's signal held at its healthy reference; ``sources`` sum exactly to
    ``pain_nrs - floor``. ``output_split`` is the model's own proportional split of the whole pain (the
    ``pain_<source>`` columns). ``gut_share`` is the fraction of pain that would go if barrier and microbiome
    were healthy, all else equal (``pain_without_gut`` is that pain)."""

    scenario: str
    day: float
    pain_nrs: float
    floor: float
    sources: dict[str, float]
    output_split: dict[str, float]
    gut_share: float
    pain_without_gut: float

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _value_at(frame, day: float) -> tuple[float, Any]:
    row = frame.iloc[(frame["time_days"] - day).abs().argmin()]
    return float(row["pain_nrs"]), row


def shapley(values: dict[frozenset, float], players: tuple[str, ...]) -> dict[str, float]:
    """Shapley values of ``players`` for a game given on every coalition (Shapley 1953): each player's marginal
    contribution averaged over all orders in which the coalition can form. They sum to v(all) - v(empty)."""
    n = len(players)
    out = {}
    for player in players:
        others = [q for q in players if q != player]
        total = 0.0
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for coalition in itertools.combinations(others, size):
                c = frozenset(coalition)
                total += weight * (values[c | {player}] - values[c])
        out[player] = total
    return out


COALITIONS = tuple(frozenset(c) for size in range(len(PAIN_SOURCES) + 1)
                   for c in itertools.combinations(PAIN_SOURCES, size))


def _runs(scenario: Scenario) -> list[Scenario]:
    """The 16 coalition runs (a source left out is held at its healthy reference) and the run without the gut
    drivers."""
    return [*(dataclasses.replace(scenario, parameters={**scenario.parameters,
                                                         **{f"keep_{s}": float(s in c) for s in PAIN_SOURCES}})
              for c in COALITIONS), without_gut_drivers(scenario)]


def _checked_day(scenario: Scenario, day: float | None) -> float:
    if day is None:
        return scenario.days
    allowed = f"0 to {scenario.days:g}"
    day = real(scenario.source, "day", day, -math.inf, math.inf, what=f"a day from {allowed}")
    if not 0 <= day <= scenario.days:
        raise OptionError(scenario.source, "day", day, allowed, problem="is outside the run")
    return day


def _attribute(name: str, day: float, results) -> PainAttribution:
    values = {c: _value_at(r.frame, day)[0] for c, r in zip(COALITIONS, results)}
    pain, row = _value_at(results[COALITIONS.index(frozenset(PAIN_SOURCES))].frame, day)
    without_gut = _value_at(results[-1].frame, day)[0]
    return PainAttribution(
        scenario=name, day=float(row["time_days"]), pain_nrs=pain, floor=values[frozenset()],
        sources=shapley(values, PAIN_SOURCES), output_split={s: float(row[f"pain_{s}"]) for s in PAIN_SOURCES},
        gut_share=max(0.0, 1.0 - without_gut / pain) if pain > 0 else 0.0, pain_without_gut=without_gut)


def explain_pain(scenario, day: float | None = None) -> PainAttribution:
    """Where the pain on ``day`` (default: the horizon) comes from.

    Removing a source means holding its signal into the joint at the healthy reference (the ``keep_<source>``
    switches of the model) for the whole run, so the knock-on effects (less synovitis, less IL-6 spill, less
    sensitization) are simulated, not assumed. All 16 combinations are simulated and the pain is shared out by
    Shapley values; a 17th run without the gut drivers gives the gut share."""
    scenario = load_scenario(scenario)
    day = _checked_day(scenario, day)
    results = simulate_many(_runs(scenario), tolerances=MANY_RUN_TOLERANCES)
    for result in results:
        if not result.ok:
            raise SolverError(f"{scenario.source}: a counterfactual run failed ({result.status.code}): "
                              f"{result.status.advice}", code=result.status.code, advice=result.status.advice)
    return _attribute(scenario.name, day, results)


def explain_ensemble(scenario, day: float | None = None, *, ensemble=None, draws: int | None = 100,
                     quantiles=(0.05, 0.5, 0.95)) -> dict:
    """:func:`explain_pain` over ``draws`` parameter sets of the ensemble: quantiles of the pain, of each
    source's Shapley value and of the gut share (draws whose runs fail are left out and counted)."""
    from gutjoint._studies import uncertainty

    scenario = load_scenario(scenario)
    day = _checked_day(scenario, day)
    ensemble = ensemble or uncertainty.load_ensemble()
    qs = uncertainty.check_quantiles(quantiles, "explain")
    members = uncertainty.draw_scenarios(scenario, ensemble, draws)
    width = len(COALITIONS) + 1
    results = simulate_many([run for member in members for run in _runs(member)], tolerances=MANY_RUN_TOLERANCES)
    attributions = []
    for k in range(len(members)):
        part = results[k * width:(k + 1) * width]
        if all(r.ok for r in part):
            attributions.append(_attribute(scenario.name, day, part))
    if not attributions:
        raise SolverError(f"{scenario.source}: every draw's counterfactual runs failed")

    def spread(values):
        return {f"q{round(q * 100):02d}": float(v) for q, v in zip(qs, np.quantile(values, qs))}

    return {"scenario": scenario.name, "day": attributions[0].day, "draws": len(members),
            "failed": len(members) - len(attributions),
            "pain_nrs": spread([a.pain_nrs for a in attributions]),
            "sources": {s: spread([a.sources[s] for a in attributions]) for s in PAIN_SOURCES},
            "gut_share": spread([a.gut_share for a in attributions]),
            "honesty": uncertainty.honesty_line(ensemble)}



