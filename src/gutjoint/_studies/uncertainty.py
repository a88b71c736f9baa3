"""Predictions with their bands: a scenario run over the shipped parameter ensemble.

The ensemble (``gutjoint/data/ensemble.parquet``, made by ``gutjoint calibrate --sample``; see
:mod:`gutjoint._studies.calibration.posterior`) holds parameter sets: the fitted blocks from their posterior, every
other uncertain parameter from its prior. A scenario's own parameters and traits always win over a draw, so
the band of a scenario is the uncertainty of the model, not of the person the scenario describes.

:func:`simulate_ensemble` returns an xarray ``Dataset`` (dims ``draw`` and ``time``, units in ``attrs``);
:func:`bands` gives its quantiles as ``<column>_qNN`` columns; :func:`band_drivers` ranks the parameters by the
share of a prediction's variance they carry (first-order indices from the draws themselves, with SALib's
RBD-FAST given-data estimator: Plischke 2010, Reliab Eng Syst Saf 95:354; Tarantola et al. 2006, Reliab Eng Syst
Saf 91:717); :func:`in_words` says how wide a band is.
"""

from __future__ import annotations

import math

import numpy as np

from gutjoint._arguments import whole
from gutjoint._errors import OptionError
from gutjoint._biology import species
from gutjoint._studies.ensemble import Ensemble, load_ensemble

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
"""The default quantiles of a band: the 90% and 50% intervals and the median."""
MAX_DRAWS = 5000


def check_quantiles(quantiles, where: str = "simulate") -> tuple[float, ...]:
    """Quantiles as a sorted tuple, each strictly between 0 and 1 (two digits at most, for the column names)."""
    try:
        qs = tuple(sorted({float(q) for q in quantiles}))
    except (TypeError, ValueError):
        raise OptionError(where, "quantiles", quantiles, "numbers between 0 and 1, e.g. 0.05,0.5,0.95") from None
    bad = [q for q in qs if not (0.0 < q < 1.0) or abs(q * 100 - round(q * 100)) > 1e-9]
    if not qs or bad:
        raise OptionError(where, "quantiles", bad[0] if bad else quantiles,
                          "numbers strictly between 0 and 1 in steps of 0.01, e.g. 0.05,0.5,0.95")
    return qs


def _draws(ensemble: Ensemble, draws: int | None) -> int:
    largest = min(len(ensemble), MAX_DRAWS)
    if draws is None:
        return largest
    return whole("uncertainty", "draws", draws, 1, largest)


def draw_scenarios(scenario, ensemble: Ensemble, draws: int | None = None) -> list:
    """The scenario once per draw, the draw's values under the scenario's own parameters and traits."""
    from dataclasses import replace

    from gutjoint._studies.scenario import load_scenario

    sc = load_scenario(scenario)
    own = set(sc.overrides())
    sets = ensemble.parameter_sets(exclude=own, draws=_draws(ensemble, draws))
    return [replace(sc, parameters={**s, **sc.parameters}) for s in sets]


def simulate_ensemble(scenario, *, ensemble: Ensemble | None = None, draws: int | None = None):
    """Run ``scenario`` once per ensemble draw; an xarray ``Dataset`` of every output (dims ``draw``, ``time``),
    with each draw's solver ``status`` (failed draws, including those whose resting state the compiled Newton
    does not settle, are NaN and counted in ``attrs['n_failed']``)."""
    import xarray as xr

    from gutjoint._studies.problem import MANY_RUN_TOLERANCES, prepare_many, solve_many

    ensemble = ensemble or load_ensemble()
    runs = draw_scenarios(scenario, ensemble, draws)
    # every run is a draw: relax_for's fast path (a SciPy relaxation took seconds for each of 14 of the 500 shipped
    # draws in barrier-support; benchmarks/bench_ensemble.py)
    solutions = solve_many(prepare_many(runs, relax=False), tolerances=MANY_RUN_TOLERANCES)
    names = solutions[0].problem.runtime.output_names
    data = np.stack([s.outputs for s in solutions])
    times = solutions[0].times
    variables: dict[str, tuple] = {name: (("draw", "time"), data[:, :, k], {"units": species.OUTPUT_UNITS.get(name, "")})
                 for k, name in enumerate(names)}
    variables["status"] = (("draw",), np.array([s.status.code for s in solutions]))
    n_failed = sum(not s.ok for s in solutions)
    return xr.Dataset(variables, coords={"draw": ensemble.values["draw"].to_numpy()[: len(runs)],
                                         "time": ("time", times, {"units": "days"})},
                      attrs={"scenario": runs[0].name, "n_draws": len(runs), "n_failed": n_failed,
                             "ensemble": str(ensemble.path), "sampler": ensemble.provenance.get("sampler", "")})


