"""The one table of observations and the context: every datum is a row, every study reads today's tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import gutjoint
from gutjoint._studies.calibration import fit, observations, posterior


def test_every_fit_block_and_the_validation_targets_read_their_rows_of_the_one_table():
    table = observations.observations()
    assert tuple(table.columns) == observations.COLUMNS
    for block, residuals in (("innate", fit.innate_residuals({})), ("barrier", fit.barrier_residuals({})),
                             ("validation", posterior.validation_residuals({}))):
        rows = observations.rows_of(block)
        assert len(residuals) == len(rows) and (np.abs(residuals) < observations.FAILED).all()
        assert posterior.residual_labels()[block] == list(rows["dataset"])
    assert set(table["role"]) == set(observations.ROLES)
    assert set(table.loc[table["role"] == "validate", "block"]) == {"validation", "timecourses", "gut-joint"}
    assert not set(table.loc[table["role"] == "validate", "block"]) & {b.name for b in fit.BLOCKS}  # never fitted


@pytest.mark.parametrize("noise, model, value, sigma, n, expected", [
    ("normal", 3.0, 2.0, 0.5, math.nan, 2.0),
    ("log-normal", math.e, 1.0, 0.5, math.nan, 2.0),
    ("binomial", 0.4, 0.3, math.nan, 100, (0.4 - 0.3) / math.sqrt(0.3 * 0.7 / 100)),
    ("at-most", 0.04, 0.05, 0.02, math.nan, 0.0),
    ("at-most", 0.09, 0.05, 0.02, math.nan, 2.0),
])
def test_each_noise_model_standardises_as_its_meaning_says(noise, model, value, sigma, n, expected):
    rows = pd.DataFrame({"noise": [noise], "value": [value], "sigma": [sigma], "n": [n]})
    assert observations.standardised(rows, np.array([model]))[0] == pytest.approx(expected)


def test_a_row_without_a_model_value_is_a_failed_residual_not_a_nan():
    rows = pd.DataFrame({"noise": ["normal", "log-normal"], "value": [1.0, 1.0], "sigma": [1.0, 1.0], "n": [1, 1]})
    assert list(observations.standardised(rows, np.array([np.nan, np.inf]))) == [observations.FAILED] * 2


def test_a_bad_row_is_refused_naming_its_field_and_what_is_allowed():
    good = observations.observations().iloc[[0]].copy()
    for field, value, word in (("noise", "cauchy", "noise 'cauchy'"), ("experiment", "moon-walk", "experiment"),
                               ("role", "guess", "role 'guess'"), ("sigma", 0.0, "sigma 0.0")):
        bad = good.copy()
        bad[field] = value
        with pytest.raises(ValueError, match=word):
            observations.check(bad)
    share = good.assign(noise="binomial", value=0.3, n=math.nan)
    with pytest.raises(ValueError, match="n nan"):
        observations.check(share)


def test_the_low_dose_ratio_is_computed_once_for_the_fit_and_the_check():
    """N1's 0-6 h mean over rest: the target's printed ratios are the model values the fit's residuals use."""
    from gutjoint._studies.calibration.experiments import Evaluation
    from gutjoint._studies.calibration.targets import TARGETS

    ev = Evaluation({})
    rows = observations.observations()
    rows = rows[rows["target"] == "N1_dose_0p5"]
    model = observations.model_values(rows, ev)
    outcome = next(t for t in TARGETS if t.id == "N1_dose_0p5").evaluate(ev)
    assert all(f"x{v:.2f}" in outcome.value for v in model)
    expected = (np.log(model) - np.log(rows["value"].to_numpy())) / (math.log(2) / 2)
    np.testing.assert_allclose(fit.innate_residuals({})[-3:], expected, rtol=0, atol=1e-12)


@pytest.fixture
def package_tables():
    """The package's parameter and condition tables, put back as they were after the test."""
    from importlib import resources

    from gutjoint._studies.calibration.conditions import conditions_path

    paths = [resources.files("gutjoint._biology").joinpath("parameters.csv"), conditions_path()]
    saved = [p.read_bytes() for p in paths]
    yield
    for path, content in zip(paths, saved):
        path.write_bytes(content)


def test_a_fit_written_back_reaches_the_next_study_in_the_same_process(package_tables):
    """`calibrate --write` then any study, in one process: the new values are read with nothing cleared by hand
    (the draw plan behind the reference cohort and the populations used to keep the pre-fit crp_max)."""
    from gutjoint._studies import priors
    from gutjoint._studies.calibration import cohort
    from gutjoint._studies.runtime import get_runtime, model_key

    before = gutjoint.context()
    old = before.parameters["crp_max"].value
    draw = priors.draw_subject(np.random.default_rng(1))
    crp = cohort.cohort_rest({}, cohort.draw_cohort(5, 1))["crp_mg_l"]
    rest = gutjoint.simulate("healthy").frame["crp_mg_l"].iloc[0]

    new = float(f"{2 * old:.5g}")  # the table keeps five significant digits
    after = fit.write_back({"crp_max": new}, {"crp_max": "C5_crp_median"})
    assert after.parameters["crp_max"].value == new
    assert gutjoint.parameters() is after.parameters and get_runtime() is after.runtime
    assert after.model_key == model_key() != before.model_key
    assert priors.draw_subject(np.random.default_rng(1))["crp_max"] == pytest.approx(new / old * draw["crp_max"])
    assert (cohort.cohort_rest({}, cohort.draw_cohort(5, 1))["crp_mg_l"] > crp).all()
    assert gutjoint.simulate("healthy").frame["crp_mg_l"].iloc[0] > rest


