"""The explorable: a FastAPI app serving a JSON API that mirrors the CLI, and the page at ``/``.

Every request is checked by the same code as the CLI, so invalid input gets the CLI's one-line message, as a
422 with ``{"detail": message, "field": field}``. Requests are bounded: the body (64 KiB), the horizon (10 years),
the number of output rows and the population size. The model is compiled (or loaded from the disk cache) once, at
start-up. The page is plain HTML, CSS and JavaScript shipped with the package: no network, no CDN.
"""

from __future__ import annotations

import tempfile
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from gutjoint._errors import GutjointError, InputError, ScenarioError
from gutjoint.safety import DISCLAIMER, RED_FLAG_LINE, RED_FLAGS

STATIC = Path(__file__).with_name("static")
MAX_BODY_BYTES = 64 * 1024
MAX_DAYS = 3650.0
MAX_ROWS = 5000
MAX_POPULATION = 200
CAPS = {"body_bytes": MAX_BODY_BYTES, "days": MAX_DAYS, "rows": MAX_ROWS, "population_n": MAX_POPULATION}


class ErrorBody(BaseModel):
    detail: str
    field: str | None = None


class TriageRequest(BaseModel):
    flags: list[str] = Field(default_factory=list, max_length=32, description="red-flag ids (GET /api/red-flags)")


class TriageAnswer(BaseModel):
    refer: bool
    urgent: bool
    message: str
    flags: list[str]
    disclaimer: str


class ExplainRequest(BaseModel):
    scenario: str | dict[str, Any] = Field(description="a built-in scenario name or a scenario object")
    day: float | None = Field(default=None, description="day to explain (default: the last day)")


class PopulationRequest(BaseModel):
    scenario: str | dict[str, Any]
    n: int = Field(default=50, description=f"subjects, 1 to {MAX_POPULATION}")
    seed: int = 1


def _scenario(spec: str | dict):
    """A scenario from a built-in name or an object, within the web caps (InputError otherwise)."""
    from gutjoint.studies.scenario import builtin_scenarios, load_scenario

    if isinstance(spec, str) and spec not in builtin_scenarios():
        raise InputError(f"scenario: {spec!r} is not a built-in scenario; allowed: {', '.join(builtin_scenarios())}"
                         " or a scenario object")
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


