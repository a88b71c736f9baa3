"""The explorable: a FastAPI app serving a JSON API that mirrors the CLI, and the page at ``/``.

Every request is checked by the same code as the CLI, so invalid input gets the CLI's one-line message, as a
422 with ``{"detail": message, "field": field}``. The OpenAPI schema is generated from the same tables as those
checks (:func:`gutjoint._studies.scenario.json_schema`), so a request that conforms is accepted unless it breaks a
rule tying two fields together (``CROSS_FIELD_RULES``, also named in the schema).

Requests are bounded: the body (64 KiB counted as it arrives, so a chunked upload cannot pass it: 413), the
horizon (10 years), the output rows, the number of doses and input windows, the population size, and the work
(:func:`estimated_work`, in units of about half a millisecond). A light simulation runs on the event loop, which
keeps its latency lowest; anything heavier runs in a worker thread, one at a time per process, while the engine
releases the GIL, so light requests keep flowing while a heavy one runs. The model is compiled (or loaded from the
disk cache) once, at start-up. The page is plain HTML, CSS and JavaScript shipped with the package: no network.

A JSON body may start with a UTF-8 byte-order mark: it is ignored, as RFC 8259 §8.1 lets a parser do.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import tempfile
import weakref
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
import numpy as np
import orjson
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, WithJsonSchema

from gutjoint._errors import GutjointError, InputError, OptionError, ScenarioError, printable, quoted
from gutjoint._biology import species
from gutjoint._files import atomic_write
from gutjoint._safety import DISCLAIMER, RED_FLAG_LINE, RED_FLAGS
from gutjoint._studies.scenario import CROSS_FIELD_RULES, builtin_scenarios, json_schema, schedule_edges

STATIC = Path(__file__).with_name("static")
MAX_BODY_BYTES = 64 * 1024
MAX_DAYS = 3650.0
MAX_ROWS = 5000
MAX_POPULATION = 200
MAX_ITEMS = 50  # doses, and input windows, per scenario
MAX_TRIAL_PER_ARM = 100  # the CLI has no such cap
MAX_WORK = 2500.0  # estimated_work units (~0.5 ms each on one core): about a second per request at most
LIGHT_WORK = 20.0  # up to this, a simulation runs on the event loop (~10 ms)
CAPS = {"body_bytes": MAX_BODY_BYTES, "days": MAX_DAYS, "rows": MAX_ROWS, "population_n": MAX_POPULATION,
        "doses": MAX_ITEMS, "inputs": MAX_ITEMS, "work": MAX_WORK}
CROSS_FIELD = {**CROSS_FIELD_RULES, "step_hours": f"at most the horizon, and giving at most {MAX_ROWS} rows",
               "work": f"at most {MAX_WORK:g} work units (runs x (segments + years))",
               "day": "within the scenario's horizon"}
"""Rules between fields, which the schema states in words; a conforming request that breaks one gets a 422
whose ``field`` names it (indices written ``[]``)."""

SCENARIO_SCHEMA = json_schema(max_days=MAX_DAYS, max_items=MAX_ITEMS)
BUILTIN = tuple(builtin_scenarios())
ScenarioObject = Annotated[dict[str, Any], WithJsonSchema(SCENARIO_SCHEMA)]
ScenarioSpec = Annotated[str | dict[str, Any], WithJsonSchema(
    {"anyOf": [{"type": "string", "enum": list(BUILTIN), "description": "a built-in scenario"}, SCENARIO_SCHEMA]})]
RedFlagId = Literal[tuple(f.id for f in RED_FLAGS)]
OUTPUT_COLUMNS = ("time_days", *species.PINNED_OUTPUTS[1:], *species.EXTRA_OUTPUTS)
_COLUMN = "(?:" + "|".join(OUTPUT_COLUMNS) + ")"
COLUMNS_PATTERN = rf"^\s*(?:{_COLUMN}\s*)?(?:,\s*(?:{_COLUMN}\s*)?)*$"


class ErrorBody(BaseModel):
    detail: str
    field: str | None = None


class TriageRequest(BaseModel):
    flags: list[RedFlagId] = Field(default_factory=list, max_length=32, description="red-flag ids (GET /api/red-flags)")


class TriageAnswer(BaseModel):
    refer: bool
    urgent: bool
    message: str
    flags: list[str]
    disclaimer: str


class ExplainRequest(BaseModel):
    scenario: ScenarioSpec = Field(description="a built-in scenario name or a scenario object")
    day: float | None = Field(default=None, ge=0, le=MAX_DAYS,
                              description="day to explain (default: the last day); " + CROSS_FIELD["day"])


class TrialRequest(BaseModel):
    trial: Literal["barrier-support-joint-pain", "anti-tnf-ra"] = Field(default="barrier-support-joint-pain",
                                                                        description="a built-in trial")
    per_arm: int = Field(default=40, ge=5, le=MAX_TRIAL_PER_ARM, description=f"people per arm, 5 to {MAX_TRIAL_PER_ARM}")


class PopulationRequest(BaseModel):
    scenario: ScenarioSpec
    n: int = Field(default=50, ge=1, le=MAX_POPULATION, description=f"subjects, 1 to {MAX_POPULATION}")
    seed: int = Field(default=1, ge=0, le=2**63 - 1)


def estimated_work(scenario, runs: int) -> float:
    """Cost of ``runs`` simulations of ``scenario`` in units of about half a millisecond on one core: each
    schedule segment restarts the solver, and each simulated year takes about one unit
    (``benchmarks/web_latency.py`` measures the cost per unit)."""
    return runs * (len(schedule_edges(scenario)) - 1 + scenario.days / 365.0)


def _check_work(scenario, runs: int, what: str) -> float:
    work = estimated_work(scenario, runs)
    if work > MAX_WORK:
        raise ScenarioError("<request>", "work", round(work), f"{CROSS_FIELD['work']} on the web for {what} (fewer "
                            "doses or input windows, a shorter horizon or a smaller n; the CLI has no such cap)")
    return work


def _scenario(spec: str | dict):
    """A scenario from a built-in name or an object, within the web caps (InputError otherwise)."""
    from gutjoint._studies.scenario import load_scenario

    if isinstance(spec, str) and spec not in BUILTIN:
        raise InputError(f"scenario: {printable(repr(spec))} is not a built-in scenario; allowed: "
                         f"{', '.join(BUILTIN)} or a scenario object", field="scenario")
    if isinstance(spec, dict):
        for key in ("inputs", "doses"):
            if isinstance(spec.get(key), list) and len(spec[key]) > MAX_ITEMS:
                raise ScenarioError("<request>", key, spec[key], f"at most {MAX_ITEMS} on the web (the CLI allows more)")
    scenario = load_scenario(spec if isinstance(spec, str) else dict(spec))
    if scenario.days > MAX_DAYS:
        raise ScenarioError("<request>", "days", scenario.days, f"at most {MAX_DAYS:g} on the web (the CLI allows more)")
    rows = scenario.days * 24.0 / scenario.step_hours + 1
    if rows > MAX_ROWS:
        raise ScenarioError("<request>", "step_hours", scenario.step_hours,
                            f"a spacing giving at most {MAX_ROWS} rows on the web ({scenario.days:g} days: at least "
                            f"{scenario.days * 24.0 / (MAX_ROWS - 1):.3g} hours)")
    return scenario


class ArrayJSON(JSONResponse):
    """JSON through orjson, which writes NumPy arrays directly and NaN (rows a failed run never reached) as null."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def _frame_json(frame) -> dict[str, np.ndarray]:
    values = frame.to_numpy(dtype=float)
    return {c: np.ascontiguousarray(values[:, k]) for k, c in enumerate(frame.columns)}