def test_an_assay_factor_is_profiled_out_per_dataset_and_cytokine():
    """Within a scale group the factor leaves the weighted log residuals centred; a model off by a constant
    factor fits the shape exactly; rows without a group are untouched."""
    rows = pd.DataFrame({"noise": ["log-normal"] * 4, "value": [10.0, 40.0, 5.0, 7.0], "sigma": [0.5, 0.5, 0.5, 1.0],
                         "n": [math.nan] * 4, "scale": ["a", "a", "", "b"]})
    model = np.array([1.0, 4.0, 5.0, 2.0])
    factors = observations.profiled_scales(rows, model)
    np.testing.assert_allclose(factors, [10.0, 10.0, 1.0, 3.5])
    np.testing.assert_allclose(observations.standardised(rows, model), 0.0, atol=1e-12)


def test_the_held_out_time_courses_are_predicted_not_fitted():
    """Every dataset of endotoxemia_timecourses.csv is a validation row group with its own assay factor, and the
    prediction table reports each: the data's and the model's peak times on the data's own times."""
    from gutjoint._studies.calibration import data

    courses = data.other_timecourses()
    table = observations.timecourse_predictions()
    assert set(table["dataset"]) == set(courses["dataset"])
    assert len(table) == courses.groupby(["dataset", "cytokine"]).ngroups
    assert (table["assay_factor"] > 0).all() and table["log_residual_sd"].notna().all()
    taudorf = table[(table["dataset"] == "taudorf2007_0p3") & (table["cytokine"] == "il6")].iloc[0]
    assert taudorf["data_peak_h"] == 3.0  # as digitised: IL-6 40.3 pg/mL at 3 h


def test_a_curve_digitised_as_the_change_from_baseline_is_compared_as_the_models_rise():
    """Dillingh 2014's curves are 0 at dosing (the change from baseline): their rows observe the rise over the
    run's starting value, the other laboratories' rows the level itself."""
    from gutjoint._studies.calibration import data, experiments

    courses = data.other_timecourses()
    changed = set(courses.loc[courses["levels"] == "change from baseline", "dataset"])
    assert changed == {"dillingh2014_0p5", "dillingh2014_1", "dillingh2014_2"}
    assert (courses.loc[courses["dataset"].isin(changed) & (courses["time_h"] == 0), "value"] == 0).all()
    rows = observations.observations()
    rows = rows[rows["scale"] != ""]
    is_rise = rows["observable"].str.endswith(".above_rest")
    assert set(rows.loc[is_rise, "target"]) == changed and not rows.loc[~is_rise, "target"].isin(changed).any()
    run = experiments.bolus({}, 1.0)
    level = observations.observe(run, "tnf_pg_ml", 2 / 24)
    assert observations.observe(run, "tnf_pg_ml.above_rest", 2 / 24) == pytest.approx(
        level - float(np.asarray(run["tnf_pg_ml"])[0]), rel=1e-12)


def _wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    p, d = k / n, 1 + z * z / n
    centre, half = (p + z * z / (2 * n)) / d, z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return centre - half, centre + half


def test_the_gut_joint_rows_come_from_the_trials_published_spans_and_the_printed_numbers():
    """nsaid-ra's spans are the Wilson intervals of 23/29 and 1/7 (Br J Rheumatol 1987); every gut-joint row but
    the fitted ones is held out, and its model value is the trial's own check of the same entry."""
    from gutjoint._studies.trial import load_trial, run_trial

    spans = {e.arm: (e.low, e.high) for e in load_trial("nsaid-ra").published}
    for arm, (k, n) in (("NSAID", (23, 29)), ("no NSAID", (1, 7))):
        assert spans[arm] == pytest.approx(_wilson(k, n), abs=6e-4)
    table = observations.gut_joint_predictions()
    rows = observations.rows_of("gut-joint")
    fitted = {f"{trial}: {arm}" for trial, arm in observations.GUT_JOINT_FITTED}
    assert ((rows["role"] == "calibrate") == rows["dataset"].map(lambda d: d.rsplit(",", 1)[0] in fitted)).all()
    checks = {f"probiotic-ra: {c['arm']}, {c['endpoint']}": c["model"]
              for c in run_trial(load_trial("probiotic-ra")).published}
    for dataset, model in checks.items():
        assert table.loc[table["dataset"] == dataset, "model"].iloc[0] == pytest.approx(model)


def test_an_arm_that_sets_an_exposure_starts_from_each_persons_own_rest():
    """The NSAID arm's people are at their own resting L:M in week 0 (the same as the control arm's), and only
    then does the drug act."""
    from gutjoint._studies import trial as T

    trial = T.load_trial("nsaid-ra")
    people = [p for p in T.screen(trial, needed=20) if p["eligible"]][:20]
    outcomes = T.potential_outcomes(trial, people)
    np.testing.assert_allclose(outcomes["NSAID"]["lm_ratio"][:, 0], outcomes["no NSAID"]["lm_ratio"][:, 0], rtol=1e-9)
    assert (outcomes["NSAID"]["lm_ratio"][:, -1] > outcomes["no NSAID"]["lm_ratio"][:, -1]).all()
