"""The ``gutjoint`` command line.

Exit codes: 0 success; 1 a run that failed (its status is printed); 2 bad input (one line on stderr naming the
file, the field, the value and what is allowed); 130 interrupted (Ctrl-C); 143 terminated (SIGTERM). Nothing a
user typed is read as Rich markup, and what is echoed back is escaped and cut (``gutjoint._errors.printable``).
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from gutjoint._errors import GutjointError, InputError, OptionError, SolverError, printable
from gutjoint._numerics.integrate import Tolerances
from gutjoint._studies.problem import MANY_RUN_TOLERANCES
from gutjoint._studies.simulate import DEFAULT_TOLERANCES

DEFAULT_SCENARIO = "barrier-support"
EXPLAIN_DRAWS = 100
"""Ensemble draws behind ``explain --uncertainty`` unless --draws says otherwise."""
SOLVER_OPTIONS = {"tolerance": " (options --rtol and --atol, e.g. --rtol 1e-6 --atol 1e-8)",
                  "step_limit": " (option --max-steps)"}
"""How to act on a solver status's advice from the command line."""


def tolerance_options(default: Tolerances) -> tuple:
    """The --rtol and --atol options with ``default``'s values: one definition, each command its own default (one
    run: ``DEFAULT_TOLERANCES``; many runs: ``MANY_RUN_TOLERANCES``)."""
    return (typer.Option(default.rtol, "--rtol", min=1e-13, max=1e-2,
                         help="solver relative tolerance (benchmarks/tolerance.py: accuracy and speed)"),
            typer.Option(default.atol, "--atol", min=1e-16, max=1e-2, help="solver absolute tolerance"))


RTOL_OPTION, ATOL_OPTION = tolerance_options(DEFAULT_TOLERANCES)
MANY_RTOL_OPTION, MANY_ATOL_OPTION = tolerance_options(MANY_RUN_TOLERANCES)
app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="gutjoint: an executable, evidence-graded model of the gut-joint axis. "
                       "Educational research tool; not medical advice.")
# markup is off: brackets in a scenario name or a path are text, never styling
console = Console(width=None if sys.stdout.isatty() else 160, markup=False)
errors = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)
LINE_LIMIT = 1000
"""Characters of one message line on stderr (escaped first, so a terminal never receives a control byte)."""


@app.command()
def scenarios() -> None:
    """List the built-in scenarios."""
    from gutjoint._studies.scenario import builtin_scenarios, load_scenario

    table = Table("scenario", "days", "description", box=None, header_style="bold")
    for name in builtin_scenarios():
        sc = load_scenario(name)
        table.add_row(name, f"{sc.days:g}", sc.description)
    console.print(table)


@app.command()
def simulate(
    scenario: str = typer.Argument(DEFAULT_SCENARIO, help="a built-in scenario name or a .toml file"),
    out: Path = typer.Option(..., "--out", help="output table: .csv or .parquet"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="also draw the figure to this PNG"),
    rtol: float = RTOL_OPTION,
    atol: float = ATOL_OPTION,
    max_steps: int = typer.Option(DEFAULT_TOLERANCES.max_steps, "--max-steps", min=100, max=10_000_000,
                                  help="solver steps allowed between two output times"),
    uncertainty: bool = typer.Option(False, "--uncertainty", help="also run the parameter ensemble: quantile "
                                     "columns <column>_qNN in the table and bands in the figure"),
    quantiles: Optional[str] = typer.Option(None, "--quantiles", help="with --uncertainty: quantiles (default "
                                            "0.05,0.25,0.5,0.75,0.95)"),
    draws: Optional[int] = typer.Option(None, "--draws", help="with --uncertainty: draws to run (default: all)"),
    ensemble: Optional[Path] = typer.Option(None, "--ensemble", help="with --uncertainty: an ensemble file "
                                            "(default: the shipped one)"),
) -> None:
    """Simulate one subject through SCENARIO and write the output table (and a figure).

    Exit code 1 when the solver fails: the table is still written, with NaN rows from the failure on."""
    from gutjoint._studies.simulate import simulate as run

    if plot is not None and plot.suffix.lower() != ".png":
        raise InputError(f"{plot}: field '--plot': extension {plot.suffix or '(none)'!r} is not supported; allowed: .png")
    _only_with("simulate", "--uncertainty", uncertainty, {"--quantiles": quantiles, "--draws": draws,
                                                          "--ensemble": ensemble})
    band = None
    if uncertainty:
        from gutjoint._studies import uncertainty as unc

        qs = unc.check_quantiles((quantiles or ",".join(map(str, unc.QUANTILES))).split(","))
        members = unc.load_ensemble(ensemble)
        dataset = unc.simulate_ensemble(scenario, ensemble=members, draws=draws)
        band = unc.bands(dataset, qs)
    result = run(scenario, tolerances=Tolerances(rtol=rtol, atol=atol, max_steps=max_steps))
    if band is not None:
        from gutjoint._files import write_table

        write_table(result.frame.join(band.drop(columns="time_days")), out)
    else:
        result.to_file(out)
    if plot is not None:
        from gutjoint._interfaces.figures import plot_simulation

        plot_simulation(result, plot, band)
    status = "ok" if result.ok else (f"FAILED ({result.status.code}: {result.message}; advice: {result.status.advice}"
                                     f"{SOLVER_OPTIONS.get(result.status.code, '')})")
    console.print(f"{printable(result.scenario.name)}: {len(result)} rows -> {printable(out)}"
                  + (f", figure -> {printable(plot)}" if plot else "") + f"; solver {status}", soft_wrap=True)
    if not result.ok:
        raise typer.Exit(1)
    last = {name: float(result[name][-1]) for name in ("time_days", "pain_nrs", "crp_mg_l", "lm_ratio", "cartilage")}
    console.print(f"day {last['time_days']:g}: pain {last['pain_nrs']:.2f}/10, CRP {last['crp_mg_l']:.2f} mg/L, "
                  f"L:M {last['lm_ratio']:.3f}, cartilage {last['cartilage']:.3f}")
    if band is not None:
        _print_band(dataset, members, band)


