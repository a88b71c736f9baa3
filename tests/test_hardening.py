"""Regression tests for the hardening issue: a failed run never looks like a success, bad input never crashes,
echoed text is safe, writes leave nothing behind, and the server holds its limits. Each test is named for what it
protects; the property-based fuzz suite is in ``test_fuzz.py``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gutjoint
from gutjoint._errors import ScenarioError, printable
from gutjoint._interfaces.cli import main
from gutjoint._files import TEMP_SUFFIX, sweep_stale_temporaries, write_table
from gutjoint._numerics.integrate import Trajectory
from gutjoint._numerics.status import Status
from gutjoint._studies.scenario import load_scenario, output_times, scenario_from_dict
from gutjoint._studies.simulate import simulate

CONTROL = {chr(c) for c in range(32) if c != 10} | {"\x7f", "\x1b"}


def cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """Run the CLI in this process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in argv])
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- 1. exit codes -----------------------------------------------------------------------------------------------

FAILING = 'days = 365\nstep_hours = 8760\n[[inputs]]\nname = "dysbiosis"\nlevel = 1\nstart_day = 10\n'


def test_a_failed_simulation_exits_1_and_still_writes_its_table(tmp_path, capsys):
    code, out, _ = cli(["simulate", write(tmp_path, FAILING), "--out", tmp_path / "o.csv", "--max-steps", 100], capsys)
    assert code == 1
    assert "FAILED (step_limit" in out and "--max-steps" in out
    assert pd.read_csv(tmp_path / "o.csv")["pain_nrs"].isna().any()


def test_a_successful_simulation_exits_0(tmp_path, capsys):
    code, out, _ = cli(["simulate", "healthy", "--out", tmp_path / "o.csv"], capsys)
    assert code == 0 and "solver ok" in out


# Every command, with one bad input each: exit code 2 and one line on stderr.
BAD_INPUT = {
    "scenarios": ["scenarios", "--bogus"],
    "simulate": ["simulate", "nowhere.toml", "--out", "x.csv"],
    "explain": ["explain", "healthy", "--day", "-3"],
    "sensitivity": ["sensitivity", "healthy", "--method", "fast", "--out", "s"],
    "report": ["report", "healthy", "--out", "r.pdf"],
    "triage": ["triage", "sore-knee"],
    "params": ["params", "--bogus"],
    "calibrate": ["calibrate", "--starts", "0"],
    "population": ["population", "healthy", "--n", "0", "--seed", "1", "--out", "p"],
    "export": ["export", "pdf", "--out", "x"],
    "serve": ["serve", "--port", "0"],
}


