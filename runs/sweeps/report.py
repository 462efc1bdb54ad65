"""``localprop plot RESULTS``: plots of a run or sweep folder (files, no screen).

What is drawn depends on the experiment recorded in the folder's manifest:

* learning experiments (lp, bp, diffusion, compare, pruning): learning curves of each
  metric present among ``test_acc``, ``train_acc``, ``loss``, ``cos_bp``,
  ``max_violation`` — one line per run (its swept parameters and seed);
* ``fidelity``: gradient fidelity vs input speed (cosine vs T, one line per depth);
* ``forward``: distance to the forward fixed point over time;
* runs with per-neuron snapshots (``support``, ``lam``): the graph coloured by them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from agents.errors import ConfigError
from runs.sweeps.results import load_snapshots, read_results, read_runs
from runs.viz import plots

CURVE_METRICS = ("test_acc", "train_acc", "loss", "cos_bp", "max_violation",
                 "dist_fixed_point", "mean_abs_x")


def _label(rec: dict) -> str:
    parts = [f"{k.split('.')[-1]}={v}" for k, v in sorted(rec["params"].items())]
    return ", ".join([*parts, f"seed={rec['seed']}"])


def plot_results(results_dir, out=None) -> list[Path]:
    """Write the plots of a results folder; return their paths."""
    results_dir = Path(results_dir)
    manifest = results_dir / "manifest.json"
    if not manifest.is_file():
        raise ConfigError(f"{results_dir} is not a results folder (no manifest.json); "
                          "give the folder written by 'localprop run' or 'localprop sweep'")
    experiment = json.loads(manifest.read_text())["config"]["experiment"]
    out = Path(out) if out else results_dir / "plots"
    frame = read_results(results_dir)
    records = [r for r in read_runs(results_dir) if r["status"] == "ok"]
    if not records:
        raise ConfigError(f"no finished run in {results_dir} to plot")
    paths: list[Path] = []
    if experiment == "fidelity":
        table = frame[frame["status"] == "ok"][["seed", "depth", "T", "cosine"]]
        paths.append(plots.plot_fidelity(table, out / "fidelity.png"))
        return paths
    x = "epoch" if "epoch" in frame.columns else "step"
    for metric in CURVE_METRICS:
        if metric not in frame.columns or frame[metric].isna().all():
            continue
        curves = {}
        for rec in records:
            rows = [r for r in rec["rows"] if r.get(metric) is not None]
            methods = sorted({r.get("method") for r in rows}, key=str)
            for m in methods:
                label = _label(rec) + (f" [{m}]" if m else "")
                curves[label] = [r for r in rows if r.get("method") == m]
        if curves:
            paths.append(plots.plot_learning_curves(curves, out / f"{metric}.png",
                                                    metric=metric, x=x))
    for rec in records:
        snaps = load_snapshots(results_dir, rec["run_id"]) if (
            results_dir / "runs" / f"{rec['run_id']}.npz").is_file() else {}
        for key, label in (("support", "support fraction"), ("lam", "mean |λ|")):
            if key in snaps:
                paths.append(_graph_plot(rec, snaps[key], key, label, out))
    return paths


def _graph_plot(rec: dict, values: np.ndarray, key: str, label: str, out: Path) -> Path:
    from networks.compile import compile_graph
    from runs.experiments.setup import build_network

    cfg = rec["config"]
    G = build_network(cfg, seed=cfg["network"].get("seed", rec["seed"]))
    net = compile_graph(G)
    vals = np.abs(values).mean(axis=1) if values.ndim == 2 else np.asarray(values, float)
    vals = np.where(net.is_input, np.nan, vals)
    return plots.plot_graph(G, vals, out / f"graph_{key}_{rec['run_id']}.png", label=label,
                            title=f"{label} per neuron — {_label(rec)}")
