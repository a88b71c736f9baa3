"""The posterior ensemble and the bands built on it: reproducible, narrower where the data speak, as wide as the
prior where they do not, and one clear line for bad input."""

from __future__ import annotations

import math

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from gutjoint import InputError
from gutjoint._biology.parameters import load_parameters
from gutjoint._studies import uncertainty as unc
from gutjoint._studies.calibration import posterior


@pytest.fixture(scope="module")
def ensemble():
    return unc.load_ensemble()


def _spread(name: str, values: np.ndarray) -> float:
    """SD on the scale of the parameter's prior (log for a log-normal or log-uniform prior)."""
    log = posterior.prior_of(name).kind.startswith("log")
    return float(np.std(np.log(values) if log else values))


def _prior_spread(name: str) -> float:
    return _spread(name, posterior.prior_of(name).draw(np.random.default_rng(0), 20_000))


def test_the_shipped_ensemble_has_its_provenance_and_passes_its_diagnostics(ensemble):
    meta = ensemble.provenance
    assert meta["data_sha256"] == posterior.data_digest(), "the ensemble was sampled on other data: rerun " \
                                                           "`gutjoint calibrate --sample --write`"
    assert len(ensemble) == meta["draws"] >= 500 and "emcee" in meta["sampler"]
    for block in meta["blocks"].values():
        assert block["steps"] >= 1000 and block["walkers"] >= 2 * len(block["parameters"])
    from gutjoint._studies.calibration.gut_joint import FITTED

    assert set(ensemble.constrained()) == {n for b in posterior.SAMPLED for n in posterior.sampled(b)
                                           if n in load_parameters()} | set(FITTED)
    assert {n for n, basis in ensemble.basis.items() if basis.startswith("held at the fit (")} == set(
        posterior.NOT_SAMPLED)


def test_ensemble_quantiles_are_reproducible_for_a_seed(ensemble):
    first = unc.bands(unc.simulate_ensemble("healthy", ensemble=ensemble, draws=40))
    again = unc.bands(unc.simulate_ensemble("healthy", ensemble=ensemble, draws=40))
    pd.testing.assert_frame_equal(first, again)


def test_building_an_ensemble_is_reproducible_for_a_seed():
    rng = np.random.default_rng(0)
    names = posterior.sampled("innate")
    centre = posterior.fit._current(names, {})
    samples = centre + 0.01 * rng.standard_normal((40, 6, len(names)))
    chain = posterior.Chain("innate", names, samples, np.zeros((40, 6)), 0.3, 0.0)
    # (the conditioning step has its own test below: it would add about 30 s here)
    a, _, _ = posterior.build_ensemble({"innate": chain}, draws=12, seed=5, condition=False)
    b, _, _ = posterior.build_ensemble({"innate": chain}, draws=12, seed=5, condition=False)
    c, _, _ = posterior.build_ensemble({"innate": chain}, draws=12, seed=6, condition=False)
    pd.testing.assert_frame_equal(a, b)
    table = load_parameters()
    prior_only = [k for k in a.columns if k in table and posterior.prior_of(k)
                  and posterior.prior_of(k).basis == "prior-only"]
    assert not np.allclose(a[prior_only].to_numpy(), c[prior_only].to_numpy())


def test_conditioning_brings_a_prior_drawn_parameter_back_to_the_data():
    """TNF's clearance acts in the LPS challenge, the metabolic wear of cartilage acts in no calibration
    experiment; a draw that puts the clearance at the top of its range misfits the challenge, and conditioning it
    (build_ensemble's Metropolis steps) gives a value the data allow, reproducibly for a seed, inside the prior's
    range."""
    table = load_parameters()
    priors = {n: posterior.prior_of(n) for n in ("tnf_clearance", "wear_per_metabolic")}
    scales = posterior.acting_parameters(priors)
    assert set(scales) == {"tnf_clearance"}
    assert 0 < scales["tnf_clearance"] < (math.log(table["tnf_clearance"].high)
                                          - math.log(table["tnf_clearance"].low)) / 4
    bad = {"tnf_clearance": table["tnf_clearance"].high, "gfd_insult": 0.5}  # a row carries the barrier's levels
    a, accepted = posterior.condition_draw(bad, priors, scales, seed=3)
    b, _ = posterior.condition_draw(bad, priors, scales, seed=3)
    assert a == b and accepted > 0 and a["tnf_clearance"] != table["tnf_clearance"].value
    assert table["tnf_clearance"].low <= a["tnf_clearance"] <= table["tnf_clearance"].high
    assert posterior._misfit(a) < posterior._misfit({"gfd_insult": 0.5}) + 5 < posterior._misfit(bad) < math.inf


