"""Exceptions raised by gutjoint.

    GutjointError
    ├── ModelDefinitionError   the shipped model or parameter table is inconsistent (a bug, not user input)
    ├── InputError             (also ValueError) a user input is invalid: scenario file, name, level, path
    │   └── ScenarioError      a scenario file or its content is invalid
    └── SolverError            (also RuntimeError) an integration failed and the caller asked to raise

Every ``InputError`` message is one line naming the file, the field, the value and what is allowed.
"""

from __future__ import annotations


class GutjointError(Exception):
    """Base class of every error gutjoint raises on purpose."""


class ModelDefinitionError(GutjointError):
    """The shipped model definition is inconsistent."""


class InputError(GutjointError, ValueError):
    """A user-supplied input is invalid."""


class ScenarioError(InputError):
    """A scenario file, or a field in it, is invalid."""

    def __init__(self, source: str, field: str, value: object, allowed: str):
        self.source, self.field, self.value, self.allowed = source, field, value, allowed
        super().__init__(f"{source}: field '{field}' = {value!r} is invalid; allowed: {allowed}")


class SolverError(GutjointError, RuntimeError):
    """An integration failed (raised only when the caller asks to raise instead of returning a status)."""
