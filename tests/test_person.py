"""A person's own measurements to their forecast: the file, the red-flag stop, the weighting and its calibration."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from gutjoint import InputError
from gutjoint._interfaces.cli import main
from gutjoint._studies import person as P


@pytest.fixture(scope="module")
def banks():
    """An inference bank and, apart from it, 200 true people (other seeds)."""
    return P.person_bank(10_000, 31, workers=2), P.person_bank(200, 99)


def _write(tmp_path, text: str):
    path = tmp_path / "me.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text, words", [
    ("day,observable,value\n0,pain_nrs,11\n", "row 2: field 'value' is '11'; allowed: a pain_nrs from 0 to 10"),
    ("day,observable,value\n0,mood,3\n", "row 2: field 'observable' is 'mood'; allowed: pain_nrs"),
    ("day,observable,value\n5,crp_mg_l,3\n", "row 2: field 'day' is '5'; allowed: a day from -3650 to 0"),
    ("day,observable,value\n0,red_flag,sore\n", "row 2: field 'value' is 'sore'; allowed for a red_flag:"),
    ("day,observable,value\n0,hla_b27,yes\n", "allowed for hla_b27: 0 or 1"),
    ("when,what\n0,1\n", "lacks ['day', 'observable', 'value']"),
])
def test_bad_personal_data_gets_one_line_naming_file_row_field_and_what_is_allowed(tmp_path, capsys, text, words):
    path = _write(tmp_path, text)
    with pytest.raises(InputError, match=None) as error:
        P.read_person(path)
    assert words in str(error.value) and str(path) in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(SystemExit) as code:
        main(["person", str(path), "--out", str(tmp_path / "out")])
    assert code.value.code == 2 and not (tmp_path / "out").exists()


def test_a_red_flag_stops_the_forecast_and_no_virtual_people_are_made(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(P, "person_bank", lambda *a, **k: pytest.fail("a forecast was started"))
    path = _write(tmp_path, "day,observable,value\n0,pain_nrs,7\n0,red_flag,hot_swollen_joint\n")
    with pytest.raises(SystemExit) as code:
        main(["person", str(path), "--out", str(tmp_path / "out")])
    assert code.value.code in (0, None)
    said = capsys.readouterr().out
    assert said.index("red flag") < said.index("not medical advice") and "No forecast" in said
    assert "gut" not in (tmp_path / "out" / "report.md").read_text().split("No forecast")[0].lower()


def test_more_data_leaves_fewer_people_behind_the_answer_and_a_known_trait_is_exact(banks):
    bank, _ = banks
    diary = [{"day": -d, "observable": "pain_nrs", "value": 5.0} for d in range(28)]
    few = P.infer_person(P.person_from_rows(diary[:1]), bank=bank, candidates=False)
    many = P.infer_person(P.person_from_rows(diary + [{"day": -3, "observable": "crp_mg_l", "value": 4.0}]),
                          bank=bank, candidates=False)
    assert many.effective_people < few.effective_people < len(bank)
    carrier = P.PersonData(pd.DataFrame(columns=["day", "observable", "value"]), hla_b27=1)
    weights = P._normalised(P.log_weights(bank, carrier))
    assert set(bank.loc[weights > 0, "prior_hla_b27"]) == {1.0}


def test_an_il6_measurement_is_weighed_with_its_measured_scatter(banks):
    """IL-6 is a lab a person may bring: its noise is a measured within-person CV, it narrows who is behind the
    answer, and a value outside its range is refused."""
    bank, _ = banks
    assert P.NOISE["il6_pg_ml"].grade == "human observational" and "Knudsen" in P.NOISE["il6_pg_ml"].source
    diary = [{"day": -d, "observable": "pain_nrs", "value": 5.0} for d in range(7)]
    without = P.infer_person(P.person_from_rows(diary), bank=bank, candidates=False)
    with_il6 = P.infer_person(P.person_from_rows(diary + [{"day": -2, "observable": "il6_pg_ml", "value": 3.0}]),
                              bank=bank, candidates=False)
    assert with_il6.effective_people < without.effective_people
    with pytest.raises(InputError, match="il6_pg_ml from 0.05 to 1000"):
        P.person_from_rows([{"day": 0, "observable": "il6_pg_ml", "value": "5000"}])


def test_weighted_quantiles_keep_never_as_never():
    values = np.array([10.0, 20.0, np.inf, np.inf])
    assert P.weighted_quantiles(values, np.full(4, 0.25), (0.1, 0.9)) == [10.0, math.inf]


@pytest.mark.parametrize("plan", ["nothing", "a 4-week diary, an L:M and a CRP"])
def test_simulation_based_calibration_of_the_gut_share(banks, plan):
    """Talts et al. 2018: over 200 true people simulated apart from the bank, the truth's posterior rank is uniform
    (chi-square over 10 bins, p above 0.01) and the 90% interval holds it 80-97% of the time."""
    bank, truths = banks
    check = P.simulation_based_calibration(bank, truths, P.DIARY_PLANS[plan])
    assert check["people"] == len(truths)
    assert 0.80 <= check["coverage_90"] <= 0.97, check
    assert check["uniformity_p"] > 0.01, check


def test_the_shipped_bank_of_virtual_people_is_current_and_is_what_the_code_makes():
    """Made by ``python -c "from gutjoint._studies import person; person.write_shipped_bank()"``: a changed model,
    engine tolerance or bank scenario makes it stale (the CLI then simulates a bank, and the web refuses). Its
    first people are the ones a fresh bank of the same seed gives (to float32)."""
    shipped = P.shipped_bank()
    assert shipped is not None, "the shipped person bank is stale or missing: regenerate it (see this docstring)"
    assert len(shipped) == P.SHIPPED_SIZE
    fresh = P.person_bank(100, P.SHIPPED_SEED)[list(P.BANK_COLUMNS)]
    np.testing.assert_allclose(shipped.iloc[:100].to_numpy(), fresh.to_numpy(), rtol=1e-6, equal_nan=True)


def test_the_shipped_bank_is_small_and_its_size_is_the_one_the_words_give():
    """The bank stays under 2 MB in the package, and the README, the page and the tutorial give its size."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    assert (root / "src" / "gutjoint" / "data" / P.SHIPPED_BANK[0]).stat().st_size < 2_000_000
    size = f"{P.SHIPPED_SIZE:,}"
    for page in ("README.md", "src/gutjoint/_interfaces/web/static/index.html", "docs/tutorials/your-own-numbers.md"):
        assert f"{size} virtual" in (root / page).read_text(encoding="utf-8") or f"bank of {size}" in (
            root / page).read_text(encoding="utf-8"), page


