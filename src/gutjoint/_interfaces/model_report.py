"""The model report: the whole model on one page, for a reviewer who does not read Python.

Every state (unit, module, meaning, ontology identifier), every equation typeset from the SymPy definition (the
right-hand sides with their named intermediates, then the outputs), every parameter (value, unit, range, grade of
the link it sits on and of its value, source) and every causal link with its grade. Written as one self-contained
HTML page (equations as MathML, which browsers render natively) and as Markdown (equations as LaTeX, which
GitHub renders); ``docs/model.md`` is kept current with it by a test.
"""

from __future__ import annotations

import html
from pathlib import Path

import sympy as sp
from sympy.printing.mathml import MathMLPresentationPrinter

from gutjoint._biology import species
from gutjoint._biology.identifiers import identifier_of
from gutjoint._biology.links import link_order, load_links
from gutjoint._biology.model import build_model
from gutjoint._biology.parameters import load_parameters
from gutjoint._files import atomic_write
from gutjoint._safety import DISCLAIMER

TITLE = "gutjoint: the model"


class _NamedMathML(MathMLPresentationPrinter):
    """Presentation MathML that writes a symbol's whole name (``tj_repair_rate``), not as sub- and superscripts."""

    def _print_Symbol(self, sym, style="plain"):
        element = self.dom.createElement("mi")
        element.appendChild(self.dom.createTextNode(sym.name))
        return element


def _mathml(lhs: str, expr: sp.Expr) -> str:
    printer = _NamedMathML({"mul_symbol": "dot"})
    return (f'<div class="eq"><math displaystyle="true"><mrow><mi>{html.escape(lhs)}</mi><mo>=</mo>'
            f"{printer.doprint(expr)}</mrow></math></div>")


def _latex(lhs: str, expr: sp.Expr) -> str:
    names = {s: r"\mathrm{" + s.name.replace("_", r"\_") + "}" for s in expr.free_symbols}
    return rf"{lhs} = {sp.latex(expr, symbol_names=names, mul_symbol='dot')}"


def _equations(model):
    """(left-hand side for MathML, for LaTeX, expression, kind) in reading order."""
    for state, expr in zip(model.states, model.compact_rhs):
        yield f"d{state.name}/dt", rf"\frac{{d\,\mathrm{{{state.name.replace('_', chr(92) + '_')}}}}}{{dt}}", expr, "state"
    for name, expr in model.intermediates.items():
        yield name, r"\mathrm{" + name.replace("_", r"\_") + "}", expr, "intermediate"
    for name, expr in model.compact_outputs.items():
        yield name, r"\mathrm{" + name.replace("_", r"\_") + "}", expr, "output"


def _state_rows():
    rows = []
    for state in species.STATES:
        ident = identifier_of(state.name)
        rows.append([state.name, state.unit, state.module, state.description,
                     f"{ident.qualifier} {ident.resource} ({ident.label})" if ident else "none assigned (no close term chosen)"])
    return rows


def _parameter_rows():
    return [[p.name, f"{p.value:.4g}", p.unit, f"{p.low:.4g} to {p.high:.4g}", p.scale, p.module, p.grade,
             p.value_grade, p.estimate if p.estimated else "", p.source] for p in load_parameters().records]


def _link_rows():
    return [[link.id, link.source, link.target, link.effect, link.grade, link.evidence, link.parameters]
            for link in sorted(load_links(), key=lambda item: link_order(item.id))]


def _input_rows():
    return [[v.name, v.unit, f"{low:g} to {high:g}", v.module, v.description] for v, low, high in species.INPUTS]


STATE_HEADER = ["state", "unit", "module", "meaning", "identifier"]
PARAMETER_HEADER = ["parameter", "value", "unit", "range", "scale", "module", "link grade", "value grade",
                    "fitted by", "source"]
LINK_HEADER = ["link", "from", "to", "effect", "grade", "evidence", "parameters"]
INPUT_HEADER = ["input", "unit", "levels", "module", "meaning"]


