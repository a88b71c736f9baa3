"""The gut–joint model, written once as a symbolic definition.

Every other representation (the compiled right-hand side and Jacobian, the SciPy reference, later the SBML
export and the batched engine) is generated from :func:`build_model`. Time runs in **days**; rate constants
that the literature gives per hour are converted when the parameter vector is built (see ``parameters.py``).

The seven modules:

1. lumen and microbiome (algebraic: luminal LPS load, SCFA supply)
2. barrier (leak-pathway opening ``tj_open``; epithelial damage ``mucosal_damage``; lactulose:mannitol)
3. translocation and circulation (plasma LPS, circulating antigen, gut fat from meals)
4. innate immunity (endotoxin tolerance, activated monocytes, TNF, IL-6, IL-8, IL-10, fever, CRP,
   the acute pressure-pain threshold)
5. adaptive immunity (regulatory tone, effector activity, slow memory, joint autoreactivity)
6. joint (synovitis, nociceptor sensitization, cartilage)
7. outputs (pain on a 0–10 NRS split into four sources, morning stiffness)

Structure of the innate core after Dobreva et al. 2021 and Windoloski et al. 2024 (endotoxin activates
monocytes through a Hill function; IL-10 inhibits, TNF up-regulates IL-6/IL-8, IL-6 up-regulates IL-10;
pain threshold driven by the endotoxin signal, not by cytokines). Barrier pathways after Odenwald & Turner
2017. References and grades for every link live in ``links.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import sympy as sp

from gutjoint._errors import ModelDefinitionError
from gutjoint._biology.parameters import ParameterTable, load_parameters
from gutjoint._biology.species import (
    DOSE_RATE_INPUTS,
    DOSE_ROUTES,
    HOURS_PER_DAY,
    MODEL_OUTPUTS,
    OUTPUT_UNITS,
    PUBLIC_INPUTS,
    STATE_NAMES,
    STATES,
    Variable,
)


@dataclass(frozen=True)
class Model:
    """The symbolic model: symbols, right-hand side and output expressions (all SymPy)."""

    states: tuple[Variable, ...]
    state_symbols: tuple[sp.Symbol, ...]
    input_names: tuple[str, ...]
    input_symbols: tuple[sp.Symbol, ...]
    parameter_names: tuple[str, ...]
    parameter_symbols: tuple[sp.Symbol, ...]
    rhs: tuple[sp.Expr, ...]
    outputs: dict[str, sp.Expr]
    output_units: dict[str, str]
    parameters: ParameterTable = field(repr=False)
    intermediates: dict[str, sp.Expr] = field(default_factory=dict, repr=False)
    """Named intermediate quantities (joint_cytokines, mimicry, raw_pain, ...), each in terms of the states,
    parameters, inputs and earlier intermediates; ``compact_rhs``/``compact_outputs`` use them, while ``rhs`` and
    ``outputs`` are fully expanded (what the engine compiles)."""
    compact_rhs: tuple[sp.Expr, ...] = field(default=(), repr=False)
    compact_outputs: dict[str, sp.Expr] = field(default_factory=dict, repr=False)

    @property
    def n_states(self) -> int:
        return len(self.states)

    def state_index(self, name: str) -> int:
        return STATE_NAMES.index(name)

    def symbolic_system(self):
        """The model as a biology-free :class:`~gutjoint._numerics.codegen.SymbolicSystem`."""
        from gutjoint._numerics.codegen import SymbolicSystem

        return SymbolicSystem(
            states=self.state_symbols,
            parameters=self.parameter_symbols,
            inputs=self.input_symbols,
            rhs=self.rhs,
            outputs=tuple(self.outputs.values()),
        )


# Hill coefficients are structural (integers keep the Jacobian finite at zero). Endotoxin sensing uses 2
# (assumed): resting bioactive endotoxin (<1 pg/mL) then activates almost nothing while a 2 ng/kg bolus
# (+50 pg/mL) activates strongly; Dobreva 2021 used 1, with no resting endotoxin in that model. The TNF boost
# of activation uses 3 (Windoloski 2024: 3.16).
LPS_HILL = 2


def _hill(x, k, n=1):
    """Saturating activation x^n / (k^n + x^n)."""
    return x**n / (k**n + x**n)


class _Terms:
    """The symbols of one build of the model, and its named intermediates in the order they are defined (the
    SBML and Antimony exports and the model report show them by name)."""

    def __init__(self, table: ParameterTable, input_names: tuple[str, ...]):
        self.P = {name: sp.Symbol(name, real=True) for name in table.names}
        self.X = {s.name: sp.Symbol(s.name, real=True) for s in STATES}
        self.U = {name: sp.Symbol(f"u_{name}", real=True) for name in input_names}
        self.named: dict[sp.Symbol, sp.Expr] = {}

    def p(self, name: str) -> sp.Symbol:
        return self.P[name]

    def x(self, name: str) -> sp.Symbol:
        return self.X[name]

    def u(self, name: str) -> sp.Symbol:
        return self.U[name]

    def name(self, label: str, expr: sp.Expr) -> sp.Symbol:
        """A readable intermediate: ``label`` stands for ``expr`` from here on."""
        symbol = sp.Symbol(label, real=True)
        self.named[symbol] = expr
        return symbol

    def dose_rate(self, route: str) -> sp.Expr:
        """An infusion, from its dose unit per hour into its state's unit per day."""
        r = DOSE_ROUTES[route]
        return self.u(r.rate_input) * sp.Float(HOURS_PER_DAY) * sp.sympify(r.factor_formula(), locals=self.P)

    def held(self, label: str, source: str, signal, reference) -> sp.Symbol:
        """A pain source's signal into the joint; attribution (_studies/attribution.py) holds it at its healthy
        reference by setting ``keep_<source> = 0`` (1 in every ordinary run)."""
        keep = self.p(f"keep_{source}")
        return self.name(label, keep * signal + (1 - keep) * reference)


