"""The fit report: Markdown with PNG figures (model against data with SD bands, the target table, the
parameter uncertainty and the parameters that these targets cannot identify)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from matplotlib.figure import Figure
import numpy as np

from gutjoint._studies.calibration import cohort, data, experiments
from gutjoint._studies.calibration.conditions import load_conditions
from gutjoint._studies.calibration.fit import BOUND_REASONS, fit_at_bound
from gutjoint._studies.calibration.observations import GUT_JOINT_TRIALS
from gutjoint._studies.calibration.targets import CYTOKINES, GROUPS, verdict
from gutjoint._safety import DISCLAIMER



def _save(fig, path: Path) -> str:
    from gutjoint._files import atomic_write

    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"), field="out")
    return path.name


def figure_endotoxemia(folder: Path, params) -> str:
    bolus = experiments.bolus(params or {}).frame
    hours = bolus["time_days"] * 24
    cyt_all = data.read_table("endotoxemia_bolus_2ngkg_janum2016_cytokines.csv", keep_synthetic=True)
    cyt = data.janum_cytokines()
    synthetic = cyt_all[~cyt_all["time_h"].isin(cyt["time_h"])]
    fig = Figure(figsize=(12, 7), layout="constrained")
    axes = fig.subplots(2, 3)
    for ax, (key, column) in zip(axes.flat, CYTOKINES.items()):
        ax.errorbar(cyt["time_h"], cyt[f"{key}_mean"], yerr=cyt[f"{key}_sd"], fmt="o", color="k", capsize=3,
                    label="Janum 2016, mean +- SD")
        ax.plot(synthetic["time_h"], synthetic[f"{key}_mean"], "x", color="0.6", label="synthetic rows (not fitted)")
        ax.plot(hours, bolus[column], color="tab:red", label="model")
        ax.set_title(f"{key.upper()} (pg/mL)")
        ax.set_xlabel("hours after 2 ng/kg LPS")
    temp = data.janum_temperature()
    ax = axes.flat[4]
    ax.fill_between(temp["time_h"], temp["temperature_c_mean"] - temp["temperature_c_sd"],
                    temp["temperature_c_mean"] + temp["temperature_c_sd"], color="0.85", label="data +- SD")
    ax.plot(temp["time_h"], temp["temperature_c_mean"], "o", color="k")
    ax.plot(hours, bolus["temperature_c"], color="tab:red", label="model")
    ax.set_title("temperature (degC)")
    ax.set_xlabel("hours")
    ppt = data.janum_pain_threshold()
    base = ppt["ppt_mean"].iloc[0]
    ax = axes.flat[5]
    ax.errorbar(ppt["time_h"], ppt["ppt_mean"] / base, yerr=ppt["ppt_sd"] / base, fmt="o", color="k", capsize=3,
                label="data +- SD")
    ax.plot(hours, bolus["pain_threshold_rel"], color="tab:red", label="model")
    ax.set_title("pressure-pain threshold (x baseline)")
    ax.set_xlabel("hours")
    axes.flat[0].legend(fontsize=7)
    return _save(fig, folder / "fit_endotoxemia.png")


def figure_barrier(folder: Path, params, conditions) -> str:
    from gutjoint._studies.simulate import simulate

    p = params or {}
    fig = Figure(figsize=(13, 3.8), layout="constrained")
    axes = fig.subplots(1, 3)
    alcohol = simulate(experiments.alcohol_scenario(), parameters=p)
    ax = axes[0]
    ax.plot(alcohol.frame["time_days"], alcohol.frame["lm_ratio"], color="tab:red", label="model")
    ax.axhline(0.03, ls="--", color="k", lw=0.8, label="normal (< 0.03)")
    ax.axvspan(7, 14, color="0.85", label="normal by 7-14 d (data)")
    ax.set_title("C6: stopping alcohol")
    ax.set_xlabel("days")
    ax.set_ylabel("L:M")
    ax.legend(fontsize=7)
    levels = conditions or load_conditions()
    g = simulate(experiments.gfd_scenario(levels["gfd_insult"], levels["gfd_injury"]), parameters=p)
    ax = axes[1]
    ax.plot(g.frame["time_days"], g.frame["lm_ratio"] / g.frame["lm_ratio"].iloc[0], color="tab:red", label="model")
    ax.errorbar([7, 60], [0.53, 0.34], yerr=[0.106, 0.068], fmt="o", color="k", capsize=3,
                label="Clin Sci 2001 (+-20%)")
    ax.set_xscale("symlog", linthresh=10)
    ax.set_title("C7: coeliac, gluten-free diet")
    ax.set_xlabel("days")
    ax.set_ylabel("ratio / ratio at start")
    ax.legend(fontsize=7)
    level = experiments.pi_ibs_injury_level(p)
    for support, colour, label in ((True, "tab:green", "barrier_support = 1"), (False, "0.5", "placebo")):
        z = simulate(experiments.zhou_scenario(level, support), parameters=p)
        axes[2].plot(z.frame["time_days"], z.frame["lm_ratio"], color=colour, label=label)
    axes[2].errorbar([0, 56], [0.11, 0.05], yerr=[0, 0.015], fmt="o", color="k", capsize=3, label="Zhou 2019 (+-30%)")
    axes[2].set_title("barrier_support = 1 (Zhou 2019)")
    axes[2].set_xlabel("days")
    axes[2].legend(fontsize=7)
    return _save(fig, folder / "fit_barrier.png")


def figure_other(folder: Path, params) -> str:
    from gutjoint._studies.simulate import simulate

    p = params or {}
    fig = Figure(figsize=(13, 3.8), layout="constrained")
    axes = fig.subplots(1, 3)
    daily = simulate(experiments.daily_bolus_scenario(), parameters=p).frame
    axes[0].plot(daily["time_days"], daily["tnf_pg_ml"], color="tab:red")
    axes[0].set_title("tolerance: 2 ng/kg daily x5 (TNF)")
    axes[0].set_xlabel("days")
    axes[0].set_ylabel("pg/mL")
    for grams, hours, target, band, colour in ((40, 4, 1.5, 0.2, "tab:olive"), (33, 3, 1.45, 0.17, "tab:brown")):

        f = simulate(experiments.fat_meal_scenario(grams, days=0.3, step_hours=0.1), parameters=p).frame
        axes[1].plot(f["time_days"] * 24, f["lps_pg_ml"] / f["lps_pg_ml"].iloc[0], color=colour, label=f"model, {grams} g")
        axes[1].errorbar([hours], [target], yerr=[band], fmt="o", color=colour, capsize=3)
    axes[1].set_title("C4: endotoxin after fat (Erridge; Deopurkar)")
    axes[1].set_xlabel("hours")
    axes[1].set_ylabel("x fasting")
    axes[1].legend(fontsize=7)
    crp = cohort.cohort_rest(p)["crp_mg_l"]
    axes[2].hist(np.clip(crp, 0, 15), bins=40, color="tab:purple", alpha=0.7)
    axes[2].axvline(3, color="k", ls="--", lw=0.8, label="3 mg/L")
    axes[2].axvline(np.median(crp), color="tab:purple", lw=1.5, label=f"median {np.median(crp):.2f}")
    axes[2].set_title(f"C5: cohort CRP ({np.mean(crp > 3):.0%} > 3 mg/L; target 32-37%)")
    axes[2].set_xlabel("mg/L (clipped at 15)")
    axes[2].legend(fontsize=7)
    return _save(fig, folder / "fit_tolerance_meal_population.png")


def figure_profiles(folder: Path, profiles) -> str | None:
    flat = [p for block in profiles.values() for p in block]
    if not flat:
        return None
    cols = 5
    rows = int(np.ceil(len(flat) / cols))
    fig = Figure(figsize=(3 * cols, 2.3 * rows), layout="constrained")
    axes = fig.subplots(rows, cols)
    for ax, prof in zip(np.ravel(axes), flat):
        ax.plot(prof.grid, prof.delta_chi2, "o-", ms=3, color="tab:blue" if prof.identifiable else "tab:red")
        ax.axhline(3.84, color="k", ls="--", lw=0.7)
        ax.axvline(prof.estimate, color="0.5", lw=0.7)
        ax.set_xscale("log")
        ax.set_title(prof.parameter, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in np.ravel(axes)[len(flat):]:
        ax.axis("off")
    fig.suptitle("profile likelihood: delta chi2 vs value (dashed: 95% threshold; red: not identifiable)", fontsize=9)
    return _save(fig, folder / "profiles.png")


KEY_UNCERTAINTY = (
    "`gut_lps_bioactivity` (assumed 0.05) sets how much of the endotoxin that crosses the gut acts like the free "
    "endotoxin of an IV bolus, and so whether gut endotoxin drives inflammation at all. No human measurement of it "
    "was found: gut-derived endotoxin circulates bound to lipoproteins and LBP and is partly neutralised (Erridge "
    "2007), but by how much is not known. Every gut-to-inflammation answer of the model scales with it.")
"""Said in the report and the README until a source for gut_lps_bioactivity is found."""

DOSES_NG_KG = (0.2, 0.3, 0.4, 0.5, 0.8, 1.0, 2.0, 4.0)
DOSE_DATA = {  # what people showed, from the calibration tables (abstract-level beyond Janum 2016)
    0.2: "TNF x2, IL-6 x7 at 3 h; no fever (Krabbe 2005, validation)",
    0.5: "0-6 h mean over placebo: TNF x5.1, IL-6 x3.9, IL-8 x3.5 (Dillingh 2014)",
    2.0: "TNF x300, IL-6 x750; +2.1 degC (Janum 2016)",
    4.0: "peaks: TNF 1.5-2 h, IL-6 3 h, IL-10 3 h, temperature 4 h (validation)",
}
PEAK_COLUMNS = (("TNF", "tnf_pg_ml"), ("IL-6", "il6_pg_ml"), ("IL-8", "il8_pg_ml"), ("IL-10", "il10_pg_ml"))


def _cytokine_label(key: str) -> str:
    """``tnf`` -> ``TNF``, ``il6`` -> ``IL-6``."""
    return key.upper().replace("IL", "IL-")


def timecourse_peaks(dose: float) -> str:
    """The peak times of the held-out bolus time courses at ``dose`` (``endotoxemia_timecourses.csv``), in words."""
    courses = data.other_timecourses()
    courses = courses[(courses["dose_ng_kg"] == dose) & (courses["regimen"] == "bolus")]
    parts = []
    for study, course in courses.groupby("study", sort=False):
        peaks = [f"{_cytokine_label(c)} {float(g.loc[g['value'].idxmax(), 'time_h']):g} h"
                 for c, g in course.groupby("cytokine", sort=False)]
        parts.append(f"peaks {', '.join(peaks)} ({study.split(' ')[0]} {study.split(' ')[1]}, held out)")
    return "; ".join(parts)


def dose_response_lines(params=None) -> list[str]:
    """The endotoxin dose-response of the model (peak over rest and its time, 0-12 h), beside what was measured."""
    lines = ["| dose (ng/kg) | TNF peak | IL-6 peak | IL-8 peak | IL-10 peak | IL-8, 0-6 h mean | fever | "
             "threshold at 3 h | data |", "|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for dose in DOSES_NG_KG:
        said = "; ".join(text for text in (DOSE_DATA.get(dose, ""), timecourse_peaks(dose)) if text)
        result = experiments.bolus(params or {}, dose, hours=12.0)
        if not result.ok:
            lines.append(f"| {dose:g} | solver {result.status.code} | | | | | | | {said} |")
            continue
        frame = result.frame
        peaks = [experiments.peak(frame, column) for _, column in PEAK_COLUMNS]
        il8 = experiments.mean_over_rest(frame, "il8_pg_ml", 6.0)
        fever = float(frame["temperature_c"].max() - frame["temperature_c"].iloc[0])
        threshold = float(experiments.at_hours(frame, "pain_threshold_rel", [3.0])[0] - 1)
        cells = " | ".join(f"x{fold:.1f} at {hours:.1f} h" for fold, hours in peaks)
        lines.append(f"| {dose:g} | {cells} | x{il8:.2f} | +{fever:.2f} degC | {threshold:+.1%} | {said} |")
    return lines


def gut_joint_lines(params=None) -> list[str]:
    """The gut-to-joint rows against the model: under ``params`` (``observations.gut_joint_predictions``), or, by
    default, before and after the shipped gut-joint fit (``gut_joint.shipped_fit``, which must be current)."""
    from gutjoint._studies.calibration import gut_joint as gj
    from gutjoint._studies.calibration.observations import gut_joint_predictions

    if params is not None:
        table = gut_joint_predictions(params)
        return (["| human result | data | model | inside |", "|---|---|---:|---|"]
                + [f"| {r.dataset} | {r.low:g} to {r.high:g} | {r.model:.3g} | {'yes' if r.inside else 'no'} |"
                   for r in table.itertuples()])
    fit = gj.current_fit()
    if fit is None:
        raise RuntimeError(gj.STALE)
    yes = {True: "yes", False: "no"}
    return (["| human result | role | data | before the fit | after (median; 90% of draws) | inside before / after |",
             "|---|---|---|---:|---|---|"]
            + [f"| {r['dataset']} | {'fitted' if r['role'] == 'calibrate' else 'held out'} | {r['low']:g} to "
               f"{r['high']:g} | {r['before']:.3g} | {r['after_median']:.3g} ({r['after_q05']:.3g} to "
               f"{r['after_q95']:.3g}) | {yes[r['inside_before']]} / {yes[r['inside_after']]} |"
               for r in fit["rows"]])


def timecourse_lines(params=None) -> list[str]:
    """The held-out time courses from other laboratories against the model: one row per dataset and cytokine
    (``observations.timecourse_predictions``)."""
    from gutjoint._studies.calibration.observations import timecourse_predictions

    table = timecourse_predictions(params)
    lines = ["| dataset | group | regimen | cytokine | points | assay factor | log residual SD | data peak | "
             "model peak |", "|---|---|---|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r.dataset} | {'fitted' if r.role == 'calibrate' else 'held out'} | "
              f"{r.experiment.removeprefix('lps-')} | {_cytokine_label(r.cytokine)} | "
              f"{r.points} | {r.assay_factor:.2f} | {r.log_residual_sd:.2f} | {r.data_peak_h:g} h | "
              f"{r.model_peak_h:g} h |" for r in table.itertuples()]
    for role, words in (("validate", "held out"), ("calibrate", "fitted")):
        part = table[table["role"] == role]
        if part.empty:
            continue
        late, early = part[part["data_peak_h"] > part["model_peak_h"]], part[part["data_peak_h"] < part["model_peak_h"]]
        lines += ["", f"Series {words}: on the data's own sampling times, the model's peak comes before the data's in "
                  f"{len(late)} of {len(part)}, after it in {len(early)}, and at the same time in "
                  f"{len(part) - len(late) - len(early)}; the median log residual SD after the assay factor is "
                  f"{part['log_residual_sd'].median():.2f}."]
    return lines


def _plausible(name: str) -> tuple[float, float]:
    from gutjoint._biology.parameters import load_parameters
    from gutjoint._studies.calibration.fit import NUISANCE_RANGES

    if name in NUISANCE_RANGES:
        return NUISANCE_RANGES[name]
    rec = load_parameters()[name]
    return rec.low, rec.high


REFIT_HISTORY = (
    ("2026-12-06", "C3 and N3 control-corrected (de Goeij 2013's controls fell 7%); threshold_drop_per_lps refitted "
                   "alone, 0.58216 -> 0.36984 1/h",
     "C3: model -18.3% at 2 h and -17.9% at 6 h against raw data -17.8% and -18.4%, became -12.1% and -11.8% against "
     "the corrected -11.6% and -12.2%; N3: -18.3% against -20 +- 4% raw, became -12.1% against -14.0 +- 5% over "
     "controls; N2: -5.1% and -11.3% at 0.4 and 0.8 ng/kg became -3.2% and -7.3% (still lower only after 0.8, and by "
     "at least 5%). All pass before and after."),
    ("2026-12-06", "reactive-arthritis prior set at Finnish carriage; reactive_seeding rescanned, 0.017 -> 0.0122",
     "in 10,000 people at US carriage: incidence 4.2% -> 3.8%, carriers' risk ratio 9.9 -> 4.3, HLA-B27 among cases "
     "40% -> 23%, onset median 21 -> 22 days, lasting 6 months 19% -> 18%; at Finnish carriage the B27 share is 41% "
     "(Tuompo 2013: 42%) at 4.4% incidence (fitted)."),
)
"""Refits made since the shipped fit, with the values of every target they touched before and after (dated: a
record of what was, not a number computed today)."""


def _bound_lines(params: dict | None) -> list[str]:
    """The checked parameters' fitted values that sit at an edge of their range (``fit_at_bound``), each with why."""
    from gutjoint._biology.parameters import load_parameters
    from gutjoint._studies.calibration.fit import BLOCKS

    table = load_parameters()
    values = {**{n: table[n].value for n in table.names}, **(params or {})}
    fitted = sorted({n for block in BLOCKS for n in block.parameters if n in table})
    edges = [(n, fit_at_bound(n, values[n])) for n in fitted]
    lines = ["", "## Fitted values at an edge of their range", "",
             "A value within 1% of an end of its plausible range, on the scale it is fitted on (absolute at a bound of "
             "0), is at that bound: the targets push it there, and it says more about the model or the data than "
             "about biology. Each one, and why:", ""]
    lines += [f"- `{n}` = {values[n]:.4g} ({end} end of {table[n].low:g}-{table[n].high:g}): "
              f"{BOUND_REASONS.get(n, '**no reason stated**')}." for n, end in edges if end]
    return lines + [""]