def model_markdown() -> str:
    """The report as Markdown (``docs/model.md``)."""
    model = build_model()
    counts = load_parameters().value_grade_counts()

    def table(header, rows):
        clean = [[str(c).replace("|", "\\|").replace("\n", " ") for c in row] for row in rows]
        return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                         + ["| " + " | ".join(row) + " |" for row in clean])

    parts = [f"# {TITLE}", "", f"*{DISCLAIMER}*", "",
             "Generated from the model's definition by `gutjoint export model-report --out DIR` (this file is "
             "checked against it by the tests). Time is in days.", "",
             f"{len(model.states)} states, {len(model.intermediates)} named intermediates, {len(model.outputs)} "
             f"outputs, {len(model.parameter_names)} parameters (value grades: "
             + ", ".join(f"{n} {g}" for g, n in counts.items() if n) + f"), {len(load_links())} causal links.", "",
             "## States", "", table(STATE_HEADER, _state_rows()), "",
             "## Inputs", "", table(INPUT_HEADER, _input_rows()), "",
             "## Equations", ""]
    heading = {"state": "### Right-hand sides", "intermediate": "### Named intermediates", "output": "### Outputs"}
    current = None
    for _, lhs, expr, kind in _equations(model):
        if kind != current:
            parts += [heading[kind], ""]
            current = kind
        parts += ["$$", _latex(lhs, expr), "$$", ""]
    parts += ["## Parameters", "", table(PARAMETER_HEADER, _parameter_rows()), "",
              "## Causal links", "", table(LINK_HEADER, _link_rows()), ""]
    return "\n".join(parts)


def model_html() -> str:
    """The report as one self-contained HTML page."""
    model = build_model()

    def table(header, rows):
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    equations = []
    current = None
    heading = {"state": "Right-hand sides", "intermediate": "Named intermediates", "output": "Outputs"}
    for lhs, _, expr, kind in _equations(model):
        if kind != current:
            equations.append(f"<h3>{heading[kind]}</h3>")
            current = kind
        equations.append(_mathml(lhs, expr))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{TITLE}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; margin: 1.5rem auto; max-width: 1200px; padding: 0 1rem; color: #222; }}
.disclaimer {{ background: #fff4d6; border: 1px solid #e0b84c; padding: .6rem .9rem; border-radius: 6px; }}
table {{ border-collapse: collapse; margin: .6rem 0 1.4rem; font-size: 13px; }}
th, td {{ border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; }}
th {{ background: #f0f0f0; position: sticky; top: 0; }}
.eq {{ margin: .3rem 0 .5rem; overflow-x: auto; }}
math {{ font-size: 15px; }}
</style></head><body>
<h1>{TITLE}</h1>
<p class="disclaimer">{html.escape(DISCLAIMER)}</p>
<p>Generated from the model's definition (<code>gutjoint export model-report</code>). Time is in days.
{len(model.states)} states, {len(model.intermediates)} named intermediates, {len(model.outputs)} outputs,
{len(model.parameter_names)} parameters, {len(load_links())} causal links. Grades say what the evidence is: for the
link a parameter sits on, and for its value, separately.</p>
<h2>States</h2>{table(STATE_HEADER, _state_rows())}
<h2>Inputs</h2>{table(INPUT_HEADER, _input_rows())}
<h2>Equations</h2>{''.join(equations)}
<h2>Parameters</h2>{table(PARAMETER_HEADER, _parameter_rows())}
<h2>Causal links</h2>{table(LINK_HEADER, _link_rows())}
</body></html>
"""


def write_model_report(out: str | Path) -> tuple[Path, Path]:
    """Write ``out/model-report.html`` and ``out/model.md`` (atomically); return both paths."""
    out = Path(out)
    page, text = model_html(), model_markdown()
    html_path = atomic_write(out / "model-report.html", lambda tmp: tmp.write_text(page, encoding="utf-8"))
    md_path = atomic_write(out / "model.md", lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return html_path, md_path
