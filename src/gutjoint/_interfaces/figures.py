"""The simulation figure: one page that reads top to bottom, gut → blood → immune → joint → pain."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from gutjoint._files import atomic_write
from gutjoint._safety import DISCLAIMER, RED_FLAG_LINE

PANELS: tuple[tuple[str, list[tuple[str, str, str]], str, bool], ...] = (
    # title, [(column, label, colour)], y label, log scale
    ("Gut barrier", [("lm_ratio", "lactulose:mannitol", "tab:brown")], "L:M ratio", False),
    ("Blood", [("lps_pg_ml", "endotoxin (LPS)", "tab:olive")], "pg/mL", False),
    ("Innate cytokines", [("tnf_pg_ml", "TNF", "tab:red"), ("il6_pg_ml", "IL-6", "tab:orange"),
                          ("il8_pg_ml", "IL-8", "tab:pink"), ("il10_pg_ml", "IL-10", "tab:blue")], "pg/mL", True),
    ("Systemic inflammation", [("crp_mg_l", "CRP", "tab:purple")], "mg/L", False),
    ("Joint", [("synovitis", "synovitis (a.u.)", "tab:red"), ("autoreactivity", "autoreactivity (a.u.)", "tab:green"),
               ("synovial_antigen", "bacterial antigen in the joint (a.u.)", "tab:olive"),
               ("sensitization", "sensitization gain", "tab:gray"), ("cartilage", "cartilage (fraction)", "tab:cyan"),
               ("pain_threshold_rel", "pain threshold (x baseline)", "tab:brown")],
     "", False),
    ("Pain by source (stacked)", [], "NRS 0-10", False),
)
SOURCE_COLOURS = {"inflammation": "tab:red", "immune": "tab:green", "cartilage": "tab:cyan", "metabolic": "tab:olive"}


def _shade_windows(ax, result, time_scale: float) -> None:
    for window in result.scenario.inputs:
        colour = "tab:green" if window.name in ("barrier_support", "anti_tnf") else "0.6"
        ax.axvspan(window.start_day * time_scale, window.end_day * time_scale, color=colour, alpha=0.12, lw=0)
    for dose in result.scenario.doses:
        ax.axvline(dose.day * time_scale, color="k", lw=0.8, ls=":")


def _band(ax, t, bands, column: str, colour: str) -> None:
    """The 90% (light) and 50% (darker) bands of ``column`` over the ensemble, where ``bands`` has them."""
    for low, high, alpha in (("q05", "q95", 0.13), ("q25", "q75", 0.22)):
        if bands is not None and f"{column}_{low}" in bands and f"{column}_{high}" in bands:
            ax.fill_between(t, bands[f"{column}_{low}"], bands[f"{column}_{high}"], color=colour, alpha=alpha, lw=0)


def plot_simulation(result, path: str | Path | None = None, bands=None):
    """Draw ``result`` and, if ``path`` is given, save it as PNG (atomically). Returns the figure. ``bands``
    (a table of ``<column>_qNN`` columns on the same times, from ``studies.uncertainty.bands``) adds the
    ensemble's 90% and 50% bands around each line."""
    frame = result.frame
    hours = result.scenario.days <= 3
    scale = 24.0 if hours else 1.0
    t = frame["time_days"] * scale
    fig = Figure(figsize=(8.5, 12.4), layout="constrained")
    axes = fig.subplots(len(PANELS), 1, sharex=True)
    fig.get_layout_engine().set(rect=(0, 0.03, 1, 0.97))  # type: ignore[union-attr,call-arg]  # room for the disclaimer below the panels
    for ax, (title, series, ylabel, log) in zip(axes, PANELS):
        _shade_windows(ax, result, scale)
        if series:
            for column, label, colour in series:
                _band(ax, t, bands, column, colour)
                ax.plot(t, frame[column], color=colour, lw=1.6, label=label)
            if log:
                ax.set_yscale("log")
            else:  # a nearly flat line should look flat, not like a trend magnified to the 6th digit
                ax.ticklabel_format(axis="y", useOffset=False, style="plain")
                values = frame[[c for c, _, _ in series]].to_numpy()
                if bands is not None:
                    edges = [f"{c}_{q}" for c, _, _ in series for q in ("q05", "q95") if f"{c}_{q}" in bands]
                    values = np.concatenate([values.ravel(), bands[edges].to_numpy().ravel()]) if edges else values
                    values = values[np.isfinite(values)]
                lo, hi = float(values.min()), float(values.max())
                if hi - lo < 0.05 * max(abs(lo), abs(hi), 1e-12):
                    middle = 0.5 * (lo + hi)
                    ax.set_ylim(middle - 0.1 * abs(middle) - 1e-12, middle + 0.1 * abs(middle) + 1e-12)
        else:
            parts = [frame[f"pain_{s}"] for s in SOURCE_COLOURS]
            ax.stackplot(t, parts, labels=[s for s in SOURCE_COLOURS], colors=list(SOURCE_COLOURS.values()),
                         alpha=0.75)
            _band(ax, t, bands, "pain_nrs", "k")
            ax.plot(t, frame["pain_nrs"], color="k", lw=1.2, label="pain (total)")
            ax.set_ylim(0, 10)
        ax.set_title(title, loc="left", fontsize=10, fontweight="bold")
        ax.set_ylabel(ylabel)
        ax.legend(loc="upper left", fontsize=7, ncol=1, frameon=False, bbox_to_anchor=(1.0, 1.0))
        ax.grid(alpha=0.25)
    axes[-1].set_xlabel("time (hours)" if hours else "time (days)")
    windows = ", ".join(f"{w.name} {w.level:g} (day {w.start_day:g}-{w.end_day:g})" for w in result.scenario.inputs)
    doses = ", ".join(f"{d.name} {d.amount:g} at day {d.day:g}" for d in result.scenario.doses)
    subtitle = "; ".join(x for x in (windows, doses) if x) or "no exposures"
    legend = ("shaded: exposure windows (green = intervention); dotted: doses."
              + ("\nbands around the lines: 90% and 50% of the parameter ensemble (posterior + priors of the "
                 "assumptions)" if bands is not None else ""))
    fig.suptitle(f"gutjoint: {result.scenario.name}\n{subtitle}\n{legend}", fontsize=9)
    fig.text(0.01, 0.003, f"{DISCLAIMER}\n{RED_FLAG_LINE}", fontsize=7, va="bottom", color="0.25")
    if path is not None:
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"), field="--plot")
    return fig