def _gut(t: _Terms, rhs: dict) -> dict:
    """Modules 1-3: lumen and microbiome, the barrier and its probes, translocation and circulation. Returns the
    quantities later modules read."""
    p, x, u, name = t.p, t.x, t.u, t.name
    H = sp.Float(HOURS_PER_DAY)
    # 1. Lumen and microbiome -----------------------------------------------------------------------------
    luminal_lps = name("luminal_lps", 1 + p("lum_lps_per_dysbiosis") * u("dysbiosis") + p("lum_lps_per_high_fat") * u("high_fat_diet"))
    scfa = name("scfa_supply", 1 - p("scfa_loss_per_dysbiosis") * u("dysbiosis"))

    # 2. Barrier -------------------------------------------------------------------------------------------
    # TNF's biological activity: the one quantity every TNF action reads, so a blocker reaches all of them (the
    # barrier, monocyte activation, IL-6/IL-8 up-regulation, fever and the joint); only TNF's own balance uses x("tnf")
    tnf_active = name("tnf_active", x("tnf") * (1 - u("anti_tnf")))
    support = u("barrier_support")
    repair_boost = name("repair_boost", 1 + p("support_repair_boost") * support)
    tj_drive = (
        p("tj_per_dysbiosis") * u("dysbiosis")
        + p("tj_per_insult") * u("barrier_insult")
        + p("tj_per_infection") * u("enteric_infection")
        + p("tj_per_metabolic") * u("metabolic_stress")
        + p("tj_per_tnf") * _hill(tnf_active, p("tnf_half_tj"))
    )
    tj_target = name("tj_target", 1 + tj_drive * (1 - p("support_drive_relief") * support))
    rhs["tj_open"] = p("tj_repair_rate") * p("barrier_resilience") * repair_boost * (tj_target - x("tj_open"))

    injury = name("epithelial_injury", p("injury_per_infection") * u("enteric_infection") + p("injury_per_insult") * u("barrier_insult"))
    rhs["mucosal_damage"] = injury * (1 - x("mucosal_damage")) - (
        p("structural_repair_rate") * p("barrier_resilience") * repair_boost * x("mucosal_damage")
    )
    # Enterocyte absorptive function: lost while epithelial injury goes on and regained within days once it stops,
    # long before the villi regrow (rhamnose uptake rises early on a gluten-free diet while lactulose permeation
    # falls over a year and villus area is still 48% of normal at 6 months: Clin Sci 2001;100:379).
    absorptive_target = name("absorptive_target", _hill(injury, p("injury_half_absorptive")))
    rhs["absorptive_loss"] = (p("absorptive_recovery_rate") * p("barrier_resilience")
                              * (absorptive_target - x("absorptive_loss")))
    # The probes. Lactulose crosses by the pore, leak and unrestricted pathways; mannitol (or rhamnose: both small
    # monosaccharides taken up across the villus surface) by the absorptive surface, which villus loss (slow) and
    # enterocyte dysfunction (fast) both reduce. Both relative to a healthy, unstressed gut.
    lactulose = name("lactulose_uptake", p("lm_pore") + p("lm_leak") * x("tj_open")
                     + p("lm_unrestricted") * x("mucosal_damage"))
    mannitol = name("mannitol_uptake", (1 - p("mannitol_villus_loss") * x("mucosal_damage"))
                    * (1 - p("mannitol_dysfunction_loss") * x("absorptive_loss")))

    # 3. Translocation and circulation ----------------------------------------------------------------------
    k_lps = p("lps_clearance") * H
    paracellular_lps = name("paracellular_lps", x("tj_open") + p("lps_unrestricted_gain") * x("mucosal_damage"))
    gastric_emptying = name("gastric_emptying", p("gastric_emptying_rate") * H * x("stomach_fat"))  # g/day
    fat_absorption = name("fat_absorption", p("fat_absorption_rate") * H * x("gut_fat"))  # g/day
    rhs["stomach_fat"] = t.dose_rate("fat_meal") - gastric_emptying
    rhs["gut_fat"] = gastric_emptying - fat_absorption
    gut_lps_entry = k_lps * p("lps_baseline") * luminal_lps * paracellular_lps + p("lps_per_fat") * fat_absorption
    rhs["lps_gut"] = gut_lps_entry - k_lps * x("lps_gut")  # pg/mL/day
    rhs["lps_iv"] = t.dose_rate("lps_iv") - k_lps * x("lps_iv")

    antigen_entry = name("antigen_entry", (u("diet_antigen") + p("antigen_per_dysbiosis") * u("dysbiosis")) * (
        x("tj_open") + p("antigen_unrestricted_gain") * x("mucosal_damage")
    ))
    rhs["antigen"] = p("antigen_clearance") * (antigen_entry - x("antigen"))
    return {"scfa": scfa, "tnf_active": tnf_active, "lactulose": lactulose, "mannitol": mannitol,
            "plasma_lps": x("lps_gut") + x("lps_iv")}


