"""Numbers in prose, written by the code that computes them.

A document marks each passage whose numbers come from the model::

    <!-- computed: value-grades -->
    Of the 129 values, ...
    <!-- /computed -->

:data:`PASSAGES` maps each name to the function that writes the passage from today's objects (the parameter
table, the calibration check, the shipped ensemble and trial curves, a trial run). ``python -m
gutjoint._interfaces.prose README.md`` rewrites every marked passage; ``--check`` lists the ones that differ and
exits 1, and ``tests/test_prose.py`` fails on any. Measured speeds are not computed here: they carry their date
and machine instead.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from gutjoint._studies.ensemble import load_ensemble
from gutjoint._studies.runtime import model_key

MARK = re.compile(r"<!-- computed: ([a-z0-9-]+) -->\n(.*?)<!-- /computed -->", re.S)


def value_grades() -> str:
    from gutjoint._biology.parameters import load_parameters

    counts = load_parameters().value_grade_counts()
    words = {"human measurement": "human measurements", "human fit": "fits to human data",
             "published model": "from a published model fitted to human data",
             "derived": "derived by arithmetic on read numbers", "animal": "animal numbers",
             "definition": "definitions"}
    parts = [f"{counts[g]} {w}" for g, w in words.items() if counts[g]]
    return (f"What the {sum(counts.values())} values rest on: {', '.join(parts)}, and **{counts['assumed']} are "
            "assumed** (`gutjoint params` prints the counts).")


ATTRIBUTION_SCENARIOS = ("gut-driven-joint-pain", "ra-like", "mechanical-oa", "metabolic")


def attribution_table() -> str:
    from gutjoint._biology.species import PAIN_SOURCES
    from gutjoint._studies.attribution import explain_pain

    lines = ["| scenario (last day) | pain | floor | " + " | ".join(PAIN_SOURCES) + " | gut share |",
             "|---|---:|---:|" + "---:|" * len(PAIN_SOURCES) + "---:|"]
    for name in ATTRIBUTION_SCENARIOS:
        e = explain_pain(name)
        cells = [f"{e.sources[s]:+.2f}" if abs(e.sources[s]) >= 0.005 else "0.00" for s in PAIN_SOURCES]
        lines.append(f"| {name} | {e.pain_nrs:.2f} | {e.floor:.2f} | " + " | ".join(cells)
                     + f" | {e.gut_share:.0%} |")
    return "\n".join(lines)


def _basis() -> tuple:
    """What the computed passages depend on: the model (code and parameter values) and the ensemble; the memos
    below are keyed by it, so a refit in the same process is seen."""
    return model_key(), load_ensemble().key


@lru_cache(maxsize=1)
def _checks(basis: tuple):
    from gutjoint._studies.calibration import check

    return check()


def held_out() -> str:
    from gutjoint._studies.calibration import verdict

    lines = ["| held-out result | the model today | result |", "|---|---|---|"]
    for target, outcome in _checks(_basis()):
        if target.group == "validation":
            lines.append(f"| {target.id}: {target.what} ({target.expected}) | {outcome.value} | "
                         f"{verdict(target, outcome)} |")
    return "\n".join(lines)


def calibration_counts() -> str:
    from gutjoint._studies.calibration import verdict

    words = [verdict(t, o) for t, o in _checks(_basis())]
    misses = [(t, o) for t, o in _checks(_basis()) if verdict(t, o) == "miss"]
    counts = ", ".join(f"{words.count(w)} {w}" for w in ("pass", "miss", "FAIL", "out of scope") if w in words)
    return (f"`calibrate --check` holds the shipped parameters to {len(words)} targets today: {counts}. The misses "
            "are stated with their reasons: " + "; ".join(f"{t.id} ({t.what}: {o.value})" for t, o in misses) + ".")


def _ensemble():
    from gutjoint._studies.uncertainty import load_ensemble

    return load_ensemble()


@lru_cache(maxsize=1)
def _default_band(basis: tuple):
    from gutjoint._interfaces.cli import DEFAULT_SCENARIO
    from gutjoint._studies import uncertainty as unc
    from gutjoint._studies.attribution import explain_ensemble
    from gutjoint._studies.simulate import simulate

    ensemble = _ensemble()
    dataset = unc.simulate_ensemble(DEFAULT_SCENARIO, ensemble=ensemble)
    last = unc.bands(dataset, (0.05, 0.95), ["pain_nrs"]).iloc[-1]
    line = float(simulate(DEFAULT_SCENARIO)["pain_nrs"][-1])
    drivers = unc.band_drivers(dataset, ensemble, "pain_nrs", top=len(ensemble.values.columns))
    gut = explain_ensemble(DEFAULT_SCENARIO, draws=100, ensemble=ensemble)
    return DEFAULT_SCENARIO, dataset.attrs, line, last, drivers, gut


def default_band() -> str:
    name, attrs, line, last, drivers, gut = _default_band(_basis())
    ran = attrs["n_draws"] - attrs["n_failed"]
    shares = ", ".join(f"`{d['parameter']}` ({d['share']:.0%} of the variance; {_basis_words(d)})"
                       for d in drivers[:3])
    assumed = sum(d["share"] for d in drivers if d["basis"] == "prior-only")
    unnarrowed = assumed + sum(d["share"] for d in drivers if (_fitted_width(d) or 0.0) > NOT_NARROWED)
    return (f"For the default scenario ({name}) the model's line ends at pain {line:.1f} on day 365, but 90% of the "
            f"parameter sets put it between {last['pain_nrs_q05']:.1f} and {last['pain_nrs_q95']:.1f} ({ran} of "
            f"{attrs['n_draws']} sets run): the answer rests on assumptions. The parameters that carry most of that "
            f"spread are {shares}; the parameters drawn from assumed priors carry {assumed:.0%} of it together "
            f"(first-order shares, summed), {unnarrowed:.0%} with the fitted ones the human data did not narrow. "
            "Those are the numbers a study should measure. `explain --uncertainty` puts the "
            f"gut share between {gut['gut_share']['q05']:.0%} and {gut['gut_share']['q95']:.0%} (90% interval over "
            f"{gut['draws'] - gut['failed']} sets).")


NOT_NARROWED = 0.8
"""A fitted parameter whose 90% posterior interval keeps more than this share of its prior's width is said not to
be narrowed by the data it was fitted to."""


def _fitted_width(driver: dict) -> float | None:
    """For a band driver drawn from the gut-joint fit: its posterior interval's width over its prior's; else None."""
    if not driver["basis"].startswith("posterior (gut-joint"):
        return None
    from gutjoint._studies.calibration.gut_joint import shipped_fit

    fit = shipped_fit() or {"parameters": []}
    return next((p["width_over_prior"] for p in fit["parameters"] if p["parameter"] == driver["parameter"]), 0.0)


def _basis_words(driver: dict) -> str:
    """What a band driver's ensemble column rests on, in words: its value grade, or the fit it was drawn from."""
    width = _fitted_width(driver)
    if width is None:
        return driver["value_grade"]
    return ("fitted to human trials, which did not narrow it" if width > NOT_NARROWED
            else f"fitted to human trials, {width:.0%} of its prior's width")


