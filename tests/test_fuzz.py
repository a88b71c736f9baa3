"""A fuzz suite that stays: generated scenario files, valid and invalid, through the CLI and the web API.

For every generated document four things must hold:

1. the validator accepts it, or raises the project's input error naming a field (exit 2, one line);
2. an accepted file's run is a success with finite outputs (exit 0), or a reported failure (exit 1);
3. nothing else escapes (no other exit code, no "internal error", no 500 from the API);
4. no echoed text carries a control character.

CI runs ``GUTJOINT_FUZZ_EXAMPLES`` examples (default 300, derandomised so a CI run is reproducible);
``benchmarks/fuzz_scenarios.py`` runs 10,000 random ones and prints the counts of each outcome.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gutjoint._errors import ScenarioError
from gutjoint._biology import species
from gutjoint._biology.parameters import load_parameters
from gutjoint._interfaces.cli import main
from gutjoint._studies.scenario import DOSES, MAX_DAYS, MIN_DAYS, scenario_from_dict

EXAMPLES = int(os.environ.get("GUTJOINT_FUZZ_EXAMPLES", "300"))
STATS_PATH = os.environ.get("GUTJOINT_FUZZ_STATS")
OUTCOMES: Counter = Counter()
CONTROL = {chr(c) for c in range(32) if c != 10} | {"\x7f"}
TABLE = load_parameters()
PARAMETERS = [n for n in TABLE.names if n not in species.TRAITS]

# --- the generator ------------------------------------------------------------------------------------------------

odd_text = st.one_of(st.text(max_size=30), st.sampled_from(["[/x]", "[bold]hi", "a\nb", "\x1b[31mred", "é\u2028",
                                                            "x" * 5000, "\x00", "名前"]))
odd_value = st.one_of(st.none(), st.booleans(), odd_text, st.integers(-10, 10), st.integers(10 ** 300, 10 ** 400),
                      st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
                      st.floats(allow_nan=True, allow_infinity=True))


def maybe_odd(good: st.SearchStrategy, odds: int) -> st.SearchStrategy:
    """``good``, or one time in ``odds`` an odd value of the wrong type or size (never, when ``odds`` is 0)."""
    return good if odds == 0 else st.one_of(*([good] * (odds - 1)), odd_value)


@st.composite
def scenario_data(draw) -> dict:
    """A scenario as data; in about half of them every field is well formed (``odds`` = 0)."""
    odds = draw(st.sampled_from([0, 0, 0, 4, 30]))

    def maybe(good):
        return maybe_odd(good, odds)

    data: dict = {}
    days = draw(maybe(st.one_of(
        st.floats(MIN_DAYS, 3650), st.sampled_from([MIN_DAYS, 0.5, 1.0, 10.0, 365.0, 734.0, 3649.9999999999995,
                                                    MAX_DAYS] + ([0.0, -1.0, MAX_DAYS + 1] if odds else [])),
        st.integers(1, 400))))
    if not odds or draw(st.integers(0, 40)) > 0:
        data["days"] = days
    usable = isinstance(days, float) or (isinstance(days, int) and not isinstance(days, bool) and abs(days) < 10 ** 6)
    horizon = float(days) if usable and math.isfinite(days) and 0 < days <= MAX_DAYS else 10.0
    if draw(st.booleans()):
        rows = draw(st.integers(1, 3000))
        finest = min(max(1 / 60, 24 * horizon / 5000), 24 * horizon)  # at most ~5,000 rows: examples stay fast
        data["step_hours"] = draw(maybe(st.one_of(st.just(24 * horizon / rows), st.floats(finest, 24 * horizon),
                                                  *([st.just(1e-3), st.just(24 * horizon * 1.0000001)] if odds else []))))
    if draw(st.integers(0, 4)) == 0:
        data["name"] = draw(odd_text if odds else st.text(max_size=30))
    if draw(st.integers(0, 8)) == 0:
        data["description"] = draw(maybe(st.text(max_size=50)))
    if draw(st.booleans()):
        odd_traits = [st.just("grumpiness"), st.just("a\nb\x1b")] if odds else []
        keys = draw(st.lists(st.one_of(st.sampled_from(species.TRAITS), *odd_traits), max_size=3, unique=True))
        data["subject"] = {k: draw(maybe(_in_range(k, odds))) for k in keys}
    if draw(st.integers(0, 3)) == 0:
        odd_names = [st.sampled_from(species.TRAITS), st.just("warp")] if odds else []
        keys = draw(st.lists(st.one_of(st.sampled_from(PARAMETERS), *odd_names), max_size=3, unique=True))
        data["parameters"] = {k: draw(maybe(_in_range(k, odds))) for k in keys}
    if draw(st.booleans()):
        data["inputs"] = draw(st.lists(window(horizon, odds), max_size=4))
    if draw(st.booleans()):
        data["doses"] = draw(st.lists(dose(horizon, odds), max_size=4))
    if odds and draw(st.integers(0, 30)) == 0:
        data[draw(st.sampled_from(["extra", "Days", "bad\x1bkey", "doses "]))] = draw(odd_value)
    return data


def _in_range(name: str, odds: int) -> st.SearchStrategy:
    if name in TABLE:
        low, high = TABLE[name].low, TABLE[name].high
        return st.one_of(st.floats(low, high), st.sampled_from([low, high] + ([high * 1.5 + 1] if odds else [])))
    return st.floats(-1, 2)


def near(horizon: float, odds: int, *, before: bool = False) -> st.SearchStrategy:
    """Days in the run, with the edges a careful user hits: 0, the horizon, a rounding before it (and, in odd
    documents, past it). ``before``: strictly before the horizon, as a dose day must be."""
    edges = [0.0, horizon - 1e-15 * max(1, horizon), float(np.nextafter(horizon, 0))]
    edges = [d for d in edges if d < horizon] + ([] if before else [horizon])
    inside = st.floats(0, horizon, exclude_max=before)
    return st.one_of(inside, inside, st.sampled_from(edges + ([horizon + 1, -1.0] if odds else [])))


@st.composite
def window(draw, horizon: float, odds: int) -> dict:
    item: dict = {"name": draw(maybe_odd(st.sampled_from(species.PUBLIC_INPUTS), odds))}
    name = item["name"] if isinstance(item["name"], str) else "dysbiosis"
    low, high = species.INPUT_RANGES.get(name, (0, 1))
    if not odds or draw(st.integers(0, 20)) > 0:
        item["level"] = draw(maybe_odd(st.one_of(st.floats(low, high), *([st.just(high + 0.5)] if odds else [])), odds))
    start = draw(maybe_odd(near(horizon, odds), odds)) if draw(st.booleans()) else None
    if start is not None:
        item["start_day"] = start
    if draw(st.booleans()):
        floor = start if isinstance(start, float) and 0 <= start <= horizon else 0.0
        ends = near(horizon, odds) if odds else st.one_of(st.floats(floor, horizon), st.just(horizon))
        item["end_day"] = draw(maybe_odd(st.one_of(ends, st.just(horizon + 30.0)), odds))
    return item


@st.composite
def dose(draw, horizon: float, odds: int) -> dict:
    name = draw(maybe_odd(st.sampled_from(list(DOSES)), odds))
    largest = DOSES[name][1] if isinstance(name, str) and name in DOSES else 10.0
    amount = st.one_of(st.floats(1e-6, largest), st.just(largest))
    item: dict = {"name": name, "amount": draw(maybe_odd(amount, odds))}
    day = draw(maybe_odd(near(horizon, odds, before=True), odds))
    item["day"] = day
    if draw(st.booleans()):
        left = 24 * (horizon - day) if isinstance(day, float) and 0 <= day <= horizon else 1.0
        item["duration_hours"] = draw(maybe_odd(st.one_of(st.floats(0, max(left, 0)), st.just(max(left, 0.0))), odds))
    return item


def _clean(value):
    """TOML has no null: drop None (an absent field is a case of its own)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value if v is not None]
    return value


