"""The explorable: a FastAPI app serving a JSON API that mirrors the CLI, and the page at ``/``.

Every request is checked by the same code as the CLI, so invalid input gets the CLI's one-line message, as a
422 with ``{"detail": message, "field": field}``. The OpenAPI schema is generated from the same tables as those
checks (:func:`gutjoint._studies.scenario.json_schema`), so a request that conforms is accepted unless it breaks a
rule tying two fields together (``CROSS_FIELD_RULES``, also named in the schema).

Requests are bounded: the body (64 KiB counted as it arrives, so a chunked upload cannot pass it: 413), the
horizon (10 years), the output rows, the number of doses and input windows, the population size, and the work
(:func:`estimated_work`, in units of about half a millisecond, counting a resting state that needs the slow
fallback). A light simulation (little work, and a resting state the compiled Newton settles: a fraction of a
millisecond to find out) runs on the event loop, which keeps its latency lowest. Anything heavier runs in the
server process's one heavy-work process (:class:`HeavyWork`), one job at a time: it is killed when its client goes
away or when it runs past :data:`HEAVY_SECONDS`, so no request can hold the server.

Every answer has one of these codes (``ERRORS`` puts them in the OpenAPI schema, each with the shape ``{"detail",
"field"}``): 200, including a run that failed (``status`` names the failure and ``advice`` says what to change,
as the CLI's exit code 1 does; only ``status == "success"`` carries numbers); 400, a Host header that is not this
server's (DNS rebinding); 408, a body that does not arrive in time; 413, a body too large; 415, a body that is not
``application/json``; 422, invalid input (the CLI's exit code 2), the body included: not UTF-8, not JSON, nested
too deep, a number beyond the float range. Slow clients are cut off: headers within :data:`HEADER_SECONDS`, the
body within :data:`BODY_SECONDS`.

The model is compiled (or loaded from the disk cache) once, at start-up. The page is plain HTML, CSS and
JavaScript shipped with the package: no network. A JSON body may start with a UTF-8 byte-order mark: it is
ignored, as RFC 8259 §8.1 lets a parser do.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from collections.abc import Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import orjson
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, BeforeValidator, Field, WithJsonSchema

from gutjoint._errors import GutjointError, InputError, OptionError, ScenarioError, SolverError, printable, quoted
from gutjoint._biology import species
from gutjoint._files import DiskCache
from gutjoint._safety import DISCLAIMER, RED_FLAG_LINE, RED_FLAGS
from gutjoint._studies.person import EVENTS as P_EVENTS, NOISE as PERSON_NOISE, OBSERVABLES as PERSON_OBSERVABLES
from gutjoint._studies.person import UNITS as PERSON_UNITS_BY
from gutjoint._studies.problem import needs_slow_rest
from gutjoint._studies.scenario import CROSS_FIELD_RULES, builtin_scenarios, json_schema, schedule_edges

PERSON_UNITS = tuple(dict.fromkeys(u for units in PERSON_UNITS_BY.values() for u in units))
"""Every unit a person's measurement may come in (person.UNITS, one list)."""

STATIC = Path(__file__).with_name("static")
MAX_BODY_BYTES = 64 * 1024
MAX_DAYS = 3650.0
MAX_ROWS = 5000
MAX_POPULATION = 200
MAX_ITEMS = 50  # doses, and input windows, per scenario
MAX_TRIAL_PER_ARM = 100  # the CLI has no such cap
MAX_WORK = 2500.0  # estimated_work units (~0.5 ms each on one core): about a second per request at most
LIGHT_WORK = 20.0  # up to this, a simulation runs on the event loop (~10 ms)
REST_FALLBACK_WORK = 2000.0
"""Work units of a resting state the compiled Newton does not settle: SciPy's root finding and long relaxation
took 1.0-1.8 s for one such person (``benchmarks/web_latency.py`` measures it)."""
HEAVY_SECONDS = 10.0
"""The longest a heavy job may run before it is killed (a 422 on ``work``): ten times the work cap's second."""
HEADER_SECONDS = 10.0
BODY_SECONDS = 20.0
MAX_DEPTH = 32
"""Nesting of a JSON body (a scenario needs 3 levels)."""
MAX_CONNECTIONS = 1000
"""Open connections per server process; past it, uvicorn answers 503."""
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
"""The names a server bound to loopback (or to every interface) answers to besides its own address."""
CAPS = {"body_bytes": MAX_BODY_BYTES, "days": MAX_DAYS, "rows": MAX_ROWS, "population_n": MAX_POPULATION,
        "doses": MAX_ITEMS, "inputs": MAX_ITEMS, "work": MAX_WORK}
