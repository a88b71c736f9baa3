"""What `gutjoint trial` writes: the CONSORT-like flow, per-arm endpoint tables, the figure over time and a
self-contained HTML report (with the disclaimer), and the power table and figure."""

from __future__ import annotations

import html
import json
from pathlib import Path

from matplotlib.figure import Figure

from gutjoint._files import atomic_write, write_table
from gutjoint._interfaces.report import _png, _table  # the person-facing report's embedded figure and table
from gutjoint._safety import DISCLAIMER, RED_FLAG_LINE

COLOURS = ("#555555", "#2a9d8f", "#e76f51", "#264653")


def trial_figure(result) -> Figure:
    """Mean reported pain per arm over the weeks, with the between-person interquartile band."""
    fig = Figure(figsize=(8.0, 3.8), layout="constrained")
    ax = fig.subplots()
    for (arm, w), colour in zip(result.weekly.items(), COLOURS):
        ax.fill_between(w["weeks"], w["q25"], w["q75"], color=colour, alpha=0.15, lw=0)
        ax.plot(w["weeks"], w["mean"], color=colour, lw=2, label=f"{arm} (n={result.arms[arm]['n']}), mean; band: IQR")
    ax.axvline(result.trial.endpoint_week, color="0.4", ls=":", lw=1)
    ax.set_xlabel("week of the trial")
    ax.set_ylabel("reported pain (NRS 0-10)")
    ax.set_ylim(0, 10)
    ax.grid(alpha=0.25)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(f"{result.trial.name}: pain per arm (placebo response included in blinded arms)", fontsize=10)
    return fig


def power_figure(power: dict) -> Figure:
    fig = Figure(figsize=(7.0, 3.6), layout="constrained")
    ax = fig.subplots()
    sizes = [r["per_arm"] for r in power["rows"]]
    for key, label, style in (("power_pain_model_right", "mean pain change, if the model is right", "-"),
                              ("power_pain_over_uncertainty", "mean pain change, over parameter draws", "--"),
                              ("power_responder30_model_right", "30% responders, if the model is right", "-."),
                              ("power_responder30_over_uncertainty", "30% responders, over parameter draws", ":")):
        if key in power["rows"][0]:
            ax.plot(sizes, [r[key] for r in power["rows"]], style, marker="o", label=label)
    ax.axhline(0.8, color="0.5", lw=0.8)
    ax.set_xlabel("people per arm")
    ax.set_ylabel(f"power (p < {power['alpha']:g})")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.25)
    ax.legend(fontsize=8, frameon=False)
    return fig


def _rows(result) -> list[list[str]]:
    out = []
    for arm, s in result.arms.items():
        out.append([html.escape(arm), str(s["n"]), f"{s['baseline_pain_mean']:.1f}",
                    f"{s['pain_change_mean']:+.2f} (SD {s['pain_change_sd']:.2f})", f"{s['pain_change_pct_mean']:+.0f}%",
                    f"{s['responder_30']:.0%}", f"{s['responder_50']:.0%}", f"{s['crp_change_mean']:+.2f}",
                    f"{s['lm_change_mean']:+.4f}"])
    return out


def published_line(check: dict) -> str:
    """One check in words: 'anti-TNF, mean change in pain (NRS points): model -3.13, published span -3.26 to -1.87:
    inside' (a derived number says so, and how it was derived)."""
    if check["kind"] == "derived":
        return (f"{_published_label(check)}: model {check['model']:+.3g}, DERIVED span {check['low']:+.3g} to "
                f"{check['high']:+.3g}: " + ("inside" if check["inside"] else "OUTSIDE") + f" ({check['source']})")
    return (f"{_published_label(check)}: model {check['model']:+.3g}, published span "
            f"{check['low']:+.3g} to {check['high']:+.3g}: " + ("inside" if check["inside"] else "OUTSIDE"))


def _published_label(check: dict) -> str:
    from gutjoint._studies.trial import PUBLISHED_ENDPOINTS

    return f"{check['arm']}, {PUBLISHED_ENDPOINTS[check['endpoint']]}"


