"""
A sweep, read back with pandas
==============================

A sweep is a config whose ``[sweep]`` table lists parameter values: it runs the product
of those lists with every seed (:func:`runs.sweeps.sweep.run_sweep`), writes each run to
disk as it finishes, and builds one tidy table, ``results.csv``: one row per run and
evaluation, with the run id, the seed, one column per swept parameter, and the metrics.

Here a tiny sweep (the BP baseline on two moons, three learning rates × three seeds, 100
epochs each) runs in this process into a temporary folder; pandas then reads the table,
and the mean test accuracy per learning rate is drawn with a band from the lowest to the
highest seed. The same config written to a TOML file runs with ``localprop sweep
CONFIG`` on a process pool or on Dask.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from runs.config import validate_config
from runs.sweeps.sweep import run_sweep

config = validate_config({
    "name": "bp_learning_rate",
    "experiment": "bp",
    "seeds": [0, 1, 2],
    "data": {"name": "moons", "n_samples": 200},
    "network": {"builder": "layered", "sizes": [2, 8, 1], "activation": "tanh",
                "output_activation": "sigmoid"},
    "rule": {"optimizer": "sgd"},
    "schedule": {"epochs": 100, "eval_every": 5},
    "sweep": {"rule.eta": [0.03, 0.1, 0.3]},
})

with tempfile.TemporaryDirectory() as folder:
    summary = run_sweep(config, folder, executor="sequential", progress=False)
    table = pd.read_csv(Path(folder) / "results.csv")

print(f"{summary.n_ok} runs, {len(table)} rows; columns: {', '.join(table.columns)}")
curves = table.groupby(["rule.eta", "epoch"])["test_acc"].agg(["mean", "min", "max"])

fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
for k, (eta, curve) in enumerate(curves.groupby(level="rule.eta")):
    epochs = curve.index.get_level_values("epoch")
    ax.plot(epochs, curve["mean"], color=f"C{k}", label=f"η = {eta}")
    ax.fill_between(epochs, curve["min"], curve["max"], color=f"C{k}", alpha=0.2)
ax.set(xlabel="epoch", ylabel="test accuracy",
       title="BP on two moons: a learning-rate sweep read back from results.csv")
ax.legend(loc="lower right", title="mean; band: min–max of 3 seeds", fontsize=9,
          title_fontsize=9)