CROSS_FIELD = {**CROSS_FIELD_RULES, "step_hours": f"at most the horizon, and giving at most {MAX_ROWS} rows",
               "work": f"at most {MAX_WORK:g} work units (runs x (segments + years + {REST_FALLBACK_WORK:g} where "
                       "the resting state needs the slow fallback))",
               "day": "within the scenario's horizon",
               "rows[].value": "in its observable's range: "
                               + ", ".join(f"{name} {noise.low:g}-{noise.high:g}" for name, noise in PERSON_NOISE.items())
                               + " (in the model's units), hla_b27 0 or 1, red_flag an id of /api/red-flags",
               "rows[].unit": "one of its observable's units: "
                              + "; ".join(f"{name} {', '.join(units)}" for name, units in PERSON_UNITS_BY.items()),
               "rows[].observable": "a measurement, hla_b27 or red_flag: events ("
                                    + ", ".join(P_EVENTS) + ") and a diagnosis are refused here (`gutjoint person "
                                    "FILE` takes them)"}
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


def _json_number(value: Any) -> Any:
    """A JSON number only: pydantic's lax mode would read ``true`` as 1 and ``"2"`` as 2."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("a JSON number (not a boolean or a string)")
    return value


JSONNumber = Annotated[float, BeforeValidator(_json_number)]
JSONInteger = Annotated[int, BeforeValidator(_json_number)]
"""Numbers as the schema states them: ``30`` and ``30.0`` are the same integer, ``true`` and ``"30"`` are not."""


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
    day: JSONNumber | None = Field(default=None, ge=0, le=MAX_DAYS,
                              description="day to explain (default: the last day); " + CROSS_FIELD["day"])


class TrialRequest(BaseModel):
    trial: Literal["barrier-support-joint-pain", "anti-tnf-ra"] = Field(default="barrier-support-joint-pain",
                                                                        description="a built-in trial")
    per_arm: JSONInteger = Field(default=40, ge=5, le=MAX_TRIAL_PER_ARM, description=f"people per arm, 5 to {MAX_TRIAL_PER_ARM}")


class PersonRow(BaseModel):
    day: JSONNumber = Field(default=0.0, ge=-3650, le=0, description="day of the measurement (0 is today)")
    observable: Literal[PERSON_OBSERVABLES] = Field(  # type: ignore[valid-type]  # person.OBSERVABLES, one list
        description=CROSS_FIELD["rows[].observable"])
    value: JSONNumber | RedFlagId = Field(description="the measured value (for red_flag: its id); "
                                          + CROSS_FIELD["rows[].value"])
    unit: Literal[PERSON_UNITS] | None = Field(  # type: ignore[valid-type]  # person.UNITS, one list
        default=None, description="the value's unit (default: the observable's first); " + CROSS_FIELD["rows[].unit"])


class PersonRequest(BaseModel):
    rows: list[PersonRow] = Field(min_length=1, max_length=2000, description="the person's measurements")


class PopulationRequest(BaseModel):
    scenario: ScenarioSpec
    n: JSONInteger = Field(default=50, ge=1, le=MAX_POPULATION, description=f"subjects, 1 to {MAX_POPULATION}")
    seed: JSONInteger = Field(default=1, ge=0, le=2**63 - 1)


def estimated_work(scenario, runs: int, *, slow_rest: bool = False) -> float:
    """Cost of ``runs`` simulations of ``scenario`` in units of about half a millisecond on one core: each
    schedule segment restarts the solver, each simulated year takes about one unit, and a resting state the
    compiled Newton does not settle (``slow_rest``) takes :data:`REST_FALLBACK_WORK` (``benchmarks/web_latency.py``
    measures the cost per unit)."""
    return runs * (len(schedule_edges(scenario)) - 1 + scenario.days / 365.0 + (REST_FALLBACK_WORK if slow_rest else 0))


def _check_work(scenario, runs: int, what: str, *, slow_rest: bool = False) -> float:
    work = estimated_work(scenario, runs, slow_rest=slow_rest)
    if work > MAX_WORK:
        why = " (its resting state needs the slow fallback: parameter values far from the table's)" if slow_rest else ""
        raise ScenarioError("<request>", "work", round(work), f"{CROSS_FIELD['work']} on the web for {what}{why} "
                            "(fewer doses or input windows, a shorter horizon or a smaller n; the CLI has no such cap)")
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


class RequestGuard:
    """ASGI middleware that every HTTP request passes before the app sees it:

    - the Host header must name this server (:class:`HostRule`), so that a page on another origin cannot reach a
      local server through DNS rebinding (400);
    - a body over ``limit`` bytes is refused as its bytes arrive, so a chunked upload with no Content-Length to
      trust cannot pass (413), and one that does not arrive within :data:`BODY_SECONDS` is cut off (408);
    - a body must be ``application/json`` (415) and JSON that Python can hold: UTF-8, numbers in the float range,
      nested at most :data:`MAX_DEPTH` deep (422 on ``body``).

    The body, at most ``limit`` bytes, is buffered and replayed to the app."""

    def __init__(self, app, limit: int = MAX_BODY_BYTES, hosts: HostRule | None = None):
        self.app, self.limit, self.hosts = app, limit, hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1")
        if self.hosts is not None and not self.hosts.allows(host):
            return await _refuse(send, 400, "host", f"request: header 'host' = {quoted(host)} is not this server's; "
                                                    f"allowed: {self.hosts.describe()}")
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await self._too_large(send, length.decode("latin-1"))
        chunks, size = [], 0
        deadline = asyncio.get_running_loop().time() + BODY_SECONDS
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                return await _refuse(send, 408, "body", f"request body: not complete after {BODY_SECONDS:g} s; "
                                                        f"allowed: a body sent within {BODY_SECONDS:g} s")
            if message["type"] == "http.disconnect":
                return
            size += len(message.get("body", b""))
            if size > self.limit:
                return await self._too_large(send, f"more than {self.limit}")
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False
        if body:
            media = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
            if media != "application/json":
                return await _refuse(send, 415, "content-type", f"request: header 'content-type' = {quoted(media)} "
                                                                "is not supported; allowed: application/json")
            problem = _json_problem(body)
            if problem:
                return await _refuse(send, 422, "body", f"request body: {problem}; allowed: JSON in UTF-8, nested "
                                                        f"at most {MAX_DEPTH} deep, numbers within the float range")

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send, size: str) -> None:
        await _refuse(send, 413, "body", f"request body: {printable(size, 40)} bytes is too large; allowed: at most "
                                         f"{self.limit} bytes")


async def _refuse(send, status: int, field: str, detail: str) -> None:
    """Answer with ``status`` and the documented error shape, and close the connection."""
    payload = orjson.dumps({"detail": printable(detail, 1000), "field": field})
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": payload})


def _json_problem(body: bytes) -> str | None:
    """Why ``body`` is not JSON the API can read, or None. A UTF-8 byte-order mark is allowed (RFC 8259 §8.1)."""
    try:
        data = orjson.loads(body.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError as exc:
        return str(exc)
    depth, level = 0, [(data, 1)]
    while level:
        value, d = level.pop()
        depth = max(depth, d)
        if depth > MAX_DEPTH:
            return f"nested more than {MAX_DEPTH} deep"
        if isinstance(value, dict):
            level.extend((v, d + 1) for v in value.values())
        elif isinstance(value, list):
            level.extend((v, d + 1) for v in value)
    return None


@dataclass(frozen=True)
class HostRule:
    """The Host headers a server answers: its own names (lower case), and any IP address literal when it listens on
    every interface. A name other than these could be an attacker's domain rebound to this machine; an address
    literal cannot be rebound."""

    names: frozenset[str]
    any_address: bool = False

    @classmethod
    def for_bind(cls, host: str, extra: Sequence[str] = ()) -> HostRule:
        """The rule for a server bound to ``host`` (``--host``), with ``extra`` names (``--allow-host``)."""
        wildcard = host in ("0.0.0.0", "::", "")
        own = {host.lower()} | (set(LOOPBACK_HOSTS) if wildcard or _loopback(host) else set())
        return cls(frozenset(own - {"", "0.0.0.0", "::"} | {e.lower() for e in extra}), any_address=wildcard)

    def allows(self, header: str) -> bool:
        name = header.strip().lower()
        if name.startswith("["):  # [v6]:port
            name = name[1:].split("]", 1)[0]
        elif name.count(":") == 1:
            name = name.split(":", 1)[0]
        return name in self.names or (self.any_address and _address(name))

    def describe(self) -> str:
        return ", ".join(sorted(self.names)) + (" or any IP address of this machine" if self.any_address else "")


def _address(name: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _loopback(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower() == "localhost"


class ClientGone(Exception):
    """The client closed its connection before its heavy job finished: the job was dropped or killed."""


class HeavyWork:
    """The one process of a server process where heavy requests run, one job at a time.

    It is forked from the warm server (the model loaded, the uncertainty path imported), so a job starts at once.
    While a job runs or waits its turn, its client is watched: when the client goes away, a waiting job is dropped
    and a running one is killed with its process. A job that runs past ``seconds`` is killed too, and its request
    gets a 422 on ``work``. The next job gets a fresh process. The event loop only waits, so light requests keep
    flowing whatever the job does (a SciPy fallback holds the GIL for seconds: in a thread it would stall them)."""

    POLL = 0.05

    def __init__(self, seconds: float = HEAVY_SECONDS):
        self.seconds = seconds
        self._pool = None
        self._turn = asyncio.Lock()

    def start(self) -> None:
        """Fork the worker now (at start-up, and again after a kill), so the first job does not wait for it."""
        import multiprocessing

        from gutjoint._processes import local_pool

        if self._pool is None:
            self._pool = local_pool(1, context=multiprocessing.get_context("fork"))
            self._pool.submit(int).result()  # the process exists from here on

    def stop(self) -> None:
        if self._pool is not None:
            from gutjoint._processes import kill_pool

            kill_pool(self._pool)
            self._pool = None

    async def run(self, request: Request, function, *args):
        """``function(*args)`` in the worker process (both picklable): its result, or its exception re-raised."""
        loop = asyncio.get_running_loop()
        while True:  # wait for the turn, dropping the job if its client goes meanwhile
            if await request.is_disconnected():
                raise ClientGone()
            try:
                await asyncio.wait_for(self._turn.acquire(), self.POLL)
                break
            except TimeoutError:
                continue
        try:
            self.start()
            job = asyncio.wrap_future(self._pool.submit(function, *args))
            deadline = loop.time() + self.seconds
            while not (await asyncio.wait({job}, timeout=self.POLL))[0]:
                if await request.is_disconnected():
                    self.stop()
                    raise ClientGone()
                if loop.time() > deadline:
                    self.stop()
                    raise ScenarioError("<request>", "work", f"more than {self.seconds:g} s",
                                        f"a request that runs within {self.seconds:g} s on the web (its resting "
                                        "states or runs took longer than their estimate; the CLI has no such cap)")
            from concurrent.futures.process import BrokenProcessPool

            try:
                return job.result()
            except BrokenProcessPool:  # the worker died under the job (out of memory, killed from outside)
                self.stop()
                raise
        finally:
            self._turn.release()


def _heavy(request: Request) -> HeavyWork:
    """The app's heavy-work process (made at start-up; made here for an app served without its lifespan)."""
    state = request.app.state
    if not hasattr(state, "heavy"):
        state.heavy = HeavyWork()
    return state.heavy


