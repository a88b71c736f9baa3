"""The posterior ensemble's report: sampler settings and diagnostics (ArviZ trace and pair plots), the priors,
how much the data narrowed each fitted parameter, and the posterior predictive checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gutjoint._files import atomic_write
from gutjoint._errors import require


def _narrowing(ensemble) -> list[tuple[str, str, float]]:
    """Posterior spread over prior spread of each fitted parameter, on its prior's scale (log for log-uniform)."""
    from gutjoint._biology.parameters import load_parameters
    from gutjoint._studies.calibration.posterior import prior_of

    table = load_parameters()
    rows = []
    for name in ensemble.constrained():
        prior = prior_of(name)
        log = prior.kind.startswith("log")
        spread = (lambda v: float(np.std(np.log(v) if log else v)))  # noqa: E731
        ratio = spread(ensemble.values[name].to_numpy()) / spread(prior.draw(np.random.default_rng(0), 20_000))
        rows.append((name, f"{table[name].value_grade}; prior {prior.kind}", ratio))
    return sorted(rows, key=lambda r: r[2])


def checks_section(coverage: list[dict], pass_rates: list[dict]) -> list[str]:
    """The posterior predictive checks and the targets under the ensemble, as lines of ``ensemble.md``."""
    lines = [
              "## Posterior predictive checks", "",
              "Each calibration data point, and each point of the held-out validation targets (block "
              "`validation`) and time courses from other laboratories (block `timecourses`, each with its assay "
              "factor profiled), never fitted, against the 90% band of the model under the ensemble plus the point's "
              "own measurement noise (for a dataset with its own noise scale, the draw's scale). Coverage near 90% "
              "means honest bands; far above means the bands are wider "
              "than the data need (the prior-only parameters widen them), far below means overconfident. The "
              "validation targets print no spread, so their noise is each target's tolerance taken as 2 SD; the time courses' "
              "is the CV their rows state (the observation table, `_studies/calibration/observations.py`).", "",
              "| block | dataset | points | inside the 90% band | coverage | draws |", "|---|---|---:|---:|---:|---:|"]
    lines += [f"| {r['block']} | {r['dataset']} | {r['points']} | {r['covered']} | {r['coverage']:.0%} | {r['draws']} |"
              for r in coverage]
    lines += ["", coverage_words(coverage)]
    lines += ["",
              "## Targets under the ensemble", "",
              "The share of draws under which the model meets each target (`calibrate --check` with each draw). "
              "The validation targets were never fitted: this is their predictive check.", "",
              "| target | group | draws meeting it | what |", "|---|---|---:|---|"]
    lines += [f"| {r['target']} | {r['group']} | "
              + (f"{r['pass_rate']:.0%} of {r['evaluated']}" if r["pass_rate"] is not None else "out of scope")
              + f" | {r['what']} |" for r in pass_rates]
    return lines + [""]


def _conditioning(summary: dict | None) -> list[str]:
    """The conditioning step of the ensemble: which parameters, their scales, the acceptance."""
    if not summary:
        return ["No prior-drawn parameter was conditioned on the calibration data.", ""]
    lines = ["## Prior-drawn parameters conditioned on the data", "",
             f"These parameters have a prior of their own (an assumed value, or a source's value and range) but act "
             f"in the sampled blocks' data ({summary['rule']}). Drawn from their priors alone, they took single "
             f"draws far from the data. Each draw's values are conditioned on the data given the draw's block values: "
             f"{summary['steps']} random-walk Metropolis steps from the fitted values, acceptance "
             f"{summary['acceptance']:.0%}. A conditioned draw must still give a healthy person a plausible rest; "
             f"{summary['redrawn']} left that window and were drawn again from the priors. This approximates sampling them jointly with the blocks; it is not that, and it "
             "errs on the narrow side: each draw's block values were sampled with these parameters at their fitted "
             "values, so the trade-offs between the two are not explored.",
             "", "| parameter | SD the data leave (prior's coordinate) |", "|---|---:|"]
    return lines + [f"| `{n}` | {v:.3g} |" for n, v in summary["parameters"].items()] + [""]


def _not_sampled() -> list[str]:
    """The fitted parameters the sampler holds at the fit, and why."""
    from gutjoint._studies.calibration.posterior import NOT_SAMPLED, UNINFORMED

    lines = ["## Fitted parameters the data do not inform (held at the fit)", "",
             f"Their Laplace posterior SD at the fit is at least {UNINFORMED:.0%} of their prior's, so a chain over "
             "them would only wander over the prior (the first ensembles sampled all of them, and their innate "
             "chains did not converge). A test recomputes the rule.", "", "| parameter | why |", "|---|---|"]
    return lines + [f"| `{n}` | {why} |" for n, why in NOT_SAMPLED.items()] + [""]