def _innate(t: _Terms, rhs: dict, gut: dict) -> None:
    """Module 4: endotoxin tolerance, activated monocytes, TNF, IL-6, IL-8, IL-10, fever, CRP and the acute
    pressure-pain threshold."""
    p, x, name = t.p, t.x, t.name
    H = sp.Float(HOURS_PER_DAY)
    tnf_active = gut["tnf_active"]
    bioactive_lps = name("bioactive_lps", x("lps_iv") + p("gut_lps_bioactivity") * x("lps_gut"))
    lps_signal_raw = name("lps_signal_raw", _hill(bioactive_lps, p("lps_half_activation"), LPS_HILL))
    responsiveness = 1 - p("tolerance_max") * x("tolerance")
    lps_signal = name("lps_signal", lps_signal_raw * responsiveness)
    rhs["tolerance"] = p("tolerance_induction") * lps_signal_raw * (1 - x("tolerance")) - p("tolerance_decay") * x(
        "tolerance"
    )
    rhs["monocytes_active"] = H * (
        p("monocyte_activation") * lps_signal
        * (1 + p("tnf_activation_boost") * _hill(tnf_active, p("tnf_half_activation"), 3))
        * (1 - x("monocytes_active"))
        - p("monocyte_deactivation") * x("monocytes_active")
    )
    il10_brake_tnf = name("il10_brake_tnf", 1 / (1 + x("il10") / p("il10_half_inhibition")))
    il10_brake = name("il10_brake", 1 / (1 + x("il10") / p("il10_half_inhibition_il6_il8")))
    tnf_boost = name("tnf_boost", _hill(tnf_active, p("tnf_half_upregulation")))
    synovial_spill = x("synovitis")
    rhs["tnf"] = p("tnf_clearance") * H * (
        p("tnf_basal")
        + p("tnf_per_monocyte") * x("monocytes_active") * il10_brake_tnf
        + p("tnf_per_synovitis") * synovial_spill
        + p("tnf_per_metabolic") * t.u("metabolic_stress")
        - x("tnf")
    )
    rhs["il6"] = p("il6_clearance") * H * (
        p("il6_basal")
        + p("il6_per_monocyte") * x("monocytes_active") * (1 + p("il6_tnf_upregulation") * tnf_boost) * il10_brake
        # inflamed synovium makes IL-6 largely under TNF made there, so a TNF blocker cuts that share at once
        + p("il6_per_synovitis") * synovial_spill * (1 - p("synovial_il6_tnf_share") * t.u("anti_tnf"))
        + p("il6_per_metabolic") * t.u("metabolic_stress")
        - x("il6")
    )
    rhs["il8"] = p("il8_clearance") * H * (
        p("il8_basal")
        + p("il8_per_monocyte") * x("monocytes_active") * (1 + p("il8_tnf_upregulation") * tnf_boost) * il10_brake
        - x("il8")
    )
    rhs["il10"] = p("il10_clearance") * H * (
        p("il10_basal")
        + p("il10_per_monocyte") * x("monocytes_active") * (1 + p("il10_il6_upregulation") * _hill(x("il6"), p("il6_half_il10")))
        - x("il10")
    )
    pyrogen = name("pyrogen", tnf_active / p("tnf_half_fever") + x("il6") / p("il6_half_fever"))
    rhs["temperature"] = (H / p("fever_time_constant")) * (
        p("temperature_setpoint") + p("fever_max") * pyrogen / (1 + pyrogen) - x("temperature")
    )
    k_crp = sp.log(2) / p("crp_half_life") * H
    rhs["crp"] = k_crp * (p("crp_basal") + p("crp_max") * _hill(x("il6"), p("il6_half_crp")) - x("crp"))
    rhs["pain_threshold"] = H * (
        p("threshold_recovery") * (1 - x("pain_threshold")) - p("threshold_drop_per_lps") * lps_signal * x("pain_threshold")
    )