@asynccontextmanager
async def _lifespan(app: FastAPI):
    from gutjoint._studies.simulate import simulate

    healthy = simulate("healthy")  # compile (or load) the model once, before the first request
    try:  # and the uncertainty path (the ensemble, xarray, SALib): 2 s a process, not a reader's wait
        _compute_bands(healthy.scenario, ("time_days", "pain_nrs"))
    except GutjointError:
        pass  # no ensemble here: a band request will say so
    app.state.heavy = HeavyWork()
    app.state.heavy.start()  # forked warm, after the above
    try:
        yield
    finally:
        app.state.heavy.stop()


async def _run_failed(_: Request, exc: SolverError):
    """A run that failed: 200, with ``status`` naming the failure and its ``advice`` (the CLI's exit code 1)."""
    return JSONResponse({"status": exc.code or "failed", "advice": exc.advice, "detail": printable(str(exc), 1000),
                         "disclaimer": DISCLAIMER})


async def _client_gone(_: Request, exc: ClientGone):
    from fastapi.responses import Response

    return Response(status_code=499)  # nobody reads it: the client closed the connection (nginx's code, for logs)


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


ERRORS = {422: {"model": ErrorBody, "description": "invalid input (the CLI's message; the CLI's exit code 2)"},
          400: {"model": ErrorBody, "description": "the Host header is not this server's"},
          408: {"model": ErrorBody, "description": "the request body did not arrive in time"},
          413: {"model": ErrorBody, "description": "request body too large"},
          415: {"model": ErrorBody, "description": "the request body is not application/json"}}

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
    """Every parameter (value, unit, range, grade, source), every causal link with its evidence grade, and the
    grades from strongest to weakest."""
    from gutjoint._biology.links import load_links
    from gutjoint._biology.parameters import load_parameters

    from gutjoint._biology.parameters import GRADES

    return {"parameters": load_parameters().as_rows(), "links": [vars(link) for link in load_links()],
            "grades": list(GRADES), "gut_joint": gut_joint_evidence()}