@pytest.mark.parametrize("command", sorted(BAD_INPUT))
def test_bad_input_exits_2_for_every_command(command, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(BAD_INPUT[command], capsys)
    assert code == 2, err
    assert len([line for line in err.splitlines() if line.strip()]) == 1, err
    assert "Traceback" not in err and "internal error" not in err


SUCCESS = {
    "scenarios": ["scenarios"],
    "simulate": ["simulate", "healthy", "--out", "x.csv"],
    "explain": ["explain", "healthy"],
    "sensitivity": ["sensitivity", "healthy", "--method", "morris", "--n", "2", "--params",
                    "lps_clearance,tj_per_tnf", "--out", "s"],
    "report": ["report", "healthy", "--out", "r.html"],
    "triage": ["triage", "fever"],
    "params": ["params", "--json"],
    "population": ["population", "healthy", "--n", "2", "--seed", "1", "--out", "p"],
    "export": ["export", "sbml", "--out", "m.xml"],
}


@pytest.mark.parametrize("command", sorted(SUCCESS))
def test_success_exits_0_for_every_command(command, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(SUCCESS[command], capsys)
    assert code == 0, err


@pytest.mark.parametrize("command", sorted(SUCCESS))
def test_ctrl_c_exits_130_for_every_command(command, tmp_path, capsys, monkeypatch):
    """Ctrl-C wherever the command is (here: at its first line of output) exits 130 and says so."""
    from rich.console import Console

    real_print, real_write, calls = Console.print, sys.stdout.write, []

    def once(real):
        def interrupted(*args, **kwargs):
            if not calls:
                calls.append(1)
                raise KeyboardInterrupt
            return real(*args, **kwargs)
        return interrupted

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(Console, "print", once(real_print))
    monkeypatch.setattr(Console, "print_json", once(Console.print_json))
    monkeypatch.setattr(sys.stdout, "write", once(real_write))  # params --json writes directly
    with pytest.raises(SystemExit) as exit_info:
        main(SUCCESS[command])
    monkeypatch.undo()
    assert calls and exit_info.value.code == 130
    assert "interrupted" in capsys.readouterr().err


def test_solver_error_is_exit_1_not_bad_input(capsys, monkeypatch):
    from gutjoint._errors import SolverError
    from gutjoint._studies import attribution

    def failing(*args, **kwargs):
        raise SolverError("healthy: a counterfactual run failed (step_limit)")

    monkeypatch.setattr(attribution, "explain_pain", failing)
    code, _, err = cli(["explain", "healthy"], capsys)
    assert code == 1 and "counterfactual run failed" in err


def _big_write_command(tmp_path: Path) -> list[str]:
    """A simulation whose CSV write takes a while (a million rows), so a signal lands during it."""
    write(tmp_path, "days = 20000\nstep_hours = 1\n", "big.toml")
    return [sys.executable, "-m", "gutjoint", "simulate", "big.toml", "--out", "big.csv"]


@pytest.mark.slow
@pytest.mark.parametrize("sig, code, word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_a_signal_during_the_write_exits_non_zero_and_leaves_no_temporary_file(tmp_path, sig, code, word):
    (tmp_path / "big.csv").write_text("the previous result\n")
    # a shell without job control starts background commands with SIGINT ignored, and the child would inherit that
    proc = subprocess.Popen(_big_write_command(tmp_path), cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(f".big.csv.*{TEMP_SUFFIX}")):  # wait until the write has begun
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, (out, err)
    assert word in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv", "big.toml"]
    assert (tmp_path / "big.csv").read_text() == "the previous result\n"  # the old result is intact


# --- 2. the validator never crashes ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, field", [
    ('days = 10\n[[inputs]]\nname = ["dysbiosis"]\nlevel = 1\n', "inputs[0].name"),
    ('days = 10\n[[inputs]]\nname = {a = 1}\nlevel = 1\n', "inputs[0].name"),
    ('days = 10\n[[doses]]\nname = ["lps_iv"]\namount = 1\nday = 1\n', "doses[0].name"),
    ("days = " + "9" * 400 + "\n", "days"),
    ("days = 10\nstep_hours = -" + "9" * 400 + "\n", "step_hours"),
    ("days = " + "9" * 5000 + "\n", "<toml>"),
    ("days = 10\nx = " + "[" * 5000 + "]" * 5000 + "\n", "<toml>"),
    ('days = 10\nname = ["a"]\n', "name"),
    ('days = 10\nname = "' + "n" * 300 + '"\n', "name"),
])
def test_malformed_values_are_input_errors_that_name_the_field(tmp_path, text, field):
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, text))
    assert info.value.field == field
    message = str(info.value)
    assert len(message) < 1500 and not (set(message) & CONTROL)


def test_a_huge_integer_is_described_not_printed():
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict({"days": 10 ** 5000})
    assert "an integer of about 5001 digits" in str(info.value)


# --- 3. outputs after a failure ----------------------------------------------------------------------------------

def test_outputs_of_a_failed_run_are_nan_rows_not_an_exception():
    """After a failure the unreached rows are NaN; they are not evaluated (a zero there divided by
    mechanical_load = 0 used to raise ZeroDivisionError)."""
    from gutjoint._studies.problem import evaluate_outputs, prepare

    problem = prepare({"days": 5, "subject": {"mechanical_load": 0.0}})
    states = np.tile(problem.rest.y, (problem.times.size, 1))
    states[3:] = np.nan
    outputs = evaluate_outputs(problem, Trajectory(problem.times, states, Status.STEP_LIMIT, "x"))
    assert np.isfinite(outputs[:3]).all()
    assert np.isnan(outputs[3:]).all()


def test_a_success_never_carries_a_non_finite_output(monkeypatch):
    """If an output is NaN although every state is finite, the run is reported as failed, not as a success."""
    from gutjoint._studies import problem as problem_module

    real = problem_module._outputs
    crp = problem_module.get_runtime().output_names.index("crp_mg_l")

    def poisoned(*args, **kwargs):
        outputs = real(*args, **kwargs)
        outputs[:, -1, crp] = np.nan
        return outputs

    monkeypatch.setattr(problem_module, "_outputs", poisoned)
    result = simulate("healthy")
    assert result.status is Status.NONFINITE and "crp_mg_l" in result.message


# --- 4. the last output time -------------------------------------------------------------------------------------

