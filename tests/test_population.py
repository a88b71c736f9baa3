"""Virtual populations: identical for any chunk size and worker count, resumable, refusing a changed
configuration, the same on a Dask cluster, and summarised against the population targets."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from gutjoint import InputError
from gutjoint._studies.population import run_population

SCENARIO = {"days": 120, "step_hours": 24,
            "inputs": [{"name": "dysbiosis", "level": 0.8}, {"name": "barrier_insult", "level": 0.6},
                       {"name": "barrier_support", "level": 1.0, "start_day": 30}]}


def subjects(folder) -> pd.DataFrame:
    return pd.read_parquet(folder / "subjects.parquet").sort_values("subject").reset_index(drop=True)


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serial")
    run_population(SCENARIO, n=40, seed=7, out=folder, chunk_size=48)
    return folder


def test_identical_for_any_chunk_size_and_worker_count(serial, tmp_path):
    run_population(SCENARIO, n=40, seed=7, out=tmp_path, chunk_size=7, workers=2)
    pd.testing.assert_frame_equal(subjects(tmp_path), subjects(serial), check_exact=True)


def test_chunk_size_must_be_positive(tmp_path):
    with pytest.raises(InputError, match="argument 'chunk_size' = 0"):
        run_population(SCENARIO, n=4, seed=1, out=tmp_path, chunk_size=0)


def test_seed_must_not_be_negative(tmp_path):
    with pytest.raises(InputError, match="argument 'seed' = -1"):
        run_population(SCENARIO, n=4, seed=-1, out=tmp_path)


def test_resume_skips_finished_chunks(tmp_path):
    run_population(SCENARIO, n=40, seed=3, out=tmp_path, chunk_size=16)
    first = subjects(tmp_path)
    kept = tmp_path / "chunks" / "subjects_000000.parquet"
    stamp = kept.stat().st_mtime_ns
    (tmp_path / "chunks" / "subjects_000002.parquet").unlink()  # as if the run stopped before the last chunk
    (tmp_path / "subjects.parquet").unlink()
    run_population(SCENARIO, n=40, seed=3, out=tmp_path, chunk_size=16)
    assert kept.stat().st_mtime_ns == stamp  # not recomputed
    pd.testing.assert_frame_equal(subjects(tmp_path), first)


def test_changed_configuration_is_refused(tmp_path):
    run_population(SCENARIO, n=2, seed=3, out=tmp_path, chunk_size=16)
    with pytest.raises(InputError, match=r"a different seed \(3 then, 4 now\)"):
        run_population(SCENARIO, n=2, seed=4, out=tmp_path, chunk_size=16)
    proc = subprocess.run([sys.executable, "-m", "gutjoint", "population", "healthy", "--n", "2",
                           "--seed", "3", "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_the_many_run_tolerance_is_a_setting_of_the_run_and_stays_near_the_single_run_one(tmp_path):
    """``--rtol/--atol`` reach every run of the population, are part of what a resume must match, and the many-run
    default (rtol 1e-6, libRoadRunner's default) moves no metric by more than the reference test's 1e-4 from the
    single-run tolerance."""
    from gutjoint._studies.problem import DEFAULT_TOLERANCES, MANY_RUN_TOLERANCES

    tight = subjects(run_population(SCENARIO, n=12, seed=5, out=tmp_path / "tight", tolerances=DEFAULT_TOLERANCES))
    loose = subjects(run_population(SCENARIO, n=12, seed=5, out=tmp_path / "loose"))
    assert MANY_RUN_TOLERANCES.rtol == 1e-6 and MANY_RUN_TOLERANCES.atol == 1e-8
    columns = [c for c in tight if c.startswith("final_pain")]
    assert len(columns) == 5 and not tight[columns].equals(loose[columns])  # the setting reached the engine
    np.testing.assert_allclose(loose[columns].to_numpy(), tight[columns].to_numpy(), rtol=1e-4, atol=1e-7)
    with pytest.raises(InputError, match=r"a different rtol \(1e-08 then, 1e-06 now\)"):
        run_population(SCENARIO, n=12, seed=5, out=tmp_path / "tight")


def test_dask_local_cluster_matches_serial(serial, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        run_population(SCENARIO, n=40, seed=7, out=tmp_path, chunk_size=16, scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(subjects(tmp_path), subjects(serial), check_exact=True)


def test_subject_rows_and_summary(serial):
    frame = subjects(serial)
    for column in ("prior_cross_reactivity", "status", "baseline_pain", "final_pain", "days_to_30pct",
                   "days_to_50pct", "gut_share", "phenotype", "relief", "background_crp"):
        assert column in frame.columns, column
    assert (frame["status"] == "success").all()
    assert frame["baseline_pain"].between(0, 10).all()
    summary = json.loads((serial / "summary.json").read_text())
    assert summary["n"] == 40 and summary["solver_failures"] == 0
    assert {"q10", "q50", "q90"} <= set(summary["quantiles"]["final_pain"])
    assert set(summary["targets"]) == {"crp_median", "crp_share_above_3", "lm_plausible_range"}


def test_trajectories_long_form(tmp_path):
    run_population(SCENARIO, n=3, seed=1, out=tmp_path, chunk_size=16, trajectories=True)
    traj = pd.read_parquet(tmp_path / "trajectories.parquet")
    assert set(traj["subject"]) == {0, 1, 2}
    assert len(traj) == 3 * 121
    assert {"time_days", "pain_nrs", "crp_mg_l"} <= set(traj.columns)


def test_s9_population_relief_rises_with_gut_share(tmp_path):
    """S9 at population level: relief from barrier support rises with the gut share (Spearman rho >= 0.5)."""
    run_population(SCENARIO, n=40, seed=11, out=tmp_path, chunk_size=32)
    frame = subjects(tmp_path)
    ranks = lambda v: pd.Series(v).rank().to_numpy()  # noqa: E731
    rho = np.corrcoef(ranks(frame["gut_share"]), ranks(frame["relief"]))[0, 1]
    assert rho >= 0.5, rho


def test_s10_time_to_improvement_spans_weeks_to_months(tmp_path):
    """S10: after barrier support, the fastest responders reach a 30% improvement within 6 weeks and the slowest
    need more than 12 weeks (10th/90th percentiles among responders); the spread follows a mechanism, the
    person's pace of immune and nociceptive resolution, not noise added to the output."""
    run_population("barrier-support", n=300, seed=5, out=tmp_path, chunk_size=100)
    frame = subjects(tmp_path)
    responders = frame[np.isfinite(frame["days_to_30pct"])]
    assert len(responders) >= 60
    p10, p90 = np.percentile(responders["days_to_30pct"], [10, 90])
    assert p10 <= 42 and p90 >= 84, (p10, p90)
    rho = responders[["days_to_30pct", "prior_immune_resolution"]].corr(method="spearman").iloc[0, 1]
    assert rho <= -0.5, rho


@pytest.mark.parametrize("under_a_draw", [False, True])
def test_one_fast_path_rule_for_every_resting_state(under_a_draw, tmp_path, monkeypatch):
    """Selection, its pilot and the scenario runs all follow problem.relax_for: the slow fallbacks under the
    table's values, the ensemble's fast path under a draw (before, a population under a draw relaxed each person)."""
    import gutjoint._studies.population as population
    import gutjoint._studies.problem as problem
    from gutjoint._studies.uncertainty import load_ensemble

    seen = []
    real = problem.rest_states

    def recording(*args, relax=True, **kwargs):
        seen.append(relax)
        return real(*args, relax=relax, **kwargs)

    monkeypatch.setattr(population, "rest_states", recording)
    monkeypatch.setattr(problem, "rest_states", recording)
    monkeypatch.setattr(population, "_selection_folder", lambda: None)  # so that the pilot runs here
    population._selection_table.cache_clear()
    values = load_ensemble().parameter_sets()[1] if under_a_draw else None
    folder = run_population("barrier-support", n=3, seed=5, out=tmp_path / "p", parameters=values)
    assert len(seen) >= 3  # the selection pilot, at least one round of candidates, the scenario runs
    assert set(seen) == {not under_a_draw}
    assert len(pd.read_parquet(folder / "subjects.parquet")) == 3


def test_without_the_comparison_runs_every_other_column_is_the_same(tmp_path):
    full = pd.read_parquet(run_population("barrier-support", n=24, seed=4, out=tmp_path / "a") / "subjects.parquet")
    lean = pd.read_parquet(run_population("barrier-support", n=24, seed=4, out=tmp_path / "b", comparisons=False)
                           / "subjects.parquet")
    assert lean["gut_share"].isna().all() and lean["relief"].isna().all()
    assert full["gut_share"].notna().any() and full["relief"].notna().any()
    same = [c for c in full.columns if c not in ("gut_share", "relief", "phenotype")]
    pd.testing.assert_frame_equal(full[same], lean[same])
    kept = full["phenotype"] != "gut-driven"  # without gut_share, a person is named by the largest pain source
    assert (full.loc[kept, "phenotype"] == lean.loc[kept, "phenotype"]).all()
    with pytest.raises(InputError, match="comparisons"):  # a folder keeps the setting it was made with
        run_population("barrier-support", n=24, seed=4, out=tmp_path / "b")


@pytest.mark.parametrize("under_a_draw", [False, True])
def test_selection_builds_the_vectors_a_scenario_gives_to_the_bit(under_a_draw):
    """Selection builds its candidates' parameter and input rows as arrays; they must be the very numbers that
    preparing each candidate's scenario gives, or the chosen people's resting states would not be reused."""
    from gutjoint._studies.people import GENERAL_ADULTS, candidate_vectors, living_under, subject_scenario
    from gutjoint._studies.priors import draw_subject
    from gutjoint._studies.problem import parameter_vector, resting_inputs
    from gutjoint._studies.runtime import get_runtime
    from gutjoint._studies.uncertainty import load_ensemble

    values = load_ensemble().parameter_sets()[2] if under_a_draw else {}
    adults = living_under(GENERAL_ADULTS, values)
    candidates = [draw_subject(np.random.default_rng([9, i]), values) for i in range(200)]
    P, U = candidate_vectors(adults, candidates)
    runtime = get_runtime()
    scenarios = [subject_scenario(adults, c) for c in candidates]
    assert P.tobytes() == np.array([parameter_vector(runtime, sc) for sc in scenarios]).tobytes()
    assert U.tobytes() == np.array([resting_inputs(runtime, sc) for sc in scenarios]).tobytes()
    assert np.ptp(U, axis=0).max() > 0 and np.ptp(P, axis=0).max() > 0  # the people do differ


def test_the_selection_table_is_stored_once_and_loaded_to_the_bit(tmp_path, monkeypatch):
    """The pilot's table (1,500 people at rest) is kept in the disk cache; a later process loads the same arrays
    instead of building them, and a damaged file is built again."""
    import gutjoint._studies.population as population

    monkeypatch.setattr(population, "_selection_folder", lambda: tmp_path)
    population._selection_table.cache_clear()
    built = population._selection_model()
    (stored,) = tmp_path.glob("*.npz")
    population._selection_table.cache_clear()

    def refuse(parameters):
        raise AssertionError("built again although it was stored")

    real = population._build_selection_table
    monkeypatch.setattr(population, "_build_selection_table", refuse)
    loaded = population._selection_model()
    assert all(a.tobytes() == b.tobytes() for a, b in zip(built, loaded))
    stored.write_bytes(b"not a table")
    population._selection_table.cache_clear()
    monkeypatch.setattr(population, "_build_selection_table", real)
    again = population._selection_model()
    assert all(a.tobytes() == b.tobytes() for a, b in zip(built, again))
    population._selection_table.cache_clear()


def test_a_trait_the_priors_do_not_draw_stays_the_scenarios_for_every_study():
    """The RA-like autoimmunity is not drawn: a population, a trial's screening and the cohort keep the scenario's
    0.7 (a population of `ra-like` used to give its people the default, and so no autoimmunity at all)."""
    from gutjoint._studies.people import people_problems, subject_scenario
    from gutjoint._studies.priors import draw_subject
    from gutjoint._studies.scenario import load_scenario

    base = load_scenario("ra-like")
    person = draw_subject(np.random.default_rng(4))
    lived = subject_scenario(base, person)
    assert lived.subject["autoimmunity"] == 0.7
    assert lived.subject["pain_sensitivity"] == person["pain_sensitivity"]  # a drawn trait is the person's
    (problem,) = people_problems(base, [person])
    assert problem.scenario.subject == lived.subject