def gut_joint_evidence() -> dict | None:
    """What the human gut-to-joint results say (the shipped gut-joint fit, issue 30), for the page's answers: the
    fitted magnitudes against their priors, each result before and after, the path back from pain to NSAIDs, and
    the gut share among people with moderate pain by population over the fitted parameter sets; None if the shipped fit is missing or stale."""
    from gutjoint._studies import gut_share
    from gutjoint._studies.calibration import gut_joint as gj

    fit = gj.current_fit()
    if fit is None:
        return None
    back = fit["reverse_path"]["fitted"]
    shares = gut_share.shipped()
    by_population = None if shares is None else [
        {"scenario": scenario, "people": who, **shares["populations"][scenario]["after"]["gut_share"]}
        for scenario, who in gut_share.POPULATIONS.items()]
    return {"method": fit["method"], "parameters": fit["parameters"], "rows": fit["rows"],
            "gut_share_by_population": by_population,
            "reverse_share": back["reverse_share"],
            "lm_ratio_forward": back["worlds"]["forward"]["lm_ratio_of_means"],
            "lm_ratio_both": back["worlds"]["both"]["lm_ratio_of_means"],
            "nsaid_use": fit["reverse_path"]["behaviour"]["value"]}

@api.get("/api/red-flags")
def red_flags() -> dict:
    """The red flags (ids for /api/triage), the rule and the disclaimer."""
    return {"flags": [{"id": f.id, "label": f.label, "why": f.why, "source": f.source, "urgent": f.urgent}
                      for f in RED_FLAGS], "rule": RED_FLAG_LINE, "disclaimer": DISCLAIMER, "caps": CAPS}

