"""Virtual populations: sampled subjects run through a scenario in chunks, resumable, identical for any chunk
size and worker count.

Every subject ``i`` draws from its own random stream ``default_rng([seed, i, attempt])``, so what a subject is
never depends on which chunk or worker ran it. Chunks are written atomically under ``DIR/chunks/``; a manifest
records the configuration, so a rerun skips finished chunks and refuses a changed configuration. The final
``subjects.parquet`` is assembled chunk by chunk (memory bounded by one chunk).

Plausibility selection (Allen, Rieger & Musante 2016, CPT Pharmacometrics Syst Pharmacol 5:140,
doi 10.1002/psp4.12063), applied to the people before the scenario happens to them (general adults at rest,
with their sampled background exposures): plausible candidates (resting L:M within a plausible range, solver
success) are
accepted with probability ``min(1, c * f_target(CRP) / f_plausible(CRP))``, so that the selected population's
resting CRP follows the adult distribution (log-normal with median 1.9 mg/L and 34% above 3 mg/L: NHANES-like,
data/calibration/population_targets.csv). ``f_plausible`` is a kernel density of log-CRP from a fixed pilot
sample of the priors; ``c`` is the largest value keeping every acceptance probability at or below one over the
pilot's central 99%.
"""

from __future__ import annotations

import hashlib
import json
import functools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from gutjoint._arguments import path as checked_path, real, whole
from gutjoint._errors import InputError, OptionError
from gutjoint._processes import Executor
from gutjoint._biology import species
from gutjoint._biology.parameters import load_parameters
from gutjoint._studies.people import GENERAL_ADULTS, candidate_vectors, living_under, subject_scenario
from gutjoint._studies.outcomes import REACTIVE_ARTHRITIS, time_to_improvement
from gutjoint._studies.priors import HLA_B27_PREVALENCE, draw_subject
from gutjoint._studies.scenario import Scenario, load_scenario, scenario_to_dict
from gutjoint._numerics.integrate import Tolerances
from gutjoint._studies.problem import (DEFAULT_TOLERANCES, MANY_RUN_TOLERANCES, Solution, checked_overrides,
                                     prepare_many, relax_for,
                                     rest_states, solve_many)
from gutjoint._studies.runtime import get_runtime, model_key

MAX_N = 10_000_000
LM_PLAUSIBLE = (0.005, 0.25)  # healthy lower limit (Hirsch 1997) up to active Crohn's disease (0.24, Noth)
# Target adult CRP distribution: log-normal, median 1.9 mg/L with 34% above 3 mg/L (inside both the 0.8-2.1 median
# range and the 32-37% share; the acceptance step lands the selected median slightly above the target's).
CRP_TARGET_MEDIAN = 1.9
MAX_ATTEMPTS = 50
NOT_SELECTED = "not_selected"
"""The status of a subject for whom no plausible candidate was drawn in ``MAX_ATTEMPTS``: never run, so counted
apart from solver failures."""
PILOT_SIZE = 1500
MAX_STORED_SELECTIONS = 200
"""Selection tables kept in the disk cache (one per model and parameter draw, about 30 kB each)."""
PILOT_SEED = 20160101