R_HAT_GOAL, ESS_GOAL = 1.01, 400.0
"""The sampler's goals: every sampled parameter's rank-normalised split R-hat at most this, bulk ESS at least this."""


def posterior_diagnostics() -> str:
    meta = _ensemble().provenance
    lines, missed = [], []
    for name, block in meta["blocks"].items():
        diagnostics = block["diagnostics"]
        r_hat = [d["r_hat"] for d in diagnostics.values()]
        ess = [d["ess_bulk"] for d in diagnostics.values()]
        lines.append(f"- **{name.capitalize()} block** ({len(diagnostics)} parameters): {block['steps']:,} steps x "
                     f"{block['walkers']} walkers, {block['acceptance']:.0%} of moves accepted. R-hat {min(r_hat):.3f} to {max(r_hat):.3f} (goal at most "
                     f"{R_HAT_GOAL}); smallest bulk ESS {min(ess):,.0f} (goal at least {ESS_GOAL:.0f}).")
        if max(r_hat) > R_HAT_GOAL or min(ess) < ESS_GOAL:
            missed.append(name)
    verdict = ("Every sampled parameter of both blocks meets both goals." if not missed else
               f"Still short of a goal: the {' and '.join(missed)} block ({len(missed)} of {len(meta['blocks'])}). "
               "Read its bands as a rough picture, not a converged posterior.")
    return "\n".join(lines + ["", verdict])