class BodyLimit:
    """ASGI middleware: refuse a request body over ``limit`` bytes with 413, counting the bytes as they arrive
    (a chunked upload has no Content-Length to trust). The body is buffered, at most ``limit`` bytes of it,
    and replayed to the app."""

    def __init__(self, app, limit: int = MAX_BODY_BYTES):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await self._refuse(send, length.decode("latin-1"))
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            size += len(message.get("body", b""))
            if size > self.limit:
                return await self._refuse(send, f"more than {self.limit}")
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send, size: str) -> None:
        payload = orjson.dumps({"detail": f"request body: {printable(size, 40)} bytes is too large; allowed: at most "
                                          f"{self.limit} bytes", "field": "body"})
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": payload})


_heavy: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # event loop -> its one-at-a-time limiter


async def _off_loop(function, *args):
    """Run ``function(*args)`` in a worker thread, one at a time per event loop, so the loop keeps answering."""
    loop = asyncio.get_running_loop()
    if loop not in _heavy:
        _heavy[loop] = anyio.CapacityLimiter(1)
    return await anyio.to_thread.run_sync(function, *args, limiter=_heavy[loop])


@asynccontextmanager
async def _lifespan(_: FastAPI):
    from gutjoint._studies.simulate import simulate

    healthy = simulate("healthy")  # compile (or load) the model once, before the first request
    try:  # and the uncertainty path (the ensemble, xarray, SALib): 2 s a process, not a reader's wait
        _compute_bands(healthy.scenario, ("time_days", "pain_nrs"))
    except GutjointError:
        pass  # no ensemble here: a band request will say so
    yield


