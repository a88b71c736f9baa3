"""The web API (FastAPI, in process) and the page in a real browser (Debian's Chromium, driven by Playwright)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gutjoint._interfaces.web.app import MAX_POPULATION, create_app
from gutjoint._safety import DISCLAIMER

ARTIFACTS = Path(os.environ.get("GUTJOINT_ARTIFACTS", Path(__file__).resolve().parents[1] / "artifacts"))


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(), base_url="http://127.0.0.1") as c:
        yield c


def test_scenarios_parameters_and_openapi(client):
    names = {s["name"] for s in client.get("/api/scenarios").json()}
    assert {"healthy", "barrier-support", "ra-like"} <= names
    table = client.get("/api/parameters").json()
    assert all("grade" in p for p in table["parameters"]) and all("grade" in link for link in table["links"])
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/simulate", "/api/explain", "/api/population", "/api/triage"} <= set(paths)


def test_simulate_returns_the_output_columns(client):
    r = client.post("/api/simulate", json={"days": 20, "inputs": [{"name": "dysbiosis", "level": 0.6}]})
    assert r.status_code == 200
    columns = r.json()["columns"]
    assert len(columns["pain_nrs"]) == 21 and columns["time_days"][-1] == 20
    assert r.json()["disclaimer"] == DISCLAIMER


@pytest.mark.parametrize("body, fragment", [
    ({"days": 20, "inputs": [{"name": "leakiness", "level": 1}]}, "field 'inputs[0].name' = 'leakiness'"),
    ({"days": 20, "inputs": [{"name": "dysbiosis", "level": 3}]}, "inputs[0].level"),
    ({"days": 5000}, "at most 3650 on the web"),
    ({"days": 3000, "step_hours": 1}, "at most 5000 rows"),
    ({"days": "ten"}, "field 'days'"),
])
def test_bad_simulation_input_is_422_with_the_cli_message(client, body, fragment):
    r = client.post("/api/simulate", json=body)
    assert r.status_code == 422 and fragment in r.json()["detail"]


def test_caps_on_body_and_population(client):
    assert client.post("/api/simulate", content=b"{" + b" " * 70_000 + b"}",
                       headers={"content-type": "application/json"}).status_code == 413
    r = client.post("/api/population", json={"scenario": "barrier-support", "n": MAX_POPULATION + 1})
    assert r.status_code == 422 and f"'n' = {MAX_POPULATION + 1}" in r.json()["detail"]
    assert f"less than or equal to {MAX_POPULATION}" in r.json()["detail"]
    r = client.post("/api/population", json={"scenario": "healthy", "n": 2, "seed": -1})
    assert r.status_code == 422 and "'seed' = -1" in r.json()["detail"] and "greater than or equal to 0" in r.json()["detail"]


def test_explain_population_and_triage(client):
    r = client.post("/api/explain", json={"scenario": "ra-like"}).json()
    assert max(r["sources"], key=r["sources"].get) == "immune" and r["gut_share"] < 0.1
    p = client.post("/api/population", json={"scenario": "barrier-support", "n": 12, "seed": 3}).json()
    assert p["summary"]["n"] == 12 and len(p["subjects"]) == 12
    t = client.post("/api/triage", json={"flags": ["fever"]}).json()
    assert t["refer"] is True and t["message"].startswith("Professional evaluation is essential")
    assert client.post("/api/triage", json={"flags": []}).json()["refer"] is False
    assert client.post("/api/triage", json={"flags": ["sore"]}).status_code == 422


# --- the page in a real browser ------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def server():
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    srv = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not srv.started and time.time() < deadline:
        time.sleep(0.1)
    assert srv.started, "the server did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture()
def page(browser, server):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/")
    page.wait_for_function("document.querySelector('#chart-pain').dataset.points !== undefined", timeout=30_000)
    page.errors = errors
    yield page
    page.close()


def _shot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_page_loads_without_console_errors(page):
    _shot(page, "web-desktop.png")
    assert page.errors == []
    assert page.locator("#disclaimer-top").inner_text().startswith("Educational research tool")
    assert page.locator("#disclaimer-bottom").is_visible()
    assert "/10" in page.locator("#chain").text_content()


def test_moving_a_slider_changes_the_chart(page):
    before = page.locator("#chart-pain").get_attribute("data-points")
    page.locator("#in-cross_reactivity").fill("0.9")
    page.locator("#in-dysbiosis").fill("0.8")
    page.wait_for_function(f"document.querySelector('#chart-pain').dataset.points !== {before!r}", timeout=30_000)
    assert page.locator("#chart-pain").get_attribute("data-points") != before
    assert page.errors == []


def test_ticking_fever_shows_the_evaluation_message(page):
    page.locator("#flag-fever").check()
    page.wait_for_function("document.querySelector('#triage-message').textContent.includes('essential')")
    assert "Professional evaluation is essential" in page.locator("#triage-message").inner_text()


def test_a_faq_simulation_renders(page):
    page.locator("#faq-run2").click()
    page.wait_for_function("document.querySelector('#faq-out2 svg polyline') !== null", timeout=30_000)
    assert page.locator("#faq-out2 svg polyline").count() == 2


def test_keyboard_only_path(page):
    """Tab to the first red flag, tick it with the space bar: the guidance appears."""
    page.locator("#flag-severe").focus()
    page.keyboard.press("Space")
    page.wait_for_function("document.querySelector('#triage-message').classList.contains('refer')")
    focused = page.evaluate("document.activeElement.id")
    assert focused == "flag-severe"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "flag-progressive"


def test_phone_width_screenshot(browser, server):
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page.goto(server + "/")
    page.wait_for_function("document.querySelector('#chart-pain').dataset.points !== undefined", timeout=30_000)
    width = page.evaluate("document.documentElement.scrollWidth")
    _shot(page, "web-phone.png")
    page.close()
    assert width <= 390 + 1  # nothing forces sideways scrolling on a phone


# --- API robustness: schemathesis against the OpenAPI schema ---------------------------------------------------

def _fuzz_api(mode: str, examples: int):
    """Call every operation with schemathesis-generated requests; return (case, response) pairs."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable

    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(hosts=None))
    calls = []
    for operation in schema.get_all_operations():
        op = operation.ok()

        @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy(generation_mode=schemathesis.GenerationMode(mode)))
        def check(case):
            calls.append((case, case.call()))

        try:
            check()
        except Unsatisfiable:  # an operation without inputs has no negative case
            assert mode == "negative"
    return calls


