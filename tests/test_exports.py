"""SBML and PEtab exports come from the single definition and are checked by the field's own tools."""

from __future__ import annotations

import libsbml
import numpy as np
import pytest

import gutjoint
from gutjoint.interfaces.petab_export import export_petab, lint
from gutjoint.interfaces.sbml import build_sbml
from gutjoint.studies.runtime import get_runtime
from gutjoint.studies.scenario import load_scenario
from gutjoint.studies.simulate import parameter_vector, resting_state


def test_sbml_is_valid_level3_version2():
    doc = build_sbml()
    doc.checkConsistency()
    assert doc.getNumErrors(libsbml.LIBSBML_SEV_ERROR) == 0
    assert doc.getNumErrors(libsbml.LIBSBML_SEV_FATAL) == 0
    assert (doc.getLevel(), doc.getVersion()) == (3, 2)
    model = doc.getModel()
    assert model.getNumSpecies() == len(get_runtime().state_names)
    assert model.getNumRules() >= model.getNumSpecies()


def test_libroadrunner_on_the_sbml_matches_the_engine():
    roadrunner = pytest.importorskip("roadrunner")
    runtime = get_runtime()
    scenario = load_scenario("endotoxemia-2ngkg")
    p = parameter_vector(runtime, scenario)
    rest = resting_state(runtime, scenario, p)
    initial = {n: float(v) for n, v in zip(runtime.state_names, rest.y)}
    initial["lps_iv"] = 2.0 * 1000 / gutjoint.parameters()["plasma_volume"].value
    rr = roadrunner.RoadRunner(libsbml.writeSBMLToString(build_sbml(initial=initial)))
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.absolute_tolerance = 1e-12
    columns = {"tnf": "tnf_pg_ml", "il6": "il6_pg_ml", "crp": "crp_mg_l", "lm_ratio": "lm_ratio", "pain_nrs": "pain_nrs"}
    result = rr.simulate(0, 2, 49, selections=["time", *columns])
    frame = gutjoint.simulate(scenario).frame
    for sbml_id, column in columns.items():
        np.testing.assert_allclose(result[sbml_id], frame[column].to_numpy(), rtol=1e-5, atol=1e-9)


def test_petab_export_passes_the_linter(tmp_path):
    yaml_path = export_petab(tmp_path / "petab")
    assert lint(yaml_path)
    import pandas as pd

    measurements = pd.read_csv(tmp_path / "petab" / "measurements.tsv", sep="\t")
    janum = measurements[measurements["datasetId"] == "janum2016"]
    assert janum["time"].max() <= 6 / 24 + 1e-12  # the synthetic 7 h and 8 h rows are not exported
    parameters = pd.read_csv(tmp_path / "petab" / "parameters.tsv", sep="\t")
    assert parameters["estimate"].sum() >= 20