@st.composite
def scenario_files(draw) -> tuple[dict | None, bytes]:
    """A scenario file: usually generated data written as TOML, sometimes that text damaged."""
    data = _clean(draw(scenario_data()))
    try:
        text = tomli_w.dumps(data).encode("utf-8")
    except (TypeError, ValueError):  # something TOML cannot hold (a mixed array): write what it can
        data = {"days": 1.0}
        text = b"days = 1.0\n"
    if draw(st.integers(0, 9)) == 0:  # damaged text: cut, bytes replaced, or invalid UTF-8
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.binary(max_size=8)) + text[cut:]
        return None, text
    return data, text


# --- the checks ---------------------------------------------------------------------------------------------------

def _run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
            code = 0
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def _clean_text(text: str) -> bool:
    return not (set(text) & CONTROL)


@pytest.fixture(scope="module")
def api():
    from fastapi.testclient import TestClient

    from gutjoint._interfaces.web.app import create_app

    with TestClient(create_app(), base_url="http://127.0.0.1") as client:
        yield client
    if STATS_PATH:
        Path(STATS_PATH).write_text(json.dumps(dict(OUTCOMES), indent=1, sort_keys=True))


@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=STATS_PATH is None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(document=scenario_files())
def test_generated_scenarios_are_accepted_and_run_or_refused_naming_a_field(api, document):
    data, text = document
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.toml"
        path.write_bytes(text)
        out_path = Path(folder) / "out.csv"
        code, out, err = _run_cli(["simulate", str(path), "--out", str(out_path)])

        assert _clean_text(out) and _clean_text(err), (out, err)  # 4. nothing unsafe is echoed
        assert "internal error" not in err and "Traceback" not in err, err  # 3. nothing else escapes
        if code == 2:  # 1. refused: one line naming the field
            lines = [line for line in err.splitlines() if line.strip()]
            assert len(lines) == 1 and lines[0].startswith("error: ") and "field '" in lines[0], err
            assert not out_path.exists()
            OUTCOMES["cli rejected"] += 1
            if data is not None:
                with pytest.raises(ScenarioError):
                    scenario_from_dict(data, source=str(path))
        elif code == 0:  # 2. a success: every output finite
            assert "solver ok" in out, out
            frame = pd.read_csv(out_path)
            assert np.isfinite(frame.to_numpy(dtype=float)).all(), "a success with non-finite outputs"
            OUTCOMES["cli success"] += 1
        elif code == 1:  # 2. a failure, reported as one
            assert "solver FAILED (" in out, (out, err)
            OUTCOMES["cli solver failure"] += 1
        else:
            raise AssertionError(f"unexpected exit code {code}: {err}")

    if data is None:
        return
    try:
        body = json.dumps(data, allow_nan=True)
    except ValueError:
        return
    response = api.post("/api/simulate", content=body, headers={"content-type": "application/json"})
    assert response.status_code in (200, 413, 422), (response.status_code, response.text[:300])  # 3.
    if response.status_code == 422:
        detail = response.json()
        assert detail["field"] and _clean_text(detail["detail"]), detail  # 1. and 4.
        OUTCOMES["api rejected"] += 1
    elif response.status_code == 200:
        answer = response.json()
        values = np.array([v for column in answer["columns"].values() for v in column], dtype=float)
        if answer["status"] == "success":
            assert np.isfinite(values).all(), "an API success with non-finite outputs"  # 2.
            OUTCOMES["api success"] += 1
        else:
            assert answer["advice"], answer["status"]
            OUTCOMES["api solver failure"] += 1
    else:
        OUTCOMES["api too large"] += 1


