"""Bad input: one clear line (file, field, value, what is allowed), exit code 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from gutjoint import InputError
from gutjoint._files import write_table

GOOD = """days = 30
[subject]
cross_reactivity = 0.3
[[inputs]]
name = "dysbiosis"
level = 0.5
start_day = 1
end_day = 10
[[doses]]
name = "fat_meal"
amount = 40
day = 2
"""


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gutjoint", *args], cwd=cwd, capture_output=True,
                          text=True, encoding="utf-8", timeout=120)


def check_one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


CASES = {
    "unknown input": (GOOD.replace('"dysbiosis"', '"leakiness"'), ("inputs[0].name", "leakiness", "dysbiosis")),
    "unknown dose": (GOOD.replace('"fat_meal"', '"aspirin"'), ("doses[0].name", "aspirin", "lps_iv")),
    "unknown trait": (GOOD.replace("cross_reactivity", "grumpiness"), ("subject.grumpiness", "barrier_resilience")),
    "unknown parameter": (GOOD + "[parameters]\nwarp_speed = 3\n", ("parameters.warp_speed", "gutjoint params")),
    "level out of range": (GOOD.replace("level = 0.5", "level = 1.5"), ("inputs[0].level", "1.5", "[0, 1]")),
    "end before start": (GOOD.replace("end_day = 10", "end_day = 0.5"), ("inputs[0].end_day", "0.5", ">= start_day")),
    "days zero": (GOOD.replace("days = 30", "days = 0"), ("'days'", "36500]", "at least one minute")),
    "days negative": (GOOD.replace("days = 30", "days = -5"), ("'days'", "-5")),
    "days above cap": (GOOD.replace("days = 30", "days = 40000"), ("'days'", "40000", "36500")),
    "non-numeric": (GOOD.replace("level = 0.5", 'level = "high"'), ("inputs[0].level", "high", "a number")),
    "boolean is not a number": (GOOD.replace("amount = 40", "amount = true"), ("doses[0].amount", "True")),
    "malformed toml": (GOOD.replace("days = 30", "days = = 30"), ("<toml>", "valid TOML")),
    "parameter out of range": (GOOD + "[parameters]\nlps_clearance = 100\n", ("parameters.lps_clearance", "100")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_scenario_file(case, tmp_path):
    text, fragments = CASES[case]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    proc = cli("simulate", str(path), "--out", str(tmp_path / "out.csv"), cwd=tmp_path)
    check_one_line_error(proc, "bad.toml", *fragments)
    assert not (tmp_path / "out.csv").exists()


def test_good_scenario_file_runs(tmp_path):
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    proc = cli("simulate", str(path), "--out", str(tmp_path / "out.parquet"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_parquet(tmp_path / "out.parquet")
    assert len(frame) == 31 and frame["time_days"].iloc[-1] == 30


def test_missing_file(tmp_path):
    check_one_line_error(cli("simulate", "nowhere.toml", "--out", "x.csv", cwd=tmp_path), "nowhere.toml", "existing")


def test_unknown_builtin_name(tmp_path):
    check_one_line_error(cli("simulate", "not-a-scenario", "--out", "x.csv", cwd=tmp_path), "not-a-scenario",
                         "healthy")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere; covered by the file-in-the-way case")
def test_unwritable_output_folder(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    check_one_line_error(cli("simulate", "healthy", "--out", str(locked / "x.csv"), cwd=tmp_path), "--out")


def test_unwritable_output_path(tmp_path):
    (tmp_path / "afile").write_text("I am a file, not a folder")
    proc = cli("simulate", "healthy", "--out", str(tmp_path / "afile" / "x.csv"), cwd=tmp_path)
    check_one_line_error(proc, "--out", "writable")


def test_unsupported_output_extension(tmp_path):
    check_one_line_error(cli("simulate", "healthy", "--out", "x.xlsx", cwd=tmp_path), "--out", ".csv", ".parquet")


def test_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    """Outputs are atomic: a write that fails half way leaves neither the target nor a temporary file."""
    frame = pd.DataFrame({"a": range(1000)})
    target = tmp_path / "result.csv"

    def broken(self, path, **kwargs):
        Path(path).write_text("a\n0\n1\n")  # half written ...
        raise OSError("disk full")  # ... then the failure

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(OSError):
        write_table(frame, target)
    assert list(tmp_path.iterdir()) == []


def test_previous_output_survives_a_failed_write(tmp_path, monkeypatch):
    target = tmp_path / "result.csv"
    target.write_text("old,complete\n1,2\n")
    monkeypatch.setattr(pd.DataFrame, "to_csv", lambda self, path, **kw: (_ for _ in ()).throw(OSError("boom")))
    with pytest.raises(OSError):
        write_table(pd.DataFrame({"a": [1]}), target)
    assert target.read_text() == "old,complete\n1,2\n"


def test_input_error_is_a_value_error():
    with pytest.raises(ValueError):
        raise InputError("x")


@pytest.mark.parametrize("args", [("simulate",), ("simulate", "--bogus"), ("no-such-command",)])
def test_usage_errors_are_one_line(args, tmp_path):
    check_one_line_error(cli(*args, cwd=tmp_path), "error:")


NEW_COMMAND_CASES = {
    "explain day outside the run": (("explain", "healthy", "--day", "999"), ("'--day' = 999", "0 to 365")),
    "explain unknown scenario": (("explain", "nowhere"), ("nowhere",)),
    "triage unknown flag": (("triage", "sore-knee"), ("'sore-knee' is not a red flag", "fever")),
    "report wrong extension": (("report", "healthy", "--out", "r.pdf"), ("'--out'", ".pdf", ".html")),
    "report start outside the run": (("report", "healthy", "--out", "r.html", "--start-day", "400"),
                                     ("'--start-day' = 400",)),
    "sensitivity bad method": (("sensitivity", "healthy", "--method", "fast", "--out", "s"), ("'--method' = 'fast'",)),
    "sensitivity n not a power of two": (("sensitivity", "healthy", "--n", "100", "--out", "s"),
                                         ("'--n' = 100", "power of two")),
    "sensitivity unknown parameter": (("sensitivity", "healthy", "--params", "warp", "--out", "s"), ("'warp'",)),
}


@pytest.mark.parametrize("case", sorted(NEW_COMMAND_CASES))
def test_bad_input_to_explain_triage_report_sensitivity(case, tmp_path):
    args, fragments = NEW_COMMAND_CASES[case]
    check_one_line_error(cli(*args, cwd=tmp_path), *fragments)
