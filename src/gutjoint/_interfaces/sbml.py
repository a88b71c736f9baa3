"""SBML Level 3 Version 2 from the model's single symbolic definition (no hand-written equations).

Every state is a species (in a unit-size compartment, amounts only) with a rate rule; every parameter and
input is a parameter; every output that is not itself a state is a parameter defined by an assignment rule, with
the output column's id (``pain_nrs``, ``crp_mg_l``, ...). Time is in days. Units are declared where the unit is
a physical one (per day, per hour, pg/mL, mg/L, ...); scales and scores are dimensionless. Each parameter
carries its unit, range, source and evidence grade in its notes, and a MIRIAM ``bqbiol:isDescribedBy``
annotation (identifiers.org) for every DOI or PMID its source names.

With a scenario, the file alone reproduces that run: the initial amounts are the subject's resting state (plus
any bolus at day 0), the scenario's parameter and trait values are set, and every later change of an input, start
or end of an infusion, and bolus is an SBML event at its time, exactly as the engine's schedule splits the run.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

import re

import numpy as np
import sympy as sp

from gutjoint._biology import species
from gutjoint._biology.identifiers import sbo_term
from gutjoint._biology.model import Model, build_model
from gutjoint._errors import require
from gutjoint._studies.scenario import INPUT_DEFAULTS

if TYPE_CHECKING:
    import libsbml
else:
    libsbml = require("libsbml", "exchange")


class _Ln(sp.Function):
    """Natural logarithm, printed as SBML's ``ln``."""


def _infix(expr: sp.Expr, rename: dict[sp.Symbol, sp.Symbol]) -> str:
    expr = expr.xreplace(rename).replace(sp.log, lambda a: _Ln(a))
    text = sp.sstr(expr, full_prec=True).replace("**", "^").replace("_Ln(", "ln(")
    return text


def _math(formula: str) -> libsbml.ASTNode:
    node = libsbml.parseL3Formula(formula)
    if node is None:
        raise ValueError(f"SBML formula could not be parsed: {formula[:120]}... ({libsbml.getLastParseL3Error()})")
    return node


def _check(code: int, what: str) -> None:
    if code != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise RuntimeError(f"libsbml failed to {what}: {libsbml.OperationReturnValue_toString(code)}")


def _notes(text: str) -> str:
    return f'<body xmlns="http://www.w3.org/1999/xhtml"><p>{escape(text)}</p></body>'


# unit text of the tables -> (SBML unit id, [(kind, exponent, scale, multiplier)])
_UNITS = {
    "d": ("day", [(libsbml.UNIT_KIND_SECOND, 1, 0, 86400.0)]),
    "h": ("hour", [(libsbml.UNIT_KIND_SECOND, 1, 0, 3600.0)]),
    "min": ("minute", [(libsbml.UNIT_KIND_SECOND, 1, 0, 60.0)]),
    "1/d": ("per_day", [(libsbml.UNIT_KIND_SECOND, -1, 0, 86400.0)]),
    "1/h": ("per_hour", [(libsbml.UNIT_KIND_SECOND, -1, 0, 3600.0)]),
    "1/yr": ("per_year", [(libsbml.UNIT_KIND_SECOND, -1, 0, 31557600.0)]),
    "pg/mL": ("pg_per_mL", [(libsbml.UNIT_KIND_GRAM, 1, -12, 1.0), (libsbml.UNIT_KIND_LITRE, -1, -3, 1.0)]),
    "mg/L": ("mg_per_L", [(libsbml.UNIT_KIND_GRAM, 1, -3, 1.0), (libsbml.UNIT_KIND_LITRE, -1, 0, 1.0)]),
    "mL/kg": ("mL_per_kg", [(libsbml.UNIT_KIND_LITRE, 1, -3, 1.0), (libsbml.UNIT_KIND_KILOGRAM, -1, 0, 1.0)]),
    "g": ("gram_mass", [(libsbml.UNIT_KIND_GRAM, 1, 0, 1.0)]),
    "g/h": ("gram_per_hour", [(libsbml.UNIT_KIND_GRAM, 1, 0, 1.0), (libsbml.UNIT_KIND_SECOND, -1, 0, 3600.0)]),
    "ng/kg/h": ("ng_per_kg_per_hour", [(libsbml.UNIT_KIND_GRAM, 1, -9, 1.0), (libsbml.UNIT_KIND_KILOGRAM, -1, 0, 1.0),
                                       (libsbml.UNIT_KIND_SECOND, -1, 0, 3600.0)]),
}


