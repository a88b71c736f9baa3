"""Calibration targets: what was measured in people, the tolerance, and a check of the model against it.

The numbers come from the shipped tables (``data.py``) or, where the tables give them only as text, from the
stated source. Every target is evaluated with the same parameter overrides through one :class:`Evaluation`,
which runs each underlying experiment once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gutjoint._studies import outcomes
from gutjoint._studies.calibration import data, experiments, observations
from gutjoint._studies.calibration.experiments import Evaluation
from gutjoint._studies.calibration.conditions import load_conditions

CYTOKINES = {"tnf": "tnf_pg_ml", "il6": "il6_pg_ml", "il8": "il8_pg_ml", "il10": "il10_pg_ml"}
# Peak-time windows: the stated peak time (Janum 2016) widened by one sampling interval each side,
# on the sampling grid 0, 1, 1.5, 2, 3, 4, 5, 6 h.
PEAK_WINDOWS = {"tnf": (1.0, 3.0), "il6": (1.5, 3.0), "il8": (1.5, 3.0), "il10": (2.0, 4.0)}


@dataclass(frozen=True)
class Outcome:
    value: str
    passed: bool | None  # None: out of the model's scope (stated, not hidden)
    detail: str = ""


@dataclass(frozen=True)
class Target:
    """One human result the model is held to.

    ``group``: ``calibration`` (the fit may use it) or ``validation`` (held out: chosen before any fit to it and
    never fitted, so it tests what the model predicts). ``known_miss``: why the model cannot meet it today, for a
    target it misses on purpose-stated grounds; ``check`` reports such a target as a miss, not a failure, and a
    pass once the model meets it."""

    id: str
    what: str
    expected: str
    tolerance: str
    source: str
    informs: tuple[str, ...]
    evaluate: Callable[[Evaluation], Outcome]
    group: str = "calibration"
    known_miss: str = ""
    caveat: str = ""
    """What the source shows that the target's reading of it leaves out (the report prints it beside the result)."""


def _within(x: float, lo: float, hi: float) -> bool:
    return bool(np.isfinite(x) and lo <= x <= hi)


def _cytokine(key: str) -> Callable[[Evaluation], Outcome]:
    def evaluate(ev: Evaluation) -> Outcome:
        table = data.janum_cytokines()
        hours = table["time_h"].to_numpy()
        model = experiments.at_hours(ev.bolus.frame, CYTOKINES[key], hours)
        mean, sd = table[f"{key}_mean"].to_numpy(), table[f"{key}_sd"].to_numpy()
        inside = float(np.mean(np.abs(model - mean) <= sd))
        fine = ev.bolus.frame
        peak_h = float(fine["time_days"].iloc[int(fine[CYTOKINES[key]].idxmax())] * 24)
        lo, hi = PEAK_WINDOWS[key]
        ok = inside >= 0.8 and lo <= peak_h <= hi
        return Outcome(f"{inside:.0%} of points within 1 SD; peak at {peak_h:.2f} h; peak {model.max():.0f} pg/mL "
                       f"(data {mean.max():.0f})", ok)
    return evaluate


def _temperature(ev: Evaluation) -> Outcome:
    table = data.janum_temperature()
    model = experiments.at_hours(ev.bolus.frame, "temperature_c", table["time_h"])
    inside = float(np.mean(np.abs(model - table["temperature_c_mean"]) <= table["temperature_c_sd"]))
    fine = ev.bolus.frame
    peak, peak_h = fine["temperature_c"].max(), float(fine["time_days"].iloc[int(fine["temperature_c"].idxmax())] * 24)
    ok = abs(peak - 38.92) <= 0.3 and 3.0 <= peak_h <= 4.0 and inside >= 0.8
    return Outcome(f"peak {peak:.2f} degC at {peak_h:.2f} h; {inside:.0%} of points within 1 SD", ok)


def _pain_threshold(ev: Evaluation) -> Outcome:
    hours, rel = data.janum_threshold_effect()
    model = experiments.at_hours(ev.bolus.frame, "pain_threshold_rel", hours)
    errors = np.abs(model[1:] - rel[1:])
    return Outcome(f"{(model[1] - 1):+.1%} at 2 h, {(model[2] - 1):+.1%} at 6 h (data, control-corrected, "
                   f"{rel[1] - 1:+.1%}, {rel[2] - 1:+.1%})", bool(np.all(errors <= 0.07)))


