"""A report a person can read: one self-contained HTML file (figures embedded, no network).

It says what was simulated, shows the chain from gut to pain, where the pain comes from, what helps on the same
person (barrier support, microbiome restoration, anti-TNF, a weight-loss-like metabolic change), how long each
takes to a clinically important improvement (IMMPACT: at least 30% less pain), the evidence grade of every link
the answers rest on, the red flags and the disclaimer.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from matplotlib.figure import Figure
import numpy as np

from gutjoint._biology import species
from gutjoint._biology.links import link_order
from gutjoint._files import atomic_write
from gutjoint._interfaces.figures import plot_simulation
from gutjoint._safety import DISCLAIMER, RED_FLAG_LINE, RED_FLAGS
from gutjoint._studies.options import OPTIONS, untreated as _untreated, with_option
from gutjoint._studies.scenario import load_scenario


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _options_figure(untreated, runs, start) -> str:
    fig = Figure(figsize=(8.5, 3.8), layout="constrained")
    ax = fig.subplots()
    ax.plot(untreated.frame["time_days"], untreated.frame["pain_nrs"], color="black", lw=2, label="no change")
    for (option, result), colour in zip(runs, ("#2a9d8f", "#8ab17d", "#e76f51", "#e9c46a")):
        ax.plot(result.frame["time_days"], result.frame["pain_nrs"], color=colour, lw=1.6, label=option.label)
    ax.axvline(start, color="0.5", ls=":", lw=1)
    ax.set_xlabel("time (days)")
    ax.set_ylabel("pain (0-10)")
    ax.set_ylim(0, 10)
    ax.grid(alpha=0.25)
    ax.legend(fontsize=7.5, frameon=False)
    return _png(fig)


def _attribution_figure(attribution) -> str:
    fig = Figure(figsize=(8.5, 2.0), layout="constrained")
    ax = fig.subplots()
    left = 0.0
    colours = {"floor": "0.8", "inflammation": "#d62728", "immune": "#2ca02c", "cartilage": "#17becf",
               "metabolic": "#bcbd22"}
    for name, value in [("floor", attribution.floor), *attribution.sources.items()]:
        width = max(value, 0.0)
        ax.barh(0, width, left=left, color=colours[name], label=f"{name} {value:.1f}")
        left += width
    ax.set_xlim(0, 10)
    ax.set_yticks([])
    ax.set_xlabel("pain (0-10) on the day explained")
    ax.legend(ncol=5, fontsize=8, frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    return _png(fig)


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


REPORT_DRAWS = 200
"""Ensemble draws behind the report's bands (60 of them for the intervals of the explanation: 17 runs each)."""


def _how_sure(scenario, day: float) -> tuple[str, object]:
    """The 'How sure is this?' section and the bands for the chain figure (no ensemble: a plain statement)."""
    from gutjoint._errors import InputError
    from gutjoint._studies import uncertainty as unc
    from gutjoint._studies.attribution import explain_ensemble

    try:
        ensemble = unc.load_ensemble()
    except InputError as exc:
        return f"<p><b>How sure is this?</b> Not known here: {html.escape(str(exc))}</p>", None
    dataset = unc.simulate_ensemble(scenario, ensemble=ensemble, draws=min(REPORT_DRAWS, len(ensemble)))
    band = unc.bands(dataset)
    last = band.iloc[-1]
    drivers = unc.band_drivers(dataset, ensemble, "pain_nrs")
    spread = explain_ensemble(scenario, day, ensemble=ensemble, draws=60)
    share = spread["gut_share"]
    rows = [[html.escape(d["parameter"]), f"{d['share']:.0%}", html.escape(d["value_grade"]),
             html.escape(d["basis"])] for d in drivers]
    text = f"""<h2>How sure is this?</h2>
<p>The shaded bands in the figure show where 90% (light) and 50% (darker) of {dataset.attrs['n_draws']} plausible
parameter sets put each line ({dataset.attrs['n_failed']} sets failed to run). On the last day the pain is
<b>{unc.in_words(last['pain_nrs_q05'], last['pain_nrs_q95'])} out of 10</b>, and the gut share on day {day:g} is
<b>between {share['q05']:.0%} and {share['q95']:.0%}</b>. {html.escape(spread['honesty'])}</p>
<p>Most of the spread in the pain comes from these parameters (first-order share of its variance over the
parameter sets); measuring them would sharpen the answer most:</p>
{_table(["parameter", "share of the spread", "what its value rests on", "where it comes from"], rows)}"""
    return text, band


