"""Regression tests for the second hardening round, one section per point of the issue: no silent wrong answer,
no request that stalls the server, every argument checked. Each test failed on the main branch before the fix."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import gutjoint
from gutjoint._interfaces.cli import main
from gutjoint._interfaces.web import app as web
from gutjoint._studies.problem import needs_slow_rest
from gutjoint._studies.scenario import BOLUS_BELOW_HOURS, load_scenario

SLOW_REST = {"days": 16.3, "parameters": {"tnf_activation_boost": 846.37, "gut_lps_bioactivity": 0.3,
                                          "tolerance_induction": 1.0}}
"""Every value in range, and a resting state the compiled Newton does not settle: SciPy's fallback takes ~1 s."""


def cli(argv, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in argv])
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


@pytest.fixture(scope="module")
def client():
    from fastapi.testclient import TestClient

    with TestClient(web.create_app(), base_url="http://127.0.0.1") as c:
        yield c


def _children(pid: int) -> set[int]:
    """The process ids whose parent is ``pid`` (from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _gone(pids: set[int], seconds: float = 5.0) -> bool:
    """Whether every one of ``pids`` has ended (a killed process takes a moment to go)."""
    deadline = time.time() + seconds
    while _alive(pids) and time.time() < deadline:
        time.sleep(0.05)
    return not _alive(pids)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- 1. a very short infusion is a bolus, never a lost dose ------------------------------------------------------

def _peak_tnf(duration_hours: float, day: float = 0.5) -> tuple[str, float]:
    result = gutjoint.simulate({"days": day + 1, "step_hours": 0.1, "doses": [
        {"name": "lps_iv", "amount": 2.0, "day": day, "duration_hours": duration_hours}]})
    return result.status.code, float(np.nanmax(result["tnf_pg_ml"]))


@pytest.mark.parametrize("duration", [1e-15, 1e-9, 1e-5, 0.999 * BOLUS_BELOW_HOURS])
def test_an_infusion_shorter_than_a_minute_is_given_as_the_bolus(duration):
    assert _peak_tnf(duration) == _peak_tnf(0.0)
    assert _peak_tnf(0.0)[1] > 200  # the dose arrived (Janum 2016's TNF peak is in the hundreds of pg/mL)


def test_a_one_minute_infusion_peaks_within_a_thousandth_of_the_bolus():
    """The threshold sits where it changes nothing a reader could see: the shortest infusion kept as one."""
    status, infused = _peak_tnf(BOLUS_BELOW_HOURS)
    assert status == "success" and load_scenario({"days": 2, "doses": [
        {"name": "lps_iv", "amount": 2.0, "day": 0.5, "duration_hours": BOLUS_BELOW_HOURS}]}).doses[0].duration_hours > 0
    assert abs(infused / _peak_tnf(0.0)[1] - 1) < 1e-3


def test_a_dose_built_in_python_follows_the_same_rule():
    dose = gutjoint.Dose("lps_iv", 2.0, 0.5, duration_hours=1e-12)
    assert dose.duration_hours == 0.0


# --- 2. --uncertainty at few draws ---------------------------------------------------------------------------------

def test_uncertainty_with_20_draws_runs_and_says_why_no_driver_is_ranked(tmp_path, capsys):
    code, out, err = cli(["simulate", "healthy", "--uncertainty", "--draws", "20", "--out", tmp_path / "u.csv"], capsys)
    assert code == 0, err
    assert "not ranked (it takes 40 successful draws" in out


def test_first_order_shares_refuses_too_few_draws_instead_of_dividing_by_zero():
    from gutjoint._studies.uncertainty import first_order_shares

    with pytest.raises(ValueError, match="more than 20 draws"):
        first_order_shares(np.random.default_rng(1).random((20, 3)), np.arange(20.0))


# --- 3. a light-looking request that needs the slow resting state ----------------------------------------------------

def test_the_slow_rest_is_seen_before_any_work_starts():
    assert needs_slow_rest(SLOW_REST) and not needs_slow_rest("healthy")
    fast = web.estimated_work(load_scenario(SLOW_REST), 1)
    assert fast <= web.LIGHT_WORK  # what the estimate said before: light, on the event loop
    assert web.estimated_work(load_scenario(SLOW_REST), 1, slow_rest=True) > web.LIGHT_WORK


def test_a_slow_rest_runs_off_the_event_loop_while_light_requests_pass(client):
    finished = []

    def heavy():
        r = client.post("/api/simulate", json=SLOW_REST)
        finished.append(("heavy", r.status_code, r.json()["status"]))

    thread = threading.Thread(target=heavy)
    thread.start()
    time.sleep(0.2)  # the fallback is running in the heavy-work process
    r = client.post("/api/simulate?columns=pain_nrs", json={"days": 30})
    finished.append(("light", r.status_code, r.json()["status"]))
    thread.join(timeout=120)
    assert finished[0] == ("light", 200, "success")
    assert finished[1][:2] == ("heavy", 200)


@pytest.mark.parametrize(("route", "body"), [("/api/explain", {"scenario": SLOW_REST}),
                                             ("/api/population", {"scenario": SLOW_REST, "n": 200})])
def test_the_cap_counts_the_slow_rest(client, route, body):
    started = time.perf_counter()
    r = client.post(route, json=body)
    assert r.status_code == 422 and r.json()["field"] == "work" and "slow fallback" in r.json()["detail"]
    assert time.perf_counter() - started < 1.0  # refused before any work (it took 7.6 s and 75 s)


def _sleep_then(seconds: float) -> str:
    time.sleep(seconds)
    return "done"


def test_a_heavy_job_past_its_deadline_is_killed_and_the_next_one_runs():
    import asyncio

    class Connected:
        async def is_disconnected(self):
            return False

    async def scenario():
        work = web.HeavyWork(seconds=0.5)
        work.start()
        first = set(work._pool._processes)
        with pytest.raises(gutjoint.InputError, match="field 'work'"):
            await work.run(Connected(), _sleep_then, 30.0)
        assert _gone(first)  # the process that ran it is gone
        assert await work.run(Connected(), _sleep_then, 0.0) == "done"  # a fresh one takes the next job
        work.stop()

    asyncio.run(scenario())


def test_a_heavy_job_is_killed_when_its_client_goes_away():
    import asyncio

    class Leaves:
        def __init__(self):
            self.asked = 0

        async def is_disconnected(self):
            self.asked += 1
            return self.asked > 3  # gone while the job runs

    async def scenario():
        work = web.HeavyWork(seconds=60)
        work.start()
        first = set(work._pool._processes)
        started = time.perf_counter()
        with pytest.raises(web.ClientGone):
            await work.run(Leaves(), _sleep_then, 30.0)
        assert time.perf_counter() - started < 5 and _gone(first)
        work.stop()

    asyncio.run(scenario())


# --- 4. workers die with their parent -------------------------------------------------------------------------------

def _kill_parent_and_watch(argv: list[str], ready) -> set[int]:
    process = subprocess.Popen([sys.executable, "-m", "gutjoint", *argv], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, cwd=os.getcwd())
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not ready(process.pid):
            time.sleep(0.2)
        workers = _children(process.pid) | {g for c in _children(process.pid) for g in _children(c)}
        assert workers, "no worker started"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        deadline = time.time() + 10
        while _alive(workers) and time.time() < deadline:
            time.sleep(0.2)
        return _alive(workers)
    finally:
        if process.poll() is None:
            process.kill()


def test_population_workers_die_with_a_killed_parent(tmp_path):
    left = _kill_parent_and_watch(["population", "barrier-support", "--n", "40000", "--seed", "1", "--workers", "2",
                                   "--out", str(tmp_path / "p")], lambda pid: len(_children(pid)) >= 2)
    assert not left, f"workers still running after their parent was killed: {left}"


def test_server_workers_die_with_a_killed_parent():
    port = _free_port()

    def answering(_pid) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /api/red-flags HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                return sock.recv(12).startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    left = _kill_parent_and_watch(["serve", "--port", str(port), "--workers", "2"], answering)
    assert not left and not answering(0), f"server workers outlived their parent: {left}"


# --- 5. a lone surrogate ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("route", ["/api/simulate", "/api/explain"])
def test_a_lone_surrogate_in_a_name_is_a_422(client, route):
    scenario = '{"days": 1, "name": "\\ud800"}'
    body = scenario if route == "/api/simulate" else '{"scenario": ' + scenario + "}"
    r = client.post(route, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["field"]


def test_a_lone_surrogate_is_refused_by_the_scenario_checks_too():
    with pytest.raises(gutjoint.ScenarioError, match="field 'name'"):
        load_scenario({"days": 1, "name": "\ud800"})


# --- 6. exit codes ---------------------------------------------------------------------------------------------------

BAD_OPTIONS = {
    "a scenario name over 255 characters": ["simulate", "x" * 300, "--out", "o.csv"],
    "a .toml name over 255 characters": ["simulate", "x" * 300 + ".toml", "--out", "o.csv"],
    "population --out a file": ["population", "healthy", "--n", "2", "--seed", "1", "--out", "a-file"],
    "explain --draws 0": ["explain", "healthy", "--uncertainty", "--draws", "0"],
    "explain --draws 100000": ["explain", "healthy", "--uncertainty", "--draws", "100000"],
    "sensitivity --every -1": ["sensitivity", "healthy", "--every", "-1", "--out", "s"],
    "simulate --draws without --uncertainty": ["simulate", "healthy", "--draws", "5", "--out", "o.csv"],
    "simulate --quantiles without --uncertainty": ["simulate", "healthy", "--quantiles", "0.5", "--out", "o.csv"],
    "explain --draws without --uncertainty": ["explain", "healthy", "--draws", "5"],
    "population --draws without --uncertainty": ["population", "healthy", "--n", "2", "--seed", "1", "--draws", "3",
                                                 "--out", "p"],
}


@pytest.mark.parametrize("case", sorted(BAD_OPTIONS))
def test_bad_options_exit_2_with_one_line(case, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("not a folder")
    code, _, err = cli(BAD_OPTIONS[case], capsys)
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "internal error" not in err, err
    assert not (tmp_path / "o.csv").exists()


# --- 7. the Python API checks its own arguments -------------------------------------------------------------------

@pytest.mark.parametrize("value", ["0.5", float("nan"), float("inf"), 1e9, -1.0, 10 ** 400, True, None, [1.0]])
def test_prepare_refuses_a_bad_parameter_value_naming_it(value):
    with pytest.raises(gutjoint.InputError, match=r"argument 'parameters\['tj_repair_rate'\]'"):
        gutjoint.prepare("healthy", {"tj_repair_rate": value})


def test_an_out_of_range_value_can_no_longer_push_pain_past_10():
    table = gutjoint.parameters()
    with pytest.raises(gutjoint.InputError, match="plausible range"):
        gutjoint.prepare("ra-like", {"synovitis_per_autoreactivity": table["synovitis_per_autoreactivity"].high * 50})


@pytest.mark.parametrize(("call", "argument"), [
    (lambda: gutjoint.solve_many("healthy"), "problems"),
    (lambda: gutjoint.solve_many([gutjoint.prepare("healthy")], block_size=0), "block_size"),
    (lambda: gutjoint.solve_many([gutjoint.prepare("healthy")], tolerances=1e-6), "tolerances"),
    (lambda: gutjoint.explain("healthy", day="x"), "day"),
    (lambda: gutjoint.explain("healthy", day=float("nan")), "day"),
    (lambda: gutjoint.Tolerances(rtol=-1), "rtol"),
    (lambda: gutjoint.Tolerances(atol=0), "atol"),
    (lambda: gutjoint.Tolerances(max_steps=2.5), "max_steps"),
    (lambda: gutjoint.prepare("healthy").at(["x"]), "times"),
])
def test_api_arguments_are_input_errors_naming_the_argument(call, argument):
    with pytest.raises(gutjoint.InputError, match=f"argument '{argument}'"):
        call()


@pytest.mark.parametrize(("options", "argument"), [({"n": 2.5}, "n"), ({"n": True}, "n"), ({"seed": -1}, "seed"),
                                                   ({"chunk_size": "8"}, "chunk_size"), ({"workers": 0}, "workers")])
def test_run_population_checks_its_arguments_before_making_a_folder(tmp_path, options, argument):
    out = tmp_path / "pop"
    with pytest.raises(gutjoint.InputError, match=f"argument '{argument}'"):
        gutjoint.run_population("healthy", **{"n": 2, "seed": 1, **options}, out=out)
    assert not out.exists()


def test_a_nul_in_a_path_is_an_input_error(tmp_path):
    with pytest.raises(gutjoint.InputError, match="argument 'out'"):
        gutjoint.run_population("healthy", n=2, seed=1, out=str(tmp_path / "a\x00b"))
    with pytest.raises(gutjoint.InputError):
        gutjoint.load_scenario("a\x00b.toml")


# --- 8. web errors in the documented shape -----------------------------------------------------------------------

@pytest.mark.parametrize("body", [b"\xff\xfe{", b"[" * 1000 + b"]" * 1000, b'{"days": ' + b"9" * 5000 + b"}"])
def test_an_unreadable_body_is_a_422_on_body(client, body):
    r = client.post("/api/simulate", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["field"] == "body"


@pytest.mark.parametrize(("route", "body", "field"), [
    ("/api/explain", {"scenario": "healthy", "day": True}, "day"),
    ("/api/population", {"scenario": "healthy", "n": 2, "seed": False}, "seed"),
    ("/api/population", {"scenario": "healthy", "n": True}, "n"),
    ("/api/trial", {"per_arm": True}, "per_arm"),
])
def test_a_boolean_is_not_a_number(client, route, body, field):
    r = client.post(route, json=body)
    assert r.status_code == 422 and r.json()["field"] == field


def test_a_run_that_failed_is_a_200_naming_the_failure_on_every_route(client):
    """The web's code for "the run failed" (the CLI's exit code 1): 200, ``status`` and ``advice``."""
    r = client.post("/api/simulate", json=SLOW_REST)  # its fallback finds no stable rest
    assert r.status_code == 200 and r.json()["status"] == "steady_state" and r.json()["advice"]
    from fastapi.testclient import TestClient

    from gutjoint._errors import SolverError

    app = web.create_app()

    @app.post("/api/failing")
    def failing():
        raise SolverError("a counterfactual run failed", code="tolerance", advice="loosen rtol/atol")

    answer = TestClient(app, base_url="http://127.0.0.1").post("/api/failing")
    assert answer.status_code == 200 and answer.json()["status"] == "tolerance"
    assert answer.json()["advice"] == "loosen rtol/atol" and answer.json()["disclaimer"]


def test_every_error_code_is_in_the_openapi_schema(client):
    schema = client.get("/openapi.json").json()
    for route in ("/api/simulate", "/api/explain", "/api/population", "/api/trial"):
        assert {"400", "408", "413", "415", "422"} <= set(schema["paths"][route]["post"]["responses"]), route


# --- 9. the Host header and the body's type ------------------------------------------------------------------------

def test_a_foreign_host_is_refused_before_any_work(client):
    r = client.post("/api/simulate", json={"days": 1}, headers={"host": "attacker.example"})
    assert r.status_code == 400 and r.json()["field"] == "host"
    assert client.post("/api/simulate", json={"days": 1}, headers={"host": "localhost:8000"}).status_code == 200


def test_the_host_rule_follows_the_bound_address():
    loopback = web.HostRule.for_bind("127.0.0.1")
    assert loopback.allows("127.0.0.1:8000") and loopback.allows("localhost") and loopback.allows("[::1]:80")
    assert not loopback.allows("rebound.example") and not loopback.allows("10.0.0.5")
    everywhere = web.HostRule.for_bind("0.0.0.0", ["lab-box"])
    assert everywhere.allows("10.0.0.5:8000") and everywhere.allows("LAB-BOX") and not everywhere.allows("evil.test")


def test_a_body_that_is_not_json_is_a_415(client):
    r = client.post("/api/simulate", content=b'{"days": 1}', headers={"content-type": "text/plain"})
    assert r.status_code == 415 and r.json()["field"] == "content-type"


# --- 10. slow clients -------------------------------------------------------------------------------------------------

@pytest.fixture()
def quick_timeouts_server(monkeypatch):
    import uvicorn

    monkeypatch.setattr(web, "HEADER_SECONDS", 1.0)
    monkeypatch.setattr(web, "BODY_SECONDS", 1.0)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(web.create_app(), host="127.0.0.1", port=port, log_level="warning",
                                           http=web._timed_protocol()))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not server.started and time.time() < deadline:
        time.sleep(0.1)
    yield port
    server.should_exit = True
    thread.join(timeout=10)


def test_slow_headers_and_a_slow_body_are_cut_off(quick_timeouts_server):
    port = quick_timeouts_server
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST /api/simulate HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the rest of the head
        sock.settimeout(10)
        started = time.time()
        assert sock.recv(100) == b""  # closed by the server
        assert time.time() - started < 5
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST /api/simulate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{")  # 1 of 100 bytes
        sock.settimeout(10)
        assert sock.recv(100).startswith(b"HTTP/1.1 408")


def _response(sock) -> bytes:
    """One whole HTTP response from ``sock``: the head, then Content-Length bytes of body."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += sock.recv(65536)
    return head