def _adaptive(t: _Terms, rhs: dict, gut: dict) -> None:
    """Module 5: regulatory tone, effector activity, slow memory, molecular mimicry, antigen in the joint and joint
    autoreactivity."""
    p, x, u, name = t.p, t.x, t.u, t.name
    treg_target = name("treg_target", 1 - p("treg_scfa_share") * (1 - gut["scfa"]))
    rhs["treg"] = p("treg_rate") * (treg_target - x("treg"))
    resolution = p("immune_resolution")  # a person's pace of immune and nociceptive resolution
    adjuvant = name("adjuvant", 1 + p("adjuvant_gain") * (_hill(x("il6"), p("il6_half_adjuvant")) - p("adjuvant_reference")))
    rhs["effector"] = resolution * p("effector_rate") * (x("antigen") * adjuvant / x("treg") - x("effector"))
    rhs["memory"] = resolution * p("memory_rate") * (x("effector") - x("memory"))
    # cross-reactive T cells: effector cells while antigen drives them, memory cells after
    cross_reactive_t = name("cross_reactive_t", p("mimicry_effector_share") * x("effector") + (1 - p("mimicry_effector_share")) * x("memory"))
    mimicry = name("mimicry", p("cross_reactivity") * _hill(cross_reactive_t, p("memory_half_mimicry"), 2))
    # Reactive arthritis: during an enteric infection, bacterial antigen (LPS, not live bacteria) reaches the joint
    # and stays in synovial cells (Granfors 1989 N Engl J Med 320:216; Granfors 1990 Lancet 335:685), where it
    # drives a local immune response (the joint's immune source, below). How much reaches and how long it stays is the person's
    # reactive_susceptibility (in HLA-B27-expressing monocytic cells Salmonella is eliminated more slowly: in vitro).
    synovial_seeding = name("synovial_seeding", p("reactive_seeding") * p("reactive_susceptibility")
                            * u("enteric_infection") * (x("tj_open") + p("antigen_unrestricted_gain") * x("mucosal_damage")))
    antigen_persistence = name("synovial_antigen_persistence",
                               1 + p("persistence_per_susceptibility") * p("reactive_susceptibility"))
    rhs["synovial_antigen"] = synovial_seeding - (
        resolution * p("synovial_antigen_clearance") / antigen_persistence * x("synovial_antigen"))
    rhs["autoreactivity"] = resolution * p("autoreactivity_rate") * (mimicry + p("autoimmunity") - x("autoreactivity"))