def test_a_parameter_the_data_constrain_is_narrower_than_its_prior(ensemble):
    """Parameters the profile likelihood finds identifiable (docs/calibration/report.md) have a posterior
    spread well inside their log-uniform prior over the plausible range: basal TNF (Janum 2016 baseline) and the
    structural repair rate (the gluten-free diet's year-long lactulose fall)."""
    ratios = {name: _spread(name, ensemble.values[name].to_numpy()) / _prior_spread(name)
              for name in ensemble.constrained()}
    assert ratios["tnf_basal"] < 0.5, ratios["tnf_basal"]
    assert ratios["structural_repair_rate"] < 0.6, ratios["structural_repair_rate"]
    assert np.median(list(ratios.values())) < 1.0


def test_a_prior_only_parameter_keeps_its_prior_width(ensemble):
    """No data update an assumed value that acts in no calibration experiment: its spread in the ensemble is its
    prior's. (The healthy-rest plausibility step may trim one that sets resting pain or CRP.)"""
    assert ensemble.basis["wear_per_metabolic"] == "prior-only"
    ratio = _spread("wear_per_metabolic", ensemble.values["wear_per_metabolic"].to_numpy()) / _prior_spread("wear_per_metabolic")
    assert 0.85 < ratio < 1.15, ratio
    ratios = [_spread(n, ensemble.values[n].to_numpy()) / _prior_spread(n) for n in ensemble.prior_only()]
    assert 0.8 < np.median(ratios) < 1.2, ratios


def test_conditioned_parameters_are_narrower_than_their_priors(ensemble):
    """The prior-drawn parameters that act in the calibration data are conditioned on them in the shipped
    ensemble: TNF's clearance, which the LPS challenge's TNF decay pins, ends well inside its prior, and the
    conditioned parameters as a whole are narrower than their priors."""
    conditioned = ensemble.conditioned()
    assert "tnf_clearance" in conditioned and ensemble.provenance["conditioning"]["steps"] >= 20
    ratios = {n: _spread(n, ensemble.values[n].to_numpy()) / _prior_spread(n) for n in conditioned}
    assert ratios["tnf_clearance"] < 0.5, ratios
    assert np.median(list(ratios.values())) < 0.8, ratios


def test_bands_are_ordered_and_bracket_the_median(ensemble):
    table = unc.bands(unc.simulate_ensemble("barrier-support", ensemble=ensemble, draws=60))
    q = table[[f"pain_nrs_q{k:02d}" for k in (5, 25, 50, 75, 95)]].to_numpy()
    assert np.all(np.diff(q, axis=1) >= -1e-12)
    assert (q[-1, 4] - q[-1, 0]) > 0.1  # a band, not a line


def test_band_drivers_name_parameters_with_grades(ensemble):
    dataset = unc.simulate_ensemble("barrier-support", ensemble=ensemble, draws=200)
    drivers = unc.band_drivers(dataset, ensemble, "pain_nrs")
    assert len(drivers) == 3
    assert all(d["parameter"] in load_parameters() and d["value_grade"] and 0 <= d["share"] <= 1 for d in drivers)
    assert drivers[0]["share"] >= drivers[-1]["share"]


@pytest.mark.parametrize("n", [100, 101])
def test_first_order_shares_are_salib_rbd_fast(n):
    from SALib.analyze import rbd_fast

    rng = np.random.default_rng(4)
    X = rng.uniform(-np.pi, np.pi, size=(n, 6))
    y = np.sin(X[:, 0]) + 7 * np.sin(X[:, 1]) ** 2 + 0.1 * X[:, 2] ** 4 * np.sin(X[:, 0]) + 0.3 * X[:, 3]
    problem = {"num_vars": 6, "names": list("abcdef"), "bounds": [[-np.pi, np.pi]] * 6}
    expected = rbd_fast.analyze(problem, X, y, M=10, num_resamples=2, seed=1)["S1"]
    np.testing.assert_allclose(unc.first_order_shares(X, y), expected, rtol=1e-12, atol=1e-14)
    assert np.argmax(expected) == 1


@pytest.mark.parametrize("quantiles, fragment", [
    (["0.5", "1.2"], "argument 'quantiles' = 1.2 is invalid"),
    (["half"], "argument 'quantiles'"),
    (["0.333"], "steps of 0.01"),
])
def test_unknown_quantiles_get_one_clear_line(quantiles, fragment):
    with pytest.raises(InputError, match=fragment):
        unc.check_quantiles(quantiles)