def test_a_connection_kept_alive_gets_a_new_head_deadline(quick_timeouts_server):
    port = quick_timeouts_server
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(10)
        for _ in range(2):  # a request inside each deadline is answered
            sock.sendall(b"GET /api/red-flags HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert _response(sock).startswith(b"HTTP/1.1 200")
            time.sleep(0.5)
        started = time.time()
        assert sock.recv(100) == b""  # idle past the next head's deadline: closed
        assert time.time() - started < 5


def test_the_readme_states_the_limits_the_code_holds():
    """The web limits in the README's prose are the code's constants (a changed constant fails here)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for phrase in (f"within {web.HEADER_SECONDS:g} s of the connection opening",
                   f"its body within {web.BODY_SECONDS:g} s", f"at most {web.MAX_CONNECTIONS:,} connections",
                   f"plus {web.REST_FALLBACK_WORK:,.0f} units for a resting state",
                   f"runs past {web.HEAVY_SECONDS:g} s", f"nested over {web.MAX_DEPTH} deep",
                   f"did not arrive within {web.BODY_SECONDS:g} s", f"estimate of the work at {web.MAX_WORK:,.0f} units"):
        assert phrase in readme, phrase
    assert f"under 1/{round(1 / BOLUS_BELOW_HOURS)}" in readme


def test_the_disk_cache_builds_once_reads_back_rebuilds_damage_and_stays_bounded(tmp_path):
    from gutjoint._files import DiskCache

    built = []

    def build():
        built.append(1)
        return {"value": len(built)}

    cache = DiskCache(tmp_path, ".json", lambda v, tmp: tmp.write_text(json.dumps(v)),
                      lambda path: json.loads(path.read_text()), limit=5, lock=True)
    assert cache.get("a", build) == {"value": 1} and cache.get("a", build) == {"value": 1} and len(built) == 1
    cache.path("a").write_text("{damaged")
    assert cache.get("a", build) == {"value": 2}  # built again, and stored again
    for k in range(8):
        cache.get(f"k{k}", build)
    assert len(list(tmp_path.glob("*.json"))) <= 5
    assert DiskCache(None, ".json", None, None).get("x", lambda: 3) == 3  # no folder: nothing kept
    assert not list(tmp_path.glob("*.tmp"))
