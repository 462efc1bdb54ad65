"""``localprop plot RESULTS``: plots of a run or sweep folder (files, no screen).

What is drawn depends on the experiment recorded in the folder's manifest:

* experiments with recorded rows (lp, bp, diffusion, compare, pruning, forward...): one
  figure per metric present among :data:`CURVE_METRICS` — per parameter point (and per
  method for ``compare``) the mean over seeds with a ±1 std band, the legend below the
  axes, the title naming what the experiment does, log axes where values span decades;
* ``fidelity``: gradient fidelity vs hold time (cosine vs T, one line per depth);
* runs with per-neuron snapshots (``support``, ``lam``): the graph coloured by them,
  support fractions on [0, 1], |λ| on one scale for every run of the folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from agents.errors import ConfigError
from runs.sweeps.results import load_snapshots, read_results, read_runs
from runs.viz import plots

CURVE_METRICS = ("test_acc", "train_acc", "loss", "cos_bptt", "max_violation",
                 "dist_fixed_point", "mean_abs_x")

#: What each built-in experiment's curves show, for the titles.
EXPERIMENT_TITLES = {
    "forward": "delayed forward dynamics under a constant input",
    "lp": "during training with Lagrangian local propagation",
    "bp": "during training with exact gradients (BP)",
    "diffusion": "during training with backprop diffusion",
    "compare": "during training, the method vs its BP baseline",
    "pruning": "during LP training, before pruning",
    "train": "during training",
}

#: Snapshots drawn on the graph: key → (colour-bar label, fixed colour limits or None).
GRAPH_SNAPSHOTS = {"support": ("support fraction (share of examples)", (0.0, 1.0)),
                   "lam": ("mean |λ| over examples", None)}


def experiment_title(experiment: str, metric: str, x: str) -> str:
    """Title of a curve: the metric and what the experiment does."""
    what = EXPERIMENT_TITLES.get(experiment) or (
        f"during training ({experiment})" if x == "epoch" else f"{experiment} experiment")
    return f"{plots.metric_label(metric)}\n{what}"


def _point_label(params: dict) -> str:
    """A parameter point without its seed: ``"sizes=[13, 100, 3], engine=agent"``."""
    return ", ".join(f"{k.split('.')[-1]}={v}" for k, v in sorted(params.items()))


def plot_results(results_dir, out=None) -> list[Path]:
    """Write the plots of a results folder as PNG files; return their paths.

    Args:
        results_dir: a folder written by ``localprop run`` or ``localprop sweep``.
        out: destination folder (default ``results_dir/plots``).
    """
    out = Path(out) if out else Path(results_dir) / "plots"
    return [plots.save_figure(fig, out / f"{name}.png")
            for name, fig in report_figures(results_dir).items()]


def report_figures(results_dir) -> dict:
    """The figures of a results folder, by file stem (e.g. ``"test_acc"``)."""
    results_dir = Path(results_dir)
    manifest = results_dir / "manifest.json"
    if not manifest.is_file():
        raise ConfigError(f"{results_dir} is not a results folder (no manifest.json); "
                          "give the folder written by 'localprop run' or 'localprop sweep'")
    experiment = json.loads(manifest.read_text())["config"]["experiment"]
    records = [r for r in read_runs(results_dir) if r["status"] == "ok"]
    if not records:
        raise ConfigError(f"no finished run in {results_dir} to plot")
    frame = read_results(results_dir)
    frame = frame[frame["status"] == "ok"]
    if experiment == "fidelity":
        return {"fidelity": plots.plot_fidelity(frame[["seed", "depth", "T", "cosine"]])}
    return {**_curves(frame, records, experiment), **_graphs(results_dir, records)}


def _curves(frame: pd.DataFrame, records: list[dict], experiment: str) -> dict:
    point = {r["run_id"]: _point_label(r["params"]) for r in records}
    frame = frame.assign(swept=frame["run_id"].map(point))
    varied = frame["swept"].nunique() > 1 or bool(frame["swept"].iloc[0])
    has_method = "method" in frame.columns and frame["method"].notna().any()
    hue = "method" if has_method else ("swept" if varied else None)
    style = "swept" if has_method and varied else None
    x = "epoch" if "epoch" in frame.columns and frame["epoch"].notna().any() else "step"
    return {metric: plots.plot_learning_curves(
                frame, metric=metric, x=x, hue=hue, style=style,
                title=experiment_title(experiment, metric, x))
            for metric in CURVE_METRICS
            if metric in frame.columns and frame[metric].notna().any()}


def _graphs(results_dir: Path, records: list[dict]) -> dict:
    snaps = {r["run_id"]: load_snapshots(results_dir, r["run_id"]) for r in records}
    figs = {}
    for key, (label, limits) in GRAPH_SNAPSHOTS.items():
        runs = [r for r in records if key in snaps[r["run_id"]]]
        if not runs:
            continue
        values = {r["run_id"]: _per_neuron(snaps[r["run_id"]][key]) for r in runs}
        limits = limits or plots.shared_limits(*values.values())
        seeds: dict[str, list] = {}
        for rec in runs:
            seeds.setdefault(_point_label(rec["params"]), []).append(rec["seed"])
        for rec in runs:
            figs[f"graph_{key}_{rec['run_id']}"] = _graph_plot(
                rec, values[rec["run_id"]], label, limits,
                seeds[_point_label(rec["params"])])
    return figs


def _per_neuron(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return np.abs(values).mean(axis=1) if values.ndim == 2 else values


def _graph_plot(rec: dict, vals: np.ndarray, label: str, limits: tuple,
                point_seeds: list):
    from networks.compile import compile_graph
    from runs.experiments.setup import build_network

    cfg = rec["config"]
    G = build_network(cfg, seed=cfg["network"].get("seed", rec["seed"]))
    net = compile_graph(G)
    vals = np.where(net.is_input, np.nan, vals)
    point = _point_label(rec["params"])
    which = f"run {point_seeds.index(rec['seed']) + 1} of {len(point_seeds)}"
    return plots.plot_graph(G, vals, label=label, vmin=limits[0], vmax=limits[1],
                            title=f"{label} per neuron — "
                                  f"{', '.join(filter(None, [point, which]))}")