def _threshold_expected() -> str:
    """C3's expected values, from the data and the control change (:func:`data.janum_threshold_effect`)."""
    _, effect = data.janum_threshold_effect()
    table = data.janum_pain_threshold()
    raw = table["ppt_mean"].to_numpy() / table["ppt_mean"].iloc[0] - 1
    return (f"{effect[1] - 1:+.1%} at 2 h, {effect[2] - 1:+.1%} at 6 h (raw {raw[1]:+.1%}, {raw[2]:+.1%}, each "
            f"divided by the {1 + data.THRESHOLD_CONTROL_CHANGE:g} of de Goeij 2013's controls)")


def _tolerance(ev: Evaluation) -> Outcome:
    t = ev.tolerance
    ok = _within(t["tnf"], 0.91, 1.0) and _within(t["il6"], 0.72, 1.0)
    return Outcome(f"day-5 response cut by {t['tnf']:.0%} (TNF), {t['il6']:.0%} (IL-6), {t['il10']:.0%} (IL-10)", ok)


def _fat(grams: float, hours: float, lo: float, hi: float) -> Callable[[Evaluation], Outcome]:
    def evaluate(ev: Evaluation) -> Outcome:
        fold = experiments.fat_meal_fold(ev.params, grams, hours)
        return Outcome(f"x{fold:.2f} at {hours:g} h after {grams:g} g fat", _within(fold, lo, hi))
    return evaluate


def _cohort(key: str, lo: float, hi: float, fmt: str) -> Callable[[Evaluation], Outcome]:
    def evaluate(ev: Evaluation) -> Outcome:
        x = ev.cohort[key]
        return Outcome(fmt.format(x), _within(x, lo, hi) and ev.cohort["failed"] == 0)
    return evaluate


def _crp_half_life(ev: Evaluation) -> Outcome:
    from gutjoint._biology.parameters import load_parameters

    value = ev.params.get("crp_half_life", load_parameters()["crp_half_life"].value)
    return Outcome(f"{value:g} h (fixed)", value == 19.0)


def _oa(ev: Evaluation) -> Outcome:
    return Outcome(f"{ev.oa_crp_excess:+.2f} mg/L (mechanical-oa vs healthy)", _within(ev.oa_crp_excess, 0.64, 1.73))


def _alcohol(ev: Evaluation) -> Outcome:
    a = ev.alcohol
    return Outcome(f"L:M {a['lm_start']:.3f} -> {a['lm_day14']:.3f} at day 14; {1 - a['excess_left_day14']:.0%} of the "
                   "excess gone", a["excess_left_day14"] <= 0.10 and a["lm_day14"] < 0.03)


def _gfd(day_key: str, value: float) -> Callable[[Evaluation], Outcome]:
    def evaluate(ev: Evaluation) -> Outcome:
        x = ev.gfd[day_key]
        return Outcome(f"{x:.2f} of the starting ratio", _within(x, 0.8 * value, 1.2 * value))
    return evaluate


def _gfd_year(ev: Evaluation) -> Outcome:
    g = ev.gfd
    ok = g["rel_day365"] < 0.8 * g["rel_day60"] and g["lm_day365"] < 0.03
    return Outcome(f"{g['rel_day60']:.2f} at 2 months -> {g['rel_day365']:.2f} at 12 months; L:M {g['lm_day365']:.3f}", ok)


def _gfd_probe(key: str, target_id: str, probe: str) -> Callable[[Evaluation], Outcome]:
    def evaluate(ev: Evaluation) -> Outcome:
        x, value = ev.gfd[key], data.gfd_relative(target_id)
        other = (f"lactulose x{ev.gfd['lactulose_day7']:.2f}, mannitol x{ev.gfd['mannitol_day7']:.2f} at 1 week"
                 if probe == "rhamnose" else f"lactulose x{ev.gfd['lactulose_day7']:.2f} at 1 week")
        return Outcome(f"{probe} x{x:.2f} of the start ({other})", _within(x, 0.8 * value, 1.2 * value))
    return evaluate


def _zhou(ev: Evaluation) -> Outcome:
    z = ev.zhou
    _, after, _ = data.support_definition()
    ok = _within(z["lm_week8"], 0.7 * after, 1.3 * after) and abs(z["placebo_week8"] / z["lm_start"] - 1) < 0.05
    return Outcome(f"L:M {z['lm_start']:.3f} -> {z['lm_week8']:.3f} at 8 weeks (placebo {z['placebo_week8']:.3f})", ok)