@api.post("/api/simulate", responses={200: {"description": "every output column over time"}, **ERRORS})
async def simulate(scenario: ScenarioObject, request: Request,
                   columns: Annotated[str | None, Query(pattern=COLUMNS_PATTERN, max_length=2000)] = None,
                   uncertainty: bool = False) -> ArrayJSON:
    """Simulate a scenario object (the scenario schema, as JSON): every output column over time, or only the
    comma-separated ``columns`` asked for (time_days is always included). ``uncertainty=true`` adds
    ``bands``: the 5/25/50/75/95% quantiles of each column over the parameter ensemble, the last day's 90%
    interval of the pain in words, the parameters that carry that band, and what rests on assumptions. A run
    that failed is a 200 whose ``status`` names the failure, with ``advice``; its rows from the failure on are
    null."""
    chosen = None
    if columns is not None:
        chosen = ["time_days"] + [c.strip() for c in columns.split(",") if c.strip() and c.strip() != "time_days"]
        unknown = [c for c in chosen if c not in OUTPUT_COLUMNS]
        if unknown:
            raise InputError(f"simulate: query 'columns' = {printable(repr(unknown[0]))} is not an output column; "
                             f"allowed: {', '.join(OUTPUT_COLUMNS)}", field="columns")
    checked = _scenario(scenario)
    slow_rest = needs_slow_rest(checked)  # a fraction of a millisecond; the fallback it predicts takes seconds
    work = _check_work(checked, 1, "a simulation", slow_rest=slow_rest)
    light = work <= LIGHT_WORK and not slow_rest
    body = _simulation(checked, chosen) if light else await _heavy(request).run(request, _simulation, checked, chosen)
    if uncertainty:
        _check_work(checked, WEB_DRAWS, f"an uncertainty band ({WEB_DRAWS} runs)")
        body["bands"] = await _heavy(request).run(request, _bands, checked, tuple(body["columns"]))
    # returning the response skips FastAPI's generic encoder, which would walk ten thousand floats one by one
    return ArrayJSON(body)