def test_api_never_answers_with_a_server_error():
    calls = _fuzz_api("positive", 15) + _fuzz_api("negative", 15)
    failures = [(c.method, c.path, r.status_code, r.text[:200]) for c, r in calls if r.status_code >= 500]
    assert failures == []
    statuses = {r.status_code for _, r in calls}
    assert len(calls) >= 80 and 422 in statuses and 200 in statuses  # it did call, with good and bad input


def test_a_request_that_conforms_to_the_schema_is_accepted():
    """The schema and the validator describe one contract: a conforming request is answered 200, unless it breaks
    a rule between two fields, which the schema can only state in words (the 422 then names that rule)."""
    import re

    from gutjoint._interfaces.web.app import CROSS_FIELD

    refused = []
    for case, response in _fuzz_api("positive", 40):
        if response.status_code == 200:
            continue
        field = re.sub(r"\[\d+\]", "[]", (response.json() or {}).get("field") or "") if response.status_code == 422 else ""
        for prefix in ("scenario.", ""):  # explain and population nest the scenario
            if field.startswith(prefix) and field[len(prefix):] in CROSS_FIELD:
                break
        else:
            refused.append((case.method, case.path, case.body, response.status_code, response.text[:300]))
    assert refused == [], "\n".join(map(repr, refused))


def test_the_gut_infection_faq_compares_a_susceptible_person_with_one_who_is_not(page):
    k = next(i for i in range(10) if "gut infection" in page.locator(f"#faq-q{i}").inner_text())
    page.locator(f"#faq-run{k}").click()
    page.wait_for_function(f"document.querySelectorAll('#faq-out{k} svg polyline').length === 2", timeout=30_000)
    assert "not susceptible" in page.locator(f"#faq-out{k}").inner_text()
    assert page.errors == []


def test_the_person_panel_has_the_reactive_susceptibility_trait(page):
    assert page.locator("#in-reactive_susceptibility").count() == 1


