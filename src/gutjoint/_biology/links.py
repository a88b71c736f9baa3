"""The causal links of the model as data (``links.csv``), each with an evidence grade."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from gutjoint._errors import ModelDefinitionError
from gutjoint._files import file_version
from gutjoint._biology.parameters import GRADES, ParameterTable, _read_records, load_parameters, table_resource


@dataclass(frozen=True)
class Link:
    """One causal link of the model (a row of ``links.csv``): ``source`` acts on ``target`` with ``effect`` (+ or
    -); ``grade`` is the evidence that the effect exists (at most its weakest part), ``evidence`` says where it is
    summarised, and ``parameters`` names the model constants that carry it."""

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
    match = LINK_ID.match(link_id)
    if match is None:
        raise ValueError(f"link id {link_id!r}: allowed: L<n> or M<n>, optionally with a letter (L1b)")
    kind, number, part = match.groups()
    return kind, int(number), part


def load_links() -> tuple[Link, ...]:
    """``links.csv`` as it is on disk now, loaded and its grades checked against the parameter table, once per
    version of the two."""
    return _links_at(file_version(table_resource("links.csv")), load_parameters())


@lru_cache(maxsize=2)
def _links_at(version: tuple, table: ParameterTable) -> tuple[Link, ...]:
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
    check_grades(links, table)
    return tuple(links)


def link_parameters(link: Link) -> list[str]:
    """The parameters a link lists (an ``(emergent: ...)`` note lists none)."""
    return [] if link.parameters.startswith("(") else [p.strip() for p in link.parameters.split(",") if p.strip()]


def shapes_only(name: str) -> bool:
    """A half-saturation constant: it shapes its link's effect (where it saturates) and carries no effect of its own."""
    return "_half_" in name


def check_grades(links, table) -> None:
    """The grading rules of both tables' headers, enforced: a parameter's grade is at most its link's (it is the
    evidence that the link's effect exists), and a link's grade is at most that of each part it lists (a
    parameter carrying the effect; half-saturation constants and definitions are not parts). Strength is the
    order of ``GRADES``; a breach is a :class:`ModelDefinitionError` naming both."""
    for link in links:
        for name in link_parameters(link):
            if name not in table:
                raise ModelDefinitionError(f"link {link.id}: parameter {name!r} is not in the parameter table")
            grade = table[name].grade
            if grade == "definition":
                continue
            if GRADES.index(grade) < GRADES.index(link.grade):
                raise ModelDefinitionError(f"parameter {name}: grade {grade!r} is above its link {link.id}'s "
                                           f"{link.grade!r}; a parameter is graded at most as its link")
            if GRADES.index(grade) > GRADES.index(link.grade) and not shapes_only(name):
                raise ModelDefinitionError(f"link {link.id}: grade {link.grade!r} is above its part {name}'s "
                                           f"{grade!r}; a link is graded at most as its weakest part (split the "
                                           "part into a link of its own where its evidence differs)")


@dataclass(frozen=True)
class Reference:
    """A work the tables cite: its DOI and/or PubMed ID where one was seen printed for it, else ``note`` says so."""

    key: str
    doi: str
    pmid: str
    title: str
    note: str

    @property
    def resolved(self) -> bool:
        return bool(self.doi or self.pmid)


def load_references() -> dict[str, Reference]:
    """The references the tables cite, keyed by how they cite them (``references.csv`` as it is on disk now)."""
    return _references_at(file_version(table_resource("references.csv")))


@lru_cache(maxsize=2)
def _references_at(version: tuple) -> dict[str, Reference]:
    return {row["key"].strip(): Reference(**{k: (v or "").strip() for k, v in row.items()})
            for row in _read_records("references.csv")}


NAME = r"[A-Z][a-zà-ÿ'\-]+(?:[A-Z][a-zà-ÿ'\-]+)?"
CITATION = re.compile(rf"(?<![\w-])((?:(?:de|De|van de|van|ter) )?{NAME}(?:/{NAME})?(?:(?:, {NAME})* & {NAME}| et al\.)?) "
                      r"((?:19|20)\d\d)\b")
"""An author-year citation as the tables write them: 'Janum 2016', 'de Goeij 2013', 'Feldmann & Maini 2010',
'Maini et al. 1995', 'Allen, Rieger & Musante 2016'."""
NOT_AUTHORS = {"EVIDENCE", "DESIGN", "NHANES", "Gastroenterol", "Table", "Tables", "Figure", "In", "Innate", "Ann", "Arthritis",
               "Gut", "Lancet", "Med", "Sci", "Rheum", "Clin", "Crit", "Am", "Care", "Chil", "Immunol", "Physiol",
               "Rheumatol", "Dis", "Res", "Ther", "Nutr", "Pain", "Rev", "Invest", "Exp", "Brain", "Behav", "Immun",
               "Diabetes", "JAMA", "BMJ", "Nature", "Science", "December", "Since", "From", "Until", "Before",
               "After", "Rheumatology"}


JOURNAL_CITATION = re.compile(r"\b(Am J Gastroenterol|AJG|Clin Sci|Gut|Crit Care Med|Lancet) ((?:19|20)\d\d)\b")
"""A citation by journal and year, as some rows of the tables give it."""


def citations(text: str) -> set[str]:
    """The citations in ``text``: author-year (journal abbreviations and survey names are not authors) and
    journal-year."""
    found = {f"{m.group(1)} {m.group(2)}" for m in CITATION.finditer(text)
             if not set(re.split(r"[ ,/&]+", m.group(1))) & NOT_AUTHORS}
    return found | {f"{m.group(1)} {m.group(2)}" for m in JOURNAL_CITATION.finditer(text)}
