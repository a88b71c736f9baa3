"""Engine behaviour: exact timing of doses and input changes, output spacing, failure statuses, caching."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gutjoint
from gutjoint import Status, Tolerances
from gutjoint._studies.runtime import get_runtime


def test_output_at_step_hours(run):
    frame = run("endotoxemia-2ngkg").frame
    assert np.allclose(np.diff(frame["time_days"]) * 24, 1.0)
    assert frame["time_days"].iloc[-1] == pytest.approx(2.0)


def test_bolus_takes_effect_exactly_at_its_time():
    """LPS jumps by dose / plasma volume exactly at the dose time (2 ng/kg / 40 mL/kg = 50 pg/mL)."""
    sc = {"days": 1, "step_hours": 0.5, "doses": [{"name": "lps_iv", "amount": 2.0, "day": 0.25}]}
    frame = gutjoint.simulate(sc).frame.set_index("time_days")
    before, at = frame.loc[0.25 - 1 / 48, "lps_pg_ml"], frame.loc[0.25, "lps_pg_ml"]
    assert frame.loc[0.0, "lps_pg_ml"] == pytest.approx(before, rel=1e-9)  # nothing before the dose
    assert at - before == pytest.approx(50.0, rel=1e-6)


def test_infusion_delivers_its_amount():
    """A 4 h infusion of 2 ng/kg: plasma endotoxin rises only during the infusion window."""
    sc = {"days": 0.5, "step_hours": 0.25, "doses": [{"name": "lps_iv", "amount": 2.0, "day": 0.0, "duration_hours": 4}]}
    frame = gutjoint.simulate(sc, parameters={"tj_per_tnf": 0.0}).frame  # no TNF-driven gut leak during it
    hours = frame["time_days"] * 24
    lps = frame["lps_pg_ml"]
    assert lps[hours <= 4].is_monotonic_increasing
    assert lps[hours >= 4].is_monotonic_decreasing
    k = get_runtime().parameters["lps_clearance"].value  # 1/h
    rate = 2.0 / 4 * 1000 / 40  # pg/mL per h
    expected_peak_excess = rate / k * (1 - np.exp(-k * 4))
    assert lps.max() - lps.iloc[0] == pytest.approx(expected_peak_excess, rel=1e-5)


def test_input_window_switches_exactly():
    sc = {"days": 10, "step_hours": 6, "inputs": [{"name": "barrier_insult", "level": 1.0, "start_day": 2.5, "end_day": 5}]}
    frame = gutjoint.simulate(sc).frame.set_index("time_days")
    assert frame.loc[2.25, "tj_open"] == pytest.approx(frame.loc[0, "tj_open"], rel=1e-6)
    assert frame.loc[2.75, "tj_open"] > frame.loc[2.5, "tj_open"]
    assert frame.loc[5.25, "tj_open"] < frame.loc[5.0, "tj_open"]


def test_solver_failure_is_a_status_not_an_exception():
    result = gutjoint.simulate("endotoxemia-2ngkg", tolerances=Tolerances(rtol=1e-8, atol=1e-10, max_steps=3))
    assert result.status is Status.STEP_LIMIT
    assert "max_steps" in result.status.advice
    assert result.frame["pain_nrs"].isna().any()  # unreached rows are marked, not invented
    with pytest.raises(gutjoint.SolverError):
        gutjoint.simulate("endotoxemia-2ngkg", tolerances=Tolerances(max_steps=3), throw=True)


def test_steady_state_has_zero_derivative():
    runtime = get_runtime()
    result = gutjoint.simulate("gut-driven-joint-pain")
    assert result.rest.ok
    from gutjoint._studies.problem import prepare

    problem = prepare("gut-driven-joint-pain")
    dy = runtime.compiled.rhs(result.rest.y, 0.0, problem.p, problem.resting_inputs())
    free = [i for i, n in enumerate(runtime.state_names) if n != "cartilage"]
    assert np.max(np.abs(dy[free])) < 1e-8


def test_compiled_code_is_cached_on_disk():
    runtime = get_runtime()
    assert runtime.compiled.path.exists()
    assert list(runtime.compiled.path.parent.glob("__pycache__/*.nbi")), "numba cache index missing"


def test_output_columns_are_the_pinned_ones_first(run):
    from gutjoint._biology.species import PINNED_OUTPUTS

    assert tuple(run("healthy").frame.columns[: len(PINNED_OUTPUTS)]) == PINNED_OUTPUTS


def test_pain_sources_sum_to_pain(run):
    frame = run("metabolic").frame
    parts = frame[["pain_inflammation", "pain_immune", "pain_cartilage", "pain_metabolic"]].sum(axis=1)
    assert np.allclose(parts, frame["pain_nrs"], rtol=1e-10)


def test_tolerance_blunts_repeated_endotoxin(run):
    """Endotoxin tolerance: the fifth daily 2 ng/kg dose gives a far smaller TNF burst than the first
    (human data: -97%, Crit Care Med 2009). Off-switch: tolerance_max = 0."""
    frame = run("repeated-endotoxemia").frame
    day = np.floor(frame["time_days"] + 1e-9)
    base = frame["tnf_pg_ml"].iloc[0]
    first = frame["tnf_pg_ml"][day == 0].max() - base
    fifth = frame["tnf_pg_ml"][day == 4].max() - base
    assert fifth < 0.2 * first


def test_batched_runs_equal_a_loop_of_single_runs():
    """Many subjects through one engine call give exactly the single runs (each subject keeps its own steps)."""
    from dataclasses import replace

    from gutjoint._studies.people import subject_scenario
    from gutjoint._studies.priors import draw_subject
    from gutjoint._studies.scenario import load_scenario
    from gutjoint._studies.simulate import simulate_many

    base = replace(load_scenario("barrier-support"), subject={})
    scenarios = [subject_scenario(base, draw_subject(np.random.default_rng([5, i]))) for i in range(12)]
    batched = simulate_many(scenarios, block_size=5)
    for scenario, result in zip(scenarios, batched):
        single = gutjoint.simulate(scenario)
        assert result.ok and single.ok
        pd.testing.assert_frame_equal(result.frame, single.frame, check_exact=True)


def test_one_failing_subject_leaves_the_others_untouched():
    from gutjoint._numerics.integrate import integrate_many
    from gutjoint._studies.problem import prepare

    runtime = get_runtime()
    problem = prepare("barrier-support")
    p, schedule, y0, times = problem.p, problem.schedule, problem.rest.y, problem.times
    broken = p.copy()
    broken[runtime.parameters.names.index("lps_clearance")] = np.nan
    alone = integrate_many(runtime.compiled, y0, p, [schedule], times)[0]
    runs = integrate_many(runtime.compiled, np.stack([y0, y0, y0]), np.stack([p, broken, p]), [schedule] * 3, times)
    assert [r.status for r in runs] == [Status.SUCCESS, Status.NONFINITE, Status.SUCCESS]
    assert np.isnan(runs[1].states).all(axis=1).any() and "NaN" in runs[1].message
    np.testing.assert_array_equal(runs[0].states, alone.states)
    np.testing.assert_array_equal(runs[2].states, alone.states)


def test_batched_failure_is_reported_per_subject():
    from gutjoint._studies.simulate import simulate_many

    results = simulate_many(["endotoxemia-2ngkg", "endotoxemia-2ngkg"], tolerances=Tolerances(max_steps=3))
    assert all(r.status is Status.STEP_LIMIT for r in results)


@pytest.mark.parametrize("scenario", ["barrier-support", "endotoxemia-2ngkg", "reactive-arthritis"])
def test_reporting_at_a_few_times_gives_the_full_grids_values(scenario):
    # Problem.at: the engine steps the same whatever it reports, so a sparse grid reads the same numbers
    problem = gutjoint.prepare(scenario)
    full = problem.solve()
    picks = np.array([0, 1, full.times.size // 3, full.times.size - 1])
    sparse = problem.at(full.times[picks]).solve()
    assert sparse.ok and sparse.times.size == picks.size
    np.testing.assert_array_equal(sparse.outputs, full.outputs[picks])
    with pytest.raises(ValueError, match="increase within"):
        problem.at([5.0, 1.0])


def test_stability_by_blocks_equals_the_full_eigenvalue_check():
    """The resting-state check takes eigenvalues per strongly connected block of the Jacobian's structure; at real
    resting states of varied people its largest real part is the full free block's."""
    from gutjoint._biology import species
    from gutjoint._numerics.steady import _largest_real_part, stability_blocks
    from gutjoint._studies.people import GENERAL_ADULTS, candidate_vectors
    from gutjoint._studies.priors import draw_subject
    from gutjoint._studies.problem import rest_states
    from gutjoint._studies.runtime import get_runtime

    rt = get_runtime()
    candidates = [draw_subject(np.random.default_rng([3, i])) for i in range(120)]
    P, U = candidate_vectors(GENERAL_ADULTS, candidates)
    rests = rest_states(rt, P, U, [{}] * len(candidates))
    fixed = {rt.state_index(s) for s in species.STRUCTURAL_STATES}
    free = tuple(i for i in range(len(rt.state_names)) if i not in fixed)
    J = np.stack([rt.compiled.jac(r.y, 0.0, p, u) for r, p, u in zip(rests, P, U) if r.ok])
    singles, components = stability_blocks(rt.compiled.jacobian_pattern, free, len(rt.state_names))
    assert len(components) >= 1 and singles.size >= 5  # the structure does split
    assert sorted([*singles, *np.concatenate(components)]) == list(free)
    full = np.linalg.eigvals(J[:, np.array(free)[:, None], np.array(free)]).real.max(axis=1)
    by_blocks = _largest_real_part(J, (singles, components))
    np.testing.assert_allclose(by_blocks, full, rtol=1e-9, atol=1e-12)
    assert (by_blocks < 0).all()


def test_stability_blocks_of_a_triangular_structure_find_an_unstable_mode():
    from gutjoint._numerics.steady import _largest_real_part, stability_blocks

    # states 0 <-> 1 feed back on each other, 2 only listens; the unstable mode sits in the 1x1 block
    pattern = ((0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 2))
    singles, components = stability_blocks(pattern, (0, 1, 2), 3)
    assert singles.tolist() == [2] and [c.tolist() for c in components] == [[0, 1]]
    J = np.array([[[-1.0, 2.0, 0.0], [-3.0, -1.0, 0.0], [5.0, 0.0, 0.5]]])
    assert _largest_real_part(J, (singles, components))[0] == pytest.approx(0.5)
    assert _largest_real_part(J, stability_blocks((), (0, 1, 2), 3))[0] == pytest.approx(0.5)