def _unit_id(text: str) -> str:
    """The SBML unit of a table unit; scores, fractions, multipliers and degC (no offset units in SBML L3) are
    dimensionless, their meaning kept in the notes."""
    return _UNITS[text][0] if text in _UNITS else "dimensionless"


def _define_units(m: libsbml.Model) -> None:
    for unit_id, parts in _UNITS.values():
        definition = m.createUnitDefinition()
        definition.setId(unit_id)
        for kind, exponent, scale, multiplier in parts:
            u = definition.createUnit()
            u.setKind(kind)
            u.setExponent(exponent)
            u.setScale(scale)
            u.setMultiplier(multiplier)


_DOI = re.compile(r"doi[:\s]+(10\.\d{4,9}/[^\s,;()]+)", re.IGNORECASE)
_PMID = re.compile(r"PMID[:\s]*(\d{5,9})", re.IGNORECASE)


def _annotate(element, meta_id: str, source: str) -> None:
    """MIRIAM isDescribedBy links (identifiers.org) for each reference ``source`` cites (``references.csv``: its DOI,
    else its PubMed ID) and each DOI or PMID written out in ``source``."""
    from gutjoint._biology.links import load_references

    cited = [ref for key, ref in load_references().items() if key in source]
    dois = [ref.doi for ref in cited if ref.doi] + _DOI.findall(source)
    pmids = [ref.pmid for ref in cited if ref.pmid and not ref.doi] + _PMID.findall(source)
    uris = list(dict.fromkeys(f"https://identifiers.org/doi:{d.rstrip('.')}" for d in dois))
    uris += list(dict.fromkeys(f"https://identifiers.org/pubmed:{p}" for p in pmids))
    if not uris:
        return
    element.setMetaId(meta_id)
    term = libsbml.CVTerm(libsbml.BIOLOGICAL_QUALIFIER)
    term.setBiologicalQualifierType(libsbml.BQB_IS_DESCRIBED_BY)
    for uri in uris:
        term.addResource(uri)
    _check(element.addCVTerm(term), f"annotate {meta_id}")


MODEL_CREATED = "2026-11-25T00:00:00Z"
"""When the model was first written (its first commit); the SBML's modified date is the day of the export."""
LICENCE = ("MIT", "https://spdx.org/licenses/MIT")
TAXON_URI = "https://identifiers.org/taxonomy/9606"  # NCBITaxon:9606, Homo sapiens
_QUALIFIERS = {"is": libsbml.BQB_IS, "isVersionOf": libsbml.BQB_IS_VERSION_OF,
               "isPropertyOf": libsbml.BQB_IS_PROPERTY_OF}


def _identify(element, name: str) -> None:
    """The element's ontology identifier (``_biology/identifiers.csv``) as a MIRIAM biological qualifier."""
    from gutjoint._biology.identifiers import identifier_of

    ident = identifier_of(name)
    if ident is None:
        return
    if not element.isSetMetaId():
        element.setMetaId(f"meta_{name}")
    term = libsbml.CVTerm(libsbml.BIOLOGICAL_QUALIFIER)
    term.setBiologicalQualifierType(_QUALIFIERS[ident.qualifier])
    term.addResource(ident.uri)
    _check(element.addCVTerm(term), f"identify {name}")