async def _input_error(_: Request, exc: GutjointError):
    field = getattr(exc, "field", None)
    detail = exc.as_option(f"field {exc.argument!r}") if isinstance(exc, OptionError) else str(exc)
    return JSONResponse({"detail": printable(detail, 1000), "field": None if field is None else printable(field)},
                        status_code=422)


async def _shape_error(_: Request, exc: RequestValidationError):
    first = exc.errors()[0] if exc.errors() else {"loc": ("body",), "msg": "invalid request"}
    field = printable(".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body")
    value = f" = {quoted(first['input'])}" if "input" in first and field != "body" else ""
    allowed = str(first.get("msg", "")).removeprefix("Input should be ").removeprefix("Value error, ")
    return JSONResponse({"detail": printable(f"request: field '{field}'{value} is invalid; allowed: {allowed}",
                                             1000), "field": field}, status_code=422)


ERRORS = {422: {"model": ErrorBody, "description": "invalid input (the CLI's message)"},
          413: {"model": ErrorBody, "description": "request body too large"}}

api = APIRouter()
"""The JSON API: every route mirrors a CLI command."""


@api.get("/api/scenarios")
def scenarios() -> list[dict]:
    """The built-in scenarios: name, description and the scenario object."""
    from gutjoint._studies.scenario import builtin_scenarios, load_scenario, scenario_to_dict

    return [{"name": n, "description": load_scenario(n).description, "scenario": scenario_to_dict(load_scenario(n))}
            for n in builtin_scenarios()]

@api.get("/api/parameters")
def parameters() -> dict:
    """Every parameter (value, unit, range, grade, source) and every causal link with its evidence grade."""
    from gutjoint._biology.links import load_links
    from gutjoint._biology.parameters import load_parameters

    return {"parameters": load_parameters().as_rows(), "links": [vars(link) for link in load_links()]}

@api.get("/api/red-flags")
def red_flags() -> dict:
    """The red flags (ids for /api/triage), the rule and the disclaimer."""
    return {"flags": [{"id": f.id, "label": f.label, "why": f.why, "source": f.source, "urgent": f.urgent}
                      for f in RED_FLAGS], "rule": RED_FLAG_LINE, "disclaimer": DISCLAIMER, "caps": CAPS}