def _only_with(command: str, switch: str, on: bool, options: dict[str, object]) -> None:
    """Refuse an option that only means something with ``switch`` when ``switch`` is off (never ignore it)."""
    given = [name for name, value in options.items() if value is not None]
    if given and not on:
        raise InputError(f"{command}: option {given[0]!r} was given without {switch}; allowed: {given[0]} only "
                         f"with {switch}")


def _print_band(dataset, members, band) -> None:
    """The last day's 90% intervals in words, the parameters that carry the pain band, and what is assumed."""
    from gutjoint._safety import DISCLAIMER, RED_FLAG_LINE
    from gutjoint._studies import uncertainty as unc

    last = band.iloc[-1]
    words = []
    for column, label, unit in (("pain_nrs", "pain", "/10"), ("crp_mg_l", "CRP", "mg/L"), ("lm_ratio", "L:M", "")):
        if f"{column}_q05" in band and f"{column}_q95" in band:
            words.append(f"{label} {unc.in_words(last[f'{column}_q05'], last[f'{column}_q95'], unit)}")
    console.print(f"90% band over {dataset.attrs['n_draws']} parameter sets ({dataset.attrs['n_failed']} failed): "
                  + "; ".join(words), soft_wrap=True)
    drivers = unc.band_drivers(dataset, members, "pain_nrs")
    if drivers:
        console.print("what carries the pain band (first-order share of its variance; measure these next): "
                      + ", ".join(f"{d['parameter']} {d['share']:.0%} ({d['value_grade']}, {d['basis']})"
                                  for d in drivers), soft_wrap=True)
    elif dataset.attrs["n_draws"] - dataset.attrs["n_failed"] < unc.MIN_DRIVER_DRAWS:
        console.print(f"what carries the pain band: not ranked (it takes {unc.MIN_DRIVER_DRAWS} successful draws; "
                      "--draws sets them)", soft_wrap=True)
    console.print(f"{unc.honesty_line(members)} {RED_FLAG_LINE} {DISCLAIMER}", style="dim", soft_wrap=True)