def _describe_model(m: libsbml.Model, scenario) -> None:
    """Model-level metadata: creators, created and modified dates, a description with the licence, the taxon."""
    import datetime

    from gutjoint._safety import DISCLAIMER

    m.setMetaId("gutjoint_model")
    history = libsbml.ModelHistory()
    creator = libsbml.ModelCreator()
    creator.setGivenName("gutjoint")  # a vCard name needs both parts: "gutjoint developers"
    creator.setFamilyName("developers")
    creator.setOrganisation("gutjoint")
    history.addCreator(creator)
    history.setCreatedDate(libsbml.Date(MODEL_CREATED))
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT00:00:00Z")
    history.addModifiedDate(libsbml.Date(today))
    _check(m.setModelHistory(history), "set the model history")
    taxon = libsbml.CVTerm(libsbml.BIOLOGICAL_QUALIFIER)
    taxon.setBiologicalQualifierType(libsbml.BQB_HAS_TAXON)
    taxon.addResource(TAXON_URI)
    _check(m.addCVTerm(taxon), "set the taxon")
    what = "" if scenario is None else f" This file runs the scenario {scenario.name}: {scenario.description}"
    _check(m.setNotes(_notes(
        "gutjoint: an executable, evidence-graded mechanistic model of the gut-joint axis (intestinal barrier, "
        "endotoxin and antigen translocation, cytokines, CRP, joint sensitization, synovitis, cartilage and pain) "
        f"in adults (Homo sapiens). Time in days.{what} {DISCLAIMER} Licence: {LICENCE[0]} ({LICENCE[1]}).")),
        "describe the model")


def build_sbml(model: Model | None = None, *, scenario=None, overrides: dict[str, float] | None = None,
               inputs: dict[str, float] | None = None, initial: dict[str, float] | None = None,
               structural_switch: str | None = None) -> libsbml.SBMLDocument:
    """An SBML document of the model: with ``scenario`` (a name, path, dict or Scenario), that run in full;
    otherwise with parameter values (``overrides``), input levels and initial states as given.

    ``structural_switch``: the id of a parameter (value 1) that multiplies the rates of the structural states
    (cartilage), so that a tool can hold them, as gutjoint's resting state does, by setting it to 0."""
    model = model or build_model()
    overrides, inputs, initial = dict(overrides or {}), dict(inputs or {}), dict(initial or {})
    schedule, threshold_at_rest = None, 1.0
    if scenario is not None:
        scenario, schedule, rest_y, threshold_at_rest = _scenario_setup(scenario)
        overrides.update(scenario.overrides())
        inputs.update(zip(model.input_names, map(float, schedule.segments[0].u)))
        start = rest_y + (schedule.segments[0].jump if schedule.segments[0].jump is not None else 0.0)
        initial.update(zip((v.name for v in model.states), map(float, start)))
    doc = libsbml.SBMLDocument(3, 2)
    m = doc.createModel()
    m.setId("gutjoint" if scenario is None else "gutjoint_" + re.sub(r"\W", "_", scenario.name))
    m.setName("gutjoint: mechanistic model of the gut-joint axis"
              + ("" if scenario is None else f", scenario {scenario.name}"))
    _describe_model(m, scenario)
    _define_units(m)
    m.setTimeUnits("day")
    comp = m.createCompartment()
    comp.setId("body")
    comp.setConstant(True)
    comp.setSize(1.0)
    comp.setSpatialDimensions(3)
    comp.setUnits("dimensionless")

    rename = {s: sp.Symbol(s.name) for s in (*model.state_symbols, *model.parameter_symbols)}
    for name, sym in zip(model.input_names, model.input_symbols):
        rename[sym] = sp.Symbol(f"u_{name}")

    _add_species(m, model, initial)
    _add_parameters(m, model, overrides)
    _add_inputs(m, model, schedule, inputs, threshold_at_rest)
    _add_rules(m, model, rename, structural_switch)
    if schedule is not None:
        _add_events(m, model, scenario, schedule)
    return doc