def _literature_priors() -> list[str]:
    """The fitted parameters whose prior is centred on a published human model's value."""
    from gutjoint._biology.parameters import load_parameters
    from gutjoint._studies.calibration.posterior import LITERATURE_PRIORS, LITERATURE_SD

    table = load_parameters()
    lines = ["## Priors from published human endotoxemia models", "",
             f"Log-normal around the published value, a factor of {np.exp(LITERATURE_SD):.0f} at 1 SD (assumed: "
             "the models differ in structure from this one; neither prints an uncertainty), truncated to the "
             "range. Every other sampled parameter has a log-uniform prior over its range (uniform where the range "
             "starts at 0).", "", "| parameter | prior centre | fitted value | source |", "|---|---:|---:|---|"]
    return lines + [f"| `{n}` | {c:.4g} | {table[n].value:.4g} | {why} |" for n, (c, why) in LITERATURE_PRIORS.items()] + [""]


def _noise_scales(ensemble) -> list[str]:
    """Each estimated noise scale over the ensemble: median and 90% interval."""
    from gutjoint._studies.calibration.posterior import NOISE_MIN_POINTS, NOISE_PREFIX

    columns = [c for c in ensemble.values.columns if c.startswith(NOISE_PREFIX)]
    if not columns:
        return []
    lines = ["## Noise scales of the datasets", "",
             f"A dataset with at least {NOISE_MIN_POINTS} points has its own noise: its rows' SDs (the spread "
             "between people) times a scale, integrated out of the likelihood under a scale-invariant prior and "
             "drawn for each draw from its conditional posterior (`posterior.deviance`). Below 1, the mean curve "
             "is followed more closely than the spread between people.", "",
             "| dataset | median scale | 90% interval |", "|---|---:|---|"]
    for column in columns:
        lo, mid, hi = np.nanquantile(ensemble.values[column].to_numpy(), [0.05, 0.5, 0.95])
        lines.append(f"| {column.removeprefix(NOISE_PREFIX)} | {mid:.2f} | {lo:.2f}-{hi:.2f} |")
    return lines + [""]


def _plots(chains, folder: Path, burn) -> list[str]:
    """ArviZ trace plot of each block and a pair plot of its four best-constrained parameters."""
    az = require("arviz", "inference")
    import matplotlib.pyplot as plt

    names = []
    for block, chain in chains.items():
        from gutjoint._studies.calibration.posterior import share_of

        post = chain.posterior(share_of(burn, block))
        data = az.convert_to_inference_data({n: post[:, :, i] for i, n in enumerate(chain.parameters)})
        spread = np.argsort(post.reshape(-1, post.shape[2]).std(axis=0))
        for kind, picks in (("trace", chain.parameters[:8]), ("pair", [chain.parameters[i] for i in spread[:4]])):
            axes = (az.plot_trace(data, var_names=list(picks), compact=True) if kind == "trace"
                    else az.plot_pair(data, var_names=list(picks), kind="kde", marginals=True))
            figure = np.asarray(axes).ravel()[0].figure
            figure.suptitle(f"{block} block: {kind} (log parameters, after burn-in)", fontsize=10)
            name = f"ensemble-{kind}-{block}.png"
            atomic_write(folder / name, lambda tmp, f=figure: f.savefig(tmp, dpi=80, format="png"), field="out")
            names.append(name)
            plt.close(figure)
    return names


HELD_OUT_LABELS = {"validation": "validation-target", "timecourses": "time-course"}
"""The never-fitted blocks of the predictive check (``posterior.HELD_OUT_BLOCKS``), as the coverage words name them."""
HONEST_COVERAGE = (0.80, 0.97)
"""Where the coverage of a 90% band lands when the noise model is honest, over a few dozen points: outside it, the
bands are too wide (above) or overconfident (below)."""


def coverage_words(coverage: list[dict], level: float = 0.90) -> str:
    """The predictive check in words, calibration and held-out points apart, and what the coverage means: a
    {level:.0%} band that holds every point is too wide, not a success."""
    words = []
    for label, rows in (("calibration", [r for r in coverage if r["block"] not in HELD_OUT_LABELS]),
                        *((f"held-out {words}", [r for r in coverage if r["block"] == block])
                          for block, words in HELD_OUT_LABELS.items())):
        total, inside = sum(r["points"] for r in rows), sum(r["covered"] for r in rows)
        if not total:
            continue
        share = inside / total
        verdict = ("so the bands are too wide: an honest 90% band leaves about one point in ten outside"
                   if share > HONEST_COVERAGE[1] else
                   "so the bands are too narrow for these data" if share < HONEST_COVERAGE[0] else
                   "about what honest 90% bands give")
        words.append(f"The {level:.0%} posterior predictive bands hold {inside} of {total} {label} points "
                     f"({share:.0%}), {verdict}.")
    return " ".join(words)


