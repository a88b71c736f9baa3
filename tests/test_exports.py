"""SBML and PEtab exports come from the single definition and are checked by the field's own tools."""

from __future__ import annotations

import libsbml
import numpy as np
import pytest

import gutjoint
from gutjoint._interfaces.petab_export import export_petab, lint
from gutjoint._biology.species import PINNED_OUTPUTS
from gutjoint._interfaces.sbml import antimony_text, build_sbml
from gutjoint._studies.runtime import get_runtime
from gutjoint._studies.problem import prepare


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
    rest = prepare("endotoxemia-2ngkg").rest
    initial = {n: float(v) for n, v in zip(runtime.state_names, rest.y)}
    initial["lps_iv"] = 2.0 * 1000 / gutjoint.parameters()["plasma_volume"].value
    rr = roadrunner.RoadRunner(libsbml.writeSBMLToString(build_sbml(initial=initial)))
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.absolute_tolerance = 1e-12
    columns = {"tnf": "tnf_pg_ml", "il6": "il6_pg_ml", "crp": "crp_mg_l", "lm_ratio": "lm_ratio", "pain_nrs": "pain_nrs"}
    result = rr.simulate(0, 2, 49, selections=["time", *columns])
    frame = gutjoint.simulate("endotoxemia-2ngkg").frame
    for sbml_id, column in columns.items():
        np.testing.assert_allclose(result[sbml_id], frame[column].to_numpy(), rtol=1e-5, atol=1e-9)


def test_petab_export_passes_the_linter(tmp_path):
    yaml_path = export_petab(tmp_path / "petab")
    assert lint(yaml_path)
    import pandas as pd

    measurements = pd.read_csv(tmp_path / "petab" / "measurements.tsv", sep="\t")
    janum = measurements[measurements["datasetId"].str.match("C[123]_")]
    assert janum["time"].max() <= 6 / 24 + 1e-12  # the synthetic 7 h and 8 h rows are not exported
    parameters = pd.read_csv(tmp_path / "petab" / "parameters.tsv", sep="\t")
    assert parameters["estimate"].sum() >= 20


def test_petab_measurements_and_estimates_come_from_the_calibration_definition():
    """The exported problem reads the same tables, noise and estimated set as `gutjoint calibrate`, so a change to
    a target reaches both (no number is written twice)."""
    import numpy as np

    from gutjoint._interfaces.petab_export import measurements_table, parameters_table
    from gutjoint._studies.calibration import data
    from gutjoint._studies.calibration.fit import BLOCKS

    fitted = {n for b in BLOCKS if b.name in ("barrier", "innate") for n in b.parameters if n in gutjoint.parameters()}
    table = parameters_table({}).set_index("parameterId")
    estimated = set(table.index[table["estimate"] == 1])
    assert estimated == fitted and {"il6_basal", "tnf_basal"} <= estimated  # the innate block's basal terms too
    scales = {rec.name: rec.scale for rec in gutjoint.parameters().records}  # the one scale the fit's priors use
    assert all(table.loc[n, "parameterScale"] == {"log": "log10", "lin": "lin"}[scales[n]] for n in fitted)
    m = measurements_table()
    gfd = m[m["datasetId"].str.startswith("C7_gfd")].sort_values("time")
    targets = ("gfd_week1", "gfd_month2", "gfd_rhamnose_month3", "gfd_lactulose_month12")
    assert list(gfd["measurement"]) == [data.gfd_relative(t) for t in targets]
    assert list(gfd["noiseParameters"]) == [data.relative_sd(t) for t in targets]
    ppt = m[m["observableId"] == "obs_ppt_relative"]
    assert set(ppt["noiseParameters"]) == {data.THRESHOLD_SD}  # the fit's error model, not the data's SD
    before, after, day = data.support_definition()
    zhou = m[m["datasetId"] == "barrier_support"].sort_values("time")
    assert list(zhou["measurement"]) == [before, after] and list(zhou["time"]) == [0.0, day]
    cytokines = data.janum_cytokines()
    tnf = m[m["observableId"] == "obs_tnf"].sort_values("time")
    np.testing.assert_array_equal(tnf["noiseParameters"], data.log_noise(cytokines["tnf_mean"], cytokines["tnf_sd"]))