def test_enrichment_enrols_by_the_posterior_gut_share_and_compares_power_at_equal_size():
    """Half the pool enrols at the default threshold (the median posterior); both designs report a power in 0-1 with
    its standard error, at the same size per arm, over the same number of trials."""
    from gutjoint._studies.enrichment import enrichment

    result = enrichment(per_arm=20, repeats=40, pool_size=300, bank_size=1500)
    assert 0.45 <= result["enrolled_share"] <= 0.55
    assert result["enriched"]["people"] < result["unselected"]["people"]
    for design in ("unselected", "enriched"):
        assert 0.0 <= result[design]["power"] <= 1.0 and result[design]["power_se"] >= 0.0
    low, mid, high = result["posterior_gut_share"]
    assert low <= result["threshold"] <= high and mid == pytest.approx(result["threshold"], abs=1e-12)


def test_the_shipped_enrichment_over_the_ensemble_is_current_and_recomputes():
    """The README's power gain over parameter sets is what ``enrichment_over_ensemble`` makes today: its key
    matches, and its first usable parameter set gives the same powers and effects when run again."""
    from gutjoint._studies import enrichment as E
    from gutjoint._studies.ensemble import load_ensemble

    shipped = E.shipped()
    assert shipped is not None, E.STALE
    k = next(i for i, d in enumerate(shipped["per_draw"]) if d is not None)
    again = E.enrichment(**E.SETTINGS, parameters=load_ensemble().parameter_sets(draws=k + 1)[k])
    stored = shipped["per_draw"][k]
    assert again["unselected"]["power"] == stored["unselected"] and again["enriched"]["power"] == stored["enriched"]
    assert again["enriched"]["effect"] == pytest.approx(stored["effect_enriched"], rel=1e-12)
    used = [d["gain"] for d in shipped["per_draw"] if d is not None]
    assert shipped["gain_median"] == pytest.approx(float(np.median(used)), rel=1e-12)