def _gut_joint(meta: dict | None) -> list[str]:
    """The gut-to-joint magnitudes drawn from their own fit (issue 30), if the ensemble carries them."""
    if not meta:
        return []
    return ["", "## Gut-to-joint magnitudes fitted to human trials", "",
            f"{', '.join(f'`{n}`' for n in meta['parameters'])}: drawn from the posterior of the gut-joint fit "
            f"({meta['method']}; `_studies/calibration/gut_joint.py`) against {'; '.join(meta['rows'])}, in place "
            f"of their priors. {meta['redrawn_for_healthy_rest']} draws left the healthy-rest window and were drawn "
            "again from the posterior.", ""]


def write_ensemble_report(folder, ensemble, chains, coverage: list[dict], pass_rates: list[dict],
                          burn: float | dict[str, float] = 0.5) -> Path:
    """``ensemble.md`` (and its figures) in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    meta = ensemble.provenance
    lines = ["# The parameter ensemble behind every band", "",
             f"Made by `gutjoint calibrate --sample` on {meta['created']} (data and parameter tables "
             f"`{meta['data_sha256']}`), {meta['sampler']}, {meta['draws']} draws "
             f"({meta['thinning']}); this call's sampling wall time {meta['wall_seconds'] / 60:.1f} min. Priors and the method: "
             "`_studies/calibration/posterior.py`.", "",
             "## Chains and diagnostics", "",
             "| block | parameters | walkers | steps | acceptance | largest R-hat | smallest bulk ESS | longest "
             "autocorrelation (steps) |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, block in meta["blocks"].items():
        d = block["diagnostics"]
        lines.append(f"| {name} | {len(block['parameters'])} | {block['walkers']} | {block['steps']} | "
                     f"{block['acceptance']:.2f} | {max(v['r_hat'] for v in d.values()):.3f} | "
                     f"{min(v['ess_bulk'] for v in d.values()):.0f} | {max(v['tau_steps'] for v in d.values()):.0f} |")
    lines += ["", "R-hat is ArviZ's rank-normalised split R-hat with each walker as a chain, after discarding the "
              "burn-in (" + ", ".join(f"{n}: {b['burn_in']}" for n, b in meta["blocks"].items())
              + "). Parameters above 1.01:", ""]
    above = [(b, n, v) for b, block in meta["blocks"].items() for n, v in block["diagnostics"].items()
             if v["r_hat"] >= 1.01]
    lines += [f"- {b}: `{n}` R-hat {v['r_hat']:.3f}, ESS {v['ess_bulk']:.0f}" for b, n, v in above] or ["- none"]
    lines += ["", "## What the data narrowed", "",
              "Posterior SD over the prior's, on the prior's scale (1 = the data say nothing; the profile likelihood "
              "found few of these identifiable).", "", "| parameter | value grade and prior | posterior / prior spread |",
              "|---|---|---:|"]
    lines += [f"| `{n}` | {g} | {r:.2f} |" for n, g, r in _narrowing(ensemble)]
    lines += ["", f"Prior-only parameters (assumed values, drawn from their priors): {len(ensemble.prior_only())}. "
              f"Held at the fit: {', '.join(meta['held'])} (fitted to data of their own, see the sampler's "
              f"docstring), and those below. Prior draws accepted by the healthy-rest window "
              f"{meta['healthy_rest_window']}: {meta['prior_draw_acceptance']:.0%}.", ""]
    lines += _not_sampled() + _literature_priors() + _noise_scales(ensemble)
    lines += _conditioning(meta.get("conditioning"))
    lines += _gut_joint(meta.get("gut_joint"))
    lines += checks_section(coverage, pass_rates)
    # without the chains (the ensemble re-made from its stored draws), the chains' figures already there still hold
    figures = _plots(chains, folder, burn) if chains else sorted(p.name for p in folder.glob("ensemble-*.png"))
    lines += ["", "Read the two checks together: the 90% bands hold the calibration points (too wide, if they hold "
              "all of them), and single draws meet the targets at the rates above. A target's tolerance is a "
              "verdict on one parameter set, so single draws of an honest posterior miss it often where the "
              "tolerance is tighter than the posterior's spread. The prior-drawn parameters that act in the "
              "calibration experiments are conditioned on those data, draw by draw (see above); sampling them "
              "jointly with their blocks would be exact, and the conditioning approximates it.", "", "## Figures",
              ""] + [f"![{f}]({f})" for f in figures]
    path = folder / "ensemble.md"
    atomic_write(path, lambda tmp: tmp.write_text("\n".join(lines) + "\n", encoding="utf-8"), field="out")
    return path
