"""Checks for the arguments of the public functions: the rule the scenario files follow, for the Python API.

A bad argument raises :class:`~gutjoint._errors.OptionError` naming the function, the argument, the value and what
is allowed, in one line, before any work starts or any file is written. Each interface names the argument its own
way (the CLI's ``--n``, the web's JSON field: :meth:`OptionError.as_option`).
"""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path

from gutjoint._errors import OptionError


def whole(where: str, argument: str, value: object, low: int, high: int | None = None) -> int:
    """``value`` as an ``int`` in ``[low, high]``: an integer (or an integral NumPy or float value), never a bool."""
    allowed = f"a whole number from {low}" + (f" to {high}" if high is not None else " up")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise OptionError(where, argument, value, allowed)
    if isinstance(value, numbers.Integral):
        number = int(value)
    elif math.isfinite(float(value)) and float(value).is_integer():
        number = int(float(value))
    else:
        raise OptionError(where, argument, value, allowed)
    if number < low or (high is not None and number > high):
        raise OptionError(where, argument, value, allowed)
    return number


def number_in(value: object, low: float, high: float, *, low_open: bool = False) -> float | None:
    """``value`` as a finite ``float`` in ``[low, high]`` (``(low, high]`` with ``low_open``), or None: a bool, a
    string, NaN, an integer beyond the float range or a value outside is not one. The rule for every number a user
    gives, in a scenario file or as an argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer beyond the float range
        return None
    if not math.isfinite(number) or number > high or number < low or (low_open and number <= low):
        return None
    return number


def real(where: str, argument: str, value: object, low: float, high: float, *, low_open: bool = False,
         what: str | None = None) -> float:
    """``value`` as :func:`number_in` reads it, or :class:`OptionError` naming the argument."""
    number = number_in(value, low, high, low_open=low_open)
    if number is None:
        raise OptionError(where, argument, value, what or range_words(low, high, low_open=low_open))
    return number


def range_words(low: float, high: float, *, low_open: bool = False) -> str:
    """What :func:`number_in` allows, in words: 'a number in [0, 1]' (``(0, 1]`` with ``low_open``)."""
    return f"a number in ({low:g}, {high:g}]" if low_open else f"a number in [{low:g}, {high:g}]"


def path(where: str, argument: str, value: object) -> Path:
    """``value`` as a ``Path``: a string or path-like, with no NUL byte (the operating system cannot name it)."""
    allowed = "a file or folder path (a string without NUL characters)"
    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)):
        raise OptionError(where, argument, value, allowed)
    text = os.fspath(value)
    if isinstance(text, bytes) or "\x00" in text or not text:
        raise OptionError(where, argument, value, allowed)
    return Path(text)
