"""What may help a person, as changes to the scenario they live: one list for the person report (``gutjoint
report``) and for a person's own forecast (``gutjoint person``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from gutjoint._biology import species
from gutjoint._studies.scenario import INPUT_DEFAULTS, InputWindow, Scenario


@dataclass(frozen=True)
class Option:
    """One thing that may help, as a change to the scenario from the start day on."""

    key: str
    label: str
    changes: tuple[tuple[str, float], ...]  # (input, level) windows added from the start day
    links: tuple[str, ...]  # causal links (_biology/links.csv) the benefit rests on
    caveat: str


OPTIONS = (
    Option("barrier_support", "Barrier support (as strong as glutamine 5 g three times a day)",
           (("barrier_support", 1.0),), ("M3", "L2b", "L3", "L21"),
           "Barrier support normalised permeability in a human trial; that this then relieves joint pain has not "
           "been tested in people (a hypothesis)."),
    Option("microbiome", "Microbiome restoration (dysbiosis removed)", (("dysbiosis", 0.0),),
           ("L7", "L7b", "L15", "L1c"),
           "Links from the microbiome to joints rest on human associations and mouse experiments."),
    Option("anti_tnf", "Anti-TNF medicine (90% of TNF activity blocked)", (("anti_tnf", 0.9),), ("L18", "L13", "M10"),
           "Sized on the difference between drug and placebo in anti-TNF trials in rheumatoid arthritis (RAPID 2, "
           "van de Putte 2004); in those trials relief starts within the first week or two."),
    Option("metabolic", "Weight-loss-like metabolic change (metabolic stress halved)", (), ("L20", "L20b"),
           "Weight loss lowered IL-6 in a human trial (IDEA); that trial did not isolate weight loss as the cause of "
           "less knee pain (exercise without it relieved pain too), and the size of the effect here is assumed."),
)
OPTION_KEYS = tuple(o.key for o in OPTIONS)


def untreated(scenario: Scenario) -> Scenario:
    """``scenario`` without its interventions."""
    return dataclasses.replace(scenario, inputs=tuple(w for w in scenario.inputs
                                                      if w.name not in species.INTERVENTIONS))


def level_at(scenario: Scenario, name: str, day: float) -> float:
    """The level of input ``name`` in effect at ``day`` (the last covering window wins, as in the engine)."""
    level = INPUT_DEFAULTS[name]
    for w in scenario.inputs:
        if w.name == name and w.start_day <= day < w.end_day:
            level = w.level
    return level


def with_option(scenario: Scenario, option: Option, start: float) -> Scenario:
    """``scenario`` with ``option`` from day ``start`` to its end. The metabolic change halves the metabolic
    stress in effect at ``start``; start after day 0 for an option that changes an exposure, so that the resting
    state is the person's own."""
    changes = option.changes
    if option.key == "metabolic":
        changes = (("metabolic_stress", 0.5 * level_at(scenario, "metabolic_stress", start)),)
    windows = tuple(InputWindow(name, level, start, scenario.days) for name, level in changes)
    return dataclasses.replace(scenario, name=f"{scenario.name} + {option.key}", inputs=scenario.inputs + windows)