@app.command()
def explain(
    scenario: str = typer.Argument(DEFAULT_SCENARIO, help="a built-in scenario name or a .toml file"),
    day: Optional[float] = typer.Option(None, "--day", help="day to explain (default: the last day)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
    uncertainty: bool = typer.Option(False, "--uncertainty", help="also give 90% intervals over the parameter "
                                     "ensemble for the pain, each source and the gut share"),
    draws: Optional[int] = typer.Option(None, "--draws", help="with --uncertainty: ensemble draws, 17 runs each "
                                        f"(default {EXPLAIN_DRAWS})"),
) -> None:
    """Where the pain on day D comes from: the four sources (Shapley values) and the gut share."""
    from gutjoint._safety import DISCLAIMER, RED_FLAG_LINE
    from gutjoint._studies.attribution import SOURCE_LINKS, explain_ensemble, explain_pain, source_grades

    _only_with("explain", "--uncertainty", uncertainty, {"--draws": draws})
    result = explain_pain(scenario, day)
    grades = source_grades()
    spread = explain_ensemble(scenario, day, draws=EXPLAIN_DRAWS if draws is None else draws) if uncertainty else None
    if as_json:
        console.print_json(json.dumps({**result.as_dict(), "evidence": {s: {"links": list(SOURCE_LINKS[s]),
                                                                              "grades": grades[s]} for s in grades},
                                       **({"uncertainty": spread} if spread else {}),
                                       "red_flags": RED_FLAG_LINE, "disclaimer": DISCLAIMER}))
        return
    above = result.pain_nrs - result.floor
    columns = ["source", "NRS points", "share above floor"] + (["90% interval"] if spread else [])
    table = Table(*columns, "evidence (links: grade)", box=None,
                  header_style="bold", title=f"{printable(result.scenario)}, day {result.day:g}: pain {result.pain_nrs:.2f}/10 "
                                                f"(floor {result.floor:.2f})")
    for source, value in result.sources.items():
        share = f"{value / above:.0%}" if above > 1e-9 else "-"
        evidence = ", ".join(f"{link}: {grade}" for link, grade in zip(SOURCE_LINKS[source], grades[source]))
        band = [f"{spread['sources'][source]['q05']:+.2f} to {spread['sources'][source]['q95']:+.2f}"] if spread else []
        table.add_row(source, f"{value:+.2f}", share, *band, evidence)
    console.print(table)
    console.print(f"gut share: {result.gut_share:.0%} of the pain would go with a healthy barrier and microbiome "
                  f"(pain without the gut drivers: {result.pain_without_gut:.2f}/10)")
    if spread:
        g, p = spread["gut_share"], spread["pain_nrs"]
        console.print(f"over {spread['draws'] - spread['failed']} parameter sets ({spread['failed']} failed): pain "
                      f"{p['q05']:.1f} to {p['q95']:.1f}/10 and gut share {g['q05']:.0%} to {g['q95']:.0%} (90% "
                      f"intervals). {spread['honesty']}", soft_wrap=True)
    console.print(f"Shapley values over the 16 combinations of sources held at their healthy reference; they sum "
                  f"to the pain above the floor. {RED_FLAG_LINE} {DISCLAIMER}", style="dim")


@app.command()
def sensitivity(
    scenario: str = typer.Argument(DEFAULT_SCENARIO, help="a built-in scenario name or a .toml file"),
    output: str = typer.Option("pain_nrs", "--output", help="output column to analyse"),
    method: str = typer.Option("sobol", "--method", help="sobol (S1, ST) or morris (mu*, sigma)"),
    n: int = typer.Option(256, "--n", help="Sobol: base samples (a power of two); Morris: trajectories"),
    params: Optional[str] = typer.Option(None, "--params", help="comma-separated parameter names "
                                         "(default: twenty along the barrier-to-pain chain)"),
    every: Optional[float] = typer.Option(None, "--every", help="report indices every this many days"),
    seed: int = typer.Option(1, "--seed"),
    workers: int = typer.Option(1, "--workers", min=1, help="local worker processes"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="address of a Dask distributed scheduler"),
    out: Path = typer.Option(..., "--out", help="folder for indices.csv and sensitivity.png"),
) -> None:
    """Time-resolved global sensitivity (SALib) of one output, with bootstrap confidence intervals."""
    import time

    from gutjoint._interfaces.figures import sensitivity_figure
    from gutjoint._files import write_table
    from gutjoint._studies.sensitivity import DEFAULT_PARAMETERS, run_sensitivity

    if workers > 1 and scheduler:
        raise InputError("sensitivity: options '--workers' and '--scheduler' were both given; allowed: one of them")
    names = tuple(p.strip() for p in params.split(",") if p.strip()) if params else DEFAULT_PARAMETERS
    started = time.perf_counter()
    result = run_sensitivity(scenario, output, method=method, n=n, parameters=names, every_days=every, seed=seed,
                             workers=workers, scheduler=scheduler)
    out.mkdir(parents=True, exist_ok=True)
    write_table(result.indices, out / "indices.csv", field="--out")
    sensitivity_figure(result, out / "sensitivity.png")
    final = result.indices["time_days"].max()
    last = result.at(final)
    from gutjoint._studies.sensitivity import METHOD_REGISTRY

    kinds, rank_by = METHOD_REGISTRY[method].indices, METHOD_REGISTRY[method].rank_by
    table = Table("parameter", *kinds, box=None, header_style="bold",
                  title=f"{result.scenario}: {output} on day {final:g} ({result.n_evaluations} runs, "
                        f"{result.n_failed} failed, {time.perf_counter() - started:.0f} s)")
    for name in last.sort_values(("value", rank_by), ascending=False).index:
        table.add_row(name, *[f"{last.loc[name, ('value', k)]:.3f} +- {last.loc[name, ('conf', k)]:.3f}" for k in kinds])
    console.print(table)
    console.print(f"indices over time -> {printable(out / 'indices.csv')}, figure -> "
                  f"{printable(out / 'sensitivity.png')}", soft_wrap=True)


@app.command()
def report(
    scenario: str = typer.Argument(DEFAULT_SCENARIO, help="a built-in scenario name or a .toml file"),
    out: Path = typer.Option(..., "--out", help="the HTML file to write"),
    start_day: Optional[float] = typer.Option(None, "--start-day", help="day the compared options start "
                                              "(default: the scenario's intervention day, else a tenth of the run)"),
) -> None:
    """Write one self-contained HTML report a person can read (chain, sources, what helps, evidence, red flags)."""
    from gutjoint._interfaces.report import write_report

    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"{out}: field '--out': extension {out.suffix or '(none)'!r} is not supported; allowed: .html")
    write_report(scenario, out, start_day=start_day)
    console.print(f"report -> {printable(out)}", soft_wrap=True)