def _joint_and_pain(t: _Terms, rhs: dict, gut: dict) -> dict[str, sp.Expr]:
    """Modules 6-7: synovitis, nociceptor sensitization and cartilage; pain on a 0-10 NRS from four sources, and
    morning stiffness. Each pain source reaches the joint through one signal (:meth:`_Terms.held`). Returns the
    outputs, in :data:`MODEL_OUTPUTS` order."""
    p, x, u, name = t.p, t.x, t.u, t.name
    tnf_active = gut["tnf_active"]
    resolution = p("immune_resolution")
    # 6. Joint -----------------------------------------------------------------------------------------------
    joint_cytokines = t.held("joint_cytokines", "inflammation", _hill(tnf_active, p("tnf_half_joint")) + _hill(x("il6"), p("il6_half_joint")),
                             p("reference_joint_cytokines"))
    # the immune source: joint-directed autoreactivity plus the local response to bacterial antigen in the joint
    autoreactivity = t.held("joint_autoreactivity", "immune", x("autoreactivity") + x("synovial_antigen"),
                            p("reference_autoreactivity"))
    wear = 1 - x("cartilage")
    felt_wear = t.held("felt_matrix_loss", "cartilage", wear, 0)
    felt_load = t.held("felt_load", "cartilage", p("mechanical_load"), p("reference_mechanical_load"))
    metabolic = t.held("felt_metabolic_stress", "metabolic", u("metabolic_stress"), 0)
    syn_parts = {
        "inflammation": p("synovitis_per_cytokine") * joint_cytokines,
        # autoreactive synovitis is carried partly by TNF made in the joint, which anti-TNF drugs also block
        "immune": p("synovitis_per_autoreactivity") * autoreactivity * (1 - p("synovial_tnf_dependence") * u("anti_tnf")),
        "cartilage": p("synovitis_per_wear") * felt_load * (p("debris_floor") + felt_wear),
        "metabolic": p("synovitis_per_metabolic") * metabolic,
    }
    syn_target = name("synovitis_target", sum(syn_parts.values()))
    rhs["synovitis"] = resolution * p("synovitis_rate") * (syn_target - x("synovitis"))
    rhs["sensitization"] = resolution * p("sensitization_rate") * (
        1 + p("sensitization_per_cytokine") * joint_cytokines + p("sensitization_per_synovitis") * x("synovitis")
        - x("sensitization")
    )
    degradation = name("degradation", (
        p("wear_per_load") * p("mechanical_load")
        + p("wear_per_synovitis") * x("synovitis")
        + p("wear_per_metabolic") * u("metabolic_stress")
    ) / 365.0)
    rhs["cartilage"] = -degradation * x("cartilage") + p("cartilage_repair") / 365.0 * wear

    # 7. Outputs: pain from four sources ---------------------------------------------------------------------
    syn_pain = name("synovitis_pain", p("pain_per_synovitis") * x("synovitis"))
    sources = {
        "inflammation": syn_pain * syn_parts["inflammation"] / syn_target + p("pain_per_cytokine") * joint_cytokines,
        "immune": syn_pain * syn_parts["immune"] / syn_target + p("pain_per_autoreactivity") * autoreactivity,
        "cartilage": syn_pain * syn_parts["cartilage"] / syn_target + p("pain_per_wear") * felt_wear,
        "metabolic": syn_pain * syn_parts["metabolic"] / syn_target + p("pain_per_metabolic") * metabolic,
    }
    sources = {source: name(f"source_{source}", term) for source, term in sources.items()}
    amplification = name("amplification", p("pain_sensitivity") * x("sensitization"))
    raw_pain = name("raw_pain", amplification * sum(sources.values()))
    pain_nrs = 10 * raw_pain / (raw_pain + p("pain_half_nrs"))
    stiff_drive = x("synovitis") + p("stiffness_per_wear") * wear
    stiffness = p("stiffness_max") * _hill(stiff_drive, p("stiffness_half"), 3)

    outputs: dict[str, sp.Expr] = {
        "lm_ratio": gut["lactulose"] / gut["mannitol"],
        "lps_pg_ml": gut["plasma_lps"],
        "tnf_pg_ml": x("tnf"),
        "il6_pg_ml": x("il6"),
        "il8_pg_ml": x("il8"),
        "il10_pg_ml": x("il10"),
        "crp_mg_l": x("crp"),
        "temperature_c": x("temperature"),
        "pain_threshold_rel": x("pain_threshold"),  # divided by the subject's resting value downstream
        "autoreactivity": x("autoreactivity"),
        "synovitis": x("synovitis"),
        "sensitization": x("sensitization"),
        "cartilage": x("cartilage"),
        "pain_nrs": pain_nrs,
        "stiffness_min": stiffness,
    }
    # Extra columns after the pinned ones: the pain split (NRS points, summing to pain_nrs) and a few states.
    total_source = sum(sources.values())
    for source, term in sources.items():
        outputs[f"pain_{source}"] = pain_nrs * term / total_source
    outputs.update(
        tj_open=x("tj_open"), mucosal_damage=x("mucosal_damage"), absorptive_loss=x("absorptive_loss"),
        lactulose_rel=gut["lactulose"] / (p("lm_pore") + p("lm_leak")), mannitol_rel=gut["mannitol"],
        antigen=x("antigen"), tolerance=x("tolerance"), treg=x("treg"), effector=x("effector"), memory=x("memory"),
        synovial_antigen=x("synovial_antigen"),
    )
    return outputs