def test_each_option_in_the_bank_is_that_person_living_it():
    """A banked person's outcome under an option is the same person's own run of the option (the scenario made
    from their drawn traits and exposures, solved alone): batches equal loops. The option starts after a day at
    rest, so the resting state is theirs, and the four pain sources' shares sum to one."""
    from gutjoint._studies.options import OPTIONS, with_option
    from gutjoint._studies.outcomes import time_to_improvement
    from gutjoint._studies.people import subject_scenario
    from gutjoint._studies.problem import MANY_RUN_TOLERANCES, prepare
    from gutjoint._biology import species
    from dataclasses import replace

    bank = P.person_bank(6, 41)
    shares = bank[[f"share_{s}" for s in species.PAIN_SOURCES]].to_numpy()
    np.testing.assert_allclose(shares.sum(axis=1), 1.0, rtol=1e-12)
    person = P._subjects(bank)[3]
    base = replace(P.REST_SCENARIO, days=P.OPTION_START + P.OPTION_DAYS)
    for option in OPTIONS:
        solution = prepare(with_option(subject_scenario(base, person), option, P.OPTION_START)).solve(
            tolerances=MANY_RUN_TOLERANCES)
        pain = solution["pain_nrs"]
        assert pain[0] == pytest.approx(bank.loc[3, "baseline_pain"], rel=1e-12)
        assert bank.loc[3, f"pain_after_{option.key}"] == pytest.approx(pain[-1], rel=1e-12)
        days = time_to_improvement(solution.times, pain, P.OPTION_START, 0.30)
        assert bank.loc[3, f"days_to_30pct_{option.key}"] == (days if math.isfinite(days) else math.inf)


def test_the_answer_names_every_option_and_the_pain_sources_with_intervals(banks):
    """The forecast gives, for every option, the chance of 30% less pain within 12 weeks and a year and the pain
    after a year, each an interval; the four sources' shares come with intervals too; the words say each option."""
    from gutjoint._interfaces.person_report import summary_lines
    from gutjoint._studies.options import OPTIONS

    bank, truths = banks
    data = P.simulated_measurements(np.random.default_rng(3), truths.iloc[0], [("pain_nrs", 28), ("crp_mg_l", 1)])
    result = P.infer_person(data, bank=bank, candidates=False)
    assert list(result.options) == [o.key for o in OPTIONS]
    for o in result.options.values():
        assert 0.0 <= o["improves_within_12_weeks"] <= o["improves_within_a_year"] <= 1.0
        low, mid, high = o["final_pain"]
        assert low <= mid <= high
    for low, mid, high in result.sources.values():
        assert 0.0 <= low <= mid <= high <= 1.0
    text = "\n".join(summary_lines(result, data))
    assert all(o.label in text for o in OPTIONS) and "Where that pain comes from" in text
    assert "What your data say about you" in text


def test_the_models_own_uncertainty_is_kept_apart_for_every_option():
    """Banks made under two ensemble draws give, per draw, the gut share's median and each option's chance of 30%
    less pain within 12 weeks; the words give their range between draws, apart from the person's intervals."""
    from gutjoint._interfaces.person_report import summary_lines
    from gutjoint._studies.options import OPTIONS
    from gutjoint._studies.uncertainty import load_ensemble

    draws = load_ensemble().parameter_sets(draws=2)
    banks = [P.person_bank(300, 31 + k, parameters=values) for k, values in enumerate(draws)]
    assert banks[0].attrs["parameters"] == draws[0]
    data = P.person_from_rows([{"day": -1, "observable": "pain_nrs", "value": 5}])
    result = P.infer_person(data, bank=P.person_bank(300, 7), parameter_banks=banks, candidates=False)
    for option in OPTIONS:
        chances = result.parameter_spread[f"{option.key}_within_12_weeks"]
        assert len(chances) == 2 and all(0 <= c <= 1 for c in chances)
    assert "chance of 30% less pain within 12 weeks: barrier support" in "\n".join(summary_lines(result, data))


