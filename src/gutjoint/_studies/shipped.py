"""Results that take minutes to compute, shipped as package data beside the code that makes them, each stored
with a key of what it depends on and read back only while that key still matches."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path


@dataclass(frozen=True)
class ShippedResult:
    """One shipped JSON result: ``compute()`` makes it (with its ``"key"``), ``current_key(result)`` says what its
    key should be today, and ``stale`` is the one line that says how to make it again."""

    filename: str
    compute: Callable[[], dict]
    current_key: Callable[[dict], str]
    stale: str

    def path(self) -> Path:
        return Path(str(resources.files("gutjoint.data").joinpath(self.filename)))

    def write(self, folder=None) -> Path:
        """Compute the result and store it in the package data (or ``folder``), atomically."""
        from gutjoint._files import atomic_write

        path = Path(folder) / self.filename if folder is not None else self.path()
        result = self.compute()
        atomic_write(path, lambda tmp: tmp.write_text(json.dumps(result, indent=1)), field="out")
        return path

    def load(self) -> dict | None:
        """The shipped result, or None when it is missing or was made under what has since changed."""
        path = self.path()
        if not path.exists():
            return None
        result = json.loads(path.read_text())
        return result if result.get("key") == self.current_key(result) else None