def write_report(folder: Path, result, checks, params=None, conditions=None) -> Path:
    """Write ``report.md`` and its figures into ``folder``; return the report path."""
    from gutjoint._files import atomic_write

    folder.mkdir(parents=True, exist_ok=True)
    figures = [figure_endotoxemia(folder, params), figure_barrier(folder, params, conditions), figure_other(folder, params)]
    prof_fig = figure_profiles(folder, result.profiles) if result else None
    lines = ["# gutjoint calibration report", "", f"*{DISCLAIMER}*", ""]
    headings = {"calibration": ("## Calibration targets", "The fit may use these."),
                "validation": ("## Validation targets (held out)", "Chosen before any fit to them and never fitted: "
                               "they show what the model predicts.")}
    for group in GROUPS:
        title, words = headings[group]
        lines += [title, "", words, "", "| target | what | expected | tolerance | model | result | source |",
                  "|---|---|---|---|---|---|---|"]
        for target, outcome in checks:
            if target.group == group:
                word = verdict(target, outcome)
                shown = {"FAIL": "**FAIL**", "miss": "**miss** (stated)"}.get(word, word)
                lines.append(f"| {target.id} | {target.what} | {target.expected} | {target.tolerance} | "
                             f"{outcome.value} | {shown} | {target.source} |")
        lines.append("")
    notes = [(t, o.detail) for t, o in checks if o.detail]
    notes += [(t, f"missed on stated grounds: {t.known_miss}.") for t, o in checks if verdict(t, o) == "miss"]
    notes += [(t, f"caveat: {t.caveat}.") for t, _ in checks if t.caveat]
    if notes:
        lines += [*[f"- **{t.id}**: {text}" for t, text in notes]]
    lines += ["", "## Endotoxin dose-response", "",
              "One IV bolus from rest, peaks over the resting value within 12 h. Beyond Janum 2016 the data are "
              "printed numbers from abstracts (data/calibration/endotoxemia_other_studies.csv).", "",
              *dose_response_lines(params)]
    lines += ["", "## Held-out time courses from other laboratories", "",
              "Cytokine time courses at 0.3-2 ng/kg and a bolus plus a 3-hour infusion (Taudorf 2007, Dillingh 2014, "
              "Kiers 2017, Copeland 2005), read off the papers' figures by other modelling groups "
              "(data/calibration/endotoxemia_timecourses.csv says where). Added as validation before any fit to "
              "them: never fitted. Absolute levels differ between laboratories, so each dataset and cytokine gets "
              "one assay factor, profiled out; what is left tests the shape and the timing.", "",
              *timecourse_lines(params)]
    lines += ["", "## The gut-to-joint arm against human data", "",
              "Human gut-to-joint results as rows of the observation table (block `gut-joint`): two fitted by "
              "likelihood-free inference (`gutjoint._studies.calibration.gut_joint`), the rest held out; each "
              "trial's file (" + ", ".join(f"`{name}`" for name in GUT_JOINT_TRIALS) + ") says where its numbers "
              "come from. Before: the table's values; after: the fit's posterior draws.", "",
              *gut_joint_lines(params or None)]
    lines += ["", "## The key uncertainty", "", KEY_UNCERTAINTY]
    lines += ["", "## Model against data", ""] + [f"![{f}]({f})" for f in figures]
    if result is None:
        lines += _bound_lines(params)
        lines += ["## Refits since the shipped fit", ""] + [f"- {when}: {what}. Before and after: {effect}"
                                                             for when, what, effect in REFIT_HISTORY] + [""]
        lines += ["Which parameters these targets identify is the business of a full fit with profiles (`gutjoint "
                  "calibrate --out DIR`); the last one made for the shipped model is in `refit.md` beside this "
                  "report.", ""]
    if result is not None:
        lines += ["", "## Fitted parameters and their uncertainty", "",
                  "Multi-start bounded least squares per block (see `gutjoint._studies.calibration.fit`). "
                  "Intervals: 95% profile likelihood (Δχ² = 3.84), others re-optimised. 'not identifiable' = the "
                  "profile stays under the threshold on that side within the plausible range.", ""]
        for fit in result.block_fits:
            lines += [f"### Block `{fit.block.name}` (cost {fit.cost:.2f}; starts: "
                      f"{', '.join(f'{c:.2f}' for c in fit.starts)})", "",
                      "| parameter | estimate | plausible range | 95% low | 95% high | identifiable |",
                      "|---|---|---|---|---|---|"]
            profs = {p.parameter: p for p in result.profiles.get(fit.block.name, [])}
            for name, value in fit.values.items():
                p = profs.get(name)
                low = f"{p.low:.4g}" if p and p.low is not None else "not bounded"
                high = f"{p.high:.4g}" if p and p.high is not None else "not bounded"
                ident = ("yes" if p.identifiable else "**no**") if p else "not profiled"
                lo_b, hi_b = _plausible(name)
                edge = " (**at bound**)" if fit_at_bound(name, value) else ""
                lines.append(f"| {name} | {value:.4g}{edge} | {lo_b:g}-{hi_b:g} | {low} | {high} | {ident} |")
            lines.append("")
        lines += ["A parameter **at bound** sits at the edge of its plausible range: the targets push it there, and "
                  "its value says more about the model structure than about biology. Each one here, and why:", ""]
        for fit in result.block_fits:
            for name, value in fit.values.items():
                if fit_at_bound(name, value):
                    lines.append(f"- `{name}` = {value:.4g} ({fit_at_bound(name, value)} end): "
                                 f"{BOUND_REASONS.get(name, '**no reason stated**')}.")
        lines.append("")
        unidentifiable = [p.parameter for ps in result.profiles.values() for p in ps if not p.identifiable]
        if unidentifiable:
            lines += ["**Not identifiable from these targets:** " + ", ".join(unidentifiable) + ".", ""]
        if prof_fig:
            lines += [f"![profiles]({prof_fig})", ""]
        lines += ["## Timings", "", *[f"- {k}: {v:.1f} s" for k, v in result.seconds.items()], ""]
    path = folder / "report.md"
    atomic_write(path, lambda tmp: tmp.write_text("\n".join(lines) + "\n", encoding="utf-8"), field="out")
    return path


def calibrate(out: str | Path = "calibration-report", *, starts: int = 4, profiles: bool = True, write: bool = False,
              workers: int | None = None, blocks: tuple[str, ...] = (), progress: Callable[[str], object] = print):
    """Fit the target-informed parameters and write the report into ``out``; the result carries the report's
    path. ``starts``: multi-start count per block; ``profiles``: the profile likelihood of every fitted parameter;
    ``write``: also store the fit as the package defaults; ``workers``: processes (default: the cores);
    ``blocks``: fit only these (barrier, innate, population); ``progress``: called with each step's message.
    The fit itself is :func:`gutjoint._studies.calibration.run.calibrate`."""
    from gutjoint._studies.calibration.run import calibrate as fit_all

    outcome = fit_all(out, starts=starts, profiles=profiles, write=write, workers=workers, blocks=blocks,
                      progress=progress)
    if outcome.written:
        outcome.report = write_report(Path(out), outcome, outcome.checks)
    else:
        params = {k: v for k, v in outcome.values.items() if k not in outcome.conditions}
        outcome.report = write_report(Path(out), outcome, outcome.checks, params=params,
                                      conditions=outcome.conditions)
    return outcome
