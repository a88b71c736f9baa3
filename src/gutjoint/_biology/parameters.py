"""The parameter table: every model constant with its unit, plausible range, source and evidence grade.

The table itself is data (``parameters.csv``), so it reads well in a diff and in a spreadsheet. This module
loads it and checks each record when it is loaded: a value outside its range, an unknown grade or a missing
source is an error at import, not a surprise inside the solver.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from gutjoint._errors import ModelDefinitionError
from gutjoint._files import file_version

GRADES = (
    "human RCT",
    "human experimental",
    "human observational",
    "animal",
    "in vitro",
    "hypothesis",
    "definition",
)
"""Grades of evidence that an effect exists (for a link, and for the link a parameter sits on), strongest first.
``definition`` = a scale or trait that defines its own unit."""

VALUE_GRADES = (
    "human measurement",
    "human fit",
    "published model",
    "derived",
    "animal",
    "assumed",
    "definition",
)
"""What a parameter's number rests on: read from a measurement in people; fitted here to human calibration
targets; taken from a published model fitted to human data; arithmetic on read numbers (the source says which);
an animal number; assumed (no number located: the source says why this one); or a definition."""

SOURCE_KINDS = ("assumed", "fitted", "derived", "literature")
SCALES = ("log", "lin")
"""``log``: a positive quantity, sampled (log-uniform, log-normal), fitted and exported (PEtab ``log10``) on the log
scale; ``lin``: a range that starts at 0, on the natural scale."""
ESTIMATES = ("no", "barrier", "innate", "meal", "population", "scan")
"""How a value is estimated: not at all, by one block of ``gutjoint calibrate`` (``barrier`` and ``innate`` are
sampled for the ensemble as well), or by the one-parameter ``scan`` its source describes."""
COLUMNS = ("name", "value", "unit", "low", "high", "module", "grade", "value_grade", "source", "rationale", "scale",
           "estimate")
"""The columns of ``parameters.csv``, in order."""


@dataclass(frozen=True)
class Parameter:
    """One model constant and its provenance."""

    name: str
    value: float
    unit: str
    low: float
    high: float
    module: str
    grade: str
    value_grade: str
    source: str
    rationale: str
    scale: str  # one of SCALES: the one scale that sensitivity, the priors, fitting and PEtab all use
    estimate: str  # one of ESTIMATES

    @property
    def estimated(self) -> bool:
        return self.estimate != "no"

    @property
    def source_kind(self) -> str:
        """``assumed``, ``fitted``, ``derived`` (arithmetic on read numbers) or ``literature``."""
        head = self.source.split(":", 1)[0].strip().lower()
        return head if head in SOURCE_KINDS[:3] else "literature"

    def check(self) -> None:
        if not (self.low <= self.value <= self.high):
            raise ModelDefinitionError(
                f"parameter {self.name!r}: value {self.value} outside its plausible range [{self.low}, {self.high}]"
            )
        if self.grade not in GRADES:
            raise ModelDefinitionError(f"parameter {self.name!r}: grade {self.grade!r} is not one of {GRADES}")
        if self.value_grade not in VALUE_GRADES:
            raise ModelDefinitionError(f"parameter {self.name!r}: value_grade {self.value_grade!r} is not one of "
                                       f"{VALUE_GRADES}")
        implied = {"assumed": "assumed", "fitted": "human fit"}.get(self.source_kind)
        if implied and self.value_grade != implied:
            raise ModelDefinitionError(f"parameter {self.name!r}: a {self.source_kind} value has value_grade "
                                       f"{implied!r}, not {self.value_grade!r}")
        if (self.grade == "definition") != (self.value_grade == "definition"):
            raise ModelDefinitionError(f"parameter {self.name!r}: a definition is one in both grades")
        if self.scale not in SCALES or (self.scale == "log" and self.low <= 0):
            raise ModelDefinitionError(f"parameter {self.name!r}: scale {self.scale!r} must be 'lin', or 'log' for a "
                                       f"range above 0 (low is {self.low})")
        if self.estimate not in ESTIMATES:
            raise ModelDefinitionError(f"parameter {self.name!r}: estimate {self.estimate!r} is not one of {ESTIMATES}")
        if self.estimated != (self.source_kind == "fitted"):
            raise ModelDefinitionError(f"parameter {self.name!r}: estimate {self.estimate!r} but its source is "
                                       f"{self.source_kind!r} (a fitted value names its block, every other 'no')")
        if not self.source.strip():
            raise ModelDefinitionError(f"parameter {self.name!r} has no source (write 'assumed: <reason>')")


@dataclass(frozen=True, eq=False)
class ParameterTable:
    """All parameters, in a fixed order; ``vector`` gives the values in that order. Compared and hashed by identity
    (one object per version of the file, see :func:`load_parameters`), so what is built from a table can be cached
    on the table itself."""

    records: tuple[Parameter, ...]

    @functools.cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.records)

    @functools.cached_property
    def _index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}

    def __getitem__(self, name: str) -> Parameter:
        return self.records[self._index[name]]

    def __contains__(self, name: object) -> bool:
        return name in self._index

    @functools.cached_property
    def _values(self) -> np.ndarray:
        values = np.array([p.value for p in self.records], dtype=float)
        values.flags.writeable = False
        return values

    def vector(self, overrides: Mapping[str, float] | None = None) -> np.ndarray:
        """The values in table order (a new array), with ``overrides`` (name -> value) applied."""
        values = self._values.copy()
        index = self._index
        for name, value in (overrides or {}).items():
            values[index[name]] = float(value)  # KeyError for an unknown name
        return values

    def value_grade_counts(self) -> dict[str, int]:
        """How many parameters have each value grade, in the order of :data:`VALUE_GRADES`."""
        return {grade: sum(p.value_grade == grade for p in self.records) for grade in VALUE_GRADES}

    def as_rows(self) -> list[dict[str, object]]:
        return [dict(vars(p), source_kind=p.source_kind, at_bound=self.at_bound(p.name)) for p in self.records]

    def at_bound(self, name: str, value: float | None = None) -> str | None:
        """Which end of its plausible range parameter ``name`` (at ``value``, default its table value) sits at, by
        :func:`bound_side`; None for a fixed parameter (its range is one point) or one inside its range."""
        p = self[name]
        if p.low == p.high:
            return None
        return bound_side(p.value if value is None else value, p.low, p.high, p.scale)


BOUND_TOLERANCE = 0.01
"""How close to an end of its range a value counts as at that bound: 1% of the range on the parameter's own scale."""