def create_app() -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI):
        from gutjoint.studies.simulate import simulate

        simulate("healthy")  # compile (or load) the model once, before the first request
        yield

    # FastAPI's interactive docs pages load scripts from a CDN, so they are off; the schema stays at /openapi.json
    app = FastAPI(title="gutjoint", version=_version(), lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="An executable, evidence-graded model of the gut-joint axis. " + DISCLAIMER)

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return JSONResponse({"detail": f"request body: {length} bytes is too large; allowed: at most "
                                           f"{MAX_BODY_BYTES} bytes", "field": "body"}, status_code=413)
        return await call_next(request)

    @app.exception_handler(GutjointError)
    async def input_error(_: Request, exc: GutjointError):
        return JSONResponse({"detail": str(exc), "field": getattr(exc, "field", None)}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def shape_error(_: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {"loc": ("body",), "msg": "invalid request"}
        field = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        return JSONResponse({"detail": f"request: field '{field}' is invalid; {first.get('msg')}", "field": field},
                            status_code=422)

    errors = {422: {"model": ErrorBody, "description": "invalid input (the CLI's message)"},
              413: {"model": ErrorBody, "description": "request body too large"}}

    @app.get("/api/scenarios")
    def scenarios() -> list[dict]:
        """The built-in scenarios: name, description and the scenario object."""
        from gutjoint.studies.scenario import builtin_scenarios, load_scenario, scenario_to_dict

        return [{"name": n, "description": load_scenario(n).description, "scenario": scenario_to_dict(load_scenario(n))}
                for n in builtin_scenarios()]

    @app.get("/api/parameters")
    def parameters() -> dict:
        """Every parameter (value, unit, range, grade, source) and every causal link with its evidence grade."""
        from gutjoint.biology.links import load_links
        from gutjoint.biology.parameters import load_parameters

        return {"parameters": load_parameters().as_rows(), "links": [vars(link) for link in load_links()]}

    @app.get("/api/red-flags")
    def red_flags() -> dict:
        """The red flags (ids for /api/triage), the rule and the disclaimer."""
        return {"flags": [{"id": f.id, "label": f.label, "why": f.why, "source": f.source, "urgent": f.urgent}
                          for f in RED_FLAGS], "rule": RED_FLAG_LINE, "disclaimer": DISCLAIMER, "caps": CAPS}

    @app.post("/api/simulate", responses={200: {"description": "every output column over time"}, **errors})
    async def simulate(scenario: dict[str, Any], columns: str | None = None) -> ArrayJSON:
        """Simulate a scenario object (DESIGN.md §3 schema as JSON): every output column over time, or only the
        comma-separated ``columns`` asked for (time_days is always included)."""
        from gutjoint.studies.simulate import simulate as run

        chosen = None
        if columns is not None:
            from gutjoint.biology import species

            allowed = ("time_days", *species.PINNED_OUTPUTS[1:], *species.EXTRA_OUTPUTS)
            chosen = ["time_days"] + [c.strip() for c in columns.split(",") if c.strip() and c.strip() != "time_days"]
            unknown = [c for c in chosen if c not in allowed]
            if unknown:
                raise InputError(f"simulate: query 'columns' = {unknown[0]!r} is not an output column; allowed: "
                                 f"{', '.join(allowed)}")
        result = run(_scenario(scenario))
        frame = result.frame if chosen is None else result.frame[chosen]
        # returning the response skips FastAPI's generic encoder, which would walk ten thousand floats one by one
        return ArrayJSON({"scenario": result.scenario.name, "status": result.status.code,
                             "advice": result.status.advice, "units": result.units,
                             "columns": _frame_json(frame), "disclaimer": DISCLAIMER})

    @app.post("/api/explain", responses=errors)
    def explain(request: ExplainRequest) -> dict:
        """Pain on one day split among the four sources (Shapley values), and the gut share."""
        from gutjoint.studies.attribution import SOURCE_LINKS, explain_pain, source_grades

        result = explain_pain(_scenario(request.scenario), request.day)
        grades = source_grades()
        return {**result.as_dict(), "evidence": {s: dict(zip(SOURCE_LINKS[s], grades[s])) for s in grades},
                "disclaimer": DISCLAIMER}

    @app.post("/api/population", responses=errors)
    def population(request: PopulationRequest) -> dict:
        """A small virtual population (n at most 200 here; the CLI has no such cap): summary and subjects."""
        import pandas as pd

        from gutjoint.studies.population import run_population, summarise

        if not 1 <= request.n <= MAX_POPULATION:
            raise InputError(f"population: field 'n' = {request.n} is invalid; allowed: 1 to {MAX_POPULATION} on the "
                             "web (the CLI has no such cap)")
        scenario = _scenario(request.scenario)
        with tempfile.TemporaryDirectory() as folder:
            run_population(scenario, n=request.n, seed=request.seed, out=folder)
            summary = summarise(Path(folder) / "subjects.parquet")
            frame = pd.read_parquet(Path(folder) / "subjects.parquet")
        keep = [c for c in ("subject", "status", "baseline_pain", "final_pain", "days_to_30pct", "gut_share",
                            "relief", "phenotype") if c in frame]
        rows = frame[keep].astype(object).where(frame[keep].notna(), None).to_dict(orient="records")
        return {"summary": summary, "subjects": rows, "cap": MAX_POPULATION, "disclaimer": DISCLAIMER}

    @app.post("/api/triage", responses=errors)
    def triage(request: TriageRequest) -> TriageAnswer:
        """Guidance for red flags: with any flag, professional evaluation is essential."""
        from gutjoint.safety import triage as decide

        return TriageAnswer(**decide(request.flags).as_dict())

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(STATIC / "index.html")

    return app


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
        run()
        return
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=run, daemon=True) for _ in range(workers)]
    for process in processes:
        process.start()

    def stop(*_) -> None:
        for process in processes:
            process.terminate()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)  # a terminated server takes its workers with it
    try:
        for process in processes:
            process.join()
    except KeyboardInterrupt:
        stop()
