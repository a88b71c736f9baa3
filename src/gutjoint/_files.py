"""Writing result tables: CSV or Parquet by extension, always atomically (temporary file, then rename)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from gutjoint._errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

TABLE_FORMATS = (".csv", ".parquet")


TEMP_SUFFIX = ".gutjoint-tmp"
_swept: set[str] = set()  # folders already cleared of stale temporary files by this process


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def sweep_stale_temporaries(folder: Path) -> list[Path]:
    """Remove the temporary files that a killed gutjoint process left in ``folder`` (their writer is gone).

    A temporary file is named ``.<target>.<pid>-<random>.gutjoint-tmp``; one whose process no longer runs is
    stale. SIGTERM and Ctrl-C clean up as they go; this clears what SIGKILL or a power cut left."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIX)):
            continue
        pid_part = entry.name[: -len(TEMP_SUFFIX)].rsplit(".", 1)[-1].split("-", 1)[0]
        if pid_part.isdigit() and int(pid_part) != os.getpid() and not _alive(int(pid_part)):
            try:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except OSError:
                pass
    return removed


def atomic_write(path: str | Path, write: Callable[[Path], object], *, field: str = "--out") -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    A failure, Ctrl-C or SIGTERM leaves no partial file behind, and an existing ``path`` intact; what a killed
    process left is removed by the next write to the same folder. An unwritable location raises a one-line
    :class:`InputError`.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError(f"{path}: field '{field}': {str(path)!r} is a folder; allowed: a file path")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.{os.getpid()}-", suffix=TEMP_SUFFIX)
    except OSError as exc:
        raise InputError(f"{path}: field '{field}': folder {str(folder)!r} is not writable ({exc.strerror}); "
                         "allowed: a path in a writable folder") from None
    os.close(fd)
    key = os.path.abspath(folder)
    if key not in _swept:
        if len(_swept) > 10_000:  # a long-running server writes into many short-lived folders
            _swept.clear()
        _swept.add(key)
        sweep_stale_temporaries(folder)
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


CSV_FLOAT_FORMAT = "%.10g"
"""How a CSV table writes a float: ten significant digits (NaN as an empty field)."""


def _table_suffix(path: Path, field: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise InputError(f"{path}: field '{field}': extension {suffix or '(none)'!r} is not supported; "
                         f"allowed: {', '.join(TABLE_FORMATS)}")
    return suffix


def write_table(frame: pd.DataFrame, path: str | Path, *, field: str = "--out") -> Path:
    """Write ``frame`` to ``path`` as CSV or Parquet, chosen by the extension."""
    path = Path(path)
    if _table_suffix(path, field) == ".csv":
        return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, float_format=CSV_FLOAT_FORMAT),
                            field=field)
    return atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False), field=field)


def write_array_table(names: tuple[str, ...], values: np.ndarray, path: str | Path, *, field: str = "--out") -> Path:
    """Write a float matrix (rows x ``names``) as :func:`write_table` writes the same DataFrame, byte for byte in
    CSV, without importing pandas for it (a single simulation's table; Parquet goes through pandas)."""
    path = Path(path)
    if _table_suffix(path, field) != ".csv":
        import pandas as pd

        return write_table(pd.DataFrame(values, columns=list(names)), path, field=field)

    def write(tmp: Path) -> None:
        lines = [",".join(names)]
        lines += [",".join("" if x != x else CSV_FLOAT_FORMAT % x for x in row) for row in values.tolist()]
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")

    return atomic_write(path, write, field=field)


class DiskCache:
    """One folder of the disk cache: entries keyed by content (the caller hashes what an entry depends on into its
    key), written atomically, read back when present and built again when missing or damaged, and at most
    ``limit`` of them (past it, the oldest tenth goes). With ``lock``, processes that need the same missing entry
    wait for the first to build it instead of building it again (a file lock beside the entry). ``folder`` None
    keeps nothing on disk: every ``get`` builds. The population's selection table and the web's bands use it."""

    def __init__(self, folder: Path | None, suffix: str, dump: Callable[[object, Path], None],
                 load: Callable[[Path], object], *, limit: int = 1000, lock: bool = False):
        self.folder, self.suffix, self.dump, self.load, self.limit, self.lock = folder, suffix, dump, load, limit, lock

    def path(self, key: str) -> Path | None:
        return None if self.folder is None else self.folder / f"{key}{self.suffix}"

    def get(self, key: str, build: Callable[[], object]):
        """The entry ``key``: read back, or built by ``build()`` and stored (an unwritable cache only costs the
        next process the same work)."""
        stored = self.path(key)
        if stored is None:
            return build()
        if not self.lock:
            return self._read_or_build(stored, build)
        import fcntl

        with open(stored.with_suffix(".lock"), "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            return self._read_or_build(stored, build)

    def _read_or_build(self, stored: Path, build: Callable[[], object]):
        try:
            return self.load(stored)
        except (OSError, ValueError, KeyError, EOFError):  # missing or damaged: build it
            pass
        value = build()
        try:
            atomic_write(stored, lambda tmp: self.dump(value, tmp), field="cache")
        except InputError:
            return value
        self.prune()
        return value

    def prune(self) -> None:
        """Keep at most ``limit`` entries: past it, remove the oldest tenth (and their locks)."""
        stored = list(self.folder.glob(f"*{self.suffix}"))
        if len(stored) <= self.limit:
            return

        def age(path: Path) -> float:
            try:
                return path.stat().st_mtime
            except OSError:
                return 0.0

        for path in sorted(stored, key=age)[: len(stored) - int(0.9 * self.limit)]:
            for old in (path, path.with_suffix(".lock")):
                try:
                    old.unlink()
                except OSError:
                    pass  # another process removed it first


def file_version(resource) -> tuple:
    """What identifies the current content of a file (a path or a package resource): its path, inode, size and
    modification time in nanoseconds, or for a resource that is not a file on disk a hash of its bytes. A rename
    into place (every write here) changes the inode, so a cache keyed by this never serves an old table."""
    if isinstance(resource, (str, os.PathLike)):
        try:
            stat = os.stat(resource)
        except OSError:
            pass
        else:
            return (os.fspath(resource), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    import hashlib

    return (str(resource), hashlib.sha256(resource.read_bytes()).hexdigest())
