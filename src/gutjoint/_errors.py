"""Exceptions raised by gutjoint.

    GutjointError
    ├── ModelDefinitionError   the shipped model or parameter table is inconsistent (a bug, not user input)
    ├── InputError             (also ValueError) a user input is invalid: scenario file, name, level, path
    │   ├── ScenarioError      a scenario file or its content is invalid
    │   └── OptionError        an argument of a study function (each interface names it its own way)
    └── SolverError            (also RuntimeError) an integration failed and the caller asked to raise

Every ``InputError`` message is one line naming the file, the field, the value and what is allowed. Text that
came from the user is passed through :func:`printable` first, so a message never carries a control character
(a newline, a terminal escape) and never grows without bound.
"""

from __future__ import annotations

import unicodedata
from typing import TypeGuard

ECHO_LIMIT = 120
"""Characters of user-supplied text quoted in a message before it is cut with an ellipsis."""


def printable(text: object, limit: int = ECHO_LIMIT) -> str:
    """``text`` made safe to echo on one terminal line: control and format characters escaped, cut to ``limit``.

    An integer too long for ``str`` (Python refuses over 4,300 digits) is described by its size instead."""
    if _huge(text):
        return f"<an integer of about {int(abs(text).bit_length() * 0.30103) + 1} digits>"
    text = text if isinstance(text, str) else str(text)
    head = text[: 4 * limit]  # escaping can only lengthen the text, so the rest can never show
    safe = "".join(ch.encode("unicode_escape").decode("ascii") if _unsafe(ch) else ch for ch in head)
    return safe if len(safe) <= limit and len(head) == len(text) else safe[: limit - 1] + "…"


def _huge(value: object) -> TypeGuard[int]:
    """An integer too long to quote (its repr can run to thousands of digits, or fail)."""
    return isinstance(value, int) and not isinstance(value, bool) and abs(value).bit_length() > 64


def _unsafe(ch: str) -> bool:
    """Control, format, surrogate and private-use characters, and the Unicode line and paragraph separators."""
    category = unicodedata.category(ch)
    return category[0] == "C" or category in ("Zl", "Zp")


def quoted(value: object, limit: int = ECHO_LIMIT) -> str:
    """``repr(value)`` made safe to echo (see :func:`printable`); lists and tables are cut, not expanded."""
    if _huge(value):
        return printable(value, limit)
    if isinstance(value, (list, dict, tuple)):
        kind = {list: "an array", dict: "a table", tuple: "an array"}[type(value)]
        try:
            body = repr(value)
        except (ValueError, RecursionError):  # huge integers or very deep nesting inside
            body = ""
        return printable(body, limit) if body and len(body) <= limit else f"<{kind} of {len(value)} items>"
    return printable(repr(value), limit)


class GutjointError(Exception):
    """Base class of every error gutjoint raises on purpose."""


class ModelDefinitionError(GutjointError):
    """The shipped model definition is inconsistent."""


class InputError(GutjointError, ValueError):
    """A user-supplied input is invalid; ``field`` names it where one field is at fault."""

    def __init__(self, message: str, *, field: str | None = None):
        self.field = field
        super().__init__(message)

    def __reduce__(self):  # pickled whole, as a worker process sends it back
        return _rebuild, (type(self), dict(vars(self)), str(self))


class ScenarioError(InputError):
    """A scenario file, or a field in it, is invalid."""

    def __init__(self, source: str, field: str, value: object, allowed: str):
        self.source, self.value, self.allowed = source, value, allowed
        super().__init__(f"{printable(source)}: field '{printable(field)}' = {quoted(value)} is invalid; "
                         f"allowed: {allowed}", field=field)


class OptionError(InputError):
    """An argument of a study function is invalid. The study names its own argument (``n``, ``day``); each
    interface says it in its own words with :meth:`as_option` (the CLI's ``--n``, the web's JSON field)."""

    def __init__(self, where: str, argument: str, value: object, allowed: str, *, problem: str = "is invalid"):
        self.where, self.argument, self.value, self.allowed, self.problem = where, argument, value, allowed, problem
        super().__init__(self.as_option(f"argument '{argument}'"), field=argument)

    def as_option(self, label: str) -> str:
        """The message with the argument called ``label`` (e.g. "option '--n'" or "field 'day'")."""
        return (f"{printable(self.where)}: {label} = {quoted(self.value)} {self.problem}; "
                f"allowed: {self.allowed}")


class SolverError(GutjointError, RuntimeError):
    """A run failed (raised only when the caller asks to raise instead of returning a status): ``code`` names the
    failure (a ``Status`` code) and ``advice`` says what to change, where they are known."""

    def __init__(self, message: str, *, code: str | None = None, advice: str = ""):
        self.code, self.advice = code, advice
        super().__init__(message)

    def __reduce__(self):
        return _rebuild, (type(self), dict(vars(self)), str(self))


def _rebuild(cls: type[GutjointError], attributes: dict, message: str) -> GutjointError:
    """An error of ``cls`` with ``attributes`` and ``message`` (unpickling: the constructors take other arguments)."""
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    vars(error).update(attributes)
    return error


class MissingExtraError(GutjointError):
    """A feature whose packages come with an optional extra (``pip install 'gutjoint[web]'``) was asked for
    without them. The CLI exits with code 2."""


EXTRAS = {
    "web": "the web page and its JSON API (gutjoint serve)",
    "exchange": "SBML, Antimony, PEtab and COMBINE/SED-ML export",
    "inference": "posterior sampling and its diagnostics (calibrate --sample), and the gut-to-joint ABC fit",
    "distributed": "a Dask scheduler for populations, trials and ensembles",
}
"""The optional extras of ``pyproject.toml`` (``all`` installs every one) and what each adds."""


def require(module: str, extra: str):
    """Import ``module`` and return it, or raise :class:`MissingExtraError` naming the extra that installs it (and
    the package that is missing, which may be one ``module`` needs)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = exc.name or module
        raise MissingExtraError(f"{missing} is not installed; it comes with the '{extra}' extra ({EXTRAS[extra]}): "
                                f"pip install 'gutjoint[{extra}]'") from None