def sensitivity_figure(result, path: Path | None = None, top: int = 6):
    """Time-resolved indices of the ``top`` parameters (largest index at any time), with 95% bootstrap bands."""
    frame = result.indices
    from gutjoint._studies.sensitivity import METHOD_REGISTRY

    kinds, rank_by = METHOD_REGISTRY[result.method].indices, METHOD_REGISTRY[result.method].rank_by
    ranking = (frame[frame["index"] == rank_by]
               .groupby("parameter")["value"].max().sort_values(ascending=False))
    chosen = list(ranking.index[:top])
    fig = Figure(figsize=(12, 4.6), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True)
    colours = colormaps["tab10"]
    titles = {"S1": "first-order Sobol index S1", "ST": "total Sobol index ST", "mu_star": "Morris mu* (mean |effect|)",
              "sigma": "Morris sigma (interactions, non-linearity)"}
    for ax, kind in zip(axes, kinds):
        for i, name in enumerate(chosen):
            part = frame[(frame["index"] == kind) & (frame["parameter"] == name)].sort_values("time_days")
            t, v, c = part["time_days"], part["value"], part["conf"]
            ax.plot(t, v, color=colours(i), label=name)
            if c.notna().any():
                ax.fill_between(t, v - c, v + c, color=colours(i), alpha=0.18, linewidth=0)
        ax.set_title(titles[kind], fontsize=10)
        ax.set_xlabel("time (days)")
        ax.grid(alpha=0.25)
    axes[0].set_ylabel(f"sensitivity of {result.output}")
    axes[1].legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle(f"gutjoint sensitivity: {result.scenario}, {result.output}, {result.method} "
                 f"({result.n_evaluations} runs, {result.n_failed} failed; bands: 95% bootstrap)", fontsize=10)
    if path is not None:
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"), field="--out")
    return fig