def bound_side(value: float, low: float, high: float, scale: str, tolerance: float = BOUND_TOLERANCE) -> str | None:
    """``"low"`` or ``"high"`` where ``value`` sits within ``tolerance`` of that end of ``[low, high]``, else None.

    The distance is measured on the scale the parameter is fitted on (``SCALES``): a ``log`` parameter's in
    log units, as a share of log(high / low); a ``lin`` one's as a share of high - low, which is an absolute
    distance, so a value near a bound of 0 counts (a relative test has no tolerance at 0)."""
    if scale == "log" and low > 0 and value > 0:
        span = np.log(high / low)
        near_low, near_high = np.log(value / low) <= tolerance * span, np.log(high / value) <= tolerance * span
    else:
        span = high - low
        near_low, near_high = value - low <= tolerance * span, high - value <= tolerance * span
    return "low" if near_low else "high" if near_high else None


@lru_cache(maxsize=None)
def table_resource(filename: str):
    """Where the package's copy of table ``filename`` lives (its content is read afresh, once per version)."""
    return resources.files("gutjoint._biology").joinpath(filename)


def _read_records(filename: str) -> list[dict[str, str]]:
    text = table_resource(filename).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return list(csv.DictReader(lines))


def load_parameters() -> ParameterTable:
    """``parameters.csv`` as it is on disk now, loaded and checked once per version of the file (the same object
    while the file is unchanged; a new one after a fit writes it, with nothing to clear)."""
    return _parameters_at(file_version(table_resource("parameters.csv")))


@lru_cache(maxsize=4)
def _parameters_at(version: tuple) -> ParameterTable:
    records = []
    seen = set()
    rows = _read_records("parameters.csv")
    if rows and tuple(rows[0]) != COLUMNS:
        raise ModelDefinitionError(f"parameters.csv columns {tuple(rows[0])} differ from {COLUMNS}")
    for row in rows:
        name = row["name"].strip()
        if name in seen:
            raise ModelDefinitionError(f"parameter {name!r} is listed twice in parameters.csv")
        seen.add(name)
        record = Parameter(
            name=name,
            value=float(row["value"]),
            unit=row["unit"].strip(),
            low=float(row["low"]),
            high=float(row["high"]),
            module=row["module"].strip(),
            grade=row["grade"].strip(),
            value_grade=row["value_grade"].strip(),
            source=row["source"].strip(),
            rationale=row["rationale"].strip(),
            scale=row["scale"].strip(),
            estimate=row["estimate"].strip(),
        )
        record.check()
        records.append(record)
    return ParameterTable(tuple(records))