def bands(dataset, quantiles=QUANTILES, columns=None):
    """The quantiles over draws of each output (successful draws only): a DataFrame with ``time_days`` and
    ``<column>_qNN`` columns."""
    import pandas as pd

    qs = check_quantiles(quantiles)
    ok = dataset["status"].values == "success"
    columns = columns or [c for c in species.PINNED_OUTPUTS if c in dataset]
    out = {"time_days": dataset["time"].values}
    for c in columns:
        values = dataset[c].values[ok]
        q = np.quantile(values, qs, axis=0) if len(values) else np.full((len(qs), dataset.sizes["time"]), np.nan)
        for level, row in zip(qs, q):
            out[f"{c}_q{round(level * 100):02d}"] = row
    return pd.DataFrame(out)


def band_drivers(dataset, ensemble: Ensemble, output: str = "pain_nrs", day: float | None = None,
                 top: int = 3) -> list[dict]:
    """The parameters that carry most of the band of ``output`` on ``day`` (default: the last): first-order
    variance shares over the draws, with each one's basis and value grade, largest first.

    The shares are :func:`first_order_shares` (RBD-FAST on the ensemble as given data)."""
    from gutjoint._biology.parameters import load_parameters

    times = dataset["time"].values
    k = len(times) - 1 if day is None else int(np.abs(times - day).argmin())
    ok = dataset["status"].values == "success"
    y = dataset[output].values[ok, k]
    if len(y) < MIN_DRIVER_DRAWS or np.ptp(y) == 0:
        return []
    table = load_parameters()
    values = ensemble.values.iloc[: dataset.sizes["draw"]][ok]
    candidates = [c for c in values.columns if c in table
                  and not ensemble.basis.get(c, "").startswith("recomputed")]  # functions of the others, not causes
    X = values[candidates].to_numpy(dtype=float)
    varies = np.isfinite(X).all(axis=0) & (np.ptp(X, axis=0) > 0)
    names, X = [c for c, v in zip(candidates, varies) if v], X[:, varies]
    if not names:
        return []
    first = first_order_shares(X, y)
    order = np.argsort(-first)[:top]
    return [{"parameter": names[i], "share": float(max(first[i], 0.0)),
             "basis": ensemble.basis.get(names[i], ""), "value_grade": table[names[i]].value_grade}
            for i in order]


DRIVER_HARMONICS = 10
"""RBD-FAST's M: the harmonics counted as a parameter's first-order signal (SALib's default)."""
MIN_DRIVER_DRAWS = 4 * DRIVER_HARMONICS
"""Successful draws needed to rank a band's drivers. The bias correction scales by 2M / (N - 2M) (Tissot & Prieur
2012): infinite at N = 2M, and above 1 (a correction larger than the estimate) below N = 4M."""


def first_order_shares(X: np.ndarray, y: np.ndarray, harmonics: int = DRIVER_HARMONICS) -> np.ndarray:
    """First-order variance share of ``y`` carried by each column of ``X`` (draws as given data): SALib's
    RBD-FAST point estimate (Plischke 2010's reordering, the spectrum's first ``harmonics``, Tissot & Prieur
    2012's bias correction), built from SALib's own steps with every column's spectrum in one SciPy call.
    ``SALib.analyze.rbd_fast.analyze`` gives the same ``S1`` with one call per column and a bootstrap the ranking
    does not need: 0.27 s of a 0.3 s web band over 100 draws and 106 parameters."""
    from SALib.analyze.rbd_fast import permute_outputs, unskew_S1
    from scipy.signal import periodogram

    if len(y) <= 2 * harmonics:
        raise ValueError(f"first_order_shares needs more than {2 * harmonics} draws for {harmonics} harmonics, "
                         f"got {len(y)}")

    _, spectrum = periodogram(np.array([permute_outputs(X[:, i], y) for i in range(X.shape[1])]), axis=-1)
    return unskew_S1(spectrum[:, 1:harmonics + 1].sum(axis=1) / spectrum[:, 1:].sum(axis=1), harmonics, len(y))


def in_words(low: float, high: float, unit: str = "", digits: int = 2) -> str:
    """A 90% interval in words: 'between 3.1 and 5.6 NRS points' (days become weeks or months when long)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "not known (the runs failed)"
    if unit == "days":
        if high >= 120:
            return f"between {low / 30.4:.1f} and {high / 30.4:.1f} months"
        if high >= 14:
            return f"between {low / 7:.1f} and {high / 7:.1f} weeks"
    fmt = f"{{:.{digits}g}}"
    return f"between {fmt.format(low)} and {fmt.format(high)}" + (
        unit if unit.startswith("/") else f" {unit}" if unit else "")


def honesty_line(ensemble: Ensemble) -> str:
    """Which parts of a band the human data constrain, in one sentence."""
    conditioned = len(ensemble.conditioned())
    return (f"The ensemble holds {len(ensemble)} parameter sets: {len(ensemble.constrained())} parameters are "
            f"constrained by human calibration data (posterior draws)"
            + (f", {conditioned} more are conditioned on those data" if conditioned else "")
            + f"; {len(ensemble.prior_only())} rest on "
            "assumptions and are drawn from priors around the assumed values (the plausible range as +-2 SD), so "
            "a wide band means the answer depends on untested assumptions, not on measured biology.")