@api.post("/api/explain", responses=ERRORS)
async def explain(body: ExplainRequest, request: Request) -> dict:
    """Pain on one day split among the four sources (Shapley values), and the gut share. A run that failed is a
    200 whose ``status`` names the failure (see the module's codes)."""
    from gutjoint._studies.attribution import RUNS

    scenario = _scenario(body.scenario)
    _check_work(scenario, RUNS, f"an explanation ({RUNS} runs)", slow_rest=needs_slow_rest(scenario))
    return await _heavy(request).run(request, _explanation, scenario, body.day)

@api.post("/api/population", responses=ERRORS)
async def population(body: PopulationRequest, request: Request) -> dict:
    """A small virtual population (n at most 200 here; the CLI has no such cap): summary and subjects."""
    scenario = _scenario(body.scenario)
    _check_work(scenario, 2 * body.n, f"a population of {body.n} (two runs each)", slow_rest=needs_slow_rest(scenario))
    summary, frame = await _heavy(request).run(request, _population, scenario, body.n, body.seed)
    keep = [c for c in ("subject", "status", "baseline_pain", "final_pain", "days_to_30pct", "gut_share",
                        "relief", "phenotype") if c in frame]
    rows = frame[keep].astype(object).where(frame[keep].notna(), None).to_dict(orient="records")
    return {"summary": summary, "subjects": rows, "cap": MAX_POPULATION, "disclaimer": DISCLAIMER}

@api.post("/api/trial", responses=ERRORS)
async def trial(body: TrialRequest, request: Request) -> dict:
    """A small virtual trial (at most 100 per arm here) and its power at three sizes, in plain words."""
    return await _heavy(request).run(request, _trial, body.trial, body.per_arm)

