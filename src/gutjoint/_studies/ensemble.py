"""The parameter ensemble: its files, how it is read, and what each column rests on.

Below every study that reads it (bands, attribution, populations, trials) and the sampler that writes it
(:mod:`gutjoint._studies.calibration.posterior`), so that reading an ensemble imports neither.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path

from typing import TYPE_CHECKING

from gutjoint._errors import InputError
from gutjoint._files import file_version

if TYPE_CHECKING:
    from collections.abc import Set

    import pandas as pd

ENSEMBLE_FILE = "ensemble.parquet"
PROVENANCE_FILE = "ensemble.json"


def ensemble_path(name: str = ENSEMBLE_FILE) -> Path:
    """The shipped ensemble's file (or its provenance, by ``name``) in the package data."""
    return Path(str(resources.files("gutjoint.data").joinpath(name)))


@dataclass(frozen=True)
class Ensemble:
    """Parameter sets (``values``: one row per draw, one column per parameter), what each column rests on
    (``basis``: ``posterior (... block)``, ``prior-only``, ``source``, ``held at the fit``, ``recomputed per draw``)
    and how the set was made (``provenance``)."""

    values: pd.DataFrame
    basis: dict[str, str]
    provenance: dict
    path: Path

    def __len__(self) -> int:
        return len(self.values)

    @cached_property
    def key(self) -> str:
        """A hash of the ensemble file: results stored under another ensemble are never reused."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest()[:16]

    def parameter_sets(self, exclude: Set[str] = frozenset(), draws: int | None = None) -> list[dict[str, float]]:
        """One dict of parameter values per draw (the first ``draws``; the calibration conditions' levels left
        out)."""
        from gutjoint._biology.parameters import load_parameters

        table = load_parameters()
        names = [c for c in self.values.columns if c in table and c not in exclude]
        rows = self.values[names].to_numpy()[:draws]
        return [{k: float(v) for k, v in zip(names, row) if math.isfinite(v)} for row in rows]

    def constrained(self) -> list[str]:
        """The parameters the human data update (posterior draws)."""
        return [k for k, v in self.basis.items() if v.startswith("posterior") and "condition" not in v]

    def prior_only(self) -> list[str]:
        return [k for k, v in self.basis.items() if v == "prior-only"]

    def conditioned(self) -> list[str]:
        """Parameters with a prior of their own that act in the calibration data, conditioned on those data draw
        by draw (``posterior.condition_draw``)."""
        return [k for k, v in self.basis.items() if v.startswith("conditioned")]


def load_ensemble(path: str | Path | None = None) -> Ensemble:
    """Read an ensemble (default: the shipped one) and its provenance file beside it."""
    path = Path(path) if path is not None else ensemble_path()
    if path.is_dir():
        path = path / ENSEMBLE_FILE
    meta = path.parent / PROVENANCE_FILE
    if not path.exists() or not meta.exists():
        missing = path if not path.exists() else meta
        raise InputError(f"{missing}: field 'ensemble': file not found; allowed: an ensemble written by "
                         "`gutjoint calibrate --sample` (the package ships one)")
    return _load(str(path), str(meta), (file_version(path), file_version(meta)))


@lru_cache(maxsize=4)
def _load(path: str, meta_path: str, versions: tuple) -> Ensemble:
    """The ensemble in ``path`` with its provenance, read once per version of the two files."""
    import pandas as pd

    file, meta = Path(path), Path(meta_path)
    if not file.exists() or not meta.exists():
        missing = file if not file.exists() else meta
        raise InputError(f"{missing}: field 'ensemble': file not found; allowed: an ensemble written by "
                         "`gutjoint calibrate --sample` (the package ships one)")
    try:
        values = pd.read_parquet(file)
        provenance = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{file}: field 'ensemble': unreadable ({type(exc).__name__}); allowed: an ensemble "
                         "written by `gutjoint calibrate --sample`") from None
    return Ensemble(values, provenance.pop("basis", {}), provenance, file)
