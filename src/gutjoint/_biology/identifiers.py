"""Ontology identifiers of the model's quantities (``identifiers.csv``), for the SBML annotations and the model
report. ``is``: the state is that entity; ``isVersionOf``: the nearest term, the state being a form or a measure of
it; ``isPropertyOf``: the quantity is a property of the entity (a urinary recovery of lactulose, a pain score).
Each resource is checked against its namespace's pattern (``PATTERNS``); a reviewer can check the labels by eye."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from gutjoint._errors import ModelDefinitionError
from gutjoint._files import file_version
from gutjoint._biology.parameters import _read_records, table_resource

QUALIFIERS = ("is", "isVersionOf", "isPropertyOf")
PATTERNS = {
    "uniprot": re.compile(r"^uniprot:([OPQ][0-9][A-Z0-9]{3}[0-9]|[A-NR-Z][0-9]([A-Z][A-Z0-9]{2}[0-9]){1,2})$"),
    "CHEBI": re.compile(r"^CHEBI:\d+$"),
    "CL": re.compile(r"^CL:\d{7}$"),
    "GO": re.compile(r"^GO:\d{7}$"),
    "UBERON": re.compile(r"^UBERON:\d{7}$"),
    "HP": re.compile(r"^HP:\d{7}$"),
}
"""identifiers.org patterns of the namespaces used (prefix -> compact identifier)."""


@dataclass(frozen=True)
class Identifier:
    element: str
    qualifier: str
    resource: str
    label: str
    verified: str

    @property
    def uri(self) -> str:
        """The identifiers.org URI (``https://identifiers.org/CHEBI:16412``)."""
        return f"https://identifiers.org/{self.resource}"

    @property
    def namespace(self) -> str:
        return self.resource.split(":", 1)[0]


def load_identifiers() -> dict[str, Identifier]:
    """``identifiers.csv`` as it is on disk now, loaded and checked: element id -> :class:`Identifier`."""
    return _identifiers_at(file_version(table_resource("identifiers.csv")))


@lru_cache(maxsize=2)
def _identifiers_at(version: tuple) -> dict[str, Identifier]:
    out = {}
    for row in _read_records("identifiers.csv"):
        ident = Identifier(**{k: v.strip() for k, v in row.items()})
        pattern = PATTERNS.get(ident.namespace)
        if ident.qualifier not in QUALIFIERS or pattern is None or not pattern.match(ident.resource):
            raise ModelDefinitionError(f"identifiers.csv: {ident.element}: {ident.qualifier} {ident.resource} is not "
                                       f"a qualifier in {QUALIFIERS} with a resource of {tuple(PATTERNS)}")
        if ident.element in out:
            raise ModelDefinitionError(f"identifiers.csv: {ident.element} is listed twice")
        out[ident.element] = ident
    return out


def identifier_of(element: str) -> Identifier | None:
    return load_identifiers().get(element)


SBO_TERMS = {
    "kinetic constant": "SBO:0000009",
    "Michaelis constant": "SBO:0000027",
    "quantitative systems description parameter": "SBO:0000002",
}
"""The Systems Biology Ontology terms parameters get, by role (labels as in SBO's own OBO file)."""
RATE_UNITS = ("1/d", "1/h", "1/yr")


def sbo_role(name: str, unit: str) -> str:
    """A parameter's SBO role: a rate (per time) is a kinetic constant; a half-saturation level (``*_half_*``, not a
    half-life) is a Michaelis constant in SBO's sense (the level of half-maximal effect); anything else (gains,
    shares, levels, switches) is a quantitative systems description parameter."""
    if unit in RATE_UNITS:
        return "kinetic constant"
    if "_half_" in f"_{name}_" and "half_life" not in name:
        return "Michaelis constant"
    return "quantitative systems description parameter"


def sbo_term(name: str, unit: str) -> str:
    return SBO_TERMS[sbo_role(name, unit)]