@api.post("/api/person", responses=ERRORS)
async def person(body: PersonRequest, request: Request) -> dict:
    """What a person's own numbers say (the shipped bank of virtual people weighed by them): the gut share, pain
    at rest and its sources, the response to each option, what to measure next, in words and numbers. A red flag stops it and
    returns the triage alone. Nothing is stored."""
    from gutjoint._studies import person as P

    rows = [row.model_dump() for row in body.rows]
    data = P.person_from_rows(rows, source="<request>")
    if (data.events or data.diagnosis) and not data.red_flags:
        k = next(i for i, row in enumerate(rows) if row["observable"] in (*P.EVENTS, "diagnosis"))
        what = "a diagnosis" if rows[k]["observable"] == "diagnosis" else "an event"
        raise InputError(f"person: field 'rows[{k}].observable' = {quoted(rows[k]['observable'])} is {what}; allowed "
                         f"here: measurements only (events and a diagnosis need `gutjoint person FILE`, which "
                         f"simulates {P.EVENT_BANK_SIZE:,} people for the answer)", field=f"rows[{k}].observable")
    if data.red_flags:
        result = P.infer_person(data)
    else:
        result = await _heavy(request).run(request, _person, data)
    from gutjoint._interfaces.person_report import as_dict

    return as_dict(result, data)


def _person(data):
    from gutjoint._studies import person as P

    bank = P.shipped_bank()
    if bank is None:
        raise ScenarioError("<request>", "bank", "stale", "a bank of virtual people made under this model (regenerate "
                            "it with person.write_shipped_bank(); the CLI simulates one instead)")
    return P.infer_person(data, bank=bank)


@api.post("/api/triage", responses=ERRORS)
def triage(request: TriageRequest) -> TriageAnswer:
    """Guidance for red flags: with any flag, professional evaluation is essential."""
    from gutjoint._safety import triage as decide

    return TriageAnswer(**decide(request.flags).as_dict())


def create_app(hosts: HostRule | None = HostRule.for_bind("127.0.0.1")) -> FastAPI:
    """The app: the API, its error handlers and request guard, the page and its static files; the model is loaded
    (and the uncertainty path warmed) at start-up. ``hosts``: the Host headers it answers (default: this machine's
    loopback names; :func:`serve` passes the rule for its address; None checks nothing)."""
    # FastAPI's interactive docs pages load scripts from a CDN, so they are off; the schema stays at /openapi.json
    app = FastAPI(title="gutjoint", version=_version(), lifespan=_lifespan, docs_url=None, redoc_url=None,
                  description="An executable, evidence-graded model of the gut-joint axis. " + DISCLAIMER)

    app.add_middleware(RequestGuard, limit=MAX_BODY_BYTES, hosts=hosts)
    app.add_exception_handler(SolverError, _run_failed)
    app.add_exception_handler(ClientGone, _client_gone)
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


def _simulation(scenario, columns: list[str] | None) -> dict:
    """The body of /api/simulate: the run's status, advice, units and columns (all, or ``columns``)."""
    from gutjoint._studies.simulate import simulate

    result = simulate(scenario)
    frame = result.frame if columns is None else result.frame[columns]
    return {"scenario": result.scenario.name, "status": result.status.code, "advice": result.status.advice,
            "units": result.units, "columns": _frame_json(frame), "disclaimer": DISCLAIMER}


def _explanation(scenario, day: float | None) -> dict:
    """The body of /api/explain: the attribution, the evidence of each source's links, and ``status``."""
    from gutjoint._studies.attribution import SOURCE_LINKS, explain_pain, source_grades

    result = explain_pain(scenario, day)
    grades = source_grades()
    return {"status": "success", **result.as_dict(),
            "evidence": {s: dict(zip(SOURCE_LINKS[s], grades[s])) for s in grades}, "disclaimer": DISCLAIMER}


def _trial_pool(name: str) -> dict:
    """The pool of eligible people behind the page's trials, simulated once per process and model under every
    arm."""
    from gutjoint._studies.trial import engine_key

    return _trial_pool_of(name, engine_key())