EVENT_FILE = """day,observable,value
-90,enteric_infection,7
-60,nsaid,21
-50,lm_ratio,0.09
-30,barrier_support,1
-10,barrier_support,0
-5,anti_tnf,1
-3,crp_mg_l,4.2
-3,lm_ratio,0.04
-2,pain_nrs,6
"""


def test_events_are_read_onto_a_timeline(tmp_path):
    """Courses have a length, interventions a start and a stop (one still running goes on past today); the timeline
    starts a day before the first event at rest and ends today, the events placed on it."""
    data = P.read_person(_write(tmp_path, EVENT_FILE))
    assert [(e.name, e.input, e.start, e.end) for e in data.events] == [
        ("enteric_infection", "enteric_infection", -90, -83), ("nsaid", "barrier_insult", -60, -39),
        ("barrier_support", "barrier_support", -30, -10), ("anti_tnf", "anti_tnf", -5, math.inf)]
    first = P.timeline_start(data)
    scenario = P.with_events(P.rest_scenario(None, -first), data.events, first, -first)
    assert first == -91 and scenario.days == 91
    assert [(w.name, w.start_day, w.end_day) for w in scenario.inputs] == [
        ("enteric_infection", 1, 8), ("barrier_insult", 31, 52), ("barrier_support", 61, 81), ("anti_tnf", 86, 91)]


@pytest.mark.parametrize("rows, words", [
    ("-5,barrier_support,0\n", "field 'value' is 0 on day -5, but barrier_support was not started before"),
    ("-9,anti_tnf,1\n-5,anti_tnf,1\n", "but anti_tnf started on day -9 has not stopped"),
    ("-5,nsaid,0\n", "field 'value' is '0'; allowed: the nsaid's length, 1 to 3650 days"),
    ("-5,enteric_infection,90\n", "allowed: the enteric_infection's length, 1 to 60 days"),
    ("-5,barrier_support,yes\n", "allowed for barrier_support: 1 (started that day) or 0 (stopped that day)"),
])
def test_a_bad_event_gets_one_line_naming_the_row_and_what_is_allowed(tmp_path, rows, words):
    path = _write(tmp_path, "day,observable,value\n" + rows)
    with pytest.raises(InputError) as error:
        P.read_person(path)
    assert words in str(error.value) and str(path) in str(error.value) and "\n" not in str(error.value)


def test_every_banked_person_lives_the_events_before_being_weighed(tmp_path):
    """During the NSAID course the virtual people's L:M is higher than after it (the course is lived), and a
    person's weight under a timeline is the likelihood of their own values on it."""
    data = P.read_person(_write(tmp_path, EVENT_FILE))
    bank = P.person_bank(40, 5)
    values, days = P.timeline_values(bank, data)
    during, after = list(days).index(-50), list(days).index(-3)
    assert (values["lm_ratio"][:, during] > 1.5 * values["lm_ratio"][:, after]).mean() > 0.9
    logw = P.timeline_log_weights(values, days, data, bank)
    k = 7
    expected = sum(P.NOISE[r.observable].log_likelihood(np.array([values[r.observable][k, list(days).index(r.day)]]),
                                                        r.value)[0] for r in data.measurements.itertuples())
    assert logw[k] == pytest.approx(expected, rel=1e-12)


