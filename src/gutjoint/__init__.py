"""gutjoint: an executable, evidence-graded mechanistic model of the gut–joint axis.

Educational research tool; not medical advice. The public surface::

    import gutjoint
    result = gutjoint.simulate("barrier-support")   # a built-in name, a .toml path, a dict or a Scenario
    result.frame                                      # pandas DataFrame, output columns of DESIGN.md §3
    result.to_file("out.parquet"); result.plot("out.png")
    gutjoint.scenarios()                              # built-in scenario names -> descriptions
    gutjoint.parameters(); gutjoint.links()           # the evidence tables
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
    "RED_FLAGS",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "SolverError",
    "Status",
    "Tolerances",
    "links",
    "load_scenario",
    "parameters",
    "scenarios",
    "simulate",
    "triage",
]