def test_the_petab_measurements_are_the_observation_rows_it_can_state_and_the_rest_say_why(tmp_path):
    """Every row of the one observation table is either a PEtab measurement (same value, time and SD) or listed in
    ``left_out.tsv`` with its reason; the one-sided bounds (C6, the coeliac year) are among the latter."""
    import pandas as pd

    from gutjoint._interfaces.petab_export import left_out, measurements_table
    from gutjoint._studies.calibration import observations

    table = observations.observations()
    stated, skipped = measurements_table(), left_out()
    assert len(stated) + len(skipped) == len(table)
    kept = table.drop(skipped.index)
    np.testing.assert_array_equal(stated["measurement"], kept["value"])
    np.testing.assert_array_equal(stated["noiseParameters"], kept["sigma"])
    assert (skipped["why"] != "").all()
    assert set(skipped.loc[skipped["noise"] == "at-most", "experiment"]) == {"alcohol-cessation", "gluten-free-diet"}
    export_petab(tmp_path / "petab")
    assert len(pd.read_csv(tmp_path / "petab" / "left_out.tsv", sep="\t")) == len(skipped)


# --- scenarios encoded in the SBML, checked by other engines -------------------------------------------------
# Agreement criterion: |engine - gutjoint| <= RTOL * |gutjoint| + ATOL_FLOOR in every pinned output column;
# the floor (1e-7, in the column's unit) covers quantities that sit at zero.
RTOL_ROADRUNNER, RTOL_COPASI, ATOL_FLOOR = 1e-4, 1e-3, 1e-7
OUTPUTS = PINNED_OUTPUTS[1:]  # every pinned column but time
ACCEPTED_WARNINGS = {10501, 10513, 10532, 10562, 99505}  # unit consistency: the equations mix scaled units, see below


def _reference(scenario):
    return gutjoint.simulate(scenario, tolerances=gutjoint.Tolerances(rtol=1e-10, atol=1e-12)).frame


def _assert_agrees(frame, other, rtol):
    for column in OUTPUTS:
        a, b = np.asarray(other[column], dtype=float), frame[column].to_numpy()
        excess = np.abs(a - b) - (rtol * np.abs(b) + ATOL_FLOOR)
        worst = int(np.argmax(excess))
        assert excess[worst] <= 0, f"{column} at t={frame['time_days'].iloc[worst]:g}: {a[worst]!r} vs {b[worst]!r}"


def test_scenario_sbml_is_consistent_with_units_declared():
    """0 errors; the only warnings are unit-consistency ones. They are accepted: rates are written in the model's
    own mixed scales (hourly processes times 24 h/d, dimensionless scores and multipliers), which libsbml cannot
    reconcile into one unit system."""
    doc = build_sbml(scenario="repeated-endotoxemia")
    doc.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, True)
    doc.checkConsistency()
    errors = [doc.getError(i) for i in range(doc.getNumErrors())]
    assert not [e for e in errors if e.getSeverity() >= libsbml.LIBSBML_SEV_ERROR]
    assert {e.getErrorId() for e in errors} <= ACCEPTED_WARNINGS
    model = doc.getModel()
    assert model.getNumEvents() >= 1 and model.getTimeUnits() == "day"
    assert model.getParameter("lps_clearance").getUnits() == "per_hour"
    annotated = [p for p in model.getListOfParameters() if p.getNumCVTerms()]
    assert len(annotated) >= 5  # every parameter whose source names a DOI or PMID links to it
    assert all("identifiers.org/" in p.getCVTerm(0).getResourceURI(0) for p in annotated)


