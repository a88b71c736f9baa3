"""Studies-layer defects that are small to state: options a study dropped without a word, a caller's dict changed
behind its back, a hidden policy that told {} from the table's own values, failures counted in the wrong place."""

from __future__ import annotations

import json

import pandas as pd

import gutjoint
from gutjoint._studies.problem import relax_for


def test_the_table_s_own_values_choose_the_same_resting_state_path_as_none():
    table = gutjoint.parameters()
    assert relax_for({}) and relax_for(None)
    assert relax_for({"tj_repair_rate": table["tj_repair_rate"].value})
    assert not relax_for({"tj_repair_rate": table["tj_repair_rate"].value * 1.5})


def test_the_barrier_residuals_leave_the_callers_values_alone():
    from gutjoint._studies.calibration import fit

    values = {"gfd_insult": 0.5, "gfd_injury": 0.05}
    before = dict(values)
    fit.barrier_residuals(values)
    assert values == before


def test_a_population_over_draws_takes_every_population_option(tmp_path):
    from gutjoint._studies.population import run_population_ensemble

    run_population_ensemble("healthy", n=3, seed=1, out=tmp_path, draws=2, chunk_size=2, comparisons=False,
                            trajectories=True, tolerances=gutjoint.Tolerances(rtol=1e-6, atol=1e-8))
    for k in range(2):
        folder = tmp_path / f"draw_{k:03d}"
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["chunk_size"] == 2 and manifest["comparisons"] is False and manifest["rtol"] == 1e-6
        assert (folder / "trajectories.parquet").exists()
        assert pd.read_parquet(folder / "subjects.parquet")["gut_share"].isna().all()


def test_people_never_selected_are_not_counted_as_solver_failures(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from gutjoint._studies.population import NOT_SELECTED, summarise

    table = pa.table({"subject": [0, 1, 2], "status": ["success", NOT_SELECTED, "steady_state"],
                      "final_pain": [1.0, None, None], "baseline_pain": [1.0, None, None]})
    pq.write_table(table, tmp_path / "subjects.parquet")
    summary = summarise(tmp_path / "subjects.parquet")
    assert summary["solver_failures"] == 1 and summary["not_selected"] == 1


def test_a_missing_resting_state_is_a_named_failure_not_none():
    """resting_outputs names the failure by its status (the calibration catches that, not a TypeError from a None
    further down)."""
    import pytest

    from gutjoint._studies.simulate import resting_outputs

    broken = gutjoint.Scenario(name="broken", days=1.0, parameters={"tnf_clearance": 1e-12, "tnf_basal": 1e12})
    with pytest.raises(gutjoint.SolverError) as failure:
        resting_outputs(broken)
    assert failure.value.code == "steady_state" and failure.value.advice
    assert resting_outputs("healthy")["pain_nrs"] < 2


def _square(k: int) -> int:
    return k * k


def test_one_executor_drains_the_same_results_here_on_local_workers_and_on_dask():
    """`Executor.drain` (the population's chunk loop) hands every key's result over once, wherever it ran."""
    from gutjoint._processes import Executor

    def collect(executor):
        seen = {}
        with executor:
            executor.drain(_square, range(9), lambda k, r: seen.__setitem__(k, r))
        return seen

    serial = collect(Executor(1))
    assert serial == {k: k * k for k in range(9)} == collect(Executor(2))
    distributed = __import__("pytest").importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        assert collect(Executor(scheduler=c.scheduler_address)) == serial
    with Executor(1) as here:
        assert here.submit(_square, 3).result() == 9
