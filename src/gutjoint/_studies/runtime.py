"""The compiled gut–joint model, loaded once per process (from the disk cache when it can be)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources

import numpy as np

from gutjoint._biology import species
from gutjoint._biology.parameters import ParameterTable, load_parameters
from gutjoint._numerics.codegen import CompiledSystem, compile_system


@dataclass(frozen=True)
class Runtime:
    """Compiled callables plus the names that give their vectors meaning."""

    compiled: CompiledSystem
    parameters: ParameterTable
    state_names: tuple[str, ...]
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]

    def state_index(self, name: str) -> int:
        return self.state_names.index(name)

    def input_index(self, name: str) -> int:
        return self.input_names.index(name)

    def output_column(self, name: str) -> int:
        """The column of output ``name`` (KeyError for an unknown name)."""
        return self._output_columns[name]

    @cached_property
    def _output_columns(self) -> dict[str, int]:
        return {name: k for k, name in enumerate(self.output_names)}

    def rest_guess(self, p: np.ndarray) -> np.ndarray:
        """The generic first guess of a resting state under parameter vector ``p``."""
        return self.rest_guesses(np.asarray(p)[None, :])[0]

    def rest_guesses(self, P: np.ndarray) -> np.ndarray:
        """:meth:`rest_guess` for each row of ``P``: the generic guess, cartilage at its initial value."""
        guesses = np.tile(np.array([species.REST_GUESS[n] for n in self.state_names]), (len(P), 1))
        guesses[:, self.state_index("cartilage")] = P[:, self.parameters.names.index("cartilage_initial")]
        return guesses


def _definition_key(table: ParameterTable) -> str:
    """Hash of everything the generated code depends on: equations, names and their order."""
    digest = hashlib.sha256()
    package = resources.files("gutjoint._biology")
    for filename in ("model.py", "species.py"):
        digest.update(package.joinpath(filename).read_bytes())
    digest.update(",".join(table.names).encode())
    return digest.hexdigest()


def get_runtime() -> Runtime:
    """The compiled model of the parameter table as it is on disk now (see :func:`runtime_of`)."""
    return runtime_of(load_parameters())


@lru_cache(maxsize=2)
def runtime_of(table: ParameterTable) -> Runtime:
    """Compile (first use on this machine) or load (afterwards) the right-hand side and Jacobian of the model of
    ``table``, once per table."""
    input_names = species.PUBLIC_INPUTS + tuple(v.name for v in species.DOSE_RATE_INPUTS)

    def build():
        from gutjoint._biology.model import build_model

        return build_model(table).symbolic_system()

    compiled = compile_system(_definition_key(table), build, metadata={"outputs": list(species.MODEL_OUTPUTS)})
    return Runtime(
        compiled=compiled,
        parameters=table,
        state_names=species.STATE_NAMES,
        input_names=input_names,
        output_names=species.MODEL_OUTPUTS,
    )


def model_key() -> str:
    """A hash of the model's code and its parameter values (as the table is on disk now): stored results made
    under another model are never reused."""
    return model_key_of(load_parameters())


@lru_cache(maxsize=4)
def model_key_of(table: ParameterTable) -> str:
    """:func:`model_key` of ``table``."""
    values = ",".join(f"{v:.12g}" for v in table.vector())
    return hashlib.sha256((_definition_key(table) + values).encode()).hexdigest()[:16]