def _add_species(m, model: Model, initial: dict[str, float]) -> None:
    """One species per state, at its initial amount, with its unit and meaning in the notes."""
    for var in model.states:
        sp_ = m.createSpecies()
        sp_.setId(var.name)
        sp_.setName(var.name)  # tools that select by name find the same identifiers; the description is in the notes
        sp_.setCompartment("body")
        sp_.setHasOnlySubstanceUnits(True)
        sp_.setBoundaryCondition(False)
        sp_.setConstant(False)
        sp_.setInitialAmount(float(initial.get(var.name, 0.0)))
        # substance units must be substance-like in SBML: grams stay grams, concentrations and scores are kept
        # as dimensionless amounts in the unit-size compartment, their unit named in the notes
        sp_.setSubstanceUnits("gram" if var.unit == "g" else "dimensionless")
        _check(sp_.setNotes(_notes(f"{var.description}. Unit: {var.unit}. Module: {var.module}.")),
               f"describe {var.name}")
        _identify(sp_, var.name)


def _add_parameters(m, model: Model, overrides: dict[str, float]) -> None:
    """One constant parameter per table row, with its unit, range, grades and source, and its SBO term."""
    for rec in model.parameters.records:
        p = m.createParameter()
        p.setId(rec.name)
        p.setConstant(True)
        p.setValue(float(overrides.get(rec.name, rec.value)))
        p.setUnits(_unit_id(rec.unit))
        _check(p.setNotes(_notes(f"{rec.rationale}. Unit: {rec.unit}. Range {rec.low:g}-{rec.high:g}. "
                                 f"Link grade: {rec.grade}. Value grade: {rec.value_grade}. Source: {rec.source}")),
               f"annotate {rec.name}")
        _annotate(p, f"meta_{rec.name}", rec.source)
        _check(p.setSBOTerm(sbo_term(rec.name, rec.unit)), f"set the SBO term of {rec.name}")


def _add_inputs(m, model: Model, schedule, inputs: dict[str, float], threshold_at_rest: float) -> None:
    """The inputs as parameters (variable where the scenario changes them), and the resting pain threshold."""
    variable_inputs = _changing_inputs(model, schedule)
    input_units = {var.name: var.unit for var, _, _ in species.INPUTS}
    for name in model.input_names:
        p = m.createParameter()
        p.setId(f"u_{name}")
        p.setConstant(name not in variable_inputs)
        p.setValue(float(inputs.get(name, INPUT_DEFAULTS.get(name, 0.0))))
        p.setUnits(_unit_id(input_units.get(name, "")))
    rest = m.createParameter()
    rest.setId("pain_threshold_at_rest")
    rest.setConstant(True)
    rest.setValue(float(threshold_at_rest))
    rest.setUnits("dimensionless")
    _check(rest.setNotes(_notes("The subject's resting pain threshold: pain_threshold_rel is relative to it.")),
           "describe pain_threshold_at_rest")


def _add_rules(m, model: Model, rename: dict, structural_switch: str | None) -> None:
    """Assignment rules for the named intermediates and the outputs, and a rate rule per state."""
    state_names = {v.name for v in model.states}
    taken = state_names | set(model.parameter_names) | set(model.outputs) | {f"u_{n}" for n in model.input_names}
    for name, expr in model.intermediates.items():  # readable named steps: joint_cytokines, mimicry, raw_pain, ...
        if name in taken:
            raise ValueError(f"SBML export: intermediate {name!r} clashes with another identifier")
        p = m.createParameter()
        p.setId(name)
        p.setName(name)
        p.setConstant(False)
        p.setUnits("dimensionless")
        rule = m.createAssignmentRule()
        rule.setVariable(name)
        _check(rule.setMath(_math(_infix(expr, rename))), f"set intermediate {name}")
    for name in model.outputs:
        if name in state_names:  # an output that is a state is the species itself
            continue
        p = m.createParameter()
        p.setId(name)
        p.setConstant(False)
        p.setUnits(_unit_id(model.output_units.get(name, "")))
        rule = m.createAssignmentRule()
        rule.setVariable(name)
        _identify(p, name)
        formula = _infix(model.compact_outputs[name], rename)
        if name == "pain_threshold_rel":
            formula = f"({formula}) / pain_threshold_at_rest"
        _check(rule.setMath(_math(formula)), f"set output {name}")

    if structural_switch is not None:
        switch = m.createParameter()
        switch.setId(structural_switch)
        switch.setConstant(True)
        switch.setValue(1.0)
        switch.setUnits("dimensionless")
        _check(switch.setNotes(_notes("1: structural states (cartilage) change; 0: they are held, as in the resting "
                                      "state.")), f"describe {structural_switch}")
    for var, expr in zip(model.states, model.compact_rhs):
        rule = m.createRateRule()
        rule.setVariable(var.name)
        formula = _infix(expr, rename)
        if structural_switch is not None and var.name in species.STRUCTURAL_STATES:
            formula = f"{structural_switch} * ({formula})"
        _check(rule.setMath(_math(formula)), f"set rate of {var.name}")


