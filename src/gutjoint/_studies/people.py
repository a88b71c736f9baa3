"""One way to turn people into runs: a person (traits, background exposures and the parameters people differ in,
as :func:`gutjoint._studies.priors.draw_subject` draws them) living a scenario becomes a :class:`Problem`.

Populations, trial screening and arms, and the calibration's reference cohort all go through
:func:`people_problems` (prepared in one batch); the population's selection step uses :func:`candidate_vectors`,
the same numbers as arrays, to the bit (a test holds the two together).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from gutjoint._errors import InputError
from gutjoint._biology import species
from gutjoint._studies.priors import DRAWS, EXPOSURE_NAMES, LABELS
from gutjoint._studies.problem import Problem, prepare_many, resting_inputs
from gutjoint._studies.runtime import Runtime, get_runtime
from gutjoint._studies.scenario import InputWindow, Scenario

GENERAL_ADULTS = Scenario(name="general adults at rest", days=1.0, step_hours=24.0)


def subject_scenario(base: Scenario, subject: dict[str, float]) -> Scenario:
    """The scenario as this subject lives it. The subject's sampled traits replace the scenario's own where both
    set one (a population varies the people, the scenario fixes what happens to them); a trait the priors do not
    draw (the RA-like autoimmunity) stays the scenario's; sampled parameters apply unless the scenario overrides
    them; sampled background exposures apply to every input the scenario leaves untouched."""
    touched = {w.name for w in base.inputs}
    background = tuple(InputWindow(e, subject[e], 0.0, base.days) for e in EXPOSURE_NAMES if e not in touched)
    traits = {k: v for k, v in subject.items() if k in species.TRAITS}
    params = {k: v for k, v in subject.items() if k not in species.TRAITS and k not in EXPOSURE_NAMES
              and k not in LABELS and k not in base.parameters}
    return replace(base, subject={**base.subject, **traits}, parameters={**base.parameters, **params},
                   inputs=background + base.inputs)


def candidate_vectors(adults: Scenario, candidates: list[dict[str, float]],
                      runtime: Runtime | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Parameter rows and resting-input rows of candidates living in ``adults`` (a scenario without
    interventions), built as arrays: the same numbers, to the bit, as :func:`prepare_many` gives for
    ``[subject_scenario(adults, c) for c in candidates]``, without making those scenarios."""
    runtime = runtime or get_runtime()
    if not candidates:
        return np.empty((0, len(runtime.parameters.names))), np.empty((0, len(runtime.input_names)))
    index = {n: i for i, n in enumerate(runtime.parameters.names)}
    keys = list(candidates[0])
    params = [k for k in keys if k not in species.TRAITS and k not in EXPOSURE_NAMES and k not in LABELS
              and k not in adults.parameters]
    traits = [k for k in keys if k in species.TRAITS]
    unknown = [k for k in params + traits if k not in index]
    if unknown:
        raise InputError(f"{adults.source}: unknown parameter {unknown[0]!r}")
    values = np.array([[c[k] for k in keys] for c in candidates])
    column = {k: j for j, k in enumerate(keys)}
    P = np.tile(runtime.parameters.vector(adults.overrides()), (len(candidates), 1))
    for group in (params, traits):  # in overrides() order: a trait wins over a parameter of the same name
        P[:, [index[k] for k in group]] = values[:, [column[k] for k in group]]
    U = np.tile(resting_inputs(runtime, adults), (len(candidates), 1))
    touched = {w.name for w in adults.inputs}
    exposures = [e for e in EXPOSURE_NAMES if e not in touched and e in runtime.input_names
                 and e not in species.INTERVENTIONS]
    U[:, [runtime.input_index(e) for e in exposures]] = values[:, [column[e] for e in exposures]]
    return P, U


def living_under(scenario: Scenario, parameters: dict[str, float]) -> Scenario:
    """``scenario`` under a parameter set (an ensemble draw): its values apply below the scenario's own, and
    the parameters people differ in (``priors.DRAWS``) stay each person's."""
    if not parameters:
        return scenario
    shared = {k: v for k, v in parameters.items() if k not in DRAWS and k not in scenario.overrides()}
    return replace(scenario, parameters={**shared, **scenario.parameters})


def people_problems(base: Scenario, people: Sequence[dict[str, float]], *,
                    parameters: Sequence[dict[str, float] | None] | None = None, rest_cache: dict | None = None,
                    relax: bool = True, runtime: Runtime | None = None) -> list[Problem]:
    """Each person of ``people`` living ``base`` (:func:`subject_scenario`), prepared in one batch
    (:func:`gutjoint._studies.problem.prepare_many`, whose ``parameters``, ``rest_cache`` and ``relax`` these are)."""
    return prepare_many([subject_scenario(base, person) for person in people], parameters, rest_cache=rest_cache,
                        relax=relax, runtime=runtime)