@api.post("/api/simulate", responses={200: {"description": "every output column over time"}, **ERRORS})
async def simulate(scenario: ScenarioObject,
                   columns: Annotated[str | None, Query(pattern=COLUMNS_PATTERN, max_length=2000)] = None,
                   uncertainty: bool = False) -> ArrayJSON:
    """Simulate a scenario object (the scenario schema, as JSON): every output column over time, or only the
    comma-separated ``columns`` asked for (time_days is always included). ``uncertainty=true`` adds
    ``bands``: the 5/25/50/75/95% quantiles of each column over the parameter ensemble, the last day's 90%
    interval of the pain in words, the parameters that carry that band, and what rests on assumptions."""
    from gutjoint._studies.simulate import simulate as run

    chosen = None
    if columns is not None:
        chosen = ["time_days"] + [c.strip() for c in columns.split(",") if c.strip() and c.strip() != "time_days"]
        unknown = [c for c in chosen if c not in OUTPUT_COLUMNS]
        if unknown:
            raise InputError(f"simulate: query 'columns' = {printable(repr(unknown[0]))} is not an output column; "
                             f"allowed: {', '.join(OUTPUT_COLUMNS)}", field="columns")
    checked = _scenario(scenario)
    work = _check_work(checked, 1, "a simulation")
    result = run(checked) if work <= LIGHT_WORK else await _off_loop(run, checked)
    frame = result.frame if chosen is None else result.frame[chosen]
    body = {"scenario": result.scenario.name, "status": result.status.code, "advice": result.status.advice,
            "units": result.units, "columns": _frame_json(frame), "disclaimer": DISCLAIMER}
    if uncertainty:
        _check_work(checked, WEB_DRAWS, f"an uncertainty band ({WEB_DRAWS} runs)")
        body["bands"] = await _off_loop(_bands, checked, tuple(frame.columns))
    # returning the response skips FastAPI's generic encoder, which would walk ten thousand floats one by one
    return ArrayJSON(body)

@api.post("/api/explain", responses=ERRORS)
async def explain(request: ExplainRequest) -> dict:
    """Pain on one day split among the four sources (Shapley values), and the gut share."""
    from gutjoint._studies.attribution import RUNS, SOURCE_LINKS, explain_pain, source_grades

    scenario = _scenario(request.scenario)
    _check_work(scenario, RUNS, f"an explanation ({RUNS} runs)")
    result = await _off_loop(explain_pain, scenario, request.day)
    grades = source_grades()
    return {**result.as_dict(), "evidence": {s: dict(zip(SOURCE_LINKS[s], grades[s])) for s in grades},
            "disclaimer": DISCLAIMER}

@api.post("/api/population", responses=ERRORS)
async def population(request: PopulationRequest) -> dict:
    """A small virtual population (n at most 200 here; the CLI has no such cap): summary and subjects."""
    scenario = _scenario(request.scenario)
    _check_work(scenario, 2 * request.n, f"a population of {request.n} (two runs each)")
    summary, frame = await _off_loop(_population, scenario, request.n, request.seed)
    keep = [c for c in ("subject", "status", "baseline_pain", "final_pain", "days_to_30pct", "gut_share",
                        "relief", "phenotype") if c in frame]
    rows = frame[keep].astype(object).where(frame[keep].notna(), None).to_dict(orient="records")
    return {"summary": summary, "subjects": rows, "cap": MAX_POPULATION, "disclaimer": DISCLAIMER}

@api.post("/api/trial", responses=ERRORS)
async def trial(request: TrialRequest) -> dict:
    """A small virtual trial (at most 100 per arm here) and its power at three sizes, in plain words."""
    return await _off_loop(_trial, request.trial, request.per_arm)

@api.post("/api/triage", responses=ERRORS)
def triage(request: TriageRequest) -> TriageAnswer:
    """Guidance for red flags: with any flag, professional evaluation is essential."""
    from gutjoint._safety import triage as decide

    return TriageAnswer(**decide(request.flags).as_dict())


def create_app() -> FastAPI:
    """The app: the API, its error handlers and body limit, the page and its static files; the model is loaded
    (and the uncertainty path warmed) at start-up."""
    # FastAPI's interactive docs pages load scripts from a CDN, so they are off; the schema stays at /openapi.json
    app = FastAPI(title="gutjoint", version=_version(), lifespan=_lifespan, docs_url=None, redoc_url=None,
                  description="An executable, evidence-graded model of the gut-joint axis. " + DISCLAIMER)

    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    app.add_exception_handler(GutjointError, _input_error)
    app.add_exception_handler(RequestValidationError, _shape_error)
    app.include_router(api)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(STATIC / "index.html")

    return app


WEB_DRAWS = 100
"""Ensemble draws behind a band on the web (the CLI runs all of them)."""


@lru_cache(maxsize=2)
def _trial_pool(name: str) -> dict:
    """The pool of eligible people behind the page's trials, simulated once per process under every arm."""
    from gutjoint._studies.trial import pool

    return pool(name, 4 * MAX_TRIAL_PER_ARM)


