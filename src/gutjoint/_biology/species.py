"""What the model is made of: states, inputs, traits and output names (no equations, no SymPy).

Kept apart from ``model.py`` so that loading a cached compiled model does not import SymPy.
"""

from __future__ import annotations

from dataclasses import dataclass

HOURS_PER_DAY = 24.0


@dataclass(frozen=True)
class Variable:
    """A named quantity of the model: a state, an input or an output."""

    name: str
    unit: str
    description: str
    module: str = ""


# The pinned inputs (their names are part of the scenario format) with their allowed level ranges, plus two internal dose-rate inputs.
INPUTS: tuple[tuple[Variable, float, float], ...] = (
    (Variable("dysbiosis", "0-1", "microbial imbalance (gram-negative expansion, less butyrate)", "lumen"), 0, 1),
    (Variable("diet_antigen", "x typical", "dietary antigen load (1 = typical diet)", "lumen"), 0, 5),
    (Variable("high_fat_diet", "0-1", "chronic high-fat diet", "lumen"), 0, 1),
    (Variable("barrier_insult", "0-1", "tight-junction stressor: NSAIDs, alcohol", "barrier"), 0, 1),
    (Variable("enteric_infection", "0-1", "epithelial damage from an enteric infection", "barrier"), 0, 1),
    (Variable("metabolic_stress", "0-1", "adiposity / metabolic syndrome", "joint"), 0, 1),
    (Variable("barrier_support", "0-1", "1 = as strong as glutamine 5 g t.i.d. (Zhou 2019)", "barrier"), 0, 1),
    (Variable("anti_tnf", "0-1", "fraction of TNF activity blocked", "innate"), 0, 1),
)
PUBLIC_INPUTS = tuple(v.name for v, _, _ in INPUTS)
# Interventions act from their start; they never shape the resting state a subject starts from.
INTERVENTIONS = ("barrier_support", "anti_tnf")
INPUT_RANGES = {v.name: (lo, hi) for v, lo, hi in INPUTS}
# Constant-rate infusions of the doses are inputs too (set by the scenario layer, never by users directly).
DOSE_RATE_INPUTS = (
    Variable("lps_iv_rate", "ng/kg/h", "IV endotoxin infusion rate", "circulation"),
    Variable("fat_meal_rate", "g/h", "fat ingestion rate of a prolonged meal", "lumen"),
)

@dataclass(frozen=True)
class DoseRoute:
    """How a dose enters the model: as a bolus, added to ``state``; as an infusion, through ``rate_input``. One dose
    unit is ``per_unit`` state units, divided by the parameter ``per_parameter`` where one is named (ng/kg of
    endotoxin into pg/mL of plasma: x 1000 / plasma volume in mL/kg)."""

    name: str
    unit: str
    largest: float
    description: str
    state: str
    rate_input: str
    per_unit: float = 1.0
    per_parameter: str | None = None

    def factor(self, value_of) -> float:
        """State units per dose unit; ``value_of(name)`` gives a parameter's value."""
        return self.per_unit / (value_of(self.per_parameter) if self.per_parameter else 1.0)

    def factor_formula(self) -> str:
        """The same factor as an infix formula of parameter names (for SBML, Antimony and SymPy)."""
        return f"{self.per_unit!r} / {self.per_parameter}" if self.per_parameter else repr(self.per_unit)


DOSE_ROUTES = {r.name: r for r in (
    DoseRoute("lps_iv", "ng/kg", 20.0, "intravenous endotoxin (E. coli reference LPS)", state="lps_iv",
              rate_input="lps_iv_rate", per_unit=1000.0, per_parameter="plasma_volume"),
    DoseRoute("fat_meal", "g of fat", 300.0, "a fatty meal", state="stomach_fat", rate_input="fat_meal_rate"),
)}
"""The doses a scenario may give, next to the states they enter."""

TRAITS = ("barrier_resilience", "cross_reactivity", "autoimmunity", "mechanical_load", "pain_sensitivity",
          "immune_resolution", "reactive_susceptibility")