def test_the_charts_have_axes_units_and_the_ensemble_band(page):
    page.wait_for_function("document.querySelector('#chart-pain').dataset.bands === '1'", timeout=60_000)
    chart = page.locator("#chart-pain")
    assert "time (days)" in chart.text_content() and "pain (NRS 0-10)" in chart.text_content()
    assert "180" in chart.text_content()  # day ticks along the time axis
    assert page.locator("#chart-pain polygon.band").count() == 1
    assert page.locator("#chart-inflammation polygon.band").count() == 2
    words = page.locator("#uncertainty").inner_text()
    assert "How sure: pain on the last day is between" in words and "rest on assumptions" in words
    _shot(page, "web-bands.png")
    assert page.errors == []


def test_simulate_with_uncertainty_returns_bands(client):
    body = {"days": 60, "inputs": [{"name": "dysbiosis", "level": 0.6}]}
    r = client.post("/api/simulate?columns=pain_nrs&uncertainty=true", json=body)
    assert r.status_code == 200
    bands = r.json()["bands"]
    low, high = bands["columns"]["pain_nrs_q05"], bands["columns"]["pain_nrs_q95"]
    assert len(low) == 61 and all(a <= b for a, b in zip(low, high))
    assert "in 90% of the parameter sets" in bands["pain_last_day"] and "assumptions" in bands["honesty"]


def test_a_band_is_computed_once_for_every_server_process(tmp_path, monkeypatch):
    """A second process (here: this one with its own memory cleared) reads the band the first stored in the disk
    cache instead of computing it again; another scenario gets its own band. (``_bands`` is what each server
    process's heavy-work process runs.)"""
    from gutjoint._interfaces.web import app as web
    from gutjoint._studies.scenario import load_scenario

    monkeypatch.setenv("GUTJOINT_CACHE", str(tmp_path))
    web._band_folder.cache_clear()
    monkeypatch.setattr(web, "_BAND_CACHE", {})
    body = {"days": 30, "inputs": [{"name": "dysbiosis", "level": 0.4}]}
    columns = ("time_days", "pain_nrs")
    first = web._bands(load_scenario(body), columns)
    assert len(list((tmp_path / "bands").glob("*.json"))) == 1
    computed = []
    monkeypatch.setattr(web, "_BAND_CACHE", {})
    monkeypatch.setattr(web, "_compute_bands", lambda *a: computed.append(a) or {"from": "computed"})
    again = web._bands(load_scenario(body), columns)
    assert computed == [] and orjson_equal(again, first)
    other = web._bands(load_scenario({**body, "days": 31}), columns)
    assert len(computed) == 1 and other == {"from": "computed"}
    monkeypatch.setattr(web, "MAX_STORED_BANDS", 10)  # the folder does not grow without bound
    for k in range(12):
        (tmp_path / "bands" / f"old{k}.json").write_text("{}")
    web.band_cache().prune()
    assert len(list((tmp_path / "bands").glob("*.json"))) == 9
    web._band_folder.cache_clear()


def orjson_equal(a, b) -> bool:
    """Equal as the API sends them (arrays and lists alike)."""
    import orjson

    return orjson.dumps(a, option=orjson.OPT_SERIALIZE_NUMPY) == orjson.dumps(b, option=orjson.OPT_SERIALIZE_NUMPY)


def test_how_would_we_know_runs_a_small_trial_and_explains_power(page):
    k = page.evaluate("[...document.querySelectorAll('#faq h3')].findIndex((h) => h.textContent === 'How would we know?')")
    assert k >= 0
    page.locator(f"#faq-run{k}").click()
    page.wait_for_function("document.querySelector('#trial-words') !== null", timeout=90_000)
    words = page.locator("#trial-words").inner_text()
    assert "more than placebo" in words and "of the time" in words and "per arm" in words
    assert "parameter sets the data allow" in words  # the power over what we do not know, from the shipped curve
    assert page.errors == []


def test_the_trial_api_caps_its_size(client):
    r = client.post("/api/trial", json={"trial": "barrier-support-joint-pain", "per_arm": 5000})
    assert r.status_code == 422 and "per_arm" in r.json()["detail"]


