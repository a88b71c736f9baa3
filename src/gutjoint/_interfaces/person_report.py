"""A person's answer in words and as JSON (``gutjoint person``, ``POST /api/person``): red flags and the
disclaimer first, then the gut share, the forecast and what to measure next, each with how uncertain it is."""

from __future__ import annotations

import json
import math
from pathlib import Path

from gutjoint._files import atomic_write
from gutjoint._safety import DISCLAIMER, RED_FLAG_LINE
from gutjoint._studies.person import DRAW_BANK_SIZE, NOISE, PersonData, PersonResult


def summary_lines(result: PersonResult, data: PersonData) -> list[str]:
    """The answer in words, red flags and the disclaimer first (what ``gutjoint person`` prints and reports)."""
    if result.stopped:
        return ["**Stop: a red flag in your data.** " + result.triage.message,
                "", "No forecast is given while a red flag is present: see a clinician first.", "", DISCLAIMER]
    s, lines = result.summaries, [f"{RED_FLAG_LINE} {DISCLAIMER}", ""]
    g = s["gut_share"]
    lines += [f"Your data: {len(data.measurements)} measurements"
              + (f", {len(data.events)} event{'s' if len(data.events) > 1 else ''} ({_events(data)})"
                 if data.events else "")
              + (f", diagnosed {data.diagnosis} (weighed against people with it)" if data.diagnosis else "")
              + (f", HLA-B27 {'carrier' if data.hla_b27 else 'non-carrier'}" if data.hla_b27 is not None else "")
              + f". They match {result.effective_people:,.0f} of {result.bank_size:,} virtual people well (the effective "
              "number of people behind the answer)."
              + (" That is few: your numbers lie at the edge of what the virtual population holds, so the answer is "
                 "rough." if result.effective_people < 30 else ""), "",
              f"- **How much of the pain is from the gut** (the share of your pain at rest that would go without the gut drivers): "
              f"{g[1]:.0%} (90% interval {g[0]:.0%} to {g[2]:.0%}), given what is not known about you.",
              f"- **Pain at rest** (the model's, behind your diary): {s['baseline_pain'][1]:.1f} "
              f"({s['baseline_pain'][0]:.1f} to {s['baseline_pain'][2]:.1f})"
              + (f"; today, after your events: {s['pain_now'][1]:.1f} ({s['pain_now'][0]:.1f} to "
                 f"{s['pain_now'][2]:.1f})." if "pain_now" in s else "."),
              "- **Where that pain comes from** (each source's share of the pain above its floor; 90% intervals): "
              + "; ".join(f"{name} {q[1]:.0%} ({q[0]:.0%} to {q[2]:.0%})" for name, q in result.sources.items())
              + ".",
              _trait_words(result),
              "", "**What might help, and how soon** (30% less pain than "
              + ("today, among the virtual people like you, after your events; each option from today for a year, "
                 "alone, with any intervention you are still on):" if data.events else
                 "at rest, among the virtual people like you; each option from tomorrow for a year, alone):")]
    for o in result.options.values():
        lines.append(f"- {o['label']}: within 12 weeks for {o['improves_within_12_weeks']:.0%}, within a year for "
                     f"{o['improves_within_a_year']:.0%}{_typical_days(o['days_to_30pct'])}; pain after a year "
                     f"{o['final_pain'][1]:.1f} ({o['final_pain'][0]:.1f} to {o['final_pain'][2]:.1f}). "
                     f"{o['caveat']}" + (f" (evidence: {_grades(o['links'])})" if o["links"] else ""))
    lines.append("")
    if result.parameter_spread:
        spread = result.parameter_spread["gut_share_median"]
        reach = "; ".join(f"{o['label'].split(' (')[0].lower()} {min(v):.0%} to {max(v):.0%}"
                          for key, o in result.options.items()
                          for v in [result.parameter_spread.get(f"{key}_within_12_weeks", [])] if v)
        lines.append(f"- **What the model does not know** (its parameters, {len(spread)} ensemble draws): the gut "
                     f"share's median moves from {min(spread):.0%} to {max(spread):.0%} between them, and the chance "
                     f"of 30% less pain within 12 weeks: {reach} (each draw weighs a bank of {DRAW_BANK_SIZE:,} "
                     "people: enough for a median or a share, too few for intervals).")
    else:
        lines.append("- The model's own parameter uncertainty is not in these intervals (`gutjoint person --draws K` "
                     "adds its spread).")
    if result.measure_next:
        best = result.measure_next[0]
        if best["gut_share_sd_after"] < 0.9 * best["gut_share_sd_now"]:
            lines += ["", f"**What to measure next**: {best['measurement']} would narrow the gut share most (its SD "
                      f"from {best['gut_share_sd_now']:.3f} to about {best['gut_share_sd_after']:.3f})."]
        else:
            lines += ["", "**What to measure next**: none of " + ", ".join(c["measurement"] for c in result.measure_next)
                      + " would narrow the gut share by a tenth: for people like you it hardly depends on them."]
    if data.events:
        lines += ["", "Your events were lived by every virtual person before their numbers were compared with "
                  "yours, so they shape what your measurements say about you, and the forecast starts from where "
                  "each of them is today. An NSAID course is a barrier insult in the model; its pain relief is not "
                  "modelled."]
    if data.diagnosis:
        lines += ["", f"The virtual people here all live the exposures of untreated {data.diagnosis} disease (the "
                  "model's barrier calibration to coeliac L:M), with general-adult traits. Against the human results "
                  "the model over-predicts how often the gluten-free diet relieves coeliacs' joints (see the README's "
                  "gut-to-joint table)."]
    lines += ["", "This is a model of a typical adult like you, not a diagnosis. " + noise_words()]
    return lines