STATES: tuple[Variable, ...] = (
    Variable("tj_open", "x healthy", "leak-pathway (tight-junction) opening, 1 = unstressed", "barrier"),
    Variable("mucosal_damage", "0-1", "epithelial damage: the unrestricted pathway", "barrier"),
    Variable("absorptive_loss", "0-1", "enterocyte absorptive dysfunction during epithelial injury (fast)", "barrier"),
    Variable("stomach_fat", "g", "ingested fat still in the stomach", "lumen"),
    Variable("gut_fat", "g", "fat in the small intestine, not yet absorbed", "lumen"),
    Variable("lps_gut", "pg/mL", "plasma endotoxin from the gut, mostly bound and neutralised", "circulation"),
    Variable("lps_iv", "pg/mL", "plasma endotoxin given intravenously (free, fully bioactive)", "circulation"),
    Variable("antigen", "x healthy", "circulating food and microbial antigen", "circulation"),
    Variable("tolerance", "0-1", "endotoxin tolerance of monocytes", "innate"),
    Variable("monocytes_active", "0-1", "fraction of monocytes activated", "innate"),
    Variable("tnf", "pg/mL", "plasma TNF", "innate"),
    Variable("il6", "pg/mL", "plasma IL-6", "innate"),
    Variable("il8", "pg/mL", "plasma IL-8", "innate"),
    Variable("il10", "pg/mL", "plasma IL-10", "innate"),
    Variable("temperature", "degC", "core body temperature", "innate"),
    Variable("crp", "mg/L", "plasma C-reactive protein", "innate"),
    Variable("pain_threshold", "x unstimulated", "pressure-pain threshold, acute endotoxin effect", "joint"),
    Variable("treg", "x healthy", "regulatory T-cell tone", "adaptive"),
    Variable("effector", "x healthy", "antigen-driven effector T-cell activity", "adaptive"),
    Variable("memory", "x healthy", "slow adaptive memory of gut antigens", "adaptive"),
    Variable("synovial_antigen", "a.u.", "bacterial antigen from an enteric infection persisting in the joint", "adaptive"),
    Variable("autoreactivity", "a.u.", "joint-directed autoreactivity", "adaptive"),
    Variable("synovitis", "a.u.", "synovial inflammation", "joint"),
    Variable("sensitization", "gain", "nociceptor sensitization gain, 1 = none", "joint"),
    Variable("cartilage", "fraction", "cartilage matrix, 1 = intact", "joint"),
)
STATE_NAMES = tuple(s.name for s in STATES)
# States held fixed when the resting steady state is sought: adult cartilage barely turns over, so its
# "steady state" is not a resting state but decades of wear (Jørgensen/Heinemeier 2020).
STRUCTURAL_STATES = ("cartilage",)

PAIN_SOURCES = ("inflammation", "immune", "cartilage", "metabolic")

# Output columns, in order. The first block is pinned (other tools read these names); the rest may follow.
PINNED_OUTPUTS = (
    "time_days", "lm_ratio", "lps_pg_ml", "tnf_pg_ml", "il6_pg_ml", "il8_pg_ml", "il10_pg_ml", "crp_mg_l",
    "temperature_c", "pain_threshold_rel", "autoreactivity", "synovitis", "sensitization", "cartilage",
    "pain_nrs", "stiffness_min",
)
EXTRA_OUTPUTS = (
    *(f"pain_{s}" for s in PAIN_SOURCES),
    "tj_open", "mucosal_damage", "absorptive_loss", "lactulose_rel", "mannitol_rel", "antigen", "tolerance", "treg", "effector", "memory", "synovial_antigen",
)
MODEL_OUTPUTS = PINNED_OUTPUTS[1:] + EXTRA_OUTPUTS  # what the compiled output function returns

# A starting guess for the resting steady state (roughly a healthy adult). Cartilage is taken from the
# ``cartilage_initial`` parameter instead, because it is held fixed.
REST_GUESS = {
    "tj_open": 1.0, "mucosal_damage": 0.0, "absorptive_loss": 0.0, "stomach_fat": 0.0, "gut_fat": 0.0, "lps_gut": 8.2, "lps_iv": 0.0, "antigen": 1.0,
    "tolerance": 0.1, "monocytes_active": 0.0, "tnf": 1.1, "il6": 1.0, "il8": 3.0, "il10": 0.23,
    "temperature": 36.8, "crp": 1.0, "pain_threshold": 1.0, "treg": 1.0, "effector": 1.0, "memory": 1.0, "synovial_antigen": 0.0,
    "autoreactivity": 0.03, "synovitis": 0.2, "sensitization": 1.3, "cartilage": 1.0,
}

OUTPUT_UNITS = {
    "lm_ratio": "ratio", "lps_pg_ml": "pg/mL", "tnf_pg_ml": "pg/mL", "il6_pg_ml": "pg/mL", "il8_pg_ml": "pg/mL",
    "il10_pg_ml": "pg/mL", "crp_mg_l": "mg/L", "temperature_c": "degC", "pain_threshold_rel": "x baseline",
    "autoreactivity": "a.u.", "synovitis": "a.u.", "sensitization": "gain", "cartilage": "fraction",
    "pain_nrs": "NRS 0-10", "stiffness_min": "min",
    **{f"pain_{s}": "NRS points" for s in PAIN_SOURCES},
    "tj_open": "x healthy", "mucosal_damage": "0-1", "absorptive_loss": "0-1",
    "lactulose_rel": "x healthy", "mannitol_rel": "x healthy", "antigen": "x healthy", "tolerance": "0-1",
    "treg": "x healthy", "effector": "x healthy", "memory": "x healthy", "synovial_antigen": "a.u.",
}