def test_each_arrow_of_the_chain_shows_its_weakest_link(page):
    """The page says every arrow shows the grade of its weakest link; the synovitis arrow rests on L18 (animal)."""
    import json as json_

    import gutjoint
    from gutjoint._biology.parameters import GRADES

    source = (Path(create_app.__code__.co_filename).parent / "static" / "app.js").read_text(encoding="utf-8")
    chain = json_.loads(re.search(r"const CHAIN_LINKS = (\[.*?\]);", source).group(1))
    grade = {link.id: link.grade for link in gutjoint.links()}
    expected = [max((grade[i] for i in ids), key=GRADES.index) for ids in chain]
    shown = page.eval_on_selector_all("#chain .link text", "(ts) => ts.map((t) => t.dataset.weakest)")
    assert shown == expected and expected[3] == "animal"
    page.locator("#chain .link").nth(3).focus()
    info = page.locator("#link-info").inner_text()
    assert "weakest link: animal" in info and all(i in info for i in chain[3])


def test_the_person_api_answers_stops_on_a_red_flag_and_refuses_bad_rows(client):
    """Own numbers in, the words and numbers out (the shipped bank); a red flag gives the triage alone; a value out
    of range is a 422 naming the row, the field and what is allowed."""
    rows = [{"day": -7, "observable": "pain_nrs", "value": 6}, {"day": 0, "observable": "lm_ratio", "value": 0.03}]
    answer = client.post("/api/person", json={"rows": rows}).json()
    assert not answer["stopped"] and 0 <= answer["summaries"]["gut_share"][1] <= 1
    assert answer["lines"][0].startswith("If joint pain is severe") and "disclaimer" in answer
    flagged = client.post("/api/person", json={"rows": rows + [{"observable": "red_flag", "value": "fever"}]}).json()
    assert flagged["stopped"] and flagged["triage"]["refer"] and "gut share" not in " ".join(flagged["lines"])
    bad = client.post("/api/person", json={"rows": [{"day": 0, "observable": "crp_mg_l", "value": 900}]})
    assert bad.status_code == 422 and "row 2: field 'value' is '900.0'" in bad.json()["detail"]
    converted = client.post("/api/person", json={"rows": [{"day": -1, "observable": "crp_mg_l", "value": 0.4,
                                                           "unit": "mg/dL"}]})
    assert converted.status_code == 200
    unit = client.post("/api/person", json={"rows": [{"day": -1, "observable": "crp_mg_l", "value": 4, "unit": "g"}]})
    assert unit.status_code == 422 and "unit" in unit.text
    event = client.post("/api/person", json={"rows": rows + [{"day": -30, "observable": "nsaid", "value": 14}]})
    assert event.status_code == 422 and "'rows[2].observable' = 'nsaid' is an event" in event.json()["detail"]
    assert "gutjoint person FILE" in event.json()["detail"]


def test_your_own_numbers_panel_answers_in_the_page(page):
    page.click("#person-run")
    page.wait_for_function("document.querySelector('#person-out').textContent.includes('from the gut')",
                           timeout=30_000)
    text = page.inner_text("#person-out")
    assert "90% interval" in text and "not medical advice" in text
    assert page.evaluate("window.localStorage.length + window.sessionStorage.length") == 0
    _shot(page, "web-person.png")


def test_the_pages_answers_carry_what_the_human_trials_say(client, page):
    """The parameters route carries the shipped gut-to-joint fit, and the page's answers quote it: the fitted
    strength against its prior, and the share of the association that runs from pain back to the gut."""
    from gutjoint._studies.calibration import gut_joint

    evidence = client.get("/api/parameters").json()["gut_joint"]
    fit = gut_joint.shipped_fit()
    assert evidence["parameters"] == fit["parameters"] and evidence["reverse_share"] == pytest.approx(
        fit["reverse_path"]["fitted"]["reverse_share"])
    answers = page.locator("#faq").inner_text()
    syn = fit["parameters"][0]
    assert "What human trials say" in answers and f"to {syn['median']:.2f}" in answers
    assert f"{round(100 * evidence['reverse_share'])}% of the" in answers and "runs the other way" in answers
    from gutjoint._studies import gut_share

    coeliac = gut_share.shipped()["populations"]["coeliac"]["after"]["gut_share"]
    assert (f"{round(100 * coeliac['median'])}% (90% {round(100 * coeliac['q05'])}% to "
            f"{round(100 * coeliac['q95'])}%) in untreated coeliac disease") in answers
