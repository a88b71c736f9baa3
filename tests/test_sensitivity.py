"""Global sensitivity: the pipeline recovers the Ishigami function's known indices, then runs on the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gutjoint import InputError
from gutjoint._studies.sensitivity import ishigami_check, ishigami_exact, run_sensitivity


def test_pipeline_recovers_ishigami_indices():
    exact = ishigami_exact()
    assert exact["S1"] == pytest.approx([0.3139, 0.4424, 0.0], abs=1e-4)  # the published values
    assert exact["ST"] == pytest.approx([0.5576, 0.4424, 0.2437], abs=1e-4)
    got = ishigami_check(n=2048)
    for index in ("S1", "ST"):
        err = np.abs(got[index] - exact[index])
        assert np.all(err < np.maximum(2 * got[f"{index}_conf"], 0.02)), (index, got[index], exact[index])


def test_time_resolved_sobol_on_the_model():
    result = run_sensitivity("barrier-support", "pain_nrs", n=16,
                             parameters=("synovitis_per_autoreactivity", "tj_repair_rate", "memory_half_mimicry"),
                             every_days=73)
    frame = result.indices
    assert sorted(frame["time_days"].unique()) == [0, 73, 146, 219, 292, 365]
    assert set(frame["index"]) == {"S1", "ST"} and result.n_failed == 0
    assert result.n_evaluations == 16 * (3 + 2)
    final = result.at(365)
    # joint autoreactivity's weight dominates this gut-driven pain; the fast barrier repair rate barely matters
    assert final.loc["synovitis_per_autoreactivity", ("value", "ST")] > final.loc["tj_repair_rate", ("value", "ST")]


def test_morris_runs_and_ranks():
    result = run_sensitivity("mechanical-oa", "pain_nrs", method="morris", n=6,
                             parameters=("pain_per_wear", "tj_repair_rate"), every_days=365)
    final = result.at(365)
    assert final.loc["pain_per_wear", ("value", "mu_star")] > final.loc["tj_repair_rate", ("value", "mu_star")]


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "fast"}, "argument 'method' = 'fast' is invalid"),
    ({"n": 100}, "argument 'n' = 100 is invalid; allowed: a power of two"),
    ({"parameters": ("no_such_thing",)}, "'no_such_thing' is not a parameter"),
    ({"parameters": ("crp_half_life",)}, "has a fixed value"),
    ({"output": "happiness"}, "argument 'output' = 'happiness' is not an output column"),
])
def test_bad_sensitivity_input(kwargs, message):
    with pytest.raises(InputError, match=message):
        run_sensitivity("healthy", **{"n": 8, **kwargs})


def test_two_workers_give_the_same_indices_as_one():
    names = ("tj_repair_rate", "synovitis_per_cytokine", "sensitization_rate")
    one = run_sensitivity("barrier-support", n=16, parameters=names, every_days=90, workers=1)
    two = run_sensitivity("barrier-support", n=16, parameters=names, every_days=90, workers=2)
    pd.testing.assert_frame_equal(one.indices, two.indices)
    assert one.indices["time_days"].nunique() >= 5


@pytest.mark.parametrize("seed", [1, 7])
def test_sobol_analysis_equals_salibs_own(seed):
    """The all-parameters-at-once analysis gives SALib's sobol.analyze indices and bootstrap intervals."""
    from SALib.analyze import sobol
    from SALib.sample import sobol as sample
    from SALib.test_functions import Ishigami

    from gutjoint._studies.sensitivity import METHOD_REGISTRY

    spec = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}
    X = sample.sample(spec, 256, calc_second_order=False, seed=seed)
    Y = Ishigami.evaluate(X)
    ours = METHOD_REGISTRY["sobol"].analyse(spec, None, Y, seed, 200)
    theirs = sobol.analyze(spec, Y, calc_second_order=False, num_resamples=200, conf_level=0.95, seed=seed)
    for index in ("S1", "ST"):
        np.testing.assert_allclose(ours[index][0], theirs[index], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours[index][1], theirs[f"{index}_conf"], rtol=1e-10, atol=1e-12)


def test_the_same_indices_on_local_workers_and_on_a_dask_cluster():
    """One executor for every back end: the runs and the analyses give the same indices in this process, on two
    local workers and on a Dask cluster."""
    distributed = pytest.importorskip("distributed")
    from gutjoint._studies.sensitivity import run_sensitivity

    options = dict(method="morris", n=4, parameters=("lps_clearance", "tj_per_tnf"), every_days=120.0)
    serial = run_sensitivity("healthy", **options).indices
    local = run_sensitivity("healthy", workers=2, **options).indices
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = run_sensitivity("healthy", scheduler=cluster.scheduler_address, **options).indices
    pd.testing.assert_frame_equal(serial, local)
    pd.testing.assert_frame_equal(serial, remote)
