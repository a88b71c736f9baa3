"""Writing result tables: CSV or Parquet by extension, always atomically (temporary file, then rename)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from gutjoint._errors import InputError

TABLE_FORMATS = (".csv", ".parquet")


def atomic_write(path: str | Path, write: Callable[[Path], None], *, field: str = "--out") -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    A failure leaves no partial file behind. An unwritable location raises a one-line :class:`InputError`.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError(f"{path}: field '{field}': {str(path)!r} is a folder; allowed: a file path")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise InputError(f"{path}: field '{field}': folder {str(folder)!r} is not writable ({exc.strerror}); "
                         "allowed: a path in a writable folder") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; results should read like any other file
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_table(frame: pd.DataFrame, path: str | Path, *, field: str = "--out") -> Path:
    """Write ``frame`` to ``path`` as CSV or Parquet, chosen by the extension."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise InputError(f"{path}: field '{field}': extension {suffix or '(none)'!r} is not supported; "
                         f"allowed: {', '.join(TABLE_FORMATS)}")
    if suffix == ".csv":
        return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, float_format="%.10g"), field=field)
    return atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False), field=field)