@app.command()
def triage(
    flags: Optional[list[str]] = typer.Argument(None, help="red flags you have (see --list)"),
    list_flags: bool = typer.Option(False, "--list", help="list the red flags and their sources"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Guidance for the seed's red flags: with any of them, professional evaluation is essential."""
    from gutjoint._safety import DISCLAIMER, RED_FLAGS, triage as decide

    if list_flags:
        table = Table("flag", "what it means", "why", "source", box=None, header_style="bold")
        for flag in RED_FLAGS:
            table.add_row(flag.id, flag.label, flag.why, flag.source)
        console.print(table)
        return
    result = decide(flags or [])
    if as_json:
        console.print_json(json.dumps(result.as_dict()))
    else:
        console.print(result.message, style="bold red" if result.refer else "bold")
        for flag in result.flags:
            console.print(f"  - {flag.label}: {flag.why}")
        if result.refer:
            console.print(DISCLAIMER, style="dim")


@app.command()
def params(as_json: bool = typer.Option(False, "--json", help="print JSON instead of tables")) -> None:
    """Print the parameter table and the causal-link table, with sources and evidence grades."""
    from gutjoint._biology.links import load_links
    from gutjoint._biology.parameters import load_parameters

    from gutjoint._studies.calibration.fit import BOUND_REASONS, fit_at_bound

    table_ = load_parameters()
    rows = table_.as_rows()
    links = [vars(link) for link in load_links()]
    counts = table_.value_grade_counts()
    edges = {r["name"]: fit_at_bound(r["name"], r["value"]) for r in rows if r["estimate"] not in ("no", "scan")}
    at_bound = [{"name": name, "end": end, "reason": BOUND_REASONS.get(name, "no reason stated")}
                for name, end in edges.items() if end]
    if as_json:
        sys.stdout.write(json.dumps({"parameters": rows, "value_grade_counts": counts, "links": links,
                                     "fitted_at_bound": at_bound}, indent=1, ensure_ascii=False) + "\n")
        return
    table = Table("name", "value", "unit", "range", "link grade", "value grade", "source", title="Parameters",
                  show_lines=False)
    for r in rows:
        edge = f" (at {edges[r['name']]} bound)" if edges.get(r["name"]) else ""
        table.add_row(r["name"], f"{r['value']:.4g}{edge}", r["unit"], f"{r['low']:g}-{r['high']:g}", r["grade"],
                      r["value_grade"], r["source"])
    console.print(table)
    for item in at_bound:
        console.print(f"{item['name']} was fitted to the {item['end']} end of its range: {item['reason']}.",
                      soft_wrap=True)
    console.print(f"{len(rows)} parameters by what their value rests on: "
                  + ", ".join(f"{grade} {n}" for grade, n in counts.items())
                  + ". The link grade says whether the effect itself is shown, and in what species.")
    link_table = Table("id", "source", "target", "effect", "grade", "evidence", title="Causal links")
    for link in links:
        link_table.add_row(link["id"], link["source"], link["target"], link["effect"], link["grade"], link["evidence"])
    console.print(link_table)


@app.command()
def calibrate(
    check: bool = typer.Option(False, "--check", help="evaluate the shipped parameters against every target; fit nothing"),
    out: Path = typer.Option(Path("calibration-report"), "--out", help="folder for report.md, its figures and the "
                             "fitted parameters.csv"),
    starts: int = typer.Option(4, "--starts", min=1, max=50, help="multi-start count per block"),
    profiles: bool = typer.Option(True, "--profiles/--no-profiles", help="profile likelihood of every fitted parameter"),
    write: bool = typer.Option(False, "--write/--no-write", help="also store the fitted values as the package "
                               "defaults (the fit always goes to --out as parameters.csv)"),
    block: list[str] = typer.Option([], "--block", help="fit only this block (repeatable): barrier, innate, population"),
    sample: bool = typer.Option(False, "--sample", help="sample the posterior (emcee) and build the parameter "
                                "ensemble behind every band, in --out (resumable: rerun to continue)"),
    steps: int = typer.Option(4000, "--steps", help="with --sample: emcee steps per block"),
    seconds: Optional[float] = typer.Option(None, "--seconds", help="with --sample: stop each block after this "
                                            "long (rerun to continue)"),
    draws: int = typer.Option(500, "--draws", help="with --sample: parameter sets in the ensemble"),
    moves: str = typer.Option("de-snooker", "--moves", help="with --sample: emcee moves, de-snooker or stretch"),
    burn: float = typer.Option(0.5, "--burn", help="with --sample: share of each chain discarded as burn-in"),
    gut_joint: bool = typer.Option(False, "--gut-joint", help="fit the gut-to-joint magnitudes to the human trials "
                                   "(synthetic likelihood over virtual trials, in --out, resumable); with --write, "
                                   "ship the fit and draw the ensemble's fitted parameters from it"),
) -> None:
    """Fit the model to the human calibration targets (or --check them) and write a report."""
    import time

    from gutjoint._studies.calibration import check as check_targets

    t0 = time.perf_counter()
    if gut_joint:
        from gutjoint._studies.calibration.gut_joint import run as fit_gut_joint

        result = fit_gut_joint(out, write=write)
        for p in result["parameters"]:
            errors.print(f"{p['parameter']}: {p['median']:.3g} (90% {p['q05']:.3g} to {p['q95']:.3g}), prior "
                         f"{p['prior_median']:.3g} ({p['prior_q05']:.3g} to {p['prior_q95']:.3g})")
        errors.print(f"the fit is in {out / 'gut_joint_fit.json'} ({time.perf_counter() - t0:.0f} s)")
        return
    if sample:
        from gutjoint._studies.calibration.posterior import sample_posterior

        from contextlib import nullcontext

        bar, update = terminal_progress("emcee steps")
        with bar or nullcontext():
            provenance = sample_posterior(out, steps=steps, seconds=seconds, draws=draws, write=write,
                                          progress=update, moves=moves, burn=burn)
        from gutjoint._interfaces.ensemble_report import write_ensemble_report
        from gutjoint._studies.calibration import posterior
        from gutjoint._studies.uncertainty import load_ensemble

        errors.print("posterior predictive checks (calibration data, then every target) ...")
        members = load_ensemble(out)
        chains = {name: posterior.read_chain(out / f"chain_{name}.h5", name) for name in posterior.SAMPLED}
        report = write_ensemble_report(out, members, chains, posterior.predictive_coverage(members),
                                       posterior.target_pass_rates(members), burn=burn)
        worst = {name: max(d["r_hat"] for d in block_["diagnostics"].values())
                 for name, block_ in provenance["blocks"].items()}
        console.print(f"ensemble of {provenance['draws']} parameter sets -> {printable(out)} "
                      f"({'also the package default' if write else 'the package default is unchanged; --write stores it'}); "
                      + "; ".join(f"{name}: {b['steps']} steps x {b['walkers']} walkers, largest R-hat {worst[name]:.3f}"
                                  for name, b in provenance["blocks"].items())
                      + f"; report -> {printable(report)} ({time.perf_counter() - t0:.0f} s)", soft_wrap=True)
        return
    if check:
        results = check_targets()
        from gutjoint._interfaces.calibration_report import write_report

        report = write_report(out, None, results)
    else:
        from gutjoint._interfaces.calibration_report import calibrate as run

        outcome = run(out, starts=starts, profiles=profiles, write=write, blocks=tuple(block),
                      progress=lambda m: errors.print(m))
        results, report = outcome.checks, outcome.report
    from gutjoint._studies.calibration import verdict

    styles = {"pass": "green", "FAIL": "red", "miss": "yellow", "out of scope": "yellow"}
    table = Table("target", "group", "model", "result", box=None, header_style="bold")
    words = [verdict(t, o) for t, o in results]
    for (target, outcome), word in zip(results, words):
        table.add_row(target.id, target.group, outcome.value, Text(word, style=styles[word]))
    console.print(table)
    counts = {w: words.count(w) for w in styles if w in words}
    console.print(f"{len(results)} targets: " + ", ".join(f"{n} {w}" for w, n in counts.items())
                  + f" (a miss is stated, with its reason, in the report); report -> {printable(report)} "
                  f"({time.perf_counter() - t0:.1f} s)", soft_wrap=True)
    if "FAIL" in words:
        raise typer.Exit(1)


@app.command()
def population(
    scenario: str = typer.Argument(DEFAULT_SCENARIO, help="a built-in scenario name or a .toml file"),
    n: int = typer.Option(..., "--n", help="number of subjects"),
    seed: int = typer.Option(..., "--seed", help="random seed (same seed = same population, any chunking)"),
    out: Path = typer.Option(..., "--out", help="output folder"),
    trajectories: bool = typer.Option(False, "--trajectories", help="also write trajectories.parquet (long form)"),
    workers: int = typer.Option(1, "--workers", min=1, help="local worker processes"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="address of a Dask distributed scheduler"),
    chunk_size: int = typer.Option(256, "--chunk-size", min=1, help="subjects per chunk (results do not depend on it)"),
    select: bool = typer.Option(True, "--select/--no-select", help="plausibility selection on resting CRP and L:M"),
    uncertainty: bool = typer.Option(False, "--uncertainty", help="one population per ensemble draw (people and "
                                     "parameters kept apart): responder shares with 90% intervals"),
    draws: Optional[int] = typer.Option(None, "--draws", help="with --uncertainty: ensemble draws, one population "
                                        "each (default 20)"),
    comparisons: bool = typer.Option(True, "--comparisons/--no-comparisons",
                                     help="each person's runs without the gut drivers and without the interventions "
                                          "(gut_share, relief); without them, a third of the work"),
    rtol: float = MANY_RTOL_OPTION,
    atol: float = MANY_ATOL_OPTION,
) -> None:
    """Simulate a virtual population through SCENARIO (resumable: rerun the same command to continue)."""
    from gutjoint._studies.population import run_population

    if workers > 1 and scheduler:
        raise InputError("population: options '--workers' and '--scheduler' were both given; allowed: one of them")
    _only_with("population", "--uncertainty", uncertainty, {"--draws": draws})
    if uncertainty:
        from gutjoint._safety import DISCLAIMER
        from gutjoint._studies.population import run_population_ensemble

        result = run_population_ensemble(scenario, n=n, seed=seed, out=out, draws=20 if draws is None else draws,
                                         workers=workers, select=select, chunk_size=chunk_size, scheduler=scheduler,
                                         trajectories=trajectories, comparisons=comparisons,
                                         tolerances=Tolerances(rtol=rtol, atol=atol))
        for line in result["in_words"].values():
            console.print(line, soft_wrap=True)
        m = result["metrics"].get("median_final_pain")
        if m:
            console.print(f"median final pain {m['median']:.1f}/10 (90% interval {m['q05']:.1f}-{m['q95']:.1f} over "
                          f"parameter sets); per draw -> {printable(out / 'ensemble_summary.json')}", soft_wrap=True)
        console.print(f"{result['honesty']} {DISCLAIMER}", style="dim", soft_wrap=True)
        return
    bar, update = terminal_progress()
    if bar is not None:
        bar.start()
    try:
        folder = run_population(scenario, n=n, seed=seed, out=out, chunk_size=chunk_size, workers=workers,
                                scheduler=scheduler, trajectories=trajectories, select=select, progress=update,
                                comparisons=comparisons, tolerances=Tolerances(rtol=rtol, atol=atol))
    finally:
        if bar is not None:
            bar.stop()
    summary = json.loads((folder / "summary.json").read_text())
    q = summary["quantiles"]
    console.print(f"{summary['n']} subjects -> {printable(folder / 'subjects.parquet')}; solver failures: "
                  f"{summary['solver_failures']}", soft_wrap=True)
    if "final_pain" in q:
        console.print(f"final pain median {q['final_pain']['q50']:.2f} (IQR {q['final_pain']['q25']:.2f}-"
                      f"{q['final_pain']['q75']:.2f}); responders (30%): {summary.get('responders_30pct')}")
    rea = summary.get("reactive_arthritis")
    if rea and rea["cases"]:
        published = rea["literature"]
        console.print(f"reactive arthritis: {rea['cases']} of {rea['n']} ({rea['incidence']:.1%}; published "
                      f"{published['incidence']}), onset median {rea['onset_days']['q50']:g} days after the infection "
                      f"began ({published['onset']}), {rea['share_lasting_6_months']:.0%} lasting 6 months or more "
                      f"({published['share_lasting_6_months']}), HLA-B27 in {rea['hla_b27_share_of_cases']:.0%} of "
                      f"cases ({published['hla_b27_share_of_cases']}); case: {rea['definition']}", soft_wrap=True)
    elif rea:
        console.print(f"reactive arthritis: no case among {rea['n']} (case: {rea['definition']})", soft_wrap=True)


@app.command()
def trial(
    trial_file: str = typer.Argument(..., metavar="TRIAL", help="a built-in trial (barrier-support-joint-pain, "
                                     "anti-tnf-ra) or a .toml file"),
    out: Path = typer.Option(..., "--out", help="folder for report.html, consort.json, endpoints.csv, people.parquet"),
    power: Optional[str] = typer.Option(None, "--power", help="comma-separated people per arm, e.g. 25,50,100,200"),
    repeats: int = typer.Option(200, "--repeats", help="with --power: trials per sample size"),
    uncertainty: int = typer.Option(0, "--uncertainty", help="with --power: ensemble draws for the power over "
                                    "what we do not know (0: only 'if the model is right')"),
    workers: int = typer.Option(1, "--workers", min=1, help="with --power: local worker processes"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="with --power: address of a Dask "
                                            "distributed scheduler"),
    enrich: Optional[int] = typer.Option(None, "--enrich", min=2, max=1000, help="people per arm: also compare the "
                                         "trial enrolling the half of the eligible whose posterior gut share (after a "
                                         "4-week diary, an L:M and a CRP) is highest against the unselected trial, "
                                         "at that size (with --uncertainty K: under K ensemble draws; --repeats "
                                         "trials each); writes enrichment.json"),
) -> None:
    """Run a virtual trial (screen, randomise, every arm, the analysis); with --power, power against size; with
    --enrich, the power of enrolling by the posterior gut share."""
    from gutjoint._interfaces.trial_report import published_line, write_trial
    from gutjoint._safety import DISCLAIMER
    from gutjoint._studies.trial import load_trial, run_trial, trial_power

    spec = load_trial(trial_file)
    sizes = None
    if power is not None:
        try:
            sizes = [int(x) for x in power.split(",") if x.strip()]
        except ValueError:
            raise InputError(f"trial: option '--power' = {printable(repr(power))} is invalid; allowed: whole "
                             "numbers of people per arm, comma-separated, e.g. 25,50,100") from None
    if workers > 1 and scheduler:
        raise InputError("trial: options '--workers' and '--scheduler' were both given; allowed: one of them")
    result = run_trial(spec)
    curve = (trial_power(spec, sizes, repeats=repeats, ensemble_draws=uncertainty, out=out, workers=workers,
                         scheduler=scheduler) if sizes is not None else None)
    report = write_trial(result, out, curve)
    c = result.consort
    console.print(f"{printable(spec.name)}: screened {c['screened']}, eligible {c['eligible']}, randomised "
                  + ", ".join(f"{a} {n}" for a, n in c["randomised"].items()) + "; completed "
                  + ", ".join(f"{a} {n}" for a, n in c["completed"].items()), soft_wrap=True)
    for arm, s in result.arms.items():
        console.print(f"  {printable(arm)}: pain {s['pain_change_mean']:+.2f} ({s['pain_change_pct_mean']:+.0f}%), "
                      f"30% responders {s['responder_30']:.0%}, 50% {s['responder_50']:.0%}, CRP "
                      f"{s['crp_change_mean']:+.2f} mg/L", soft_wrap=True)
    for arm, comp in result.comparisons.items():
        d = comp["pain_change_difference"]
        console.print(f"  {printable(arm)} vs {printable(spec.control.name)}: pain change difference "
                      f"{d['estimate']:+.2f} (95% CI {d['ci95'][0]:+.2f} to {d['ci95'][1]:+.2f}), p {d['p']:.2g}",
                      soft_wrap=True)
    for check in result.published:
        console.print(f"  {check['kind']}: {printable(published_line(check), LINE_LIMIT)}", soft_wrap=True)
    if result.published:
        from gutjoint._studies.trial import held_words

        console.print(f"  {held_words(result.published)} (-> {printable(out / 'published.json')})", soft_wrap=True)
    if curve:
        for row in curve["rows"]:
            cells = ", ".join(f"{k.replace('power_', '')} {v:.0%}" for k, v in row.items() if k != "per_arm")
            console.print(f"  power at {row['per_arm']} per arm: {cells}", soft_wrap=True)
        effect = f"predicted effect (pain change difference over the whole pool) {curve['effect_model_right']:+.2f}"
        if "effect_over_uncertainty" in curve:
            e = curve["effect_over_uncertainty"]
            effect += (f"; over {uncertainty - curve['draws_too_few_eligible']} parameter draws {e['median']:+.2f} "
                       f"(90% interval {e['q05']:+.2f} to {e['q95']:+.2f}); under {curve['draws_too_few_eligible']} "
                       "draws too few screened people were eligible to run it")
        console.print("  " + effect, soft_wrap=True)
        for label, words in (("model_right", "if the model is right"), ("over_uncertainty", "over what we do not know")):
            if f"per_arm_for_80pct_{label}" in curve:
                n80 = curve[f"per_arm_for_80pct_{label}"]
                console.print(f"  80% power (pain change) {words}: "
                              + (f"about {n80:.0f} per arm" if n80 else "not reached at the sizes tried"), soft_wrap=True)
    if enrich is not None:
        _enrichment(spec.source, out, enrich, repeats, uncertainty)
    console.print(f"report -> {printable(report)}. A virtual trial of a model, not evidence. {DISCLAIMER}",
                  style="dim", soft_wrap=True)


def _enrichment(trial_source: str, out: Path, per_arm: int, repeats: int, draws: int) -> None:
    """``gutjoint trial --enrich``: the enriched against the unselected trial, printed and written to
    ``enrichment.json``."""
    import json

    from gutjoint._files import atomic_write
    from gutjoint._studies import enrichment as E

    if draws:
        r = E.enrichment_over_ensemble(draws, trial_name=trial_source, per_arm=per_arm, repeats=repeats)
        console.print(f"  enriched by the posterior gut share, {per_arm} per arm, over "
                      f"{draws - r['unscreenable']} parameter draws: power {r['unselected_median']:.0%} unselected, "
                      f"{r['enriched_median']:.0%} enriched (medians); gain {100 * r['gain_median']:+.0f} points "
                      f"(90% interval {100 * r['gain_q05']:+.0f} to {100 * r['gain_q95']:+.0f}; Monte Carlo standard "
                      f"error of one draw about {100 * r['gain_se_median']:.0f})", soft_wrap=True)
    else:
        r = E.enrichment(trial_source, per_arm=per_arm, repeats=repeats)
        u, e = r["unselected"], r["enriched"]
        console.print(f"  enriched by the posterior gut share (at least {r['threshold']:.0%}), {per_arm} per arm, if "
                      f"the model is right: power {u['power']:.0%} unselected, {e['power']:.0%} enriched (standard "
                      f"errors {u['power_se']:.0%}, {e['power_se']:.0%}); true effect {u['effect']:+.2f} and "
                      f"{e['effect']:+.2f}", soft_wrap=True)
    text = json.dumps(r, indent=1, default=float)
    atomic_write(out / "enrichment.json", lambda tmp: tmp.write_text(text), field="out")


def terminal_progress(label: str = "chunks"):
    """A Rich progress bar on a terminal; None (quiet) otherwise."""
    if not sys.stderr.isatty():
        return None, None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn(), transient=False)
    task = bar.add_task(label, total=None)

    def update(done, total):
        bar.update(task, completed=done, total=total)

    return bar, update


@app.command()
def person(
    file: str = typer.Argument(..., help="a CSV of your own measurements: day,observable,value (day 0 is today)"),
    out: Path = typer.Option(..., "--out", help="folder for report.md and person.json"),
    bank: Optional[int] = typer.Option(None, "--bank", min=10_000, max=200_000, help="virtual people to weigh "
                                       "against your data (default 15,000 shipped, or 10,000 simulated when the "
                                       "file has events or a diagnosis; at least 10,000: smaller banks fail the "
                                       "simulation-based calibration)"),
    draws: int = typer.Option(0, "--draws", min=0, max=20, help="ensemble draws for the model's own uncertainty "
                                                                "(a bank of 2,000 people each: the spread of the "
                                                                "median)"),
    workers: int = typer.Option(2, "--workers", min=1, max=64, help="local worker processes"),
) -> None:
    """What your own numbers say: how much of your joint pain the model puts on the gut, where the rest comes from,
    and how you might respond to each option, with intervals. Events in the file (an enteric infection, an NSAID
    course, barrier support or anti-TNF started and stopped) are lived by every virtual person before they are
    weighed. A red flag in the file stops the forecast."""
    from gutjoint._interfaces.person_report import summary_lines, write_report
    from gutjoint._studies import person as P
    from gutjoint._studies.uncertainty import load_ensemble

    data = P.read_person(file)
    if data.red_flags:  # the triage alone: no bank is made
        result = P.infer_person(data)
    else:
        options = not data.events  # a timeline's forecast runs its own
        banks = [P.person_bank(P.DRAW_BANK_SIZE, P.SHIPPED_SEED + k, parameters=values, workers=workers,
                               diagnosis=data.diagnosis, options=options)
                 for k, values in enumerate(load_ensemble().parameter_sets()[:draws])]
        if data.events or data.diagnosis:  # a timeline or a gut disease: a bank made now
            people = P.person_bank(bank or P.EVENT_BANK_SIZE, P.SHIPPED_SEED, workers=workers,
                                   diagnosis=data.diagnosis, options=options)
        elif bank in (None, P.SHIPPED_SIZE):
            people = P.default_bank(workers)
        else:
            people = P.person_bank(bank, P.SHIPPED_SEED, workers=workers)
        result = P.infer_person(data, bank=people, parameter_banks=banks)
    lines = summary_lines(result, data)
    write_report(out, result, data)
    for line in lines:
        console.print(line, soft_wrap=True)
    console.print(f"report -> {printable(out / 'report.md')}", style="dim")


@app.command()
def export(
    fmt: str = typer.Argument(..., metavar="FORMAT", help="sbml, antimony, petab, omex or model-report"),
    out: Path = typer.Option(..., "--out", help="sbml: the .xml file; antimony: the .txt file; petab: a folder; "
                             "omex: the .omex archive; model-report: a folder"),
    scenario: Optional[list[str]] = typer.Option(None, "--scenario", help="sbml/antimony: encode this scenario's "
                                                 "resting start, inputs and doses (events), so the file reproduces "
                                                 "the run; omex: a scenario to include (repeatable)"),
) -> None:
    """Export the model as SBML (L3V2) or Antimony, the calibration problem as PEtab (SBML + tables, linted), or
    scenario runs as a COMBINE archive (SBML + SED-ML + expected results)."""
    scenarios = list(scenario or [])
    if fmt == "model-report":
        if scenarios:
            raise InputError("export: option '--scenario' is not used by model-report; allowed: with sbml, antimony "
                             "or omex")
        from gutjoint._interfaces.model_report import write_model_report

        page, text = write_model_report(out)
        console.print(f"model report -> {printable(page)} (HTML) and {printable(text)} (Markdown)", soft_wrap=True)
        return
    if fmt == "omex":
        from gutjoint._interfaces.omex import write_omex

        path = write_omex(out, scenarios)
        console.print(f"COMBINE archive ({len(scenarios)} scenario{'s' if len(scenarios) != 1 else ''}: SBML, SED-ML, "
                      f"expected results) -> {printable(path)}", soft_wrap=True)
        return
    if len(scenarios) > 1:
        raise InputError(f"export: option '--scenario' was given {len(scenarios)} times; allowed: once with "
                         f"{fmt} (several only with omex)")
    scenario = scenarios[0] if scenarios else None
    if fmt in ("sbml", "antimony"):
        from gutjoint._files import atomic_write
        from gutjoint._interfaces.sbml import antimony_text, write_sbml

        if fmt == "sbml":
            path = write_sbml(out, scenario=scenario)
        else:
            text = antimony_text(scenario=scenario)
            path = atomic_write(out, lambda tmp: tmp.write_text(text, encoding="utf-8"), field="--out")
        console.print(f"{'SBML L3V2' if fmt == 'sbml' else 'Antimony'}"
                      f"{'' if scenario is None else f' (scenario {printable(scenario)})'} -> {printable(path)}",
                      soft_wrap=True)
    elif fmt == "petab":
        if scenario is not None:
            raise InputError("export: option '--scenario' is not used by petab; allowed: with sbml or antimony")
        from gutjoint._interfaces.petab_export import export_petab, lint

        yaml_path = export_petab(out)
        ok = lint(yaml_path)
        console.print(f"PEtab problem -> {printable(yaml_path)} (petab linter: "
                      f"{'no errors' if ok else 'ERRORS, see above'})", soft_wrap=True)
        if not ok:
            raise typer.Exit(1)
    else:
        raise InputError(f"export: argument 'FORMAT' = {fmt!r} is invalid; allowed: sbml, antimony, petab, omex, model-report")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="interface to bind (default: this machine only)"),
    port: int = typer.Option(8000, "--port", min=1, max=65535),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="server processes (one per core is plenty)"),
    allow_host: Optional[list[str]] = typer.Option(None, "--allow-host", help="a further name the server answers "
                                                   "to in the Host header (repeatable); by default only its own "
                                                   "address (and localhost, on loopback)"),
) -> None:
    """Serve the explorable page at / and the JSON API at /api (OpenAPI at /openapi.json)."""
    from gutjoint._interfaces.web.app import serve as run

    console.print(f"gutjoint explorable on http://{printable(host)}:{port}/ (API schema: /openapi.json). "
                  "Ctrl-C to stop.")
    run(host, port, workers, tuple(allow_host or ()))


