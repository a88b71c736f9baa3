"""``gutjoint calibrate``: fit every block, profile it, write the values back, check every target (the report is
rendered by ``gutjoint._interfaces.calibration_report``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from gutjoint._studies.calibration import fit as fitting
from gutjoint._studies.calibration.targets import check


@dataclass
class CalibrationResult:
    values: dict[str, float]
    block_fits: list[fitting.BlockFit]
    profiles: dict[str, list[fitting.Profile]]
    tags: dict[str, str]
    seconds: dict[str, float] = field(default_factory=dict)
    report: Path | None = None
    checks: list = field(default_factory=list)
    written: bool = False  # the fit became the package defaults
    conditions: dict[str, float] = field(default_factory=dict)  # the fitted nuisance levels among ``values``


def calibrate(out: str | Path = "calibration-report", *, starts: int = 4, profiles: bool = True, write: bool = False,
              workers: int | None = None, blocks: tuple[str, ...] = (), progress=print) -> CalibrationResult:
    """Fit the target-informed parameters (all blocks, or only ``blocks``), write the fitted tables
    (``parameters.csv``, ``fitted_conditions.csv``) into ``out`` and check every target under the fit. Only
    ``write=True`` makes them the package defaults. Blocks not fitted keep their shipped values.
    (``gutjoint.calibrate`` also writes the report: :func:`gutjoint._interfaces.calibration_report.calibrate`.)"""
    known = [b.name for b in fitting.BLOCKS]
    unknown = [b for b in blocks if b not in known]
    if unknown:
        from gutjoint._errors import OptionError

        raise OptionError("calibrate", "block", unknown[0], ", ".join(known))
    fitting.check_estimates()
    workers = workers or fitting.default_workers()
    base: dict[str, float] = {}  # fitted model parameters, passed on to later blocks
    conditions: dict[str, float] = {}  # fitted nuisance levels of calibration conditions
    fits, profs, tags, seconds = [], {}, {}, {}
    for block in fitting.BLOCKS:
        if blocks and block.name not in blocks:
            continue
        t0 = time.perf_counter()
        progress(f"fitting block '{block.name}' ({len(block.parameters)} parameters, {starts} starts)")
        result = fitting.fit_block(block, base, starts=starts)
        base.update({k: v for k, v in result.values.items() if k not in fitting.NUISANCE_RANGES})
        conditions.update({k: v for k, v in result.values.items() if k in fitting.NUISANCE_RANGES})
        fits.append(result)
        for name in block.parameters:
            tags[name] = ", ".join(block.targets)
        seconds[f"fit {block.name}"] = time.perf_counter() - t0
        if block.name == "innate":  # the meal fit depends only on the barrier and innate values
            meal = fitting.fit_meal(base)
            base.update(meal)
            tags["lps_per_fat"] = "C4_fat_meal"
    if profiles:
        for result in fits:
            t0 = time.perf_counter()
            progress(f"profiling block '{result.block.name}'")
            earlier = {k: v for k, v in base.items() if k not in result.block.parameters}
            profs[result.block.name] = fitting.profile_block(result.block, result, earlier, workers=workers)
            seconds[f"profile {result.block.name}"] = time.perf_counter() - t0
    fitting.write_back({**base, **conditions}, tags, folder=out)  # the fit, as tables beside its report
    if write:
        fitting.write_back({**base, **conditions}, tags)
    outcome = CalibrationResult({**base, **conditions}, fits, profs, tags, seconds, written=write,
                                conditions=dict(conditions))
    outcome.checks = check() if write else check(base, conditions)
    return outcome
