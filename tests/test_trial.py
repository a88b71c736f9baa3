"""Virtual trials: reproducible, balanced randomisation; a null comparison rejects at the nominal rate; the
placebo term moves reported pain and nothing else; the anti-TNF trial meets the published drug effect; bad trial
files get one line."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from gutjoint import InputError
from gutjoint._studies import trial as T

SMALL = {"weeks": 8, "screening": "gut-driven-joint-pain", "screened": 600, "per_arm": 30, "seed": 3,
         "eligibility": {"pain_nrs": {"min": 3.0}},
         "arms": [{"name": "placebo", "control": True},
                  {"name": "support", "interventions": [{"name": "barrier_support", "level": 1.0}]}]}


def test_randomisation_is_reproducible_for_a_seed_and_balanced():
    trial = T.load_trial({**SMALL, "stratify": "pain_nrs"})
    people = [p for p in T.screen(trial, needed=60) if p["eligible"]]
    first = T.randomise(trial, people, 30, np.random.default_rng([3, 1]))
    again = T.randomise(trial, people, 30, np.random.default_rng([3, 1]))
    other = T.randomise(trial, people, 30, np.random.default_rng([4, 1]))
    arms = [a for _, a in first]
    assert arms == [a for _, a in again] and arms != [a for _, a in other]
    assert abs(arms.count("placebo") - arms.count("support")) <= 2  # permuted blocks, within each stratum
    pain = np.array([p["pain_nrs"] for p, _ in first])
    high = pain > np.median(pain)
    for stratum in (high, ~high):
        members = [a for a, s in zip(arms, stratum) if s]
        assert abs(members.count("placebo") - members.count("support")) <= 2


def test_a_placebo_against_placebo_comparison_rejects_at_about_five_percent():
    null = {**SMALL, "arms": [{"name": "placebo", "control": True}, {"name": "placebo again"}]}
    power = T.trial_power(null, [40], repeats=400, pool_size=240)
    rate = power["rows"][0]["power_pain_model_right"]
    assert 0.025 <= rate <= 0.085, rate  # 400 trials: the 95% range around 5% is 3-7%
    assert power["rows"][0]["power_responder30_model_right"] <= 0.085  # Fisher's test is conservative


def test_the_placebo_term_moves_pain_and_nothing_else():
    blinded = {**SMALL, "arms": [{"name": "blinded", "control": True}, {"name": "open", "blinded": False}]}
    trial = T.load_trial(blinded)
    people = [p for p in T.screen(trial, needed=20) if p["eligible"]][:20]
    outcomes = T.potential_outcomes(trial, people)
    rows = np.arange(len(people))
    factor = T.PLACEBO.factors(np.random.default_rng(0), len(people))
    masked = T.endpoints(trial, trial.arms[0], outcomes, rows, factor)
    open_ = T.endpoints(trial, trial.arms[1], outcomes, rows, factor)
    assert np.array_equal(masked["crp_change"], open_["crp_change"])
    assert np.array_equal(masked["lm_change"], open_["lm_change"])
    expected = np.maximum(open_["pain"] - T.PLACEBO.at(outcomes["weeks"], factor), 0.0)
    np.testing.assert_allclose(masked["pain"], expected)
    assert np.mean(masked["pain_change"] - open_["pain_change"]) < -0.5  # about the placebo's 1.1 points


@pytest.fixture(scope="module")
def anti_tnf():
    return T.run_trial("anti-tnf-ra")


def _published(result) -> dict:
    return {(c["arm"], c["endpoint"]): c for c in result.published}


def test_the_anti_tnf_trial_meets_the_published_drug_effect(anti_tnf):
    """The trial file's published spans (RAPID 2, Smolen 2009 Table 2; adalimumab monotherapy, van de Putte 2004),
    each with its stated tolerance of 5 mm: drug minus placebo (-16.6 to -21.4 mm) and the drug arm's own change
    (-23.7 to -27.6 mm). The placebo size was read from the adalimumab trial, so its arm is not an independent
    check. The spread of the change between people (22-31 mm published; 17 mm here with the reporting scatter, 11
    without) is checked below: the drug arm's is just outside its span, the placebo arm's just inside."""
    checks = _published(anti_tnf)
    assert len(checks) == len(anti_tnf.trial.published) == 8
    for key in (("anti-TNF", "pain_change_difference"), ("anti-TNF", "pain_change_mean"),
                ("placebo", "pain_change_mean")):
        assert checks[key]["inside"], checks[key]
    difference = anti_tnf.comparisons["anti-TNF"]["pain_change_difference"]["estimate"]
    assert checks[("anti-TNF", "pain_change_difference")]["model"] == difference
    assert anti_tnf.arms["placebo"]["crp_change_mean"] == pytest.approx(0.0, abs=0.5)
    assert anti_tnf.arms["anti-TNF"]["crp_change_mean"] < -1.0  # anti-TNF lowers CRP; placebo does not


def test_the_anti_tnf_arms_percentage_improvement_is_the_published_one(anti_tnf):
    """35.9-37.9% (RAPID 2, Table 2) and 37.7% (van de Putte 2004), +-5 points. It held only once the mechanism
    was set to the drug-minus-placebo difference (synovial_tnf_dependence): set to the drug arm's whole change,
    the trial's own placebo term was counted twice and the arm improved by 47%. Not independent of that setting,
    which read the same tables."""
    check = _published(anti_tnf)[("anti-TNF", "pain_change_pct_mean")]
    assert check["inside"], check


def test_the_anti_tnf_arms_responder_rates_are_those_its_published_mean_and_sd_imply(anti_tnf):
    """No readable source prints an anti-TNF arm's 30% and 50% pain-responder rates, so the trial file derives
    them from RAPID 2's mean and SD of percentage improvement (Table 2) under a normal approximation: 57-58% and
    34-38%, +-10 points. A weaker check than a printed rate, and marked so in the file and the report."""
    checks = _published(anti_tnf)
    for endpoint in ("responder_30", "responder_50"):
        check = checks[("anti-TNF", endpoint)]
        assert check["source"].startswith("derived, not published") and check["inside"], check


@pytest.mark.xfail(strict=True, reason="known: people in the model respond more alike than patients: the drug "
                                       "arm's SD of change is 16.8 mm, against 22-31 mm published (17-36 with the "
                                       "tolerance)")
def test_the_anti_tnf_arms_spread_of_change_is_the_published_one(anti_tnf):
    assert _published(anti_tnf)[("anti-TNF", "pain_change_sd")]["inside"]


@pytest.mark.parametrize("change, fragment", [
    ({"weeks": 0}, "field 'weeks' = 0 is invalid"),
    ({"arms": [{"name": "only", "control": True}]}, "at least two [[arms]]"),
    ({"arms": [{"name": "a"}, {"name": "b"}]}, "exactly one arm with control = true"),
    ({"eligibility": {"happiness": {"min": 1}}}, "field 'eligibility.happiness'"),
    ({"arms": [{"name": "p", "control": True}, {"name": "x", "interventions": [{"name": "aspirin"}]}]},
     "field 'arms[1].interventions[0].name' = 'aspirin'"),
    ({"dropout": 1.5}, "field 'dropout' = 1.5"),
    ({"screening": "mars"}, "field 'screening' = 'mars'"),
    ({"colour": "blue"}, "field 'colour'"),
    ({"published": [{"arm": "x", "endpoint": "pain_change_mean", "low": 0, "high": 1, "source": "s"}]},
     "field 'published[0].arm' = 'x'"),
    ({"published": [{"arm": "placebo", "endpoint": "pain_change_difference", "low": 0, "high": 1, "source": "s"}]},
     "field 'published[0].arm' = 'placebo'"),
    ({"published": [{"arm": "support", "endpoint": "joy", "low": 0, "high": 1, "source": "s"}]},
     "field 'published[0].endpoint' = 'joy'"),
    ({"published": [{"arm": "support", "endpoint": "responder_30", "low": 0.5, "high": 0.2, "source": "s"}]},
     "field 'published[0].high' = 0.2"),
    ({"published": [{"arm": "support", "endpoint": "responder_30", "low": 0.2, "high": 0.5}]},
     "field 'published[0].source'"),
])
def test_bad_trial_files_get_one_clear_line(change, fragment):
    with pytest.raises(InputError) as info:
        T.load_trial({**SMALL, **change})
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_the_cli_runs_a_trial_and_reports_bad_input_with_exit_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('weeks = 12\nper_arm = 10\narms = [{name = "a"}, {name = "b"}]\n')
    run = subprocess.run([sys.executable, "-m", "gutjoint", "trial", str(bad), "--out",
                          str(tmp_path / "o")], capture_output=True, text=True)
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1 and "control = true" in run.stderr
    good = tmp_path / "small.toml"
    good.write_text('weeks = 6\nscreening = "gut-driven-joint-pain"\nper_arm = 20\nseed = 2\n'
                    '[eligibility]\npain_nrs = {min = 3.0}\n'
                    '[[arms]]\nname = "placebo"\ncontrol = true\n'
                    '[[arms]]\nname = "support"\ninterventions = [{name = "barrier_support", level = 1.0}]\n'
                    '[[published]]\narm = "support"\nendpoint = "pain_change_difference"\nlow = -9.0\nhigh = -8.0\n'
                    'source = "an impossible span, so that the check shows as outside"\n')
    run = subprocess.run([sys.executable, "-m", "gutjoint", "trial", str(good), "--out",
                          str(tmp_path / "t"), "--power", "10,20", "--repeats", "20"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    for name in ("report.html", "consort.json", "endpoints.csv", "people.parquet", "trial.png", "power.csv",
                 "published.json"):
        assert (tmp_path / "t" / name).exists(), name
    page = (tmp_path / "t" / "report.html").read_text()
    assert "Educational research tool" in page and "Placebo response" in page and "power" in run.stdout
    assert "OUTSIDE" in run.stdout and "0 of 1 published results hold" in run.stdout
    assert "Against published results" in page and "an impossible span" in page


def test_power_pools_are_stored_reused_and_the_same_on_workers_or_dask(tmp_path, monkeypatch):
    small = {**SMALL, "screened": 300}
    serial = T.trial_power(small, [10, 20], repeats=20, pool_size=60, out=tmp_path / "a")
    stored = sorted((tmp_path / "a" / "power").glob("pool_*.npz"))
    assert len(stored) == 1
    on_two = T.trial_power(small, [10, 20], repeats=20, pool_size=60, out=tmp_path / "b", workers=2)
    assert on_two["rows"] == serial["rows"] and on_two["effect_model_right"] == serial["effect_model_right"]

    def rebuilt(*args, **kwargs):
        raise AssertionError("a stored pool was built again")

    monkeypatch.setattr(T, "_pool", rebuilt)
    resumed = T.trial_power(small, [10, 20], repeats=20, pool_size=60, out=tmp_path / "a")
    assert resumed["rows"] == serial["rows"]
    with pytest.raises(AssertionError, match="built again"):  # another pool size is another pool
        T.trial_power(small, [10, 20], repeats=20, pool_size=62, out=tmp_path / "a")
    monkeypatch.undo()
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        on_dask = T.trial_power(small, [10, 20], repeats=20, pool_size=60, scheduler=c.scheduler_address)
    assert on_dask["rows"] == serial["rows"]


def test_the_power_curve_shipped_with_the_barrier_trial_is_current():
    """Made by `gutjoint trial barrier-support-joint-pain --out DIR --power 10,20,40,80 --uncertainty 20`, then
    DIR/power.json copied to src/gutjoint/_studies/trials/barrier-support-joint-pain.power.json; a changed model or
    trial file makes it stale, and the web page then leaves it out."""
    curve = T.shipped_power("barrier-support-joint-pain")
    assert curve is not None, "the shipped power curve is stale or missing: regenerate it (see this docstring)"
    assert curve["ensemble_draws"] >= 10 and "effect_over_uncertainty" in curve
    assert all(0.0 <= row["power_pain_over_uncertainty"] <= 1.0 for row in curve["rows"])


def test_the_reporting_scatter_widens_pain_change_and_moves_nothing_else():
    trial = T.load_trial(SMALL)
    people = [p for p in T.screen(trial, needed=200) if p["eligible"]][:200]
    outcomes = T.potential_outcomes(trial, people)
    rows = np.arange(len(people))
    factor = T.PLACEBO.factors(np.random.default_rng(1), len(people))
    noise = T.REPORTING_NOISE.draw(np.random.default_rng(2), len(people), outcomes["weeks"].size)
    quiet = T.endpoints(trial, trial.arms[1], outcomes, rows, factor)
    noisy = T.endpoints(trial, trial.arms[1], outcomes, rows, factor, noise)
    assert np.array_equal(quiet["crp_change"], noisy["crp_change"])
    assert np.array_equal(quiet["lm_change"], noisy["lm_change"])
    assert noisy["pain"].min() >= 0.0 and noisy["pain"].max() <= 10.0
    # two independent reports of SD 1.08: the change gains about 1.5 points of spread, and no mean
    assert np.std(noisy["pain_change"]) > np.std(quiet["pain_change"]) + 0.5
    assert abs(np.mean(noisy["pain_change"] - quiet["pain_change"])) < 0.3


def test_a_trial_files_key_is_its_content_not_its_location(tmp_path):
    source = T.builtin_trials()["barrier-support-joint-pain"]
    copy = tmp_path / source.name
    copy.write_bytes(source.read_bytes())
    assert T.trial_digest(T.load_trial(str(copy))) == T.trial_digest(T.load_trial("barrier-support-joint-pain"))
    copy.write_text(source.read_text(encoding="utf-8").replace("seed = ", "seed = 1"), encoding="utf-8")
    assert T.trial_digest(T.load_trial(str(copy))) != T.trial_digest(T.load_trial("barrier-support-joint-pain"))


def test_one_trial_design_serves_the_trial_the_power_curve_and_the_web(monkeypatch):
    """gutjoint trial, the power curve and the web's sampled trial all allocate with ``allocate`` and turn people
    into endpoints with ``conduct``; the power curve's tests are ``compare``'s."""
    from gutjoint._studies import trial as trials

    calls = []
    for name in ("allocate", "conduct", "compare"):
        real = getattr(trials, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(trials, name, spy)
    spec = trials.load_trial("barrier-support-joint-pain")
    trials.run_trial(spec)
    assert {"allocate", "conduct", "compare"} <= set(calls)
    calls.clear()
    pool = trials.pool(spec, 80)
    trials.trial_power(spec, [10], repeats=10, pools=[pool])
    assert calls.count("allocate") == calls.count("conduct") == calls.count("compare") == 10
    calls.clear()
    trials.sample_trial(spec, pool, 10)
    assert calls == ["allocate", "conduct", "compare"]