def _roadrunner_agrees(scenario):
    """libRoadRunner, given only the exported file, reproduces gutjoint's run of ``scenario``; returns that run."""
    roadrunner = pytest.importorskip("roadrunner")
    frame = _reference(scenario)
    rr = roadrunner.RoadRunner(libsbml.writeSBMLToString(build_sbml(scenario=scenario)))
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.absolute_tolerance = 1e-12
    result = rr.simulate(times=list(frame["time_days"]), selections=list(OUTPUTS))
    _assert_agrees(frame, {c: result[c] for c in OUTPUTS}, RTOL_ROADRUNNER)
    return frame


@pytest.mark.parametrize("name", sorted(gutjoint.scenarios()))
def test_libroadrunner_reproduces_every_builtin_scenario_from_the_file_alone(name):
    _roadrunner_agrees(name)


def test_libroadrunner_reproduces_an_infusion():
    frame = _roadrunner_agrees({"days": 1, "step_hours": 0.5,
                                "doses": [{"name": "lps_iv", "amount": 2.0, "day": 0.25, "duration_hours": 4}]})
    assert frame["lps_pg_ml"].max() > 2 * frame["lps_pg_ml"].iloc[0]


@pytest.mark.parametrize("name", ["endotoxemia-2ngkg", "barrier-support", "high-fat-meal", "repeated-endotoxemia"])
def test_copasi_agrees_on_scenarios(name):
    basico = pytest.importorskip("basico")
    frame = _reference(name)
    times = frame["time_days"].to_numpy()
    model = basico.load_model_from_string(libsbml.writeSBMLToString(build_sbml(scenario=name)))
    try:
        course = basico.run_time_course(duration=float(times[-1]), intervals=len(times) - 1, start_time=0.0,
                                        a_tol=1e-12, r_tol=1e-10, model=model, use_initial_values=True,
                                        update_model=False)
    finally:
        basico.remove_datamodel(model)
    course = course.rename(columns=lambda c: c[len("Values["):-1] if c.startswith("Values[") else c)
    assert np.allclose(course.index.to_numpy(), times, atol=1e-9)
    _assert_agrees(frame, {c: course[c].to_numpy() for c in OUTPUTS}, RTOL_COPASI)


def test_antimony_text_round_trips():
    import antimony

    text = antimony_text(scenario="barrier-support")
    assert "pain_nrs :=" in text and "at time >= 90" in text
    antimony.clearPreviousLoads()
    assert antimony.loadAntimonyString(text) >= 0
    sbml = antimony.getSBMLString(antimony.getMainModuleName())
    assert libsbml.readSBMLFromString(sbml).getModel().getNumSpecies() == len(get_runtime().state_names)