@lru_cache(maxsize=2)
def _trial_pool_of(name: str, engine: str) -> dict:
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
    answer = band_cache().get(key, lambda: _compute_bands(scenario, columns))
    if len(_BAND_CACHE) > 64:
        _BAND_CACHE.clear()
    _BAND_CACHE[key] = answer
    return answer


_BAND_CACHE: dict = {}


MAX_STORED_BANDS = 2000
"""Bands kept in the disk cache (about 50-150 kB each); past this, the oldest tenth is removed."""


def band_cache() -> DiskCache:
    """The bands in the disk cache: JSON, at most :data:`MAX_STORED_BANDS`, one process building each."""
    return DiskCache(_band_folder(), ".json", lambda value, tmp: tmp.write_bytes(
        orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)), lambda path: orjson.loads(path.read_bytes()),
        limit=MAX_STORED_BANDS, lock=True)


def _band_basis() -> list:
    """What a stored band depends on besides its request: the model, the ensemble, the number of draws and the
    engine's tolerances for work over many runs."""
    from gutjoint._studies.problem import MANY_RUN_TOLERANCES
    from gutjoint._studies.runtime import model_key
    from gutjoint._studies.uncertainty import load_ensemble

    return [model_key(), load_ensemble().key, WEB_DRAWS, MANY_RUN_TOLERANCES.rtol, MANY_RUN_TOLERANCES.atol]


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


def _timed_protocol():
    """uvicorn's h11 protocol with a deadline for each request's headers: a connection that has not sent a whole
    request head within :data:`HEADER_SECONDS` of opening (or of its last response) is closed. uvicorn times out
    idle keep-alive connections but not a slow head (slowloris); the body's deadline is :class:`RequestGuard`'s."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class TimedH11Protocol(H11Protocol):
        _head_timer = None

        def _arm(self) -> None:
            self._disarm()
            self._head_timer = self.loop.call_later(HEADER_SECONDS, self._head_timeout)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timeout(self) -> None:
            if not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

        def handle_events(self) -> None:
            cycle = self.cycle
            super().handle_events()
            if self.cycle is not cycle:  # a request head arrived
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()  # the next request's head has its own deadline

    return TimedH11Protocol


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1, allow_hosts: Sequence[str] = ()) -> None:
    """Run the app on ``workers`` processes that share one listening socket, answering the Host headers of
    :meth:`HostRule.for_bind` (``allow_hosts`` adds names, e.g. this machine's name on a network).

    The socket is bound here, with TCP_NODELAY (inherited by every connection), and each worker process runs its
    own uvicorn server on it. (uvicorn's own multi-worker mode added a 40 ms stall to mid-sized responses on
    loopback here: the delayed-acknowledgement interplay that TCP_NODELAY avoids.) Workers end with this process,
    however it ends (:func:`gutjoint._processes.die_with_parent`)."""
    import multiprocessing
    import os
    import signal
    import socket

    import uvicorn

    from gutjoint._processes import die_with_parent

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise InputError(f"serve: option '--port' = {port} cannot be bound on {printable(host)} ({exc.strerror}); "
                         "allowed: a free port") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    rule = HostRule.for_bind(host, allow_hosts)

    def run() -> None:
        uvicorn.Server(uvicorn.Config(create_app(rule), log_level="warning", http=_timed_protocol(),
                                      limit_concurrency=MAX_CONNECTIONS)).run(sockets=[sock])

    if workers == 1:
        run()  # uvicorn handles SIGINT and SIGTERM, then passes them on to the CLI (exit 130 or 143)
        return

    parent = os.getpid()

    def run_worker() -> None:
        die_with_parent(parent)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a worker stopped by its parent ends quietly
        run()

    context = multiprocessing.get_context("fork")
    # not daemonic: a worker has a child of its own (HeavyWork); die_with_parent ends it with this process
    processes = [context.Process(target=run_worker) for _ in range(workers)]
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