def _explant(ev: Evaluation) -> Outcome:
    return Outcome("not simulated", None,
                   "out of scope: the model's cartilage law is an in vivo rate (~1-4%/yr, MRI) with no explant "
                   "culture compartment; reproducing 79% release in days would need a degradation rate ~1000x the in "
                   "vivo one. Stated, not forced.")


def _immpact(ev: Evaluation) -> Outcome:
    ok = outcomes.IMPROVEMENT_THRESHOLDS == {"minimal": 0.10, "moderate": 0.30, "substantial": 0.50}
    return Outcome("minimal 10%, moderate 30%, substantial 50% (gutjoint._studies.outcomes)", ok)


# --- results beyond the 2 ng/kg bolus (data/calibration/endotoxemia_other_studies.csv, abstract-level) -----------

LOWEST_DOSE = ("fitted to 2 ng/kg and 0.5 ng/kg, the response is graded (IL-6 x5 at 0.4, x18 at 0.8 ng/kg), but at "
               "0.2 ng/kg it stays TNF-led and fast: IL-6 rises x2.3 where people show x7, and every peak comes at "
               "~1.4 h, not 3 h. In people the lowest doses bring a slower, IL-6-led response that the model's single "
               "monocyte pathway does not make; a second, slower source of IL-6 is the candidate")


def _study(target_id: str) -> dict:
    return data.other_studies().loc[target_id].to_dict()


def _rows(target: str):
    """The observation rows of ``target`` (``observations.py``), and the model's value of each under ``ev``."""
    table = observations.observations()
    return table[table["target"] == target]


def _dillingh(ev: Evaluation) -> Outcome:
    rows = _rows("N1_dose_0p5")
    model = observations.model_values(rows, ev)
    parts, ok = [], True
    for name, observed, value in zip(("TNF", "IL-6", "IL-8"), rows["value"], model):
        ok &= observed / 2 <= value <= observed * 2
        parts.append(f"{name} x{value:.2f} (data x{observed:.2f})")
    return Outcome("0-6 h mean over rest: " + ", ".join(parts), bool(ok))


def _ppt_drop(frame, hours: float) -> float:
    return float(1 - experiments.at_hours(frame, "pain_threshold_rel", [hours])[0])


def _wegner(ev: Evaluation) -> Outcome:
    low, moderate = (_ppt_drop(ev.bolus_of(d).frame, 3.0) for d in (0.4, 0.8))
    return Outcome(f"threshold at 3 h: -{low:.1%} after 0.4, -{moderate:.1%} after 0.8 ng/kg",
                   moderate > low and moderate >= 0.05)


def _degoeij(ev: Evaluation) -> Outcome:
    change = -_ppt_drop(ev.bolus.frame, 2.0) * 100
    value, spread = data.degoeij_threshold_effect()
    return Outcome(f"{change:+.1f}% at 2 h (data over controls {value:+.1f} +- {spread:.0f}%)",
                   abs(change - value) <= 2 * spread)


def _resting_il6(ev: Evaluation) -> Outcome:
    from gutjoint._studies.simulate import resting_outputs

    il6 = resting_outputs("healthy", ev.params)["il6_pg_ml"]
    return Outcome(f"{il6:.2f} pg/mL at rest (healthy)", _within(il6, 0.71, 3.53))


def _charles(ev: Evaluation) -> Outcome:
    frame = ev.anti_tnf_in_ra
    before, day1 = frame.loc[29.75, "il6_pg_ml"], frame.loc[31.0, "il6_pg_ml"]
    return Outcome(f"RA-like IL-6 {before:.1f} -> {day1:.1f} pg/mL one day after a 90% block", day1 <= 3.53)


def held_out(ev: Evaluation, target: str) -> dict[str, float]:
    """The numbers a held-out target reads from the model (its rows in ``observations.py``), by label."""
    rows = _rows(target)
    return dict(zip(rows["label"], observations.model_values(rows, ev)))


def _in_ranges(target: str, values: dict[str, float]) -> bool:
    rows = _rows(target)
    return all(_within(values[label], low, high) for label, low, high in zip(rows["label"], rows["low"], rows["high"]))


def _krabbe(ev: Evaluation) -> Outcome:
    v = held_out(ev, "V1_dose_0p2")
    return Outcome(f"TNF x{v['TNF peak fold']:.1f} at {v['TNF peak time, h']:.1f} h, IL-6 x{v['IL-6 peak fold']:.1f} "
                   f"at {v['IL-6 peak time, h']:.1f} h (data x2 and x7 at 3 h); fever +{v['fever, degC']:.2f} degC",
                   _in_ranges("V1_dose_0p2", v))