def test_the_exported_petab_problem_gives_the_fits_residuals(tmp_path):
    """One parameter vector (the shipped one) through the exported PEtab problem, simulated by libRoadRunner with
    PEtab's semantics (preequilibrate under the preequilibration condition, then apply the simulation condition),
    gives the same standardised residuals as `gutjoint calibrate`'s fit, point for point, for the Janum 2016
    cytokines, temperature and relative pain threshold."""
    roadrunner = pytest.importorskip("roadrunner")
    import pandas as pd
    import petab.v1 as petab

    from gutjoint._studies.calibration import data
    from gutjoint._studies.calibration.fit import innate_residuals

    problem = petab.Problem.from_yaml(str(export_petab(tmp_path / "petab")))
    rr = roadrunner.RoadRunner(str(tmp_path / "petab" / "model.xml"))
    rr.integrator.relative_tolerance, rr.integrator.absolute_tolerance = 1e-10, 1e-12
    conditions = problem.condition_df
    measured = problem.measurement_df[problem.measurement_df["datasetId"].str.match("C[123]_")]
    assert set(measured["preequilibrationConditionId"]) == {"healthy"}

    def apply(condition: str) -> None:
        for column, value in conditions.loc[condition].items():
            if pd.notna(value):
                rr[column] = float(value)

    apply("healthy")
    rr.simulate(0, 50_000, 2)  # preequilibration: to the resting steady state (cartilage held)
    apply("lps_bolus_2ngkg")
    times = sorted(set(measured["time"]))
    out = rr.simulate(times=times, selections=["time", "tnf", "il6", "il8", "il10", "temperature",
                                               "pain_threshold_rel"])
    petab_residuals = []
    for _, row in measured.iterrows():
        key = {"obs_ppt_relative": "pain_threshold_rel"}.get(row["observableId"], row["observableId"].removeprefix("obs_"))
        value = out[key][times.index(row["time"])]
        transform = problem.observable_df.loc[row["observableId"], "observableTransformation"]
        gap = np.log(value) - np.log(row["measurement"]) if transform == "log" else value - row["measurement"]
        petab_residuals.append(gap / row["noiseParameters"])
    n = 4 * len(data.janum_cytokines()) + len(data.janum_temperature()) + len(data.janum_pain_threshold()) - 1
    assert len(petab_residuals) == n
    np.testing.assert_allclose(petab_residuals, innate_residuals({})[:n], rtol=1e-3, atol=1e-4)


def test_every_identifier_matches_its_pattern_and_names_a_model_quantity():
    from gutjoint._biology.identifiers import PATTERNS, load_identifiers

    idents = load_identifiers()
    known = set(get_runtime().state_names) | set(get_runtime().output_names)
    for name, ident in idents.items():
        assert name in known, f"identifiers.csv names {name!r}, which is no state or output"
        assert PATTERNS[ident.namespace].match(ident.resource), ident
    for required in ("tnf", "il6", "il8", "il10", "crp", "lps_gut", "lactulose_rel", "mannitol_rel", "treg",
                     "monocytes_active"):
        assert required in idents
    assert {idents[c].resource for c in ("tnf", "il6", "il8", "il10", "crp")} == {
        "uniprot:P01375", "uniprot:P05231", "uniprot:P10145", "uniprot:P22301", "uniprot:P02741"}


def test_the_sbml_carries_identifiers_sbo_terms_and_model_metadata():
    from gutjoint._biology.identifiers import SBO_TERMS, load_identifiers

    doc = build_sbml(scenario="barrier-support")
    assert doc.checkConsistency() == 0 or not [doc.getError(i) for i in range(doc.getNumErrors())
                                               if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR]
    model = doc.getModel()
    for name, ident in load_identifiers().items():
        element = model.getSpecies(name) or model.getParameter(name)
        uris = [element.getCVTerm(k).getResourceURI(j) for k in range(element.getNumCVTerms())
                for j in range(element.getCVTerm(k).getNumResources())]
        assert ident.uri in uris, name
    tnf = model.getSpecies("tnf").getCVTerm(0)
    assert tnf.getBiologicalQualifierType() == libsbml.BQB_IS
    assert model.getSpecies("treg").getCVTerm(0).getBiologicalQualifierType() == libsbml.BQB_IS_VERSION_OF
    table = get_runtime().parameters
    terms = {model.getParameter(p.name).getSBOTermID() for p in table.records}
    assert terms <= set(SBO_TERMS.values()) and len(terms) == 3
    assert model.getParameter("tj_repair_rate").getSBOTermID() == "SBO:0000009"  # a rate: kinetic constant
    assert model.getParameter("tnf_half_joint").getSBOTermID() == "SBO:0000027"  # half-saturation
    history = model.getModelHistory()
    assert history.getNumCreators() >= 1 and history.isSetCreatedDate() and history.getNumModifiedDates() >= 1
    assert "taxonomy/9606" in libsbml.writeSBMLToString(doc)
    assert "Licence: MIT" in model.getNotesString()
