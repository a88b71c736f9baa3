"""The gut-to-joint arm on human data (issue 30): the rows it is fitted to and held to, the likelihood-free fit's
arithmetic, and the path back from pain to a leakier gut."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gutjoint._errors import InputError
from gutjoint._studies.calibration import gut_joint, observations


def _wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    p, d = k / n, 1 + z * z / n
    centre, half = (p + z * z / (2 * n)) / d, z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return centre - half, centre + half


def test_the_coeliac_scenario_lives_at_the_fitted_coeliac_levels():
    from gutjoint._studies.calibration.conditions import load_conditions
    from gutjoint._studies.scenario import load_scenario

    levels = {w.name: w.level for w in load_scenario("coeliac").inputs}
    fitted = dict(load_conditions())
    assert levels == {"enteric_infection": pytest.approx(fitted["gfd_injury"], abs=5e-6),
                      "barrier_insult": pytest.approx(fitted["gfd_insult"], abs=5e-6)}


def test_the_new_rows_spans_follow_from_the_printed_numbers():
    """Jenks 2010: -0.4 BASDAI points with p = 0.182 gives SE 0.30; Lubrano 1996: 19/46 and 33/153 (group sizes
    from 26% of 200); Iqbal 2013: 30% of 131, about 39; FLORA: HAQ-DI 0.02-0.44 times 10/3."""
    from scipy.stats import norm

    from gutjoint._studies.trial import load_trial

    jenks = load_trial("probiotic-spa").published[0]
    se = 0.4 / norm.isf(0.182 / 2)
    assert (jenks.low, jenks.high) == pytest.approx((-0.4 - 1.959964 * se, -0.4 + 1.959964 * se), abs=6e-3)
    assert jenks.estimate == -0.4 and jenks.per_arm == 32
    lubrano = {e.arm: e for e in load_trial("gluten-free-diet-joints").published}
    for arm, (k, n) in (("gluten", (19, 46)), ("gluten-free diet", (33, 153))):
        assert (lubrano[arm].low, lubrano[arm].high) == pytest.approx(_wilson(k, n), abs=6e-4)
        assert lubrano[arm].per_arm == n
    assert 0.41 * 46 + 0.216 * 153 == pytest.approx(0.26 * 200, abs=1.0)  # the derived group sizes
    iqbal = load_trial("gluten-free-diet-joint-pain").published[0]
    assert (iqbal.low, iqbal.high) == pytest.approx(_wilson(39, 131), abs=6e-4) and iqbal.per_arm == 131
    flora = load_trial("fmt-psa").published[0]
    assert (flora.low, flora.high) == pytest.approx((0.02 * 10 / 3, 0.44 * 10 / 3), abs=6e-3)


def test_only_the_named_results_are_fitted_and_each_has_its_published_size():
    rows = observations.rows_of("gut-joint")
    fitted = rows[rows["role"] == "calibrate"]
    assert set(fitted["dataset"]) == {f"{trial}: {arm}, {r.endpoint}" for r in gut_joint.fitted_results()
                                      for trial, arm in [(r.trial, r.arm)]}
    assert {(r.trial, r.arm) for r in gut_joint.fitted_results()} == observations.GUT_JOINT_FITTED
    assert {"fmt-psa", "nsaid-ra", "probiotic-ra"} <= {d.split(":")[0] for d in rows.loc[rows["role"] == "validate",
                                                                                           "dataset"]}
    np.testing.assert_array_equal(gut_joint.observed(), fitted["value"].to_numpy())


@pytest.mark.parametrize("entry, fragment", [
    ({"estimate": 2.0}, "field 'published[0].estimate' = 2.0"),
    ({"per_arm": 1}, "field 'published[0].per_arm' = 1"),
    ({"per_arm": 2.5}, "field 'published[0].per_arm' = 2.5"),
])
def test_a_published_estimate_outside_its_span_or_a_bad_size_gets_one_line(entry, fragment):
    from gutjoint._studies.trial import load_trial

    spec = {"description": "d", "weeks": 4, "screening": "healthy", "screened": 100, "per_arm": 10, "seed": 1,
            "arms": [{"name": "placebo", "control": True}, {"name": "support", "interventions": [
                {"name": "barrier_support", "level": 1.0}]}],
            "published": [{"arm": "support", "endpoint": "responder_30", "low": 0.2, "high": 0.5, "source": "s",
                           **entry}]}
    with pytest.raises(InputError) as info:
        load_trial(spec)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_a_simulation_is_fixed_by_its_seed_and_scatters_across_seeds():
    a, b, c = (gut_joint.simulate({}, s) for s in (3, 3, 4))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_the_synthetic_likelihood_emulator_recovers_a_linear_gaussian_toy():
    """Statistics y = theta + N(0, 0.05^2) simulated on an 11 x 11 lattice: the emulated mean is theta and the SD
    0.05, the posterior on the fine lattice peaks at the observed y, and the marginal CDF at the truth is about 1/2
    when the truth is where the data point."""
    coords = gut_joint.coordinates()
    rng = np.random.default_rng(0)
    axes = [np.linspace(c.centre - 1.0 * c.sd, c.centre + 1.0 * c.sd, 11) for c in coords]
    points = np.array(np.meshgrid(*axes, indexing="ij")).reshape(2, -1).T
    stats = points[:, None, :] + 0.05 * rng.standard_normal((len(points), 40, 2))
    grid = gut_joint.Grid(points, stats, 0.0)
    mean, sd = grid.emulate(points)
    F = gut_joint._features(grid._scaled(points), 3)  # the least-squares fit's own standard error at each point
    se = 0.05 * np.sqrt(np.einsum("ij,jk,ik->i", F, np.linalg.inv(40 * F.T @ F), F))
    assert (np.abs(mean - points) < 4 * se[:, None]).all()
    np.testing.assert_allclose(sd, 0.05, rtol=0.1)
    truth = points[len(points) // 2 + 3]
    lattice = grid.lattice()
    assert np.linalg.norm(lattice[np.argmax(grid.log_posterior(truth))] - truth) < 0.05
    assert grid.marginal_cdf(truth, truth) == pytest.approx([0.5, 0.5], abs=0.1)
    assert grid.marginal_cdf(truth, truth + 0.5)[0] > 0.95


def test_the_shipped_gut_joint_fit_is_current_and_its_rows_are_the_tables():
    fit = gut_joint.shipped_fit()
    assert fit is not None and fit["digest"] == gut_joint.fit_digest(), \
        "rerun: gutjoint calibrate --gut-joint --out DIR --write"
    rows = observations.rows_of("gut-joint")
    assert [r["dataset"] for r in fit["rows"]] == list(rows["dataset"])
    before = observations.gut_joint_predictions()["model"].to_numpy()
    np.testing.assert_allclose([r["before"] for r in fit["rows"]], before, rtol=1e-9)


def test_the_ensemble_carries_the_gut_joint_posterior():
    from gutjoint._studies.ensemble import load_ensemble

    ensemble = load_ensemble()
    fit = gut_joint.shipped_fit()
    for p in fit["parameters"]:
        assert ensemble.basis[p["parameter"]].startswith("posterior (gut-joint fit")
        values = ensemble.values[p["parameter"]].to_numpy()
        draws = [d[p["parameter"]] for d in fit["posterior_draws"]]
        # drawn from the posterior (a redraw only where a healthy person's rest left its window), not the prior
        assert abs(np.median(values) - np.median(draws)) < 0.25 * (p["q95"] - p["q05"])


def test_with_no_one_taking_nsaids_for_their_pain_the_path_back_adds_nothing():
    from gutjoint._studies.reverse_path import cross_section

    none = cross_section(400, use=0.0)
    assert none["users"] == 0 and none["reverse_share"] == pytest.approx(0.0)
    assert none["worlds"]["both"] == none["worlds"]["forward"] == none["worlds"]["reverse only"]
    every = cross_section(400, use=1.0)
    assert every["users"] > 0
    assert every["worlds"]["reverse only"]["lm_ratio_of_means"] > every["worlds"]["forward"]["lm_ratio_of_means"]
    assert 0 < every["reverse_share"] <= 1


def test_the_shipped_gut_share_by_population_is_current_and_recomputes():
    """The README's gut share by population (over parameter sets, before and after the fit) is what
    ``gut_share.compute`` makes today: its key matches, and one parameter set of two populations, before and after,
    comes out the same when run again."""
    from gutjoint._studies import gut_share
    from gutjoint._studies.ensemble import load_ensemble

    numbers = gut_share.shipped()
    assert numbers is not None, gut_share.STALE
    k = 7
    sets = {"before": gut_share.prior_parameter_sets(numbers["draws"])[k],
            "after": load_ensemble().parameter_sets(draws=numbers["draws"])[k]}
    for scenario in ("coeliac", "healthy"):
        for phase, values in sets.items():
            again = gut_share.population_numbers(scenario, values, people=numbers["people"])
            stored = numbers["populations"][scenario][phase]
            for name in ("moderate", "gut_share"):
                assert again[name] == pytest.approx(stored[name]["per_draw"][k], rel=1e-9, nan_ok=True)


def test_the_fitted_magnitudes_before_the_fit_are_drawn_from_their_priors():
    """``prior_parameter_sets`` gives each fitted magnitude the spread of its prior, inside the prior's box, and
    leaves every other parameter as the ensemble has it."""
    from gutjoint._studies import gut_share
    from gutjoint._studies.ensemble import load_ensemble

    before = gut_share.prior_parameter_sets(200)
    after = load_ensemble().parameter_sets(draws=200)
    for c in gut_joint.coordinates():
        x = np.array([s[c.name] for s in before])
        z = np.log(x) if c.log else x
        assert (z >= c.low - 1e-12).all() and (z <= c.high + 1e-12).all()
        assert abs(np.median(z) - c.centre) < 0.3 * c.sd
    other = [n for n in after[0] if n not in gut_joint.FITTED]
    assert all(b[n] == a[n] for b, a in zip(before, after) for n in other)