def _high_dose_timing(ev: Evaluation) -> Outcome:
    v = held_out(ev, "V2_timing_4ngkg")
    return Outcome("peaks at " + ", ".join(f"{k.split(' peak')[0]} {t:.1f} h" for k, t in v.items()),
                   _in_ranges("V2_timing_4ngkg", v))


def _elliott(ev: Evaluation) -> Outcome:
    v = held_out(ev, "V3_anti_tnf_crp")
    return Outcome(f"CRP -{v['CRP fall by week 6']:.0%} by week 6 (data: median 39.5 -> 8 mg/L, -80%)",
                   _in_ranges("V3_anti_tnf_crp", v))


INNATE = ("monocyte_activation", "monocyte_deactivation", "lps_half_activation", "tnf_activation_boost",
          "tnf_half_activation", "tnf_per_monocyte", "il6_per_monocyte", "il8_per_monocyte", "il10_per_monocyte",
          "il10_half_inhibition", "il10_half_inhibition_il6_il8", "il6_tnf_upregulation", "il8_tnf_upregulation",
          "il10_il6_upregulation")
BASAL = ("tnf_basal", "il6_basal", "il6_clearance", "il8_clearance")
FEVER = ("tnf_half_fever", "il6_half_fever", "fever_max")
THRESHOLD = ("threshold_drop_per_lps", "threshold_recovery")
TOLERANCE = ("tolerance_induction", "tolerance_max")
BARRIER = ("tj_repair_rate", "structural_repair_rate", "injury_per_insult", "lm_unrestricted", "mannitol_villus_loss",
           "mannitol_dysfunction_loss", "absorptive_recovery_rate")
SUPPORT = ("support_repair_boost", "support_drive_relief")