NARROWED = 0.8
"""A trait's 90% interval is said to be narrowed by the data when it is at most this share of the prior's."""


def _trait_words(result: PersonResult) -> str:
    """The traits the data narrowed (posterior against prior, medians and 90% intervals), or that none was."""
    narrowed = []
    for trait, t in result.traits.items():
        (p0, p1, p2), (q0, q1, q2) = t["prior"], t["posterior"]
        if p2 > p0 and (q2 - q0) <= NARROWED * (p2 - p0):
            narrowed.append(f"{trait.replace('_', ' ')} {q1:.2g} ({q0:.2g} to {q2:.2g}; before your data {p1:.2g}, "
                            f"{p0:.2g} to {p2:.2g})")
    if not narrowed:
        return "- **What your data say about you**: they narrow none of your traits by a fifth."
    return "- **What your data say about you** (the traits they narrowed; 90% intervals): " + "; ".join(narrowed) + "."


def _events(data: PersonData) -> str:
    def when(e) -> str:
        end = "ongoing" if e.end > 0 else f"day {e.end:g}"
        return f"{e.name.replace('_', ' ')} day {e.start:g} to {end}"

    return "; ".join(when(e) for e in data.events)


def _typical_days(days: list[float]) -> str:
    """The median time to 30% less pain, when most of the people like you get there."""
    middle = days[1]
    if not math.isfinite(middle):
        return ""
    return f" (typically after {middle:.0f} days)" if middle < 120 else f" (typically after {middle / 30.4:.0f} months)"


def _grades(ids: list[str]) -> str:
    from gutjoint._biology.links import load_links

    links = {link.id: link for link in load_links()}
    return "; ".join(f"{i} {links[i].grade}" for i in ids)


def as_dict(result: PersonResult, data: PersonData) -> dict:
    """Everything the answer rests on, for ``person.json`` and the web."""
    return {"stopped": result.stopped, "triage": result.triage.as_dict(), "lines": summary_lines(result, data),
            "effective_people": result.effective_people, "bank_size": result.bank_size,
            "summaries": result.summaries, "sources": result.sources, "options": result.options,
            "traits": result.traits,
            "diagnosis": data.diagnosis,
            "events": [vars(e) | {"end": e.end if e.end != float("inf") else None} for e in data.events], "parameter_spread": result.parameter_spread,
            "measure_next": result.measure_next, "noise": {k: vars(v) for k, v in NOISE.items()},
            "disclaimer": DISCLAIMER}


def write_report(out: Path, result: PersonResult, data: PersonData) -> Path:
    """``report.md`` (the words) and ``person.json`` (:func:`as_dict`) in ``out``, each written atomically."""
    answer = as_dict(result, data)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "report.md", lambda tmp: tmp.write_text("# Your own numbers\n\n" + "\n".join(answer["lines"])
                                                               + "\n", encoding="utf-8"))
    atomic_write(out / "person.json", lambda tmp: tmp.write_text(json.dumps(answer, indent=1, default=float),
                                                                 encoding="utf-8"))
    return out / "report.md"


NOISE_LABELS = {"pain_nrs": "pain", "crp_mg_l": "CRP", "lm_ratio": "L:M", "il6_pg_ml": "IL-6",
                "lps_pg_ml": "endotoxin", "stiffness_min": "morning stiffness"}


def noise_words() -> str:
    """Which measurement noise models are assumed and which rest on a source, from their grades."""
    assumed = [NOISE_LABELS.get(n, n) for n, noise in NOISE.items() if noise.value_grade == "assumed"]
    sourced = [NOISE_LABELS.get(n, n) for n, noise in NOISE.items() if noise.value_grade != "assumed"]
    words = []
    if assumed:
        words.append(f"The noise models of {' and '.join(assumed)} are assumed")
    if sourced:
        words.append(f"those of {' and '.join(sourced)} rest on measured scatter (grades in person.json)")
    return "; ".join(words) + "."