def test_simulation_based_calibration_through_a_timeline_with_events():
    """200 true people (another seed) live an NSAID course and give an L:M during it, a 4-week diary, an L:M and a
    CRP; the 10,000-person bank lives the same course. The true gut share's and traits' ranks are uniform and the
    90% intervals hold about 90% of them."""
    checks = P.timeline_calibration(P.person_bank(10_000, 31, workers=2), P.person_bank(200, 99),
                                    P.person_from_rows(P.TIMELINE_PLAN), quantities=P.TIMELINE_QUANTITIES)
    for name, check in checks.items():
        assert check["people"] == 200, name
        assert 0.80 <= check["coverage_90"] <= 0.97, (name, check)
        assert check["uniformity_p"] > 0.01, (name, check)


def test_the_command_weighs_a_timeline_and_says_what_the_events_change(tmp_path, capsys):
    """``gutjoint person`` with events simulates its bank through the timeline, reports pain today beside pain at
    rest, lists the events, and says the forecast starts from rest; person.json keeps the events."""
    import json

    path = _write(tmp_path, EVENT_FILE)
    with pytest.raises(SystemExit) as code:
        main(["person", str(path), "--out", str(tmp_path / "out")])
    assert code.value.code in (0, None)
    said = capsys.readouterr().out
    assert "4 events (enteric infection day -90 to day -83; nsaid day -60 to day -39" in said
    assert "today, after your events" in said and "the forecast starts from where each of them is today" in said
    answer = json.loads((tmp_path / "out" / "person.json").read_text())
    assert answer["bank_size"] == P.EVENT_BANK_SIZE and answer["events"][-1]["end"] is None


def test_a_known_coeliac_diagnosis_weighs_the_person_against_coeliac_people(tmp_path):
    """People with untreated coeliac disease live its exposures (a leakier barrier) with general-adult traits; the
    same data then put more of the pain on the gut, the weighting is calibrated for them too, and a diagnosis the
    model has no population for is refused in one line."""
    from gutjoint._studies.person import simulation_based_calibration

    coeliac, general = P.person_bank(10_000, 31, workers=2, diagnosis="coeliac"), P.person_bank(10_000, 31, workers=2)
    assert coeliac["baseline_lm"].median() > 3 * general["baseline_lm"].median()
    rows = "day,observable,value\n-3,pain_nrs,6\n-2,pain_nrs,6\n-1,crp_mg_l,3\n"
    plain = P.read_person(_write(tmp_path, rows))
    known = P.read_person(_write(tmp_path, rows + "0,diagnosis,coeliac\n"))
    assert known.diagnosis == "coeliac"
    with pytest.raises(ValueError, match="diagnosis"):
        P.infer_person(known, bank=general)
    share = P.infer_person(known, bank=coeliac, candidates=False).summaries["gut_share"][1]
    assert share > 3 * P.infer_person(plain, bank=general, candidates=False).summaries["gut_share"][1]
    check = simulation_based_calibration(coeliac, P.person_bank(200, 99, diagnosis="coeliac"),
                                         P.DIARY_PLANS["a 4-week diary, an L:M and a CRP"])
    assert 0.80 <= check["coverage_90"] <= 0.97 and check["uniformity_p"] > 0.01, check
    with pytest.raises(InputError, match="allowed for a diagnosis: coeliac .* IBD is not modelled"):
        P.read_person(_write(tmp_path, "day,observable,value\n0,diagnosis,ibd\n"))


def test_the_trial_command_compares_an_enriched_trial(tmp_path, capsys):
    """``gutjoint trial NAME --enrich N`` prints both powers at N per arm and writes enrichment.json."""
    import json

    with pytest.raises(SystemExit) as code:
        main(["trial", "barrier-support-joint-pain", "--out", str(tmp_path), "--enrich", "10", "--repeats", "20"])
    assert code.value.code in (0, None)
    said = capsys.readouterr().out
    assert "enriched by the posterior gut share" in said and "10 per arm, if the model is right" in said
    written = json.loads((tmp_path / "enrichment.json").read_text())
    assert written["per_arm"] == 10 and written["repeats"] == 20 and 0 <= written["enriched"]["power"] <= 1