@dataclass(frozen=True)
class PopulationConfig:
    scenario: dict
    n: int
    seed: int
    chunk_size: int
    trajectories: bool
    select: bool
    model_key: str
    parameters: dict = field(default_factory=dict)  # the parameter set the people live under (an ensemble draw)
    comparisons: bool = True  # the two comparison runs per person (gut_share, relief)
    rtol: float = DEFAULT_TOLERANCES.rtol  # the engine's tolerances for every run (a manifest written before they
    atol: float = float(DEFAULT_TOLERANCES.atol)  # were recorded was run at these; new runs record their own)
    hla_b27_prevalence: float = HLA_B27_PREVALENCE  # carriers among the people drawn

    def digest(self) -> str:
        content = asdict(self)
        for key, default in (("comparisons", True), ("rtol", DEFAULT_TOLERANCES.rtol),
                             ("atol", DEFAULT_TOLERANCES.atol), ("hla_b27_prevalence", HLA_B27_PREVALENCE)):
            if content[key] == default:
                del content[key]  # so that a run made before the option existed still resumes
        return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _candidate_rests(adults: Scenario, candidates: list[dict[str, float]], values: dict[str, float],
                     rest_cache: dict | None) -> list[tuple[float, float] | None]:
    """Resting CRP and L:M of each candidate (None without a resting state), from one batch of resting states;
    the states go into ``rest_cache`` for the chosen people's runs to reuse."""
    runtime = get_runtime()
    P, U = candidate_vectors(adults, candidates, runtime)
    traits = [{k: c[k] for k in c if k in species.TRAITS} for c in candidates]
    rests = rest_states(runtime, P, U, traits, rest_cache=rest_cache, relax=relax_for(values))
    crp, lm = runtime.output_column("crp_mg_l"), runtime.output_column("lm_ratio")
    out: list[tuple[float, float] | None] = []
    for rest, p, u in zip(rests, P, U):
        if rest.ok:
            g = runtime.compiled.outputs(rest.y, p, u)
            out.append((float(g[crp]), float(g[lm])))
        else:
            out.append(None)
    return out