def _trial(name: str, per_arm: int) -> dict:
    """One trial of ``per_arm`` people per arm and the power at three sizes (60 trials each, if the model is
    right), drawn from a pool simulated once, and what it means in words."""
    from gutjoint._studies.trial import load_trial, sample_trial, shipped_power, trial_power

    spec = load_trial(name)
    pool_ = _trial_pool(name)
    result = sample_trial(spec, pool_, per_arm)
    sizes = sorted({max(5, per_arm // 2), per_arm, 2 * per_arm})
    power = trial_power(spec, sizes, repeats=60, pools=[pool_])
    active = next(iter(result["comparisons"]))
    d = result["comparisons"][active]["pain_change_difference"]
    at = {r["per_arm"]: r["power_pain_model_right"] for r in power["rows"]}
    n80 = power.get("per_arm_for_80pct_model_right")
    words = (f"In this virtual trial ({per_arm} people per arm), {active} lowered pain by {-d['estimate']:.1f} points "
             f"more than placebo (95% CI {-d['ci95'][1]:.1f} to {-d['ci95'][0]:.1f}). If the model is right, a "
             f"trial this size would show a clear difference (p < 0.05) {at[per_arm]:.0%} of the time; "
             + (f"about {n80:.0f} people per arm would give the usual 80% power. " if n80 else
                f"even {2 * per_arm} per arm would not give the usual 80% power. ")
             + _over_uncertainty(shipped_power(name)))
    return {"trial": name, "per_arm": per_arm, "arms": result["arms"], "comparison": result["comparisons"][active],
            "power": power["rows"], "words": words, "disclaimer": DISCLAIMER}


def _over_uncertainty(curve: dict | None) -> str:
    """The power over what we do not know, in words, from the curve shipped with the trial (made over ensemble
    draws, which takes minutes: too long to run for a page)."""
    if not curve or "effect_over_uncertainty" not in curve:
        return "The model's own uncertainty widens this: the effect itself is not known (see the bands above)."
    e = curve["effect_over_uncertainty"]
    largest = curve["rows"][-1]
    n80 = curve.get("per_arm_for_80pct_over_uncertainty")
    return (f"But the model is not known to be right. Over {curve['ensemble_draws']} parameter sets the data allow, "
            f"the change in pain against placebo ranges from {e['q05']:+.1f} to {e['q95']:+.1f} points (90% of "
            f"them), and a trial of "
            f"{largest['per_arm']} per arm would show it only {largest['power_pain_over_uncertainty']:.0%} of the "
            "time" + (f"; about {n80:.0f} per arm would give 80% power." if n80 else
                      ": no size tried gives 80% power over what we do not know.")
            + " That gap is what a real trial would settle.")


def _bands(scenario, columns: tuple[str, ...]) -> dict:
    """Quantile bands of ``columns`` over the first :data:`WEB_DRAWS` ensemble draws. A band is computed once for
    all server processes: it is kept in this process and in the band folder of the disk cache, keyed by the model,
    the ensemble, the scenario and the columns; while one process computes a band, the others wait for it (a file
    lock) instead of computing it again (the page asks again for the same scenario as a reader moves between
    views, and a reader's first request reaches every process)."""
    from gutjoint._studies.scenario import scenario_to_dict

    text = orjson.dumps([_band_basis(), scenario_to_dict(scenario), columns], option=orjson.OPT_SORT_KEYS)
    key = hashlib.sha256(text).hexdigest()[:32]
    if key in _BAND_CACHE:
        return _BAND_CACHE[key]
    folder = _band_folder()
    stored = folder / f"{key}.json" if folder else None
    if stored is None:
        answer = _compute_bands(scenario, columns)
    else:
        with open(folder / f"{key}.lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            try:
                answer = orjson.loads(stored.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                answer = _compute_bands(scenario, columns)
                try:
                    atomic_write(stored, lambda tmp: tmp.write_bytes(
                        orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY)), field="cache")
                except GutjointError:
                    pass  # an unwritable cache only costs the next process the same work
                else:
                    _prune_bands(folder)
    if len(_BAND_CACHE) > 64:
        _BAND_CACHE.clear()
    _BAND_CACHE[key] = answer
    return answer


_BAND_CACHE: dict = {}


MAX_STORED_BANDS = 2000
"""Bands kept in the disk cache (about 50-150 kB each); past this, the oldest tenth is removed."""


def _prune_bands(folder: Path) -> None:
    stored = list(folder.glob("*.json"))
    if len(stored) <= MAX_STORED_BANDS:
        return
    def age(path):
        try:
            return path.stat().st_mtime
        except OSError:
            return 0.0
    for path in sorted(stored, key=age)[: len(stored) - int(0.9 * MAX_STORED_BANDS)]:
        for old in (path, path.with_suffix(".lock")):
            try:
                old.unlink()
            except OSError:
                pass  # another process removed it first


@lru_cache(maxsize=1)
def _band_basis() -> list:
    """What a stored band depends on besides its request: the model, the ensemble and the number of draws."""
    from gutjoint._studies.runtime import model_key
    from gutjoint._studies.uncertainty import load_ensemble

    return [model_key(), load_ensemble().key, WEB_DRAWS]


@lru_cache(maxsize=1)
def _band_folder() -> Path | None:
    """``bands/`` in the disk cache (``$GUTJOINT_CACHE``, as for the compiled model); None where it cannot be
    made, and each process then keeps its own bands."""
    from gutjoint._numerics.codegen import cache_folder

    return cache_folder("bands")


def _compute_bands(scenario, columns: tuple[str, ...]) -> dict:
    from gutjoint._studies import uncertainty as unc

    ensemble = unc.load_ensemble()
    dataset = unc.simulate_ensemble(scenario, ensemble=ensemble, draws=min(WEB_DRAWS, len(ensemble)))
    table = unc.bands(dataset, unc.QUANTILES, [c for c in columns if c in dataset])
    last = table.iloc[-1]
    return {"quantiles": list(unc.QUANTILES), "columns": _frame_json(table.drop(columns="time_days")),
            "draws": int(dataset.attrs["n_draws"]), "failed": int(dataset.attrs["n_failed"]),
            "pain_last_day": (f"pain on the last day is {unc.in_words(last['pain_nrs_q05'], last['pain_nrs_q95'])}"
                              "/10 in 90% of the parameter sets") if "pain_nrs_q05" in table else "",
            "drivers": unc.band_drivers(dataset, ensemble, "pain_nrs"), "honesty": unc.honesty_line(ensemble)}


def _population(scenario, n: int, seed: int):
    import pandas as pd

    from gutjoint._studies.population import run_population, summarise

    with tempfile.TemporaryDirectory() as folder:
        run_population(scenario, n=n, seed=seed, out=folder)
        return summarise(Path(folder) / "subjects.parquet"), pd.read_parquet(Path(folder) / "subjects.parquet")


def _version() -> str:
    from importlib.metadata import version

    return version("gutjoint")


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Run the app on ``workers`` processes that share one listening socket.

    The socket is bound here, with TCP_NODELAY (inherited by every connection), and each worker process runs its
    own uvicorn server on it. (uvicorn's own multi-worker mode added a 40 ms stall to mid-sized responses on
    loopback here: the delayed-acknowledgement interplay that TCP_NODELAY avoids.)"""
    import multiprocessing
    import signal
    import socket

    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise InputError(f"serve: option '--port' = {port} cannot be bound on {host} ({exc.strerror}); allowed: a "
                         "free port") from None
    sock.listen(2048)
    sock.set_inheritable(True)

    def run() -> None:
        uvicorn.Server(uvicorn.Config(create_app(), log_level="warning")).run(sockets=[sock])

    if workers == 1:
        run()  # uvicorn handles SIGINT and SIGTERM, then passes them on to the CLI (exit 130 or 143)
        return

    def run_worker() -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a worker stopped by its parent ends quietly
        run()

    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=run_worker, daemon=True) for _ in range(workers)]
    for process in processes:
        process.start()

    def stop(signum: int = signal.SIGTERM, *_) -> None:
        for process in processes:
            process.terminate()
        raise SystemExit(128 + signum)  # the CLI's documented codes: 143 for SIGTERM, 130 for Ctrl-C

    signal.signal(signal.SIGTERM, stop)  # a terminated server takes its workers with it
    try:
        for process in processes:
            process.join()
    except KeyboardInterrupt:
        stop(signal.SIGINT)
