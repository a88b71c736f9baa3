"""gutjoint: an executable, evidence-graded mechanistic model of the gut–joint axis.

Educational research tool; not medical advice. The public surface::

    import gutjoint
    result = gutjoint.simulate("barrier-support")   # a built-in name, a .toml path, a dict or a Scenario
    result.frame                                      # pandas DataFrame: the pinned output columns, then extras
    result.to_file("out.parquet"); gutjoint.plot(result, "out.png")   # the figure (matplotlib)
    gutjoint.scenarios()                              # built-in scenario names -> descriptions
    gutjoint.parameters(); gutjoint.links()           # the evidence tables
    problem = gutjoint.prepare("healthy"); problem.solve()["pain_nrs"]   # a prepared run, arrays out
    gutjoint.explain("gut-driven-joint-pain"); gutjoint.run_population("barrier-support", n=100, seed=1, out="pop")
    gutjoint.run_sensitivity(...); gutjoint.calibrate(out="fit"); gutjoint.check_calibration()
    gutjoint.simulate_ensemble("barrier-support")    # xarray Dataset over the parameter ensemble (dims draw, time)
    gutjoint.run_trial("barrier-support-joint-pain"); gutjoint.trial_power("anti-tnf-ra", [25, 50])
    gutjoint.infer_person(gutjoint.read_person("me.csv"))   # a person's own numbers -> their answer
    gutjoint.build_sbml(scenario="healthy"); gutjoint.export_petab("petab"); gutjoint.write_omex("m.omex", ["healthy"])

Every module behind this face is private (``gutjoint._studies.population`` and the like): its names may change
between versions; the names in ``__all__`` are the ones kept.
"""

from importlib.metadata import version as _version

from gutjoint._errors import GutjointError, InputError, ModelDefinitionError, ScenarioError, SolverError
from gutjoint._biology.links import Link, load_links as links
from gutjoint._biology.parameters import Parameter, ParameterTable, load_parameters as parameters
from gutjoint._numerics.integrate import Tolerances
from gutjoint._numerics.status import Status
from gutjoint._safety import DISCLAIMER, RED_FLAGS, triage
from gutjoint._studies.scenario import Dose, InputWindow, Scenario, load_scenario
from gutjoint._studies.simulate import SimulationResult, simulate

__version__ = _version("gutjoint")



_STUDIES = {  # name -> (module, attribute); imported on first use, so `import gutjoint` stays light
    "context": ("gutjoint._studies.context", "context"),
    "Context": ("gutjoint._studies.context", "Context"),
    "prepare": ("gutjoint._studies.problem", "prepare"),
    "infer_person": ("gutjoint._studies.person", "infer_person"),
    "read_person": ("gutjoint._studies.person", "read_person"),
    "person_from_rows": ("gutjoint._studies.person", "person_from_rows"),
    "solve_many": ("gutjoint._studies.problem", "solve_many"),
    "Problem": ("gutjoint._studies.problem", "Problem"),
    "Solution": ("gutjoint._studies.problem", "Solution"),
    "explain": ("gutjoint._studies.attribution", "explain_pain"),
    "run_population": ("gutjoint._studies.population", "run_population"),
    "run_sensitivity": ("gutjoint._studies.sensitivity", "run_sensitivity"),
    "calibrate": ("gutjoint._interfaces.calibration_report", "calibrate"),
    "check_calibration": ("gutjoint._studies.calibration", "check"),
    "simulate_ensemble": ("gutjoint._studies.uncertainty", "simulate_ensemble"),
    "load_ensemble": ("gutjoint._studies.ensemble", "load_ensemble"),
    "explain_ensemble": ("gutjoint._studies.attribution", "explain_ensemble"),
    "run_trial": ("gutjoint._studies.trial", "run_trial"),
    "trial_power": ("gutjoint._studies.trial", "trial_power"),
    "plot": ("gutjoint._interfaces.figures", "plot_simulation"),
    "scenario_schema": ("gutjoint._studies.scenario", "json_schema"),
    "build_sbml": ("gutjoint._interfaces.sbml", "build_sbml"),
    "antimony_text": ("gutjoint._interfaces.sbml", "antimony_text"),
    "export_petab": ("gutjoint._interfaces.petab_export", "export_petab"),
    "lint_petab": ("gutjoint._interfaces.petab_export", "lint"),
    "write_omex": ("gutjoint._interfaces.omex", "write_omex"),
}


def __getattr__(name: str):
    if name in _STUDIES:
        import importlib

        module, attribute = _STUDIES[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gutjoint' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


def scenarios() -> dict[str, str]:
    """Built-in scenario names and their one-line descriptions."""
    from gutjoint._studies.scenario import builtin_scenarios

    return {name: load_scenario(name).description for name in builtin_scenarios()}


__all__ = [
    "DISCLAIMER",
    "Dose",
    "GutjointError",
    "InputError",
    "InputWindow",
    "Link",
    "ModelDefinitionError",
    "Parameter",
    "ParameterTable",
    "Problem",
    "RED_FLAGS",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "Solution",
    "SolverError",
    "Status",
    "Tolerances",
    "antimony_text",
    "build_sbml",
    "calibrate",
    "check_calibration",
    "explain",
    "explain_ensemble",
    "export_petab",
    "infer_person",
    "links",
    "lint_petab",
    "load_ensemble",
    "load_scenario",
    "parameters",
    "person_from_rows",
    "plot",
    "prepare",
    "read_person",
    "run_population",
    "run_sensitivity",
    "run_trial",
    "scenario_schema",
    "scenarios",
    "simulate",
    "simulate_ensemble",
    "solve_many",
    "triage",
    "trial_power",
    "write_omex",
]