class Terminated(BaseException):
    """SIGTERM, raised where the program is, so that cleanup (temporary files) runs as for Ctrl-C."""


def _terminate(signum, frame) -> None:
    raise Terminated()


def _say_error(text: str) -> None:
    errors.print(printable(text, LINE_LIMIT))


FLAG_NAMES = {"every_days": "--every", "parameters": "--params"}
"""Study arguments whose command-line option is not simply the argument's name with dashes."""


def _flag(argument: str) -> str:
    """The command-line option of a study function's argument: ``chunk_size`` -> ``--chunk-size``."""
    return FLAG_NAMES.get(argument, "--" + argument.replace("_", "-"))


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and exit with its documented code (see the module docstring); never a traceback."""
    for stream in (sys.stdout, sys.stderr):  # the same bytes whatever the locale (sources name Sørensen, Häger)
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8")
    previous = signal.signal(signal.SIGTERM, _terminate)
    from gutjoint._memory import keep_freed_memory

    keep_freed_memory()  # this process is the CLI's own: freed arrays stay in the heap (see gutjoint._memory)
    try:
        code = app(args=argv, prog_name="gutjoint", standalone_mode=False)
        if code == 130:  # typer turns Ctrl-C into exit code 130 and says nothing
            _say_error("interrupted")
    except typer.Exit as exc:
        code = exc.exit_code
    except SolverError as exc:  # a run that failed, not bad input
        _say_error(f"error: {exc}")
        code = 1
    except OptionError as exc:  # a study's argument, named as this command's option
        _say_error(f"error: {exc.as_option(f'option {_flag(exc.argument)!r}')}")
        code = 2
    except GutjointError as exc:
        _say_error(f"error: {exc}")
        code = 2
    except (typer.Abort, KeyboardInterrupt):
        _say_error("interrupted")
        code = 130
    except Terminated:
        _say_error("terminated")
        code = 143
    except Exception as exc:  # click usage errors and anything unexpected: still one line, no traceback
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):  # a click usage error (typer vendors click)
            _say_error(f"error: {exc.format_message()} (see --help)")
            code = exc.exit_code
        else:
            _say_error(f"internal error: {type(exc).__name__}: {exc} (please report this)")
            code = 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