def _published_html(checks: list[dict]) -> str:
    if not checks:
        return ""
    from gutjoint._studies.trial import held_words

    def rows(kind: str) -> list[list[str]]:
        return [[html.escape(_published_label(c)), f"{c['model']:+.3g}", f"{c['low']:+.3g} to {c['high']:+.3g}",
                 "inside" if c["inside"] else "<b>outside</b>", html.escape(c["source"])]
                for c in checks if c["kind"] == kind]

    published, derived = rows("published"), rows("derived")
    out = (f"<h2>Against published results</h2><p>{html.escape(held_words(checks))}. A span is the published values "
           "with the tolerance the trial file states; an outside value is shown as it is."
           + ("" if {c["endpoint"] for c in checks} & {"responder_30", "responder_50"} else
              " The 30% and 50% responder rates are not held to published values here.") + "</p>")
    if published:
        out += _table(["arm and endpoint", "model", "published span", "", "source"], published)
    if derived:
        out += ("<h3>Derived, not published</h3><p>These numbers were not printed in any source read: each was "
                "worked out here from printed ones, as its source says, and is counted apart.</p>"
                + _table(["arm and endpoint", "model", "derived span", "", "derivation"], derived))
    return out


def _power_label(key: str) -> str:
    """'power_pain_model_right' -> 'pain change, if the model is right'."""
    what = {"pain": "pain change", "responder30": "30% responders"}
    for end, words in (("_model_right", "if the model is right"), ("_over_uncertainty", "over parameter draws")):
        if key.startswith("power_") and key.endswith(end):
            return f"{what.get(key[6:-len(end)], key[6:-len(end)])}, {words}"
    return key


def write_trial(result, out, power: dict | None = None) -> Path:
    """Write consort.json, endpoints.csv, comparisons.json, people.parquet, trial.png, report.html (and
    power.csv, power.json, power.png) into ``out``."""
    from gutjoint._studies.trial import PLACEBO, REPORTING_NOISE

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dump = lambda data: (lambda tmp: tmp.write_text(json.dumps(data, indent=1)))  # noqa: E731
    atomic_write(out / "consort.json", dump(result.consort), field="out")
    atomic_write(out / "comparisons.json", dump(result.comparisons), field="out")
    if result.published:
        atomic_write(out / "published.json", dump(result.published), field="out")
    import pandas as pd

    write_table(pd.DataFrame([{"arm": a, **s} for a, s in result.arms.items()]), out / "endpoints.csv")
    write_table(result.people, out / "people.parquet")
    figure = trial_figure(result)
    atomic_write(out / "trial.png", lambda tmp: figure.savefig(tmp, dpi=110, format="png"), field="out")
    power_html = ""
    if power:
        write_table(pd.DataFrame(power["rows"]), out / "power.csv")
        atomic_write(out / "power.json", dump(power), field="out")
        pfig = power_figure(power)
        atomic_write(out / "power.png", lambda tmp: pfig.savefig(tmp, dpi=110, format="png"), field="out")
        keys = [k for k in power["rows"][0] if k != "per_arm"]
        effect = f"The predicted effect (mean pain change, active minus control, over the whole pool of eligible " \
                 f"people) is {power['effect_model_right']:+.2f} NRS points with the shipped parameters"
        if "effect_over_uncertainty" in power:
            e = power["effect_over_uncertainty"]
            effect += f", and {e['median']:+.2f} (90% interval {e['q05']:+.2f} to {e['q95']:+.2f}) over the parameter draws"
        n80 = {k: power.get(f"per_arm_for_80pct_{k}") for k in ("model_right", "over_uncertainty")}
        effect += ". 80% power needs about " + "; ".join(
            f"{v:.0f} per arm {w}" if v else f"more than the largest size tried {w}"
            for (k, v), w in zip(n80.items(), ("if the model is right", "over what we do not know"))
            if f"per_arm_for_80pct_{k}" in power) + "."
        power_html = (f"<h2>Power</h2><p>{html.escape(effect)}</p><p>Over {power['repeats']} repeated trials per size (new people, "
                      f"randomisation, placebo responses and dropout each time); 'over parameter draws' also changes "
                      f"the model's parameters ({power['ensemble_draws']} ensemble draws), so it is the power over "
                      f"what we do not know.</p><img src='{_png(pfig)}' alt='Power against people per arm'>"
                      + _table(["per arm", *(_power_label(k) for k in keys)],
                               [[str(r["per_arm"]), *(f"{r[k]:.0%}" for k in keys)] for r in power["rows"]]))
    c = result.consort
    flow = (f"Screened {c['screened']}; eligible {c['eligible']}; randomised "
            + ", ".join(f"{a} {n}" for a, n in c["randomised"].items()) + "; completed "
            + ", ".join(f"{a} {n}" for a, n in c["completed"].items()) + " (lost: "
            + ", ".join(f"{a} {n}" for a, n in c["lost"].items()) + ").")
    comparisons = []
    for arm, comp in result.comparisons.items():
        d = comp["pain_change_difference"]
        r30 = comp["responder_30"]
        comparisons.append([html.escape(arm), f"{d['estimate']:+.2f} ({d['ci95'][0]:+.2f} to {d['ci95'][1]:+.2f})",
                            f"{d['p']:.2g}", f"{r30['active']:.0%} vs {r30['control']:.0%}",
                            f"{r30.get('odds_ratio', float('nan')):.2f}", f"{r30['p_fisher']:.2g}"])
    trial = result.trial
    text = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>gutjoint virtual trial: {html.escape(trial.name)}</title>
