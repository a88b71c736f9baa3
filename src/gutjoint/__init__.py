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
"""

from importlib.metadata import version as _version

from gutjoint._errors import GutjointError, InputError, ModelDefinitionError, ScenarioError, SolverError
from gutjoint.biology.links import Link, load_links as links
from gutjoint.biology.parameters import Parameter, ParameterTable, load_parameters as parameters
from gutjoint.numerics.integrate import Tolerances
from gutjoint.numerics.status import Status
from gutjoint.safety import DISCLAIMER, RED_FLAGS, triage
from gutjoint.studies.scenario import Dose, InputWindow, Scenario, load_scenario
from gutjoint.studies.simulate import SimulationResult, simulate

__version__ = _version("gutjoint")



_STUDIES = {  # name -> (module, attribute); imported on first use, so `import gutjoint` stays light
    "prepare": ("gutjoint.studies.problem", "prepare"),
    "solve_many": ("gutjoint.studies.problem", "solve_many"),
    "Problem": ("gutjoint.studies.problem", "Problem"),
    "Solution": ("gutjoint.studies.problem", "Solution"),
    "explain": ("gutjoint.studies.attribution", "explain_pain"),
    "run_population": ("gutjoint.studies.population", "run_population"),
    "run_sensitivity": ("gutjoint.studies.sensitivity", "run_sensitivity"),
    "calibrate": ("gutjoint.interfaces.calibration_report", "calibrate"),
    "check_calibration": ("gutjoint.studies.calibration", "check"),
    "simulate_ensemble": ("gutjoint.studies.uncertainty", "simulate_ensemble"),
    "load_ensemble": ("gutjoint.studies.uncertainty", "load_ensemble"),
    "explain_ensemble": ("gutjoint.studies.attribution", "explain_ensemble"),
    "run_trial": ("gutjoint.studies.trial", "run_trial"),
    "trial_power": ("gutjoint.studies.trial", "trial_power"),
    "plot": ("gutjoint.interfaces.figures", "plot_simulation"),
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
    from gutjoint.studies.scenario import builtin_scenarios

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
    "calibrate",
    "check_calibration",
    "explain",
    "explain_ensemble",
    "links",
    "load_ensemble",
    "load_scenario",
    "parameters",
    "plot",
    "prepare",
    "run_population",
    "run_sensitivity",
    "run_trial",
    "scenarios",
    "simulate",
    "simulate_ensemble",
    "solve_many",
    "triage",
    "trial_power",
]
