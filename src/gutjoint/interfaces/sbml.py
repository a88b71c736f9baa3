"""SBML Level 3 Version 2 from the model's single symbolic definition (no hand-written equations).

Every state is a species (in a unit-size compartment, amounts only) with a rate rule; every parameter and
input is a constant parameter; every output that is not itself a state is a parameter defined by an assignment rule. Time is in days.
Each parameter carries its unit, source and evidence grade in its notes.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import libsbml
import sympy as sp

from gutjoint.biology.model import Model, build_model
from gutjoint.studies.scenario import INPUT_DEFAULTS


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


def build_sbml(model: Model | None = None, *, overrides: dict[str, float] | None = None,
               inputs: dict[str, float] | None = None, initial: dict[str, float] | None = None) -> libsbml.SBMLDocument:
    """An SBML document of the model with parameter values (``overrides``), input levels and initial states."""
    model = model or build_model()
    overrides, inputs, initial = overrides or {}, inputs or {}, initial or {}
    doc = libsbml.SBMLDocument(3, 2)
    m = doc.createModel()
    m.setId("gutjoint")
    m.setName("gutjoint: mechanistic model of the gut-joint axis")
    m.setTimeUnits("day")
    unit = m.createUnitDefinition()
    unit.setId("day")
    u = unit.createUnit()
    u.setKind(libsbml.UNIT_KIND_SECOND)
    u.setExponent(1)
    u.setScale(0)
    u.setMultiplier(86400)
    comp = m.createCompartment()
    comp.setId("body")
    comp.setConstant(True)
    comp.setSize(1.0)
    comp.setSpatialDimensions(3)
    comp.setUnits("dimensionless")

    rename = {s: sp.Symbol(s.name) for s in (*model.state_symbols, *model.parameter_symbols)}
    for name, sym in zip(model.input_names, model.input_symbols):
        rename[sym] = sp.Symbol(f"u_{name}")

    for var in model.states:
        sp_ = m.createSpecies()
        sp_.setId(var.name)
        sp_.setName(f"{var.description} [{var.unit}]")
        sp_.setCompartment("body")
        sp_.setHasOnlySubstanceUnits(True)
        sp_.setBoundaryCondition(False)
        sp_.setConstant(False)
        sp_.setInitialAmount(float(initial.get(var.name, 0.0)))
        sp_.setSubstanceUnits("dimensionless")

    for rec in model.parameters.records:
        p = m.createParameter()
        p.setId(rec.name)
        p.setConstant(True)
        p.setValue(float(overrides.get(rec.name, rec.value)))
        p.setUnits("dimensionless")
        _check(p.setNotes(_notes(f"{rec.rationale}. Unit: {rec.unit}. Range {rec.low:g}-{rec.high:g}. "
                                 f"Grade: {rec.grade}. Source: {rec.source}")), f"annotate {rec.name}")
    for name in model.input_names:
        p = m.createParameter()
        p.setId(f"u_{name}")
        p.setConstant(True)
        p.setValue(float(inputs.get(name, INPUT_DEFAULTS.get(name, 0.0))))
        p.setUnits("dimensionless")
    state_names = {v.name for v in model.states}
    for name in model.outputs:
        if name in state_names:  # an output that is a state is the species itself
            continue
        p = m.createParameter()
        p.setId(name)
        p.setConstant(False)
        p.setUnits("dimensionless")
        rule = m.createAssignmentRule()
        rule.setVariable(name)
        _check(rule.setMath(_math(_infix(model.outputs[name], rename))), f"set output {name}")

    for var, expr in zip(model.states, model.rhs):
        rule = m.createRateRule()
        rule.setVariable(var.name)
        _check(rule.setMath(_math(_infix(expr, rename))), f"set rate of {var.name}")
    return doc


def write_sbml(path: str | Path, **kwargs) -> Path:
    """Write the SBML file atomically; return its path."""
    from gutjoint.interfaces.files import atomic_write

    doc = build_sbml(**kwargs)
    text = libsbml.writeSBMLToString(doc)
    return atomic_write(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))
