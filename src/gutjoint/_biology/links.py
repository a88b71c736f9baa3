"""The causal links of the model as data (``links.csv``), each with an evidence grade."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from gutjoint._errors import ModelDefinitionError
from gutjoint._biology.parameters import GRADES, _read_records


@dataclass(frozen=True)
class Link:
    id: str
    source: str
    target: str
    effect: str
    grade: str
    evidence: str
    parameters: str


LINK_ID = re.compile(r"^([LM])(\d+)([a-z]?)$")
"""L<n> for a link of the gut-joint literature (a letter marks a part of it with its own evidence), M<n> for the model's own."""


def link_order(link_id: str) -> tuple[str, int, str]:
    """Sort key: L1, L1b, L1c, L2, ..., L21, M1, ..."""
    kind, number, part = LINK_ID.match(link_id).groups()
    return kind, int(number), part


@lru_cache(maxsize=1)
def load_links() -> tuple[Link, ...]:
    """Load and check ``links.csv``."""
    links = []
    for row in _read_records("links.csv"):
        link = Link(**{k: v.strip() for k, v in row.items()})
        if link.grade not in GRADES:
            raise ModelDefinitionError(f"link {link.id}: grade {link.grade!r} is not one of {GRADES}")
        if not LINK_ID.match(link.id):
            raise ModelDefinitionError(f"link {link.id!r}: an id is L<n> or M<n>, with an optional part letter")
        if link.effect not in ("+", "-"):
            raise ModelDefinitionError(f"link {link.id}: effect must be '+' or '-'")
        links.append(link)
    return tuple(links)


@lru_cache(maxsize=1)
def load_references() -> dict[str, str]:
    """DOIs of the references the tables cite, keyed by how they cite them (``references.csv``)."""
    return {row["key"].strip(): row["doi"].strip() for row in _read_records("references.csv")}