def _selection_model(parameters: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The selection table under ``parameters`` (default: the table's values); see :func:`_selection_table`. The
    model's key is part of the cache key, so a table written back by a fit is never answered from the old one."""
    return _selection_table(tuple(sorted((parameters or {}).items())), model_key())


@lru_cache(maxsize=4)
def _selection_table(parameters: tuple[tuple[str, float], ...], model: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_build_selection_table`, kept in the disk cache (``selection/`` beside the compiled model) so that a
    later run loads it (the same arrays to the bit) instead of solving the 1,500 pilot people again. The key
    covers the model and its values, ``parameters``, the code that builds the table and SciPy's version."""
    from gutjoint._files import DiskCache

    def dump(table, tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, grid=table[0], probability=table[1])

    def load(path: Path):
        with np.load(path) as data:
            return data["grid"], data["probability"]

    cache = DiskCache(_selection_folder(), ".npz", dump, load, limit=MAX_STORED_SELECTIONS)
    return cache.get(_selection_key(parameters, model), lambda: _build_selection_table(parameters))


def _selection_key(parameters: tuple[tuple[str, float], ...], model: str) -> str:
    import scipy

    from gutjoint._studies import priors

    code = Path(priors.__file__).read_bytes() + Path(__file__).read_bytes()
    text = json.dumps([model, parameters, scipy.__version__, hashlib.sha256(code).hexdigest()])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _selection_folder() -> Path | None:
    """``selection/`` in the disk cache (``$GUTJOINT_CACHE``, as for the compiled model); None where it cannot be
    made, and the table is then built in each process."""
    from gutjoint._numerics.codegen import cache_folder

    return cache_folder("selection")


def _build_selection_table(parameters: tuple[tuple[str, float], ...]) -> tuple[np.ndarray, np.ndarray]:
    """Acceptance probability of a candidate as a function of its resting log-CRP, tabulated on a fine grid.

    Allen, Rieger & Musante 2016: accept with probability c * target(x) / kde(x), where kde is the density of
    log-CRP over plausible pilot subjects (general adults, background exposures only), target the adult CRP
    distribution, and c the largest scale that keeps the probability at most 1."""
    found: list[float] = []
    values = dict(parameters)
    adults = living_under(GENERAL_ADULTS, values)
    pilots = [draw_subject(np.random.default_rng([PILOT_SEED, i]), values) for i in range(PILOT_SIZE)]
    for out in _candidate_rests(adults, pilots, values, None):
        if out and LM_PLAUSIBLE[0] <= out[1] <= LM_PLAUSIBLE[1] and out[0] > 0:
            found.append(math.log(out[0]))
    logs = np.array(found)
    from scipy.stats import gaussian_kde, norm  # here, not at import: a stored table needs neither

    kde = gaussian_kde(logs)
    log_sd = math.log(3.0 / CRP_TARGET_MEDIAN) / norm.ppf(0.66)  # a third of adults above 3 mg/L
    target = lambda x: norm.pdf(x, math.log(CRP_TARGET_MEDIAN), log_sd)  # noqa: E731
    low, high = np.quantile(logs, [0.005, 0.995])
    inner = np.linspace(low, high, 200)
    c = 1.0 / float((target(inner) / kde(inner)).max())
    grid = np.linspace(logs.min() - 3.0, logs.max() + 3.0, 4000)
    return grid, np.minimum(1.0, c * target(grid) / np.maximum(kde(grid), 1e-12))


def _accept(crp: float, table: tuple[np.ndarray, np.ndarray], u: float) -> bool:
    grid, probability = table
    return u < float(np.interp(math.log(crp), grid, probability, left=0.0, right=0.0))


def _first_intervention(scenario: Scenario) -> float | None:
    starts = [w.start_day for w in scenario.inputs if w.name in species.INTERVENTIONS]
    return min(starts) if starts else None


def _first_infection(scenario: Scenario) -> float | None:
    starts = [w.start_day for w in scenario.inputs if w.name == "enteric_infection" and w.level > 0]
    return min(starts) if starts else None


def _phenotype(row: dict) -> str:
    if row["final_pain"] < 2.0:
        return "low pain"
    if row["gut_share"] >= 0.5:
        return "gut-driven"
    sources = {s: row[f"final_pain_{s}"] for s in species.PAIN_SOURCES}
    return {"inflammation": "inflammatory", "immune": "autoimmune", "cartilage": "mechanical",
            "metabolic": "metabolic"}[max(sources, key=lambda s: sources[s])]


def select_subjects(seed: int, indices: range, select: bool,
                    acceptance: tuple[np.ndarray, np.ndarray] | None = None,
                    parameters: dict[str, float] | None = None,
                    rest_cache: dict | None = None,
                    hla_b27_prevalence: float = HLA_B27_PREVALENCE) -> list[tuple[dict, dict[str, float] | None]]:
    """Draw subjects ``indices`` (with plausibility selection among general adults at rest). Every subject keeps
    its own random streams (``[seed, index, attempt]``); each round of attempts solves its candidates' resting
    states in one batch, so the result is the same as drawing subject by subject. ``acceptance`` is the
    selection table (built here when not given); ``parameters`` the parameter set the people live under;
    ``rest_cache`` keeps the candidates' resting states for a later :func:`prepare_many` to reuse. A candidate
    whose resting state is not found is drawn again (under a draw, by :func:`relax_for`'s fast path)."""
    values = dict(parameters or {})
    if select and acceptance is None:
        acceptance = _selection_model(values)
    adults = living_under(GENERAL_ADULTS, values)
    attempts = {i: 0 for i in indices}
    background = {i: (float("nan"), float("nan")) for i in indices}
    chosen: dict[int, dict[str, float]] = {}
    waiting = list(indices)
    for attempt in range(MAX_ATTEMPTS):
        if not waiting:
            break
        rngs = [np.random.default_rng([seed, i, attempt]) for i in waiting]
        candidates = [draw_subject(rng, values, hla_b27_prevalence=hla_b27_prevalence) for rng in rngs]
        rests = _candidate_rests(adults, candidates, values, rest_cache)
        still = []
        for i, rng, candidate, out in zip(waiting, rngs, candidates, rests):
            attempts[i] = attempt + 1
            if not select:
                chosen[i], background[i] = candidate, out or background[i]
            elif out is None or not (LM_PLAUSIBLE[0] <= out[1] <= LM_PLAUSIBLE[1]) or out[0] <= 0:
                still.append(i)
            elif acceptance is not None and _accept(out[0], acceptance, rng.uniform()):  # select: always built
                chosen[i], background[i] = candidate, out
            else:
                still.append(i)
        waiting = still
    picked = []
    for i in indices:
        row: dict = {"subject": i, "attempts": attempts[i], "background_crp": background[i][0],
                     "background_lm": background[i][1]}
        if i not in chosen:
            row.update(status=NOT_SELECTED, advice=f"no plausible candidate in {MAX_ATTEMPTS} draws")
        else:
            row.update({f"prior_{k}": v for k, v in chosen[i].items()})
        picked.append((row, chosen.get(i)))
    return picked


def summarise_subject(row: dict, scenario: Scenario, solution: Solution, counterfactual: Solution | None,
                      untreated: Solution | None, trajectories: bool) -> np.ndarray | None:
    """Fill ``row`` with the subject's metrics, from the solutions' arrays; return its trajectory (the pinned
    output columns, one row per output time) when asked. Without the ``counterfactual`` run (no gut drivers),
    ``gut_share`` is NaN and the phenotype is the largest pain source's."""
    row.update(status=solution.status.code, advice=solution.status.advice)
    if not solution.ok:
        return None
    t, pain = solution.times, solution["pain_nrs"]
    row.update(baseline_pain=float(pain[0]), final_pain=float(pain[-1]),
               baseline_crp=float(solution["crp_mg_l"][0]), baseline_lm=float(solution["lm_ratio"][0]),
               baseline_il6=float(solution["il6_pg_ml"][0]), baseline_lps=float(solution["lps_pg_ml"][0]),
               baseline_stiffness=float(solution["stiffness_min"][0]),
               **{f"final_pain_{s}": float(solution[f"pain_{s}"][-1]) for s in species.PAIN_SOURCES})
    start = _first_intervention(scenario)
    row["days_to_30pct"] = time_to_improvement(t, pain, start, 0.30) if start is not None else float("nan")
    row["days_to_50pct"] = time_to_improvement(t, pain, start, 0.50) if start is not None else float("nan")
    # relief: final pain without the interventions minus final pain with them
    row["relief"] = (float(untreated["pain_nrs"][-1]) - row["final_pain"]
                     if untreated is not None and untreated.ok else float("nan"))
    if counterfactual is None:
        row["gut_share"] = float("nan")
    else:
        pain0 = float(counterfactual["pain_nrs"][-1]) if counterfactual.ok else float("nan")
        row["gut_share"] = max(0.0, 1.0 - pain0 / row["final_pain"]) if row["final_pain"] > 0 else 0.0
    row["phenotype"] = _phenotype(row)
    infection = _first_infection(scenario)
    if infection is not None:
        case, onset, duration = REACTIVE_ARTHRITIS.episode(t, pain, infection)
        row.update(reactive_arthritis=case, arthritis_onset_days=onset, arthritis_days=duration,
                   peak_synovitis=float(solution["synovitis"][t >= infection].max()))
    if not trajectories:
        return None
    return np.column_stack([np.full(t.size, row["subject"], dtype=float),
                            *(solution[c] for c in species.PINNED_OUTPUTS)])


def run_chunk(config: PopulationConfig, chunk: int,
              acceptance: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Run subjects ``[chunk * size, min(n, (chunk + 1) * size))``: select each, then solve the chunk's problems
    (actual, and with ``config.comparisons`` without gut drivers and without interventions) through the batched
    engine. Metrics come from arrays; the chunk's tables are the only DataFrames made."""
    from gutjoint._studies.scenario import without_gut_drivers

    base = living_under(load_scenario(config.scenario), config.parameters)
    rests: dict = {}  # a chosen person's resting state, solved during selection, is the scenario's too when the
    # scenario changes nothing at rest (the cache is keyed by the exact parameter and input vectors)
    picked = select_subjects(config.seed, range(chunk * config.chunk_size,
                                                min(config.n, (chunk + 1) * config.chunk_size)), config.select,
                             acceptance, config.parameters, rest_cache=rests,
                             hla_b27_prevalence=config.hla_b27_prevalence)
    live = [(row, subject_scenario(base, subject)) for row, subject in picked if subject is not None]
    has_intervention = config.comparisons and _first_intervention(base) is not None
    # The engine steps each subject on its own, so a subject's result does not depend on the chunk size or on
    # which worker ran it.
    # each person's own scenario first, then its counterfactuals (the person's sampled gut exposures and barrier
    # resilience are removed with the scenario's)
    kinds = [[sc for _, sc in live]]
    if config.comparisons:
        kinds.append([without_gut_drivers(sc) for _, sc in live])
    if has_intervention:
        kinds.append([replace(sc, inputs=tuple(w for w in sc.inputs if w.name not in species.INTERVENTIONS))
                      for _, sc in live])
    # one batch of resting states; with and without the interventions, a subject shares its resting state
    problems = prepare_many([sc for runs in kinds for sc in runs], rest_cache=rests,
                            relax=relax_for(config.parameters))
    m = len(live)
    # the two comparison runs are read only at the horizon (Problem.at: the same end points as a daily grid)
    problems[m:] = [problem.at([0.0, base.days]) for problem in problems[m:]]
    solutions = solve_many(problems, tolerances=Tolerances(rtol=config.rtol, atol=config.atol))
    trajs = []
    for k, (row, scenario) in enumerate(live):
        traj = summarise_subject(row, scenario, solutions[k], solutions[m + k] if config.comparisons else None,
                                 solutions[2 * m + k] if has_intervention else None, config.trajectories)
        if traj is not None:
            trajs.append(traj)
    table = pd.DataFrame([row for row, _ in picked])
    if not trajs:
        return table, None
    long = pd.DataFrame(np.vstack(trajs), columns=["subject", *species.PINNED_OUTPUTS])
    long["subject"] = long["subject"].astype(np.int64)
    return table, long


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    from gutjoint._files import atomic_write

    atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False), field="out")


def run_population(scenario, *, n: int, seed: int, out: str | Path, chunk_size: int = 256, workers: int = 1,
                   scheduler: str | None = None, trajectories: bool = False, select: bool = True,
                   progress: Callable[[int, int], None] | None = None,
                   parameters: dict[str, float] | None = None, comparisons: bool = True,
                   tolerances: Tolerances = MANY_RUN_TOLERANCES,
                   hla_b27_prevalence: float = HLA_B27_PREVALENCE) -> Path:
    """Run a virtual population; write ``subjects.parquet`` and ``summary.json`` (and trajectories) in ``out``.
    ``parameters`` (an ensemble draw) sets the model's values the people live under. ``comparisons=False``
    leaves out each person's two comparison runs (without the gut drivers, without the interventions), a third
    of the work each: ``gut_share`` and ``relief`` are then NaN, and every other column is the same.
    ``tolerances``: the engine's (``benchmarks/tolerance.py`` prints what a looser one costs in accuracy against
    the reference and gains in speed). ``hla_b27_prevalence``: the carriers among the people (default: US adults;
    ``priors.HLA_B27_PREVALENCE_FINLAND`` for the population the reactive-arthritis numbers come from)."""
    n = whole("population", "n", n, 1, MAX_N)
    seed = whole("population", "seed", seed, 0, 2**63 - 1)
    chunk_size = whole("population", "chunk_size", chunk_size, 1)
    workers = whole("population", "workers", workers, 1, 1024)
    out = checked_path("population", "out", out)
    if not isinstance(tolerances, Tolerances):
        raise OptionError("population", "tolerances", tolerances, "a gutjoint.Tolerances")
    base = load_scenario(scenario)
    config = PopulationConfig(scenario_to_dict(base), n, seed, chunk_size, bool(trajectories), bool(select),
                              model_key(), checked_overrides(load_parameters(), parameters, "population"),
                              bool(comparisons), float(tolerances.rtol), float(tolerances.atol),
                              real("population", "hla_b27_prevalence", hla_b27_prevalence, 0.0, 1.0))
    chunks_dir = out / "chunks"
    try:
        chunks_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OptionError("population", "out", str(out), "a folder that can be created or written to "
                          f"({exc.strerror or type(exc).__name__})") from None
    manifest = out / "manifest.json"
    if manifest.exists():
        previous = json.loads(manifest.read_text())
        if previous.get("digest") != config.digest():
            raise InputError(f"{out}: field 'manifest': this folder holds a run with a different "
                             f"{_changed(previous, config)}; allowed: the same command to resume, or a new --out "
                             "folder")
    else:
        from gutjoint._files import atomic_write

        atomic_write(manifest, lambda tmp: tmp.write_text(json.dumps({"digest": config.digest(), **asdict(config)},
                                                                       indent=1, default=str)), field="out")
    n_chunks = math.ceil(n / chunk_size)
    todo = [k for k in range(n_chunks) if not (chunks_dir / f"subjects_{k:06d}.parquet").exists()]
    done = n_chunks - len(todo)
    if progress:
        progress(done, n_chunks)

    def store(k, result):
        subjects, traj = result
        if traj is not None:
            _write_parquet(traj, chunks_dir / f"trajectories_{k:06d}.parquet")
        _write_parquet(subjects, chunks_dir / f"subjects_{k:06d}.parquet")  # written last: marks the chunk done

    def finished(k, result):
        nonlocal done
        store(k, result)
        done += 1
        if progress:
            progress(done, n_chunks)

    acceptance = _selection_model(config.parameters) if config.select and todo else None  # built once, for all
    with Executor(workers, scheduler) as executor:
        executor.drain(functools.partial(run_chunk, config, acceptance=acceptance), todo, finished)
    return _assemble(out, n_chunks, trajectories)


_SETTING_NAMES = {"model_key": "model (code or parameters)"}  # every other setting is named as it is


def _changed(previous: dict, config: PopulationConfig) -> str:
    """Which settings of a stored run differ from ``config``, in words ("n (1000 then, 2000 now)")."""
    now = json.loads(json.dumps(asdict(config), default=str))
    parts = []
    for key in now:  # the settings in PopulationConfig's order
        label = _SETTING_NAMES.get(key, key)
        if previous.get(key) != now[key]:
            then = previous.get(key)
            parts.append(label if key in ("scenario", "model_key", "parameters")
                         else f"{label} ({then!r} then, {now[key]!r} now)")
    return ", ".join(parts) or "configuration (the stored manifest is from another version)"


def _assemble(out: Path, n_chunks: int, trajectories: bool) -> Path:
    """Concatenate the chunks (streaming, one chunk in memory at a time) and write the summary."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from gutjoint._files import atomic_write

    names = ["subjects"] + (["trajectories"] if trajectories else [])
    for name in names:
        parts = [out / "chunks" / f"{name}_{k:06d}.parquet" for k in range(n_chunks)]
        parts = [p for p in parts if p.exists()]

        def write(tmp, parts=parts):
            writer, schema, pending = None, None, []
            for part in parts:  # row groups of ~64k rows: few enough that the file's metadata stays small
                table = pq.read_table(part)
                if schema is None:
                    schema = table.schema
                    writer = pq.ParquetWriter(tmp, schema)
                if table.schema != schema:  # a chunk with failures lists its columns in another order
                    table = table.select(schema.names).cast(schema)
                pending.append(table)
                if sum(t.num_rows for t in pending) >= ROW_GROUP:
                    writer.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP * 2)
                    pending = []
            if writer is None:
                pq.write_table(pa.table({}), tmp)
            else:
                if pending:
                    writer.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP * 2)
                writer.close()

        atomic_write(out / f"{name}.parquet", write, field="out")
    summary = summarise(out / "subjects.parquet")
    atomic_write(out / "summary.json", lambda tmp: tmp.write_text(json.dumps(summary, indent=1)), field="out")
    return out


ROW_GROUP = 65_536  # rows per row group of the assembled files

METRICS = ("baseline_pain", "final_pain", "relief", "days_to_30pct", "days_to_50pct", "gut_share", "baseline_crp",
           "baseline_lm", "arthritis_onset_days", "arthritis_days", "peak_synovitis",
           "background_crp", "background_lm")


def _counts(path: Path, column: str) -> dict[str, int]:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    counts = pc.value_counts(pq.read_table(path, columns=[column]).column(0).combine_chunks())
    pairs = sorted(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()), key=lambda kv: -kv[1])
    return {str(k): int(v) for k, v in pairs}


def summarise(path: Path) -> dict:
    """Quantiles of every metric, responder fractions, failures, and the fit to the population targets."""
    import pyarrow.parquet as pq

    columns = pq.read_schema(path).names
    out: dict = {"n": pq.read_metadata(path).num_rows}
    status = _counts(path, "status")  # counted in Arrow: a million strings never become Python objects
    out["solver_failures"] = sum(v for k, v in status.items() if k not in ("success", NOT_SELECTED))
    out["not_selected"] = status.get(NOT_SELECTED, 0)  # no plausible candidate drawn: never run, not a solver failure
    out["status_counts"] = status
    quantiles = {}
    for metric in METRICS:
        if metric not in columns:
            continue
        values = pq.read_table(path, columns=[metric]).column(metric).to_numpy(zero_copy_only=False).astype(float)
        finite = values[np.isfinite(values)]
        quantiles[metric] = {f"q{int(q * 100):02d}": (float(np.quantile(finite, q)) if finite.size else None)
                             for q in (0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95)}
        quantiles[metric]["n_finite"] = int(finite.size)
    out["quantiles"] = quantiles
    if "days_to_30pct" in columns:
        d30 = pq.read_table(path, columns=["days_to_30pct"]).column(0).to_numpy(zero_copy_only=False).astype(float)
        d50 = pq.read_table(path, columns=["days_to_50pct"]).column(0).to_numpy(zero_copy_only=False).astype(float)
        out["responders_30pct"] = float(np.mean(np.isfinite(d30))) if d30.size else None
        out["responders_50pct"] = float(np.mean(np.isfinite(d50))) if d50.size else None
    if "phenotype" in columns:
        out["phenotypes"] = _counts(path, "phenotype")
    if "reactive_arthritis" in columns:
        out["reactive_arthritis"] = reactive_arthritis_summary(
            pq.read_table(path, columns=["reactive_arthritis", "arthritis_onset_days", "arthritis_days",
                                         "prior_hla_b27"]).to_pandas())
    if "background_crp" in columns:  # the selected people at rest, before the scenario's exposures
        crp = pq.read_table(path, columns=["background_crp"]).column(0).to_numpy(zero_copy_only=False).astype(float)
        lm = pq.read_table(path, columns=["background_lm"]).column(0).to_numpy(zero_copy_only=False).astype(float)
        crp, lm = crp[np.isfinite(crp)], lm[np.isfinite(lm)]
        if crp.size:
            med, share = float(np.median(crp)), float(np.mean(crp > 3))
            out["targets"] = {
                "crp_median": {"value": med, "target": "0.8-2.1 mg/L", "met": 0.8 <= med <= 2.1},
                "crp_share_above_3": {"value": share, "target": "32-37% (+-5 points)", "met": 0.27 <= share <= 0.42},
                "lm_plausible_range": {"value": [float(lm.min()), float(lm.max())],
                                       "target": f"{LM_PLAUSIBLE[0]}-{LM_PLAUSIBLE[1]}",
                                       "met": bool(lm.min() >= LM_PLAUSIBLE[0] and lm.max() <= LM_PLAUSIBLE[1])},
            }
    return out


ENSEMBLE_METRICS = {"responders_30pct": "respond (30% less pain)", "responders_50pct": "halve their pain"}


def run_population_ensemble(scenario, *, n: int, seed: int, out: str | Path, draws: int, workers: int = 1,
                            select: bool = True, progress: Callable[[int, int], None] | None = None,
                            chunk_size: int = 256, scheduler: str | None = None, trajectories: bool = False,
                            comparisons: bool = True, tolerances: Tolerances = MANY_RUN_TOLERANCES) -> dict:
    """People and parameters kept apart: one virtual population of ``n`` per ensemble draw (the first ``draws``),
    each in ``out/draw_NNN`` and resumable, all with the same ``seed`` so that every draw sees the same people's
    random streams (common random numbers: differences between draws are the parameters', not sampling noise).
    Returns (and writes to ``out/ensemble_summary.json``) each metric's value per draw, its median and its 90%
    interval over draws: between-person variability lives inside each population, parameter uncertainty across
    them. Every option of :func:`run_population` (chunk size, workers or scheduler, trajectories, comparisons,
    tolerances) applies to each draw's population."""
    from gutjoint._files import atomic_write
    from gutjoint._studies.uncertainty import honesty_line, load_ensemble

    ensemble = load_ensemble()
    if not 2 <= draws <= len(ensemble):
        raise OptionError("population", "draws", draws, f"2 to {len(ensemble)} (the ensemble's size)")
    out = Path(out)
    summaries = []
    for k, values in enumerate(ensemble.parameter_sets()[:draws]):
        folder = run_population(scenario, n=n, seed=seed, out=out / f"draw_{k:03d}", workers=workers,
                                select=select, parameters=values, chunk_size=chunk_size, scheduler=scheduler,
                                trajectories=trajectories, comparisons=comparisons, tolerances=tolerances)
        summaries.append(json.loads((folder / "summary.json").read_text()))
        if progress:
            progress(k + 1, draws)
    metrics = {}
    for key in ENSEMBLE_METRICS:
        per_draw = np.array([s.get(key) for s in summaries if s.get(key) is not None], dtype=float)
        if per_draw.size:
            metrics[key] = {"per_draw": per_draw.tolist(), "median": float(np.median(per_draw)),
                            "q05": float(np.quantile(per_draw, 0.05)), "q95": float(np.quantile(per_draw, 0.95))}
    pain = np.array([s["quantiles"]["final_pain"]["q50"] for s in summaries if "final_pain" in s["quantiles"]])
    if pain.size:
        metrics["median_final_pain"] = {"per_draw": pain.tolist(), "median": float(np.median(pain)),
                                        "q05": float(np.quantile(pain, 0.05)), "q95": float(np.quantile(pain, 0.95))}
    result = {"n_per_draw": n, "draws": draws, "seed": seed, "metrics": metrics,
              "in_words": {key: f"{m['median']:.0%} {ENSEMBLE_METRICS[key]} (90% interval {m['q05']:.0%}-"
                                f"{m['q95']:.0%} over {draws} parameter sets)" for key, m in metrics.items()
                           if key in ENSEMBLE_METRICS},
              "honesty": honesty_line(ensemble)}
    atomic_write(out / "ensemble_summary.json", lambda tmp: tmp.write_text(json.dumps(result, indent=1)), field="out")
    return result


REACTIVE_ARTHRITIS_LITERATURE = {
    "incidence": "1.5-7% (pooled 2.6%, population-based Salmonella 4.4% in Finland, 14% B27 carriage)",
    "onset": "1-4 weeks (median 8.5 days after the diarrhoea in one outbreak)",
    "share_lasting_6_months": "20% (guidelines) to 31-55% (outbreak cohorts); not independent of the model: "
                              "synovial_antigen_clearance was set from the same guidance",
    "hla_b27_share_of_cases": "14-45% in population-based series at 13-16% carriage (42% in Tuompo 2013); about 22% "
                              "at 6.1% carriage (derived from the same risk ratio)",
}
"""The published ranges a population's reactive arthritis is read against (docs/literature-notes.md)."""


def reactive_arthritis_summary(subjects: pd.DataFrame) -> dict:
    """Incidence, onset, duration and HLA-B27 share of the cases (case definition: outcomes.REACTIVE_ARTHRITIS),
    next to the published ranges they are checked against (docs/literature-notes.md)."""
    simulated = subjects[subjects["reactive_arthritis"].notna()]
    cases = simulated[simulated["reactive_arthritis"].astype(bool)]
    carriers = simulated["prior_hla_b27"] == 1
    n, k = len(simulated), len(cases)
    quantiles = lambda column: {f"q{q}": float(np.percentile(cases[column], q)) for q in (10, 25, 50, 75, 90)}  # noqa: E731
    return {
        "definition": REACTIVE_ARTHRITIS.describe(),
        "n": n, "cases": k, "incidence": k / n if n else None,
        "incidence_hla_b27": float(cases["prior_hla_b27"].eq(1).sum() / carriers.sum()) if carriers.any() else None,
        "incidence_non_carriers": float(cases["prior_hla_b27"].eq(0).sum() / (~carriers).sum()) if (~carriers).any() else None,
        "hla_b27_share_of_cases": float(cases["prior_hla_b27"].mean()) if k else None,
        "onset_days": quantiles("arthritis_onset_days") if k else None,
        "duration_days": quantiles("arthritis_days") if k else None,
        "share_lasting_6_months": float((cases["arthritis_days"] >= 182).mean()) if k else None,
        "literature": REACTIVE_ARTHRITIS_LITERATURE,
    }