def _scenario_setup(spec):
    from gutjoint._studies.problem import prepare

    problem = prepare(spec)
    if not problem.rest.ok:
        from gutjoint._errors import SolverError

        raise SolverError(f"{problem.scenario.source}: no resting steady state, so there is no initial state to export")
    return problem.scenario, problem.schedule, problem.rest.y, problem.rest_value("pain_threshold")


def _changing_inputs(model: Model, schedule) -> set[str]:
    if schedule is None:
        return set()
    levels = np.array([seg.u for seg in schedule.segments])
    return {name for k, name in enumerate(model.input_names) if np.ptp(levels[:, k]) > 0}


def _add_events(m: libsbml.Model, model: Model, scenario, schedule) -> None:
    """One event per boundary of the schedule after day 0: new input levels, and boluses as state jumps."""
    bolus_state = {name: r.state for name, r in species.DOSE_ROUTES.items()}
    bolus_scale = {name: r.factor_formula() for name, r in species.DOSE_ROUTES.items()}
    previous = schedule.segments[0].u
    for k, seg in enumerate(schedule.segments[1:], start=1):
        changes = [(f"u_{name}", repr(float(level))) for name, level, before in
                   zip(model.input_names, seg.u, previous) if level != before]
        boluses = [d for d in scenario.doses if d.duration_hours <= 0 and d.day == seg.start]
        previous = seg.u
        if not changes and not boluses:
            continue
        event = m.createEvent()
        event.setId(f"change_{k}")
        event.setUseValuesFromTriggerTime(True)
        trigger = event.createTrigger()
        trigger.setInitialValue(False)
        trigger.setPersistent(True)
        _check(trigger.setMath(_math(f"time >= {seg.start!r}")), f"set trigger {k}")
        for variable, value in changes:
            assignment = event.createEventAssignment()
            assignment.setVariable(variable)
            _check(assignment.setMath(_math(value)), f"set {variable} at event {k}")
        for state in sorted({bolus_state[d.name] for d in boluses}):
            amount = " + ".join(f"{d.amount!r} * {bolus_scale[d.name]}" for d in boluses if bolus_state[d.name] == state)
            assignment = event.createEventAssignment()
            assignment.setVariable(state)
            _check(assignment.setMath(_math(f"{state} + {amount}")), f"dose {state} at event {k}")


def write_sbml(path: str | Path, **kwargs) -> Path:
    """Write the SBML file atomically; return its path."""
    from gutjoint._files import atomic_write

    doc = build_sbml(**kwargs)
    text = libsbml.writeSBMLToString(doc)
    return atomic_write(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))


def antimony_text(**kwargs) -> str:
    """The model (or a scenario run) as Antimony, translated from the SBML by the antimony package."""
    antimony = require("antimony", "exchange")

    antimony.clearPreviousLoads()
    if antimony.loadSBMLString(libsbml.writeSBMLToString(build_sbml(**kwargs))) < 0:
        raise RuntimeError(f"antimony could not read the SBML: {antimony.getLastError()}")
    return antimony.getAntimonyString(antimony.getMainModuleName())