def posterior_setup() -> str:
    """What was sampled, what was held, and how the noise and the conditioning came out, from the ensemble."""
    import numpy as np

    from gutjoint._studies.calibration import fit, posterior

    ensemble = _ensemble()
    meta = ensemble.provenance
    blocks = "; ".join(
        f"the {name} block, {len(block['parameters'])} of its {len(next(b for b in fit.BLOCKS if b.name == name).parameters)} "
        f"fitted parameters" for name, block in meta["blocks"].items())
    held = ", ".join(f"`{n}`" for n in posterior.NOT_SAMPLED)
    scales = [(c.removeprefix(posterior.NOISE_PREFIX), float(np.nanmedian(ensemble.values[c])))
              for c in ensemble.values.columns if c.startswith(posterior.NOISE_PREFIX)]
    noise = ", ".join(f"{name.removeprefix('Janum 2016 ').removesuffix(' after 2 ng/kg')} {k:.2f}" for name, k in scales)
    conditioning = meta.get("conditioning") or {}
    return (f"Sampled: {blocks}. The others ({held}) are held at the fit: the data do not inform them (each "
            f"one's reason is in `docs/calibration/ensemble.md`). Six innate parameters have priors centred on "
            f"published human endotoxemia models (Dobreva 2021, Windoloski 2024). Each Janum 2016 curve has its own "
            f"noise scale, integrated out: the SDs the paper prints are the spread between people, and the mean "
            f"curves are followed more closely than that (median scales: {noise}). "
            f"{len(conditioning.get('parameters', {}))} prior-drawn parameters act in the calibration experiments and "
            f"are conditioned on them draw by draw; {conditioning.get('redrawn', 0)} conditioned sets left the "
            "healthy window and were drawn again.")


def predictive_coverage() -> str:
    from gutjoint._interfaces.ensemble_report import coverage_words
    from gutjoint._studies.calibration import posterior

    held = ", ".join(_ensemble().provenance["held"])
    return (coverage_words(posterior.predictive_coverage(_ensemble())) + f" The blocks held at the fit ({held}: "
            "the population CRP block among them) do not vary across the ensemble, so single draws meet the "
            "population CRP targets only as often as the other blocks' draws allow: "
            + ", ".join(f"{r['target']} in {r['pass_rate']:.0%}" for r in _pass_rates(_basis())
                        if r["target"] in ("C5_crp_median", "C5_crp_share")) + " of draws.")


@lru_cache(maxsize=1)
def _pass_rates(basis: tuple):
    from gutjoint._studies.calibration import posterior

    return posterior.target_pass_rates(_ensemble())


def anti_tnf_trial() -> str:
    from gutjoint._studies.trial import held_words, load_trial, run_trial

    result = run_trial(load_trial("anti-tnf-ra"))
    arm = next(iter(result.comparisons))
    d = result.comparisons[arm]["pain_change_difference"]
    s = result.arms[arm]
    return (f"In `anti-tnf-ra`, {held_words(result.published)}. The drug lowers pain by {-d['estimate']:.2f} points "
            f"({-10 * d['estimate']:.1f} mm) more than placebo at the endpoint (95% CI {-d['ci95'][1]:.2f} to "
            f"{-d['ci95'][0]:.2f}). The drug arm's own change is {10 * s['pain_change_mean']:+.1f} mm, a mean "
            f"improvement of {-s['pain_change_pct_mean']:.0f}%, with {s['responder_30']:.0%} reaching 30% less pain "
            f"and {s['responder_50']:.0%} 50%; the SD of its change between people is "
            f"{10 * s['pain_change_sd']:.1f} mm.")