@pytest.mark.parametrize("days, step_hours", [(734, 3.5232), (3649.9999999999995, 24.0), (10, 24 * 10 / 7)])
def test_the_last_output_time_is_the_horizon_and_the_last_row_is_finite(days, step_hours):
    scenario = scenario_from_dict({"days": days, "step_hours": step_hours})
    times = output_times(scenario)
    assert times[-1] == days and times.max() <= days and np.all(np.diff(times) > 0)
    result = simulate(scenario)
    assert result.ok and np.isfinite(result.frame.to_numpy()).all()


def test_output_times_never_pass_the_horizon_for_any_spacing():
    rng = np.random.default_rng(7)
    for _ in range(2000):
        days = float(rng.uniform(0.01, 3650))
        k = int(rng.integers(1, 5000))
        times = output_times(scenario_from_dict({"days": days, "step_hours": 24 * days / k}))
        assert times[0] == 0 and times[-1] == days and np.all(np.diff(times) > 0), (days, k)


def test_output_times_outside_the_schedule_are_refused():
    from gutjoint._numerics.integrate import integrate_many
    from gutjoint._studies.problem import prepare

    problem = prepare({"days": 5})
    with pytest.raises(ValueError, match="leave the schedule"):
        integrate_many(problem.runtime.compiled, problem.rest.y, problem.p, [problem.schedule],
                       np.append(problem.times, 5 + 1e-12))


# --- 5. very short segments --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dose", [
    {"name": "lps_iv", "amount": 2.0, "day": 9.999999999999998},  # a bolus a rounding before the horizon
    {"name": "lps_iv", "amount": 2.0, "day": 9.5, "duration_hours": 12.0},  # an infusion ending at the horizon
    {"name": "fat_meal", "amount": 50.0, "day": 9.999999999999, "duration_hours": 1e-11},
])
def test_segments_a_rounding_long_are_crossed_not_failed(dose):
    result = simulate({"days": 10, "doses": [dose]})
    assert result.ok, (result.status, result.message)
    assert np.isfinite(result.frame.to_numpy()).all()


def test_a_tiny_segment_changes_the_state_by_almost_nothing():
    """The short-segment step is an explicit Euler step: over 1e-13 day it moves nothing visibly."""
    plain = simulate({"days": 10, "step_hours": 6})
    split = simulate({"days": 10, "step_hours": 6, "inputs": [
        {"name": "dysbiosis", "level": 0.0, "start_day": 5.0, "end_day": 5.0 + 1e-13}]})
    assert split.ok
    np.testing.assert_allclose(split.frame.to_numpy(), plain.frame.to_numpy(), rtol=1e-6, atol=1e-9)


def test_the_solver_tolerances_can_be_set_from_the_command_line(tmp_path, capsys):
    code, out, _ = cli(["simulate", "healthy", "--out", tmp_path / "o.csv", "--rtol", "1e-6", "--atol", "1e-8"], capsys)
    assert code == 0
    code, _, err = cli(["simulate", "healthy", "--out", tmp_path / "o.csv", "--rtol", "5"], capsys)
    assert code == 2 and "--rtol" in err


# --- 6. echoed text ----------------------------------------------------------------------------------------------

def test_brackets_in_a_name_or_path_are_text_not_markup(tmp_path, capsys):
    path = write(tmp_path, 'name = "[/x] [bold]"\ndays = 3\n')
    code, out, err = cli(["simulate", path, "--out", tmp_path / "[/y].csv"], capsys)
    assert code == 0, err
    assert "[/x] [bold]: 4 rows" in out and "[/y].csv" in out
    assert (tmp_path / "[/y].csv").exists()


def test_a_huge_name_is_refused_quickly_with_a_short_message(tmp_path, capsys):
    path = write(tmp_path, 'name = "' + "n" * 100_000 + '"\ndays = 3\n')
    started = time.perf_counter()
    code, _, err = cli(["simulate", path, "--out", tmp_path / "o.csv"], capsys)
    assert time.perf_counter() - started < 5
    assert code == 2 and "field 'name'" in err and len(err) < 1200


def test_control_characters_never_reach_the_terminal(tmp_path, capsys):
    path = write(tmp_path, 'days = 3\n"a\\nb\\u001b[31m" = 1\n')
    code, _, err = cli(["simulate", path, "--out", tmp_path / "o.csv"], capsys)
    assert code == 2
    assert not (set(err) & CONTROL) and err.count("\n") == 1
    assert "a\\nb\\x1b[31m" in err  # shown escaped, so the user still sees what was wrong


def test_printable_escapes_controls_and_cuts_long_text():
    assert printable("a\x1b[2Jb\u2028c") == "a\\x1b[2Jb\\u2028c"
    assert len(printable("x" * 10_000)) == 120
    assert printable("Sørensen, Häger") == "Sørensen, Häger"


# --- 7. temporary files ------------------------------------------------------------------------------------------