<style>body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 1.5rem auto; padding: 0 1rem; }}
.warn {{ background: #fff3cd; border-left: 5px solid #c77c02; padding: .6rem 1rem; }}
table {{ border-collapse: collapse; width: 100%; font-size: .9rem; }} th, td {{ border-bottom: 1px solid #ddd;
padding: .3rem .5rem; text-align: left; }} img {{ max-width: 100%; }}</style></head><body>
<p class="warn"><b>{html.escape(DISCLAIMER)}</b> A virtual trial of a model, not evidence about a treatment.</p>
<h1>Virtual trial: {html.escape(trial.name)}</h1><p>{html.escape(trial.description)}</p>
<h2>Flow</h2><p>{html.escape(flow)}</p>
<h2>Endpoints at week {trial.endpoint_week:g}</h2>
{_table(["arm", "n", "baseline pain", "pain change", "% change", "30% responders", "50% responders",
         "CRP change (mg/L)", "L:M change"], _rows(result))}
<h2>Each arm against {html.escape(trial.control.name)}</h2>
{_table(["arm", "pain change difference (95% CI)", "p (Welch)", "30% responders", "odds ratio", "p (Fisher)"],
        comparisons)}
{_published_html(result.published)}
<img src="{_png(figure)}" alt="Pain per arm over the weeks">
<p><small>Placebo response (in every blinded arm, pain only): {PLACEBO.size:g} NRS points at plateau, reached
with a time constant of {PLACEBO.onset_weeks:g} week; grade of the effect: {html.escape(PLACEBO.grade)}; of
its values: {html.escape(PLACEBO.value_grade)}. {html.escape(PLACEBO.source)}</small></p>
<p><small>Reporting scatter (in every arm, reported pain only): each visit's score is the model's pain plus an
independent error of SD {REPORTING_NOISE.sd:g} NRS points; grade of the effect: {html.escape(REPORTING_NOISE.grade)};
of its value: {html.escape(REPORTING_NOISE.value_grade)}. {html.escape(REPORTING_NOISE.source)}</small></p>
{power_html}
<p class="warn">{html.escape(DISCLAIMER)} {html.escape(RED_FLAG_LINE)}</p></body></html>"""
    return atomic_write(out / "report.html", lambda tmp: tmp.write_text(text, encoding="utf-8"), field="out")