def barrier_trial() -> str:
    from gutjoint._studies.trial import shipped_power

    curve = shipped_power("barrier-support-joint-pain")
    e = curve["effect_over_uncertainty"]
    largest = curve["rows"][-1]
    n80 = curve.get("per_arm_for_80pct_over_uncertainty")
    return (f"With the shipped parameters, barrier support lowers pain by {-curve['effect_model_right']:.2f} NRS "
            f"points more than placebo over the trial (the pool of eligible people), and about "
            f"{curve['per_arm_for_80pct_model_right']:.0f} people per arm give 80% power. Over "
            f"{curve['ensemble_draws'] - curve['draws_too_few_eligible']} ensemble draws the effect is "
            f"{e['median']:+.2f} (90% interval {e['q05']:+.2f} to {e['q95']:+.2f}), and power at "
            f"{largest['per_arm']} per arm is only {largest['power_pain_over_uncertainty']:.0%}; "
            + (f"about {n80:.0f} per arm reach 80%." if n80 else "no size tried reaches 80%.")
            + f" Under {curve['draws_too_few_eligible']} of the {curve['ensemble_draws']} draws too few screened "
            "people are eligible to run the trial.")


def _rea_population(carriage: float) -> dict:
    import tempfile

    import pandas as pd

    from gutjoint._studies.population import reactive_arthritis_summary, run_population

    with tempfile.TemporaryDirectory() as out:
        run_population("reactive-arthritis", n=10_000, seed=1, out=out, workers=2, comparisons=False,
                       hla_b27_prevalence=carriage)
        return reactive_arthritis_summary(pd.read_parquet(f"{out}/subjects.parquet"))