# --- the Python API's own arguments ------------------------------------------------------------------------------

odd_number = st.one_of(odd_value, st.floats(allow_nan=True, allow_infinity=True), st.integers(-10 ** 6, 10 ** 6),
                       st.sampled_from([0, -1, 2.5, 1e308, -0.0, "1", b"1", True]))


@st.composite
def api_calls(draw) -> tuple[str, object]:
    """One call of a public function with arguments that are mostly wrong (a right one runs too, cheaply)."""
    kind = draw(st.sampled_from(["prepare", "tolerances", "explain", "population", "solve_many", "at"]))
    if kind == "prepare":
        keys = draw(st.lists(st.one_of(st.sampled_from(PARAMETERS), st.sampled_from(species.TRAITS), odd_text),
                             min_size=1, max_size=3, unique_by=str))
        parameters = {k: draw(st.one_of(odd_number, _in_range(k, 1))) for k in keys}
        return kind, draw(st.one_of(st.just(parameters), odd_value))
    if kind == "tolerances":
        return kind, {k: draw(odd_number) for k in draw(st.lists(st.sampled_from(["rtol", "atol", "max_steps"]),
                                                                 min_size=1, max_size=3, unique=True))}
    if kind == "explain":
        return kind, draw(st.one_of(odd_number, st.floats(-5, 40)))
    if kind == "population":
        return kind, {"n": draw(st.one_of(odd_number, st.integers(1, 2))), "seed": draw(st.one_of(odd_number,
                                                                                                 st.just(1))),
                      "chunk_size": draw(st.one_of(odd_number, st.just(8))),
                      "out": draw(st.one_of(st.just("pop"), st.just("a\x00b"), st.just(""), odd_value))}
    if kind == "solve_many":
        return kind, {"block_size": draw(st.one_of(odd_number, st.just(4))),
                      "problems": draw(st.sampled_from(["list", "str", "none", "mixed"]))}
    return kind, draw(st.one_of(st.lists(odd_number, min_size=1, max_size=3), odd_value))


def _call(kind: str, args, folder: Path):
    import gutjoint

    if kind == "prepare":
        return gutjoint.prepare("healthy", args)
    if kind == "tolerances":
        return gutjoint.Tolerances(**args)
    if kind == "explain":
        return gutjoint.explain("healthy", day=args)
    if kind == "population":
        out = args["out"]
        return gutjoint.run_population("healthy", n=args["n"], seed=args["seed"], chunk_size=args["chunk_size"],
                                       out=folder / out if isinstance(out, str) and out else out)
    if kind == "solve_many":
        problem = gutjoint.prepare("healthy")
        problems = {"list": [problem], "str": "healthy", "none": None, "mixed": [problem, "healthy"]}[args["problems"]]
        return gutjoint.solve_many(problems, block_size=args["block_size"])
    return gutjoint.prepare("healthy").at(args)


@settings(max_examples=max(50, EXAMPLES // 3), deadline=None, database=None, derandomize=STATS_PATH is None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(call=api_calls())
def test_api_arguments_are_accepted_or_refused_naming_the_argument(call):
    """A public function's argument is used, or refused with the project's InputError naming it: never a raw
    ValueError, TypeError or OverflowError from deep inside, and never a folder left by a refused call."""
    from gutjoint import InputError

    kind, args = call
    with tempfile.TemporaryDirectory() as folder:
        try:
            _call(kind, args, Path(folder))
            OUTCOMES[f"api-args {kind} accepted"] += 1
        except InputError as exc:
            message = str(exc)
            assert "argument '" in message and "allowed:" in message and _clean_text(message), message
            assert "\n" not in message
            if kind == "population" and "'out'" not in message:
                assert not (Path(folder) / "pop").exists()  # refused before the folder was made
            OUTCOMES[f"api-args {kind} refused"] += 1
