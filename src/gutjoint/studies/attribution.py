"""Where does the pain come from? The four-source split, and the gut-attributable share.

The four sources (inflammation, immune activation, cartilage breakdown, metabolic stress) are output
columns of every simulation (``pain_<source>``, in NRS points, summing to ``pain_nrs``). The gut share is
a counterfactual: the same subject and scenario with every gut exposure removed (no dysbiosis, barrier
insult, enteric infection or high-fat diet; a typical antigen load; typical barrier resilience).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from gutjoint.biology.species import PAIN_SOURCES
from gutjoint.studies.scenario import INPUT_DEFAULTS, InputWindow, Scenario, load_scenario
from gutjoint.studies.simulate import simulate

GUT_INPUTS = ("dysbiosis", "barrier_insult", "enteric_infection", "high_fat_diet", "diet_antigen")


def without_gut_drivers(scenario: Scenario) -> Scenario:
    """The counterfactual scenario: gut exposures at their defaults, barrier resilience typical."""
    inputs = tuple(w for w in scenario.inputs if w.name not in GUT_INPUTS)
    subject = {k: v for k, v in scenario.subject.items() if k != "barrier_resilience"}
    return dataclasses.replace(scenario, name=f"{scenario.name} (gut drivers removed)", inputs=inputs,
                               subject=subject)


def with_input(scenario: Scenario, name: str, level: float, start_day: float = 0.0) -> Scenario:
    """``scenario`` plus one more input window from ``start_day`` to the horizon."""
    window = InputWindow(name, level, start_day, scenario.days)
    return dataclasses.replace(scenario, name=f"{scenario.name} + {name}", inputs=scenario.inputs + (window,))


@dataclass(frozen=True)
class PainAttribution:
    day: float
    pain_nrs: float
    sources: dict[str, float]
    gut_share: float
    pain_without_gut: float


def explain_pain(scenario, day: float | None = None) -> PainAttribution:
    """Pain at ``day`` (default: the horizon) split into its four sources, and the gut-attributable share."""
    scenario = load_scenario(scenario)
    day = scenario.days if day is None else day
    actual = simulate(scenario).frame
    counter = simulate(without_gut_drivers(scenario)).frame
    row = actual.iloc[(actual["time_days"] - day).abs().argmin()]
    row0 = counter.iloc[(counter["time_days"] - day).abs().argmin()]
    pain = float(row["pain_nrs"])
    share = max(0.0, 1.0 - float(row0["pain_nrs"]) / pain) if pain > 0 else 0.0
    return PainAttribution(day=float(row["time_days"]), pain_nrs=pain,
                           sources={s: float(row[f"pain_{s}"]) for s in PAIN_SOURCES},
                           gut_share=share, pain_without_gut=float(row0["pain_nrs"]))


assert set(GUT_INPUTS) <= set(INPUT_DEFAULTS)