def build_model(table: ParameterTable | None = None) -> Model:
    """The symbolic gut–joint model of ``table`` (default: the parameter table as it is on disk now), built module
    by module (see the module docstring), once per table."""
    return _build_model(table or load_parameters())


@lru_cache(maxsize=2)
def _build_model(table: ParameterTable) -> Model:
    input_names = PUBLIC_INPUTS + tuple(v.name for v in DOSE_RATE_INPUTS)
    t = _Terms(table, input_names)
    rhs: dict[str, sp.Expr] = {}
    gut = _gut(t, rhs)
    _innate(t, rhs, gut)
    _adaptive(t, rhs, gut)
    outputs = _joint_and_pain(t, rhs, gut)
    if tuple(outputs) != MODEL_OUTPUTS:
        raise ModelDefinitionError(f"model outputs {tuple(outputs)} differ from species.MODEL_OUTPUTS")
    if set(rhs) != set(STATE_NAMES):
        raise ModelDefinitionError(f"states without a rate, or rates without a state: {set(rhs) ^ set(STATE_NAMES)}")
    full: dict[sp.Symbol, sp.Expr] = {}  # each named intermediate in terms of states, parameters and inputs only
    for symbol, expr in t.named.items():
        full[symbol] = expr.xreplace(full)
    compact_rhs = tuple(rhs[s.name] for s in STATES)
    return Model(
        states=STATES,
        state_symbols=tuple(t.X[s.name] for s in STATES),
        input_names=input_names,
        input_symbols=tuple(t.U[n] for n in input_names),
        parameter_names=table.names,
        parameter_symbols=tuple(t.P[n] for n in table.names),
        rhs=tuple(e.xreplace(full) for e in compact_rhs),
        outputs={k: e.xreplace(full) for k, e in outputs.items()},
        output_units=dict(OUTPUT_UNITS),
        parameters=table,
        intermediates={sym.name: expr for sym, expr in t.named.items()},
        compact_rhs=compact_rhs,
        compact_outputs=outputs,
    )