def reactive_arthritis() -> str:
    from gutjoint._studies import priors

    us = _rea_population(priors.HLA_B27_PREVALENCE)
    fi = _rea_population(priors.HLA_B27_PREVALENCE_FINLAND)

    def ratio(r):
        return r["incidence_hla_b27"] / r["incidence_non_carriers"]

    rows = [
        ("incidence per infection", f"{fi['incidence']:.1%}", f"{us['incidence']:.1%}",
         "4.4% population-based *Salmonella* in Finland (22 of 496); 2.6% pooled (1.5-4.7)",
         "fitted at Finnish carriage (`reactive_seeding`)"),
        ("carriers' risk ratio", f"{ratio(fi):.1f}", f"{ratio(us):.1f}",
         "about 4.4 (derived from Tuompo 2013's 42% at 14% carriage); about 12 from 6 cases (Ekman 2000)",
         "set by the assumed prior shapes"),
        ("HLA-B27 among cases", f"{fi['hla_b27_share_of_cases']:.0%}", f"{us['hla_b27_share_of_cases']:.0%}",
         "42% in Finland (Tuompo 2013), 14-45% across population-based series; 80-88% in hospital series",
         "set by the prior shapes"),
        ("onset after the infection began", f"median {fi['onset_days']['q50']:.0f} days",
         f"median {us['onset_days']['q50']:.0f} days (IQR {us['onset_days']['q25']:.0f}-{us['onset_days']['q75']:.0f})",
         "1-4 weeks; median 8.5 days in one outbreak", "predicted"),
        ("lasting 6 months or more", f"{fi['share_lasting_6_months']:.0%}",
         f"{us['share_lasting_6_months']:.0%} (duration median {us['duration_days']['q50']:.0f} days)",
         "20% (guidelines) to 31-55% (outbreak cohorts)",
         "not independent: `synovial_antigen_clearance` was set from the same guidance"),
    ]
    lines = [f"| 10,000 people | Finnish carriage ({priors.HLA_B27_PREVALENCE_FINLAND:.0%}) | US carriage "
             f"({priors.HLA_B27_PREVALENCE:.1%}, the default) | published | |", "|---|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines)


def dose_response() -> str:
    from gutjoint._interfaces.calibration_report import dose_response_lines

    return "\n".join(dose_response_lines())


def timecourses() -> str:
    from gutjoint._interfaces.calibration_report import timecourse_lines

    return "\n".join(timecourse_lines())


def gut_joint() -> str:
    from gutjoint._interfaces.calibration_report import gut_joint_lines
    from gutjoint._studies.calibration import gut_joint as gj

    lines = gut_joint_lines()  # raises if the shipped fit is stale
    fit = gj.current_fit()
    assert fit is not None
    held = [r for r in fit["rows"] if r["role"] != "calibrate"]
    fitted = [r for r in fit["rows"] if r["role"] == "calibrate"]

    def count(rows, key):
        return f"{sum(r[key] for r in rows)} of {len(rows)}"

    parameters = "; ".join(
        f"`{p['parameter']}` {p['median']:.2g} (90% {p['q05']:.2g} to {p['q95']:.2g}), prior {p['prior_median']:.2g} "
        f"({p['prior_q05']:.2g} to {p['prior_q95']:.2g}), {p['width_over_prior']:.0%} of the prior's width"
        for p in fit["parameters"])
    lines += ["", f"Fitted rows inside their spans: {count(fitted, 'inside_before')} before, "
              f"{count(fitted, 'inside_after')} after; held-out rows: {count(held, 'inside_before')} before, "
              f"{count(held, 'inside_after')} after. The posterior ({fit['method']}, {fit['simulations']:,} "
              f"simulated trials): {parameters}."]
    check = fit["calibration"]
    if check:
        lines += ["", f"Simulation-based calibration over {check['people']} synthetic datasets (truths drawn from the "
                  f"prior, one simulated pair of trials each): the 90% intervals hold the truth "
                  f"{check['coverage_90'][0]:.0%} and {check['coverage_90'][1]:.0%} of the time (goal about 90%), "
                  f"and the ranks' Kolmogorov-Smirnov p-values are {check['ks_p'][0]:.2f} and {check['ks_p'][1]:.2f}."]
    back = fit["reverse_path"]
    t, f = back["table"], back["fitted"]
    lines += ["", "**The path back.** People in pain take NSAIDs, and NSAIDs open the barrier. In "
              f"{t['people']:,} general adults, those with at least moderate pain have an L:M "
              f"{t['worlds']['forward']['lm_ratio_of_means']:.2f} times the others' when nobody's NSAID use follows "
              f"their pain, and {t['worlds']['both']['lm_ratio_of_means']:.2f} times when "
              f"{back['behaviour']['value']:.0%} of them take NSAIDs regularly ({t['users']} people; "
              f"{back['behaviour']['link_grade']} link, {back['behaviour']['value_grade']} value): the path back makes "
              f"{t['reverse_share']:.0%} of that association (log scale). Under the fitted magnitudes: "
              f"{f['worlds']['forward']['lm_ratio_of_means']:.2f} and {f['worlds']['both']['lm_ratio_of_means']:.2f}, "
              f"{f['reverse_share']:.0%} from the path back."]
    return "\n".join(lines)


def gut_share_populations() -> str:
    """The gut share among people with at least moderate pain in each population of
    :data:`.gut_share.POPULATIONS`: over the ensemble's parameter sets before and after the gut-joint fit (the
    shipped :mod:`.gut_share` numbers), and between people at the table's values."""
    import numpy as np

    from gutjoint._studies import gut_share

    numbers = gut_share.shipped()
    if numbers is None:
        raise RuntimeError(gut_share.STALE)

    def between_people(scenario: str) -> str:
        share, moderate = gut_share.moderate_gut_shares(scenario, people=gut_share.PEOPLE, seed=gut_share.SEED)
        words = f"{share:.0%} with moderate pain"
        if moderate.size < gut_share.MIN_MODERATE:
            return f"{words}; too few people"
        q05, q50, q95 = np.quantile(moderate, [0.05, 0.5, 0.95])
        return f"{words}; {q50:.0%} ({q05:.0%} to {q95:.0%})"

    def band(entry: dict) -> str:
        if entry["median"] is None:
            return "too few people"
        return f"{entry['median']:.0%} ({entry['q05']:.0%} to {entry['q95']:.0%})"

    lines = ["| people | with at least moderate pain, before / after the fit | gut share among them, before the fit: "
             "median (90% of parameter sets) | after the fit | at the table's values: gut share median (90% of people) |",
             "|---|---|---|---|---|"]
    for scenario, who in gut_share.POPULATIONS.items():
        entry = numbers["populations"][scenario]
        before, after = entry["before"], entry["after"]
        lines.append(f"| {who} (`{scenario}`) | {before['moderate']['median']:.0%} / {after['moderate']['median']:.0%} "
                     f"| {band(before['gut_share'])} | {band(after['gut_share'])} | {between_people(scenario)} |")
    lines += ["", f"{numbers['people']} people of each kind (general-adult priors for their traits, the scenario's "
              f"exposures; the same people in every parameter set) under each of the ensemble's first "
              f"{numbers['draws']} parameter sets: before the fit with the two fitted magnitudes drawn from their "
              "priors, after it from their posterior. A parameter set's number is the median gut share among its "
              "people with at least moderate pain; the interval is over parameter sets, what is not known about "
              "the model. The last column is the spread between people at the table's values. Made by "
              "`gutjoint._studies.gut_share` and shipped (a test recomputes a parameter set)."]
    return "\n".join(lines)


def gut_driven_rarity() -> str:
    """How rare the built-in gut-driven person's exposures and traits are under the general-adult priors."""
    from scipy.stats import beta

    from gutjoint._studies.priors import DRAWS
    from gutjoint._studies.scenario import load_scenario

    person = load_scenario("gut-driven-joint-pain")
    levels = {w.name: w.level for w in person.inputs}
    parts = []
    for name, level in (("dysbiosis", levels["dysbiosis"]), ("barrier_insult", levels["barrier_insult"]),
                        ("cross_reactivity", person.subject["cross_reactivity"])):
        d = DRAWS[name]
        share = float(beta.sf(level, d.a, d.b))
        parts.append(f"`{name}` at least {level:g} for 1 in {1 / share:,.0f}")
    return ("The built-in `gut-driven-joint-pain` person stays as an illustration of the seed's mechanism, not a "
            "typical patient: the general-adult priors (`_studies/priors.py`, assumed shapes) draw "
            + ", ".join(parts) + " adults.")


def person_calibration() -> str:
    from gutjoint._studies import person as P

    bank, truths = P.person_bank(10_000, 31, workers=2), P.person_bank(200, 99)
    lines = ["| data supplied | 90% interval holds the true gut share | median interval width | rank uniformity "
             "(chi-square p) |", "|---|---:|---:|---:|"]
    for name, plan in P.DIARY_PLANS.items():
        c = P.simulation_based_calibration(bank, truths, plan)
        lines.append(f"| {name} | {c['coverage_90']:.1%} | {100 * c['interval_width_median']:.1f} percentage points | "
                     f"{c['uniformity_p']:.2f} |")
    return "\n".join(lines)


def person_timeline_calibration() -> str:
    from gutjoint._studies import person as P

    checks = P.timeline_calibration(P.person_bank(10_000, 31, workers=2), P.person_bank(200, 99),
                                    P.person_from_rows(P.TIMELINE_PLAN), quantities=P.TIMELINE_QUANTITIES)
    lines = ["| through a timeline with an NSAID course | 90% interval holds the truth | median interval width | "
             "rank uniformity (chi-square p) |", "|---|---:|---:|---:|"]
    for name, c in checks.items():
        label = "the gut share" if name == "gut_share" else f"`{name.removeprefix('prior_')}`"
        width = f"{100 * c['interval_width_median']:.1f} percentage points" if name == "gut_share" else \
            f"{c['interval_width_median']:.2f}"
        lines.append(f"| {label} | {c['coverage_90']:.1%} | {width} | {c['uniformity_p']:.2f} |")
    return "\n".join(lines)


def engine_structure() -> str:
    from gutjoint._numerics.codegen import lu_summary
    from gutjoint._studies.runtime import get_runtime

    compiled = get_runtime().compiled
    n = compiled.n_states
    pattern = [[False] * n for _ in range(n)]
    for i, j in compiled.jacobian_pattern:
        pattern[i][j] = True
    lu = lu_summary(pattern)
    return (f"The right-hand side, the analytic Jacobian and the outputs are generated from the SymPy definition (with "
            f"common-subexpression elimination). So are a sparse LU factorisation and solve specialised to the "
            f"Jacobian's structure ({lu['nonzeros']} non-zeros of {lu['order']} x {lu['order']}, the diagonal "
            f"included; Markowitz order, {lu['fill_ins']} fill-ins, {lu['multiply_adds']} multiply-adds).")


def enrichment() -> str:
    from gutjoint._studies import enrichment as E

    r = E.enrichment(per_arm=40, repeats=200)
    u, e = r["unselected"], r["enriched"]
    table = (f"`barrier-support-joint-pain` with {r['per_arm']} people per arm, {r['repeats']} trials each. Under the "
             f"table's values: unselected, the pain change shows (p < 0.05) in {u['power']:.0%} of trials (standard "
             f"error {u['power_se']:.0%}); enrolling only the half whose posterior gut share is at least "
             f"{r['threshold']:.0%} (after a 4-week diary, an L:M and a CRP), in {e['power']:.0%} "
             f"({e['power_se']:.0%}). The true effect against placebo is {u['effect']:+.2f} points in everyone "
             f"eligible and {e['effect']:+.2f} in the enriched half; the screening posteriors are narrow (the middle "
             f"90% of people between {r['posterior_gut_share'][0]:.0%} and {r['posterior_gut_share'][2]:.0%}).")
    ens = E.shipped()
    if ens is None:
        raise RuntimeError(E.STALE)
    used = ens["draws"] - ens["unscreenable"]
    if ens["gain_q05"] > 0:
        verdict = "Enriching helps across what the model does not know."
    elif ens["gain_q95"] < 0:
        verdict = "Enriching costs power across what the model does not know."
    else:
        verdict = ("Whether enriching helps depends on what the model does not know: no gain can be promised before "
                   "the gut-to-joint magnitudes are pinned down.")
    over = (f" Over {used} of the ensemble's first {ens['draws']} parameter sets (the pool, the bank and the trials "
            f"living each; {ens['unscreenable']} screened too few eligible people), the median power is "
            f"{ens['unselected_median']:.0%} unselected and {ens['enriched_median']:.0%} enriched; the gain is "
            f"{100 * ens['gain_median']:+.0f} percentage points at the median (90% of parameter sets "
            f"{100 * ens['gain_q05']:+.0f} to {100 * ens['gain_q95']:+.0f}; one set's Monte Carlo standard error "
            f"about {100 * ens['gain_se_median']:.0f} points, so part of that spread is the simulated trials' own "
            f"chance), and positive in {ens['helps_share']:.0%} of them. "
            + verdict)
    return table + over


PASSAGES: dict[str, Callable[[], str]] = {
    "value-grades": value_grades,
    "attribution-table": attribution_table,
    "held-out": held_out,
    "dose-response": dose_response,
    "timecourses": timecourses,
    "gut-joint": gut_joint,
    "gut-driven-rarity": gut_driven_rarity,
    "gut-share-populations": gut_share_populations,
    "person-timeline-calibration": person_timeline_calibration,
    "person-calibration": person_calibration,
    "enrichment": enrichment,
    "engine-structure": engine_structure,
    "calibration-counts": calibration_counts,
    "default-band": default_band,
    "posterior-setup": posterior_setup,
    "posterior-diagnostics": posterior_diagnostics,
    "predictive-coverage": predictive_coverage,
    "anti-tnf-trial": anti_tnf_trial,
    "barrier-trial": barrier_trial,
    "reactive-arthritis": reactive_arthritis,
}
"""Each computed passage by name: the function that writes it (Markdown, without a trailing newline)."""


def passages(text: str) -> dict[str, str]:
    """The marked passages of ``text``: name -> the text between the marks (without its trailing newline)."""
    return {m.group(1): m.group(2).rstrip("\n") for m in MARK.finditer(text)}


def render(text: str, names: set[str] | None = None) -> str:
    """``text`` with every marked passage (or those in ``names``) written anew by its function."""
    def write(m: re.Match) -> str:
        name = m.group(1)
        if names is not None and name not in names:
            return m.group(0)
        return f"<!-- computed: {name} -->\n{PASSAGES[name]()}\n<!-- /computed -->"

    return MARK.sub(write, text)


def stale(text: str) -> list[str]:
    """The names of the passages in ``text`` that differ from what their functions write today."""
    return [name for name, body in passages(text).items() if body != PASSAGES[name]()]


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    paths = [Path(a) for a in args if a != "--check"] or [Path("README.md")]
    differ = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        if check:
            differ += [f"{path}: {name}" for name in stale(text)]
        else:
            from gutjoint._files import atomic_write

            new = render(text)
            atomic_write(path, lambda tmp: tmp.write_text(new, encoding="utf-8"), field="path")
    for line in differ:
        print(f"stale: {line}")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