def test_a_missing_ensemble_file_gets_one_clear_line(tmp_path):
    with pytest.raises(InputError, match="field 'ensemble': file not found"):
        unc.load_ensemble(tmp_path / "nothing.parquet")
    run = subprocess.run([sys.executable, "-m", "gutjoint", "simulate", "healthy", "--out",
                          str(tmp_path / "h.csv"), "--uncertainty", "--ensemble", str(tmp_path / "none.parquet")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "file not found" in run.stderr


def test_simulate_with_uncertainty_writes_quantile_columns(tmp_path):
    run = subprocess.run([sys.executable, "-m", "gutjoint", "simulate", "barrier-support", "--out",
                          str(tmp_path / "b.csv"), "--uncertainty", "--draws", "80", "--plot", str(tmp_path / "b.png")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    table = pd.read_csv(tmp_path / "b.csv")
    assert {"pain_nrs", "pain_nrs_q05", "pain_nrs_q95", "crp_mg_l_q50"} <= set(table.columns)
    assert "90% band over 80 parameter sets" in run.stdout and "what carries the pain band" in run.stdout
    assert "rest on assumptions" in run.stdout and (tmp_path / "b.png").stat().st_size > 10_000


def test_explain_with_uncertainty_gives_intervals(tmp_path):
    run = subprocess.run([sys.executable, "-m", "gutjoint", "explain", "barrier-support",
                          "--uncertainty", "--draws", "30", "--json"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    import json

    spread = json.loads(run.stdout)["uncertainty"]
    assert spread["draws"] == 30 and 0 <= spread["gut_share"]["q05"] <= spread["gut_share"]["q95"] <= 1
    assert set(spread["sources"]) == {"inflammation", "immune", "cartilage", "metabolic"}


def test_the_api_returns_the_ensemble_as_an_xarray_dataset(ensemble):
    import gutjoint

    dataset = gutjoint.simulate_ensemble("healthy", draws=10)
    assert dict(dataset.sizes) == {"draw": 10, "time": 366}
    assert dataset["crp_mg_l"].attrs["units"] == "mg/L" and dataset["time"].attrs["units"] == "days"


def test_population_keeps_people_and_parameters_apart(tmp_path):
    """One population per draw, the same people in each (common random numbers): the summary gives the
    responder share with an interval over parameter sets; rerunning resumes and gives the same numbers; with the
    table's own values as the parameter set, the population is the plain one."""
    from gutjoint._studies.population import run_population, run_population_ensemble

    first = run_population_ensemble("barrier-support", n=40, seed=2, out=tmp_path / "nested", draws=3)
    m = first["metrics"]["responders_30pct"]
    assert len(m["per_draw"]) == 3 and m["q05"] <= m["median"] <= m["q95"]
    assert "90% interval" in first["in_words"]["responders_30pct"]
    again = run_population_ensemble("barrier-support", n=40, seed=2, out=tmp_path / "nested", draws=3)
    assert again["metrics"] == first["metrics"]
    table = {p.name: p.value for p in load_parameters().records}
    plain = pd.read_parquet(run_population("barrier-support", n=20, seed=2, out=tmp_path / "plain") / "subjects.parquet")
    under = pd.read_parquet(run_population("barrier-support", n=20, seed=2, out=tmp_path / "under",
                                           parameters=table) / "subjects.parquet")
    pd.testing.assert_frame_equal(plain, under)


def test_a_draw_the_generic_guess_misses_gets_a_second_start_at_the_nominal_rest():
    """With relax=False (the ensemble's fast path), a draw whose Newton does not settle from the generic guess
    starts again from the scenario's rest under the table values; what it finds is a stable steady state. The
    draws are three of an earlier shipped ensemble (tests/data/hard_rest_draws.json): the current one has none
    that the generic guess misses."""
    import json
    from pathlib import Path

    from gutjoint._biology import species
    from gutjoint._numerics.steady import find_steady_states
    from gutjoint._studies.problem import prepare_many
    from gutjoint._studies.runtime import get_runtime

    rt = get_runtime()
    sets = json.loads((Path(__file__).parent / "data" / "hard_rest_draws.json").read_text())["draws"]
    problems = prepare_many(["barrier-support"] * len(sets), sets, relax=False)
    fixed = [rt.state_index(s) for s in species.STRUCTURAL_STATES]
    P = np.array([p.p for p in problems])
    U = np.array([p.resting_inputs() for p in problems])
    generic = find_steady_states(rt.compiled.rhs, rt.compiled.jac, np.array([rt.rest_guess(p) for p in P]), P, U,
                                 fixed=fixed, newton=rt.compiled.rest_newton_batch, fallback=False)
    rescued = [k for k, (first, final) in enumerate(zip(generic, problems)) if not first.ok and final.rest.ok]
    assert rescued, "no draw needed the second start (the test needs one)"
    free = [i for i in range(len(rt.state_names)) if i not in fixed]
    for k in rescued:
        y, p, u = problems[k].rest.y, P[k], U[k]
        assert np.max(np.abs(rt.compiled.rhs(y, 0.0, p, u)[free])) < 1e-6
        assert np.linalg.eigvals(rt.compiled.jac(y, 0.0, p, u)[np.ix_(free, free)]).real.max() < 0


def test_the_fast_path_copes_when_no_second_start_is_possible():
    """A batch where the nominal rest itself fails (so no draw can start from it) returns failures, not an error."""
    from gutjoint._studies.problem import prepare_many

    from gutjoint import Scenario

    # far outside the plausible ranges (the Scenario object skips the file checks): nothing settles at rest
    broken = Scenario(name="broken", days=1.0, parameters={"tnf_clearance": 1e-12, "tnf_basal": 1e12})
    problems = prepare_many([broken] * 2, [{"il6_clearance": 1e-12}] * 2, relax=False, within_ranges=False)
    assert [p.rest.ok for p in problems] == [False, False]


def test_every_shipped_draw_gives_a_healthy_person_a_plausible_rest(ensemble):
    """The plausibility step holds for the ensemble as shipped, after the conditioning step too."""
    assert posterior._plausible(ensemble.parameter_sets()).all()


def test_the_held_out_datasets_get_a_predictive_check_with_their_tolerance_as_noise():
    """V1-V3 print no spread, so each point's noise is its target's tolerance taken as 2 SD: a residual within
    +-2 is a point inside the target's range, the way the target itself reads it."""
    from gutjoint._studies.calibration import observations
    from gutjoint._studies.calibration.experiments import Evaluation

    r = posterior.validation_residuals({})
    rows = observations.rows_of("validation")
    assert len(r) == len(posterior.residual_labels()["validation"]) == len(rows)
    crp = Evaluation({}).anti_tnf_in_ra["crp_mg_l"]
    fall = 1 - crp.loc[72.0] / crp.loc[29.75]
    assert r[-1] == pytest.approx((fall - 0.80) / 0.075)
    assert (abs(r[-1]) <= 2) == (0.65 <= fall <= 0.95)
    assert math.log(rows["value"].iloc[0]) == pytest.approx(math.log(2.0))  # Krabbe's 2-fold TNF rise


def test_an_interrupted_chain_resumes_where_it_stopped(tmp_path):
    """The HDF5 chain of a block keeps its steps: asking for more continues it (the first steps unchanged), and
    asking for no more returns it as stored."""
    path = tmp_path / "chain.h5"
    first = posterior.sample_block("barrier", path, steps=6, walkers=18, start_from="fit", seed=4)
    more = posterior.sample_block("barrier", path, steps=10, walkers=18, start_from="fit", seed=4)
    again = posterior.sample_block("barrier", path, steps=8, walkers=18, start_from="fit", seed=4)
    assert first.samples.shape == (6, 18, len(posterior.sampled("barrier")))
    assert more.samples.shape[0] == again.samples.shape[0] == 10
    np.testing.assert_array_equal(more.samples[:6], first.samples)
    np.testing.assert_array_equal(again.samples, more.samples)
    assert first.parameters == posterior.sampled("barrier")


def test_reading_a_chain_takes_no_lock_that_would_stop_its_writer(tmp_path):
    """While another process holds the chain's HDF5 file open for writing (as ``calibrate --sample`` does),
    ``read_chain`` still reads it, and the writer is never blocked by a reader's lock."""
    import subprocess
    import sys
    import textwrap
    import time

    path = tmp_path / "chain.h5"
    posterior.sample_block("barrier", path, steps=4, walkers=18, start_from="fit", seed=2)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time, h5py
        with h5py.File({str(path)!r}, "a"):
            print("open", flush=True)
            time.sleep(20)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        t0 = time.perf_counter()
        chain = posterior.read_chain(path, "barrier")
        assert chain.samples.shape[0] == 4 and time.perf_counter() - t0 < 10
    finally:
        holder.kill()
        holder.wait()