def test_with_events_the_forecast_starts_from_today_and_is_compared_with_no_change(tmp_path):
    """On a timeline, each option runs from today with the events' state (an intervention still running goes on),
    the forecast is read for the people who carry nearly all the weight, and the events' own course is reported
    beside the options."""
    data = P.read_person(_write(tmp_path, EVENT_FILE))
    bank = P.person_bank(300, 31, options=False)
    assert "pain_after_barrier_support" not in bank
    forecast = P.timeline_forecast(bank.iloc[:5], data)
    assert {f"pain_after_{k}" for k in ("barrier_support", "no_change")} <= set(forecast)
    result = P.infer_person(data, bank=bank, candidates=False)
    assert "no_change" in result.options and 0 <= result.options["no_change"]["improves_within_a_year"] <= 1
    values, days = P.timeline_values(bank, data)
    w = P._normalised(P.timeline_log_weights(values, days, data, bank))
    carried, weights = P._forecast(bank, data, w)
    assert w[carried.index].sum() >= P.FORECAST_MASS and weights.sum() == pytest.approx(1.0, abs=1e-12)


def test_a_measurement_may_come_in_another_unit_and_a_unit_that_cannot_be_converted_is_refused(tmp_path):
    """VAS millimetres, CRP in mg/dL, endotoxin in EU/mL and stiffness in hours are converted to the model's units;
    an unknown unit, and a value outside the range in the unit given, get one line each."""
    data = P.read_person(_write(tmp_path, "day,observable,value,unit\n-2,pain_nrs,60,mm\n-2,crp_mg_l,0.42,mg/dL\n"
                                          "-2,lps_pg_ml,0.3,EU/mL\n-2,stiffness_min,1,h\n-1,lm_ratio,0.04,\n"))
    assert data.measurements["value"].tolist() == pytest.approx([6.0, 4.2, 30.0, 60.0, 0.04])
    for rows, words in (("0,crp_mg_l,3,g/L", "field 'unit' is 'g/L'; allowed for crp_mg_l: mg/L, mg/dL, nmol/L"),
                        ("0,crp_mg_l,90,mg/dL", "field 'value' is '90'; allowed: a crp_mg_l from 0.001 to 50 mg/dL")):
        with pytest.raises(InputError) as error:
            P.read_person(_write(tmp_path, "day,observable,value,unit\n" + rows + "\n"))
        assert words in str(error.value)


def test_a_stiffness_diary_and_an_endotoxin_are_weighed(banks):
    """The bank holds each person's resting morning stiffness and plasma endotoxin; measuring them narrows who the
    person may be."""
    bank, truths = banks
    truth = truths.iloc[3]
    rng = np.random.default_rng(5)
    pain = P.simulated_measurements(rng, truth, [("pain_nrs", 7)])
    more = P.simulated_measurements(rng, truth, [("pain_nrs", 7), ("stiffness_min", 14), ("lps_pg_ml", 1)])
    fewer = P.infer_person(more, bank=bank, candidates=False).effective_people
    assert fewer < P.infer_person(pain, bank=bank, candidates=False).effective_people


def test_a_weight_loss_event_halves_each_persons_own_metabolic_stress(tmp_path):
    """``weight_loss`` started on a day is the report's weight-loss-like change on the timeline: the metabolic
    stress in effect then, each person's own, halved from that day while it lasts."""
    from gutjoint._studies.options import level_at
    from gutjoint._studies.people import subject_scenario

    data = P.read_person(_write(tmp_path, "day,observable,value\n-30,weight_loss,1\n-10,weight_loss,0\n-1,pain_nrs,4\n"))
    assert [(e.name, e.input, e.start, e.end, e.relative) for e in data.events] == [
        ("weight_loss", "metabolic_stress", -30, -10, True)]
    bank = P.person_bank(3, 8, options=False)
    first = P.timeline_start(data)
    for person in P._subjects(bank):
        lived = subject_scenario(P.rest_scenario(None, -first), person)
        timeline = P.with_events(lived, data.events, first, -first)
        own = level_at(lived, "metabolic_stress", 5.0)
        assert level_at(timeline, "metabolic_stress", -20 - first) == pytest.approx(0.5 * own, rel=1e-15)
        assert level_at(timeline, "metabolic_stress", -5 - first) == own
