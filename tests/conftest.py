"""Shared fixtures: simulations are cached per test session (each built-in scenario runs once)."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import gutjoint


@functools.lru_cache(maxsize=None)
def _run(name: str, overrides: tuple = ()) -> gutjoint.SimulationResult:
    result = gutjoint.simulate(name, parameters=dict(overrides))
    assert result.ok, f"{name}: {result.status} {result.message}"
    return result


@pytest.fixture(scope="session")
def run():
    """``run(name, **overrides)``: a cached simulation of a scenario (name, path or Scenario)."""

    def call(name, **overrides):
        return _run(name, tuple(sorted(overrides.items())))

    return call


def last(result, column: str) -> float:
    return float(result.frame[column].iloc[-1])


def strictly_increasing(values, rel: float = 1e-6) -> bool:
    values = np.asarray(values, dtype=float)
    return bool(np.all(np.diff(values) > rel * np.abs(values[:-1])))