def build_report(scenario, *, start_day: float | None = None) -> str:
    """The report's HTML text for ``scenario``; options start on ``start_day`` (default: the scenario's own
    first intervention day, else a tenth of the run)."""
    from gutjoint._biology.links import load_links
    from gutjoint._studies.attribution import SOURCE_LINKS, explain_pain
    from gutjoint._studies.outcomes import time_to_improvement
    from gutjoint._studies.simulate import simulate, simulate_many

    scenario = load_scenario(scenario)
    starts = [w.start_day for w in scenario.inputs if w.name in species.INTERVENTIONS]
    start = start_day if start_day is not None else (min(starts) if starts else round(scenario.days / 10))
    if not 0 <= start < scenario.days:
        from gutjoint._errors import InputError

        raise InputError(f"report: option '--start-day' = {start:g} is outside the run; allowed: 0 to "
                         f"{scenario.days:g} (exclusive)")
    as_given = simulate(scenario)
    sure, band = _how_sure(scenario, start)
    chain = _png(plot_simulation(as_given, None, band))
    base = _untreated(scenario)
    before = explain_pain(base, start)
    results = simulate_many([base, *[with_option(base, o, start) for o in OPTIONS]])
    untreated, runs = results[0], list(zip(OPTIONS, results[1:]))
    links = {link.id: link for link in load_links()}

    def grades(ids) -> str:
        return "; ".join(f"{i}: {html.escape(links[i].grade)}" for i in ids)

    pain_end = float(untreated.frame["pain_nrs"].iloc[-1])
    option_rows = []
    for option, result in runs:
        end = float(result.frame["pain_nrs"].iloc[-1])
        days = time_to_improvement(result.frame["time_days"], result.frame["pain_nrs"], start, 0.30)
        when = "not within the run" if not np.isfinite(days) else (
            f"{days:.0f} days ({days / 7:.0f} weeks)" if days < 120 else f"{days:.0f} days ({days / 30.4:.0f} months)")
        option_rows.append([html.escape(option.label), f"{end:.1f}", f"{pain_end - end:+.1f}", when,
                            grades(option.links), html.escape(option.caveat)])
    source_rows = [[name, f"{value:+.2f}", grades(SOURCE_LINKS[name])] for name, value in before.sources.items()]
    used = sorted({i for o in OPTIONS for i in o.links} | {i for ids in SOURCE_LINKS.values() for i in ids},
                  key=link_order)
    link_rows = [[i, html.escape(links[i].source), html.escape(links[i].target), links[i].effect,
                  html.escape(links[i].grade), html.escape(links[i].evidence)] for i in used]
    flag_items = "".join(f"<li><b>{html.escape(f.label)}</b>: {html.escape(f.why)}"
                         f"{' <em>(seek care today)</em>' if f.urgent else ''}</li>" for f in RED_FLAGS)
    exposures = ", ".join(f"{w.name.replace('_', ' ')} {w.level:g} (days {w.start_day:g}-{w.end_day:g})"
                          for w in scenario.inputs) or "none"
    subject = ", ".join(f"{k.replace('_', ' ')} {v:g}" for k, v in scenario.subject.items()) or "a typical adult"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>gutjoint report: {html.escape(scenario.name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 1.5rem auto; padding: 0 1rem; color: #222;
       line-height: 1.45; }}
.warn {{ background: #fff3cd; border-left: 5px solid #c77c02; padding: .6rem 1rem; }}
.flags {{ background: #fde2e1; border-left: 5px solid #b3261e; padding: .6rem 1rem; }}
table {{ border-collapse: collapse; width: 100%; font-size: .9rem; margin: .5rem 0 1rem; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }}
th {{ background: #f4f4f4; }}
img {{ max-width: 100%; height: auto; }}
small {{ color: #555; }}
</style></head><body>
<p class="warn"><b>{html.escape(DISCLAIMER)}</b></p>
<h1>What the model says about: {html.escape(scenario.name)}</h1>
<p>{html.escape(scenario.description)}</p>
<p><b>Person:</b> {html.escape(subject)}. <b>Exposures:</b> {html.escape(exposures)}. <b>Length:</b>
{scenario.days:g} days. This is a simulation of a model, not an assessment of you.</p>

<section class="flags"><h2>When to see a professional</h2><p><b>{html.escape(RED_FLAG_LINE)}</b>
Also see a doctor for any of these:</p><ul>{flag_items}</ul></section>

<h2>From gut to joint: the chain</h2>
<p>Each panel is one step: the gut barrier (lactulose:mannitol ratio), endotoxin in the blood, the immune
messengers (cytokines), whole-body inflammation (CRP), the joint, and pain split by its source.</p>
<img src="{chain}" alt="Simulated gut barrier, blood endotoxin, cytokines, CRP, joint state and pain over time">
{sure}

<h2>Where the pain comes from (day {before.day:g}, before any change)</h2>
<img src="{_attribution_figure(before)}" alt="Pain split into a floor and four sources">
<p>Pain {before.pain_nrs:.1f} of 10. A healthy joint in this person would hurt about {before.floor:.1f}; the rest
is shared among the four sources (Shapley values: each source's average effect over every order of removing the
sources). If the gut barrier and microbiome were healthy, about <b>{before.gut_share:.0%}</b> of the pain would go.</p>
{_table(["source", "pain points", "evidence behind it (link: grade)"], source_rows)}

<h2>What helps, on the same person (from day {start:g})</h2>
<img src="{_options_figure(untreated, runs, start)}" alt="Pain over time with each option and with no change">
{_table(["option", "pain at the end", "change vs no change", "time to a clinically important improvement (30% less pain)",
         "evidence (link: grade)", "caveat"], option_rows)}
<p><small>Without any change, pain at the end is {pain_end:.1f}. A 30% fall in pain is the IMMPACT threshold for a
moderately important improvement (Dworkin 2008).</small></p>

<h2>The evidence behind each link</h2>
{_table(["link", "from", "to", "effect", "grade", "evidence"], link_rows)}
<p><small>Grades: human RCT &gt; human experimental &gt; human observational &gt; animal &gt; in vitro &gt; model
&gt; hypothesis. Links that rest on animal data or on a hypothesis are possibilities, not findings in people.
</small></p>
<p class="warn">{html.escape(DISCLAIMER)} {html.escape(RED_FLAG_LINE)}</p>
<p><small>gutjoint, an executable, evidence-graded model of the gut-joint axis.</small></p>
</body></html>
"""


def write_report(scenario, out: str | Path, *, start_day: float | None = None) -> Path:
    text = build_report(scenario, start_day=start_day)
    return atomic_write(out, lambda tmp: tmp.write_text(text, encoding="utf-8"), field="--out")
