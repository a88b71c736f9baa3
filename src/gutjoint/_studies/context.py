"""The context every study reads: the tables, the compiled model, the observations and where work runs.

Nothing here is a cache to clear. Each table is read once per version of its file (``_files.file_version``), and
what is built from a table (the symbolic model, the compiled runtime, the prior draw plan, the links' grade check)
is cached on the table object itself, so a fit written back (``gutjoint calibrate --write``) is what the next
study in the same process reads. :func:`context` takes a snapshot of all of it at one moment::

    ctx = gutjoint.context()
    ctx.parameters["crp_max"].value, ctx.model_key, len(ctx.observations)
    new = fit.write_back(values, tags)       # returns the context after the write
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from gutjoint._biology.parameters import ParameterTable, load_parameters
from gutjoint._processes import Executor
from gutjoint._studies.calibration.observations import observations
from gutjoint._studies.ensemble import Ensemble, ensemble_path, load_ensemble
from gutjoint._studies.runtime import Runtime, model_key_of, runtime_of


@dataclass(frozen=True)
class Context:
    """What a study reads, fixed at one moment: the parameter table, the model compiled from it, the observation
    table (``calibration/observations.py``), the ensemble's path, the disk cache's folder and the executor that
    runs independent jobs (this process by default; ``Executor(workers, scheduler)`` for local workers or Dask)."""

    parameters: ParameterTable
    observations: pd.DataFrame
    ensemble_path: Path
    cache_folder: Path | None
    executor: Executor

    @property
    def runtime(self) -> Runtime:
        return runtime_of(self.parameters)

    @cached_property
    def model_key(self) -> str:
        """The model's code and these parameter values, hashed: results stored under another key are not reused."""
        return model_key_of(self.parameters)

    @cached_property
    def ensemble(self) -> Ensemble:
        return load_ensemble(self.ensemble_path)


def context(*, workers: int = 1, scheduler: str | None = None) -> Context:
    """The context as the files on disk are now (see the module docstring)."""
    from gutjoint._numerics.codegen import default_cache_dir

    return Context(parameters=load_parameters(), observations=observations(), ensemble_path=ensemble_path(),
                   cache_folder=default_cache_dir(), executor=Executor(workers, scheduler))
