"""The causal links of the model as data (``links.csv``), each with an evidence grade."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from gutjoint._errors import ModelDefinitionError
from gutjoint.biology.parameters import GRADES, _read_records


@dataclass(frozen=True)
class Link:
    id: str
    source: str
    target: str
    effect: str
    grade: str
    evidence: str
    parameters: str


@lru_cache(maxsize=1)
def load_links() -> tuple[Link, ...]:
    """Load and check ``links.csv``."""
    links = []
    for row in _read_records("links.csv"):
        link = Link(**{k: v.strip() for k, v in row.items()})
        if link.grade not in GRADES:
            raise ModelDefinitionError(f"link {link.id}: grade {link.grade!r} is not one of {GRADES}")
        if link.effect not in ("+", "-"):
            raise ModelDefinitionError(f"link {link.id}: effect must be '+' or '-'")
        links.append(link)
    return tuple(links)


@lru_cache(maxsize=1)
def load_references() -> dict[str, str]:
    """DOIs of the references the tables cite, keyed by how they cite them (``references.csv``)."""
    return {row["key"].strip(): row["doi"].strip() for row in _read_records("references.csv")}