def test_a_temporary_file_left_by_a_killed_process_is_removed_by_the_next_write(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".result.csv.{dead.pid}-abc123{TEMP_SUFFIX}"
    stale.write_text("half a table")
    live = tmp_path / f".result.csv.{os.getppid()}-def456{TEMP_SUFFIX}"  # a writer that still runs
    live.write_text("being written")
    assert sweep_stale_temporaries(tmp_path) == [stale]
    assert live.exists()
    live.unlink()
    (tmp_path / f".other.parquet.{dead.pid}-x{TEMP_SUFFIX}").write_text("x")
    from gutjoint import _files as files

    files._swept.discard(os.path.abspath(tmp_path))
    write_table(pd.DataFrame({"a": [1]}), tmp_path / "result.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.csv"]


def test_a_sigkilled_write_is_cleaned_up_by_the_next_run(tmp_path):
    proc = subprocess.Popen(_big_write_command(tmp_path), cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(f".big.csv.*{TEMP_SUFFIX}")):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    assert list(tmp_path.glob(f".big.csv.*{TEMP_SUFFIX}"))  # SIGKILL cannot be cleaned up after ...
    done = subprocess.run([sys.executable, "-m", "gutjoint", "simulate", "healthy", "--out", "h.csv"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not list(tmp_path.glob(f"*{TEMP_SUFFIX}"))  # ... but the next write to the folder removes it


# --- 11. smaller points ------------------------------------------------------------------------------------------

def test_a_changed_population_configuration_names_the_setting(tmp_path, capsys):
    assert cli(["population", "healthy", "--n", "2", "--seed", "1", "--out", tmp_path / "p"], capsys)[0] == 0
    code, _, err = cli(["population", "healthy", "--n", "3", "--seed", "1", "--out", tmp_path / "p"], capsys)
    assert code == 2 and "n (2 then, 3 now)" in err
    code, _, err = cli(["population", "dysbiosis", "--n", "2", "--seed", "4", "--out", tmp_path / "p"], capsys)
    assert code == 2 and "scenario" in err and "seed (1 then, 4 now)" in err


def test_the_steady_state_fallback_keeps_scipy_warnings_off_stderr():
    from gutjoint._numerics.steady import find_steady_state

    def rhs(y, t, p, u):  # no rest, and a fast forcing that exhausts odeint's steps: it gives up with a warning
        return np.array([np.cos(1e5 * t)])

    def jac(y, t, p, u):
        return np.zeros((1, 1))

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rest = find_steady_state(rhs, jac, np.array([1.0]), np.zeros(1), np.zeros(1), fallback_horizon=10.0)
    assert not rest.ok


def test_a_run_shorter_than_a_day_needs_no_step_hours(tmp_path, capsys):
    scenario = scenario_from_dict({"days": 0.25})
    assert scenario.step_hours == 6.0 and list(output_times(scenario)) == [0.0, 0.25]
    code, _, err = cli(["simulate", write(tmp_path, "days = 0.5\n"), "--out", tmp_path / "o.csv"], capsys)
    assert code == 0, err


# --- 8-10. the server --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client():
    from fastapi.testclient import TestClient

    from gutjoint._interfaces.web.app import create_app

    with TestClient(create_app(), base_url="http://127.0.0.1") as c:
        yield c


def _chunks(total: int, size: int = 8192):
    sent = 0
    while sent < total:
        yield b" " * min(size, total - sent)
        sent += size


@pytest.mark.parametrize("path", ["/api/simulate", "/api/triage", "/api/explain"])
def test_a_chunked_body_over_the_cap_is_refused_with_413(client, path):
    r = client.post(path, content=_chunks(5 * 1024 * 1024), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["field"] == "body"


def test_a_chunked_body_under_the_cap_is_read_whole(client):
    body = json.dumps({"flags": ["fever"]}).encode()
    r = client.post("/api/triage", content=iter([body[:5], body[5:]]), headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.json()["refer"] is True


def test_a_declared_length_over_the_cap_is_refused_with_413(client):
    r = client.post("/api/simulate", content=b"{}", headers={"content-type": "application/json",
                                                             "content-length": str(10 ** 9)})
    assert r.status_code == 413


def test_a_json_body_with_a_byte_order_mark_is_accepted(client):
    """RFC 8259 §8.1 lets a parser ignore a leading BOM; we do, and the answer is the same as without it."""
    body = json.dumps({"days": 3}).encode()
    plain = client.post("/api/simulate", content=body, headers={"content-type": "application/json"})
    marked = client.post("/api/simulate", content=b"\xef\xbb\xbf" + body, headers={"content-type": "application/json"})
    assert marked.status_code == plain.status_code == 200
    assert marked.json() == plain.json()


def test_work_per_request_is_bounded_by_doses_and_segments(client):
    many = {"days": 3650, "doses": [{"name": "lps_iv", "amount": 0.5, "day": 3.0 * i} for i in range(1000)]}
    r = client.post("/api/simulate", json=many)
    assert r.status_code == 422 and r.json()["field"] == "doses" and "at most 50" in r.json()["detail"]
    heavy = {"days": 3650, "doses": [{"name": "lps_iv", "amount": 0.5, "day": 30.0 * i} for i in range(50)],
             "inputs": [{"name": "dysbiosis", "level": 0.5, "start_day": 70.0 * i, "end_day": 70.0 * i + 7}
                        for i in range(50)]}
    assert client.post("/api/simulate", json=heavy).status_code == 200  # one run of it is allowed ...
    r = client.post("/api/explain", json={"scenario": heavy})  # ... seventeen are not
    assert r.status_code == 422 and r.json()["field"] == "work"
    r = client.post("/api/population", json={"scenario": heavy, "n": 200})
    assert r.status_code == 422 and r.json()["field"] == "work"


def test_the_schema_requires_what_the_validator_requires(client):
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/api/simulate"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    scenario = body if "properties" in body else schema["components"]["schemas"][body["$ref"].split("/")[-1]]
    assert scenario["required"] == ["days"] and scenario["additionalProperties"] is False
    assert client.post("/api/simulate", json={}).status_code == 422  # {} does not conform, and is refused


def test_no_import_or_figure_changes_the_users_matplotlib_backend(tmp_path):
    """The figures are built on matplotlib.figure.Figure, never through pyplot's global state."""
    import subprocess
    import sys

    code = ("import matplotlib; matplotlib.use('svg'); import gutjoint; "
            "import gutjoint._interfaces.figures, gutjoint._interfaces.report, gutjoint._interfaces.calibration_report; "
            f"gutjoint.plot(gutjoint.simulate('healthy'), {str(tmp_path / 'h.png')!r}); "
            "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend(); "
            "import matplotlib.pyplot as plt; assert not plt.get_fignums()")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
    assert (tmp_path / "h.png").stat().st_size > 10_000


def test_the_public_names_are_exactly_all_and_each_one_resolves():
    import gutjoint

    public = {n for n in dir(gutjoint) if not n.startswith("_")}
    assert public == set(gutjoint.__all__)
    for name in gutjoint.__all__:
        assert getattr(gutjoint, name) is not None, name
    assert callable(gutjoint.explain) and callable(gutjoint.run_population) and callable(gutjoint.calibrate)
    with pytest.raises(AttributeError):
        gutjoint.no_such_thing  # noqa: B018


def test_a_studys_argument_is_named_as_each_interface_names_it(capsys):
    """The study names its own argument; the CLI says --day, the web API says field 'day', Python says 'day'."""
    from fastapi.testclient import TestClient

    import gutjoint
    from gutjoint._interfaces.web.app import create_app

    with pytest.raises(gutjoint.InputError, match="argument 'day' = 999.0 is outside the run"):
        gutjoint.explain("healthy", day=999)
    code, _, err = cli(["explain", "healthy", "--day", "999"], capsys)
    assert code == 2 and "option '--day' = 999.0 is outside the run" in err
    code, _, err = cli(["sensitivity", "healthy", "--params", "no_such_thing", "--out", "x"], capsys)
    assert code == 2 and "option '--params' = 'no_such_thing' is not a parameter" in err
    body = TestClient(create_app(), base_url="http://127.0.0.1").post("/api/explain", json={"scenario": "healthy", "day": 999}).json()
    assert body["field"] == "day" and "field 'day' = 999.0" in body["detail"] and "--" not in body["detail"]


def test_a_single_runs_csv_is_its_dataframes_csv_byte_for_byte(tmp_path):
    """``simulate`` writes its CSV from arrays, without pandas; the bytes are those of the DataFrame's CSV, NaN
    rows of a failed run included."""
    for result in (gutjoint.simulate("barrier-support"),
                   gutjoint.simulate("endotoxemia-2ngkg", tolerances=gutjoint.Tolerances(max_steps=20))):
        assert not np.isnan(result.frame.to_numpy()).all()
        fast, slow = result.to_file(tmp_path / "fast.csv"), write_table(result.frame, tmp_path / "slow.csv")
        assert fast.read_bytes() == slow.read_bytes()
    assert not result.ok and np.isnan(result["pain_nrs"][-1])  # the second run failed part-way