JANUM = "Janum 2016 Innate Immun 22:546 (data/calibration, synthetic rows excluded)"
TARGETS: tuple[Target, ...] = (
    *(Target(f"C1_{k}", f"plasma {k.upper()} after 2 ng/kg IV LPS", "Janum 2016 mean +- SD, 0-6 h",
             ">= 80% of points within 1 SD; peak time within one sampling interval", JANUM, INNATE + BASAL + TOLERANCE,
             _cytokine(k)) for k in CYTOKINES),
    Target("C2_temperature", "body temperature after 2 ng/kg IV LPS", "peak 38.92 degC at 3.5 h",
           "peak +-0.3 degC, at 3-4 h; >= 80% of points within 1 SD", JANUM, FEVER, _temperature),
    Target("C3_pain_threshold", "pressure-pain threshold after 2 ng/kg IV LPS, over the change without it",
           _threshold_expected(),
           "+-7 percentage points", JANUM, THRESHOLD, _pain_threshold,
           caveat="control-corrected, derived: Janum 2016 has no control arm, so the raw before/after change also "
                  "holds the fall that repeated testing brings by itself; de Goeij 2013's controls fell 7 +- 3% "
                  "(SEM) in 2 h, measured at 2 h only and assumed to hold at 6 h. Fitted to the raw change, the "
                  "model's endotoxin effect on the threshold was about 1.5 times too large"),
    Target("tolerance", "cytokine response to the 5th daily 2 ng/kg dose vs the 1st", "TNF -97 +- 3%, IL-6 -88 +- 8%",
           "within 2 SD: TNF 91-100%, IL-6 72-100%", "Crit Care Med 2009 (docs/literature-notes.md)", TOLERANCE,
           _tolerance),
    Target("C4_fat_meal", "plasma endotoxin after a high-fat meal (50 g butter ~ 40 g fat)", "x1.5 at 4 h",
           "fold 1.3-1.7", "Erridge 2007 Am J Clin Nutr 86:1286", ("lps_per_fat",), _fat(40.0, 4.0, 1.3, 1.7)),
    Target("C4_cream", "plasma endotoxin after 33 g fat (cream)", "+45 +- 17% at 3 h", "fold 1.28-1.62",
           "Deopurkar 2010 Diabetes Care 33:991", ("lps_per_fat",), _fat(33.0, 3.0, 1.28, 1.62)),
    Target("C5_crp_median", "CRP in the general adult population (reference cohort)", "median 0.8-2.1 mg/L",
           "within range", "Wilkins 1998; NHANES 1999-2002 (population_targets.csv)", ("crp_max", "il6_per_metabolic"),
           _cohort("crp_median", 0.8, 2.1, "median {:.2f} mg/L")),
    Target("C5_crp_share", "share of adults with CRP > 3 mg/L (reference cohort)", "32-37%", "+-5 points: 27-42%",
           "Ong 2013; Front Med 2023 (population_targets.csv)", ("crp_max", "il6_per_metabolic"),
           _cohort("crp_share_above_3", 0.27, 0.42, "{:.1%}")),
    Target("C5_crp_half_life", "CRP plasma half-life", "19 h", "fixed, not fitted", "Vigushin 1993 via Wilkins 1998",
           ("crp_half_life",), _crp_half_life),
    Target("healthy_lm", "L:M in healthy adults (reference cohort, exposures removed)", "median 0.014 (0.005-0.027)",
           "median within 0.008-0.025", "Hirsch 1997 (population_targets.csv)", ("lm_pore", "lm_leak"),
           _cohort("healthy_lm_median", 0.008, 0.025, "median {:.4f}")),
    Target("baseline_lps", "fasting plasma endotoxin in healthy adults (reference cohort)", "8.2 pg/mL (IQR 3.4-13.5)",
           "median within the IQR", "Erridge 2007", ("lps_baseline",),
           _cohort("healthy_lps_median", 3.4, 13.5, "median {:.1f} pg/mL")),
    Target("oa_crp_excess", "hs-CRP in knee OA vs controls", "+1.19 mg/L (95% CI 0.64-1.73)", "within the CI",
           "Jin 2015 Ann Rheum Dis 74:703", ("il6_per_synovitis",), _oa),
    Target("C6_alcohol", "L:M after stopping a chronic tight-junction stressor (alcohol)", "normal (<0.03) by 7-14 d",
           ">= 90% of the excess gone by day 14",
           "Keshavarzian 1994 Am J Gastroenterol 89:2205 (abstract); Bjarnason 1984 Lancet", BARRIER, _alcohol,
           caveat="the source prints no L:M values in its abstract (the full text could not be read): 18 alcoholics "
                  "tested within 3 days of their last drink had a higher L:M than 20 controls, from lower mannitol "
                  "uptake with normal lactulose uptake, which the authors read as no rise in permeability, and both "
                  "were normal again after 7-14 days sober. The model reaches the same time course through the "
                  "tight junctions closing, a mechanism the source does not support, and Hirsch 1997 (Rev Med Chil "
                  "125:653) found no L:M rise at day 3 of abstinence (medians 0.011 in 19 alcoholics, 0.014 in 18 "
                  "controls). So C6 constrains tj_repair_rate (and switches injury_per_insult off) through a reading "
                  "of the data the data do not carry; it is kept until the barrier block is refitted with an "
                  "absorptive-recovery reading of it, and its pull on both values is stated with them"),
    Target("C7_gfd_week1", "coeliac L:R on a gluten-free diet, 1 week", f"{data.gfd_relative('gfd_week1'):g} of the start",
           "+-20%", "Clin Sci 2001;100:379", BARRIER, _gfd("rel_day7", data.gfd_relative("gfd_week1"))),
    Target("C7_gfd_month2", "coeliac L:R on a gluten-free diet, 2 months",
           f"{data.gfd_relative('gfd_month2'):g} of the start", "+-20%", "Clin Sci 2001;100:379", BARRIER,
           _gfd("rel_day60", data.gfd_relative("gfd_month2"))),
    Target("C7_gfd_month12", "coeliac barrier at 12 months", "still recovering after month 2; normal by ~1 year",
           "ratio at 12 months < 0.8 x ratio at 2 months, and L:M < 0.03", "Clin Sci 2001; Duerksen 2005", BARRIER,
           _gfd_year),
    Target("C7_gfd_rhamnose_month3", "coeliac rhamnose uptake on a gluten-free diet, 3 months (model: mannitol)",
           f"x{data.gfd_relative('gfd_rhamnose_month3'):g} of the start (6.6% -> 15.4%)", "+-20%",
           "Clin Sci 2001;100:379", BARRIER, _gfd_probe("mannitol_day90", "gfd_rhamnose_month3", "rhamnose")),
    Target("C7_gfd_lactulose_month12", "coeliac lactulose permeation on a gluten-free diet, 12 months",
           f"x{data.gfd_relative('gfd_lactulose_month12'):g} of the start (3.4% -> 0.8%)", "+-20%",
           "Clin Sci 2001;100:379", BARRIER, _gfd_probe("lactulose_day365", "gfd_lactulose_month12", "lactulose")),
    Target("barrier_support", "L:M with barrier_support = 1 in PI-IBS-D (Zhou 2019 glutamine arm)",
           "0.11 -> 0.05 at 8 weeks; placebo unchanged", "0.035-0.065; placebo within 5%", "Zhou 2019 Gut 68:996",
           SUPPORT, _zhou),
    Target("C8_explant", "collagen release from cartilage explants under IL-1/TNF + OSM", "up to 79% at plateau",
           "+-10 points", "Morgan 2006; Cawston 1998", (), _explant),
    Target("immpact", "clinically important pain improvement thresholds (0-10 NRS)", "10-20% / 30% / 50%",
           "definition", "Dworkin 2008 J Pain 9:105", (), _immpact),
    Target("N1_dose_0p5", "TNF, IL-6, IL-8 over 0-6 h after 0.5 ng/kg IV LPS, over placebo",
           "+413%, +288%, +254%", "within a factor of 2 of each ratio (n = 6, abstract-level)",
           _study("dillingh2014_tnf")["study"], INNATE + BASAL, _dillingh),
    Target("N2_threshold_dose", "pressure-pain threshold at 3 h after 0.4 vs 0.8 ng/kg",
           "lower only after 0.8 ng/kg", "fall larger after 0.8 than 0.4, and >= 5% after 0.8",
           _study("wegner2014_ppt")["study"], THRESHOLD, _wegner),
    Target("N3_threshold_2ngkg", "pressure-pain threshold 2 h after 2 ng/kg (a second cohort), over its controls",
           "{:+.1f} +- {:.0f}% (derived: -20 +- 4% with endotoxin, -7 +- 3% without, SEMs combined)".format(
               *data.degoeij_threshold_effect()),
           "within 2 x the spread", _study("degoeij2013_ppt")["study"], THRESHOLD, _degoeij),
    Target("N4_resting_il6", "plasma IL-6 at rest in healthy adults", "median 1.47 pg/mL (IQR 0.71-3.53)",
           "within the IQR", _study("colaus2011_il6")["study"], BASAL, _resting_il6),
    Target("N5_anti_tnf_il6", "serum IL-6 one day after a TNF blocker in rheumatoid arthritis",
           "back to normal within 24 h", "<= 3.53 pg/mL (the healthy upper quartile) at day 1",
           _study("charles1999_il6")["study"], ("synovial_il6_tnf_share",), _charles,
           known_miss="the RA-like subject's IL-6 comes mostly from synovitis, and only the TNF-dependent share of it "
                      "(synovial_il6_tnf_share, assumed 0.6) stops at once; the rest falls with the synovitis over "
                      "weeks. The share is not yet fitted to the time course (Charles 1999 full text not read)"),
    Target("V1_dose_0p2", observations.HELD_OUT_WHAT["V1_dose_0p2"], "TNF x2, IL-6 x7, both at 3 h; no fever",
           "TNF x1-4, IL-6 x3.5-14, peaks at 2-4 h, fever < 0.3 degC", _study("krabbe2005_tnf")["study"], (),
           _krabbe, group="validation", known_miss=LOWEST_DOSE),
    Target("V2_timing_4ngkg", observations.HELD_OUT_WHAT["V2_timing_4ngkg"],
           "TNF 1.5-2 h, IL-6 and IL-10 3 h, temperature 4 h", "each within about 0.75 h",
           _study("high_dose_timing")["study"], (), _high_dose_timing, group="validation"),
    Target("V3_anti_tnf_crp", observations.HELD_OUT_WHAT["V3_anti_tnf_crp"],
           "median -80% (39.5 -> 8 mg/L)", "a fall of 65-95%", _study("elliott1993_crp")["study"], (), _elliott,
           group="validation"),
)
GROUPS = ("calibration", "validation")


def verdict(target: Target, outcome: Outcome) -> str:
    """``pass``, ``FAIL``, ``miss`` (a stated known miss: ``target.known_miss`` says why) or ``out of scope``."""
    if outcome.passed is None:
        return "out of scope"
    if outcome.passed:
        return "pass"
    return "miss" if target.known_miss else "FAIL"


def check(params: dict[str, float] | None = None, conditions: dict[str, float] | None = None
          ) -> list[tuple[Target, Outcome]]:
    """Evaluate every target with ``params`` (default: the shipped parameters) and the calibration
    ``conditions`` (default: the shipped nuisance levels), fitting nothing."""
    ev = Evaluation(dict(params or {}), dict(conditions or load_conditions()))
    return [(target, target.evaluate(ev)) for target in TARGETS]
