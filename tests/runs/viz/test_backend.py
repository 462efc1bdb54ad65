"""Importing the plots and drawing with them never changes matplotlib's backend."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]

SCRIPT = """
import sys
import matplotlib
matplotlib.use({backend!r})
import runs.viz.plots as plots
import runs.sweeps.report
assert matplotlib.get_backend() == {backend!r}, ("import", matplotlib.get_backend())
import networkx as nx
import numpy as np
import pandas as pd
G = nx.DiGraph()
G.add_node(0, layer=0); G.add_node(1, layer=1); G.add_edge(0, 1); G.add_edge(1, 1)
figs = [plots.plot_graph(G, [np.nan, 0.5]),
        plots.plot_learning_curves(pd.DataFrame({{"epoch": [0, 1], "seed": 0,
                                                 "method": "lp", "test_acc": [.5, .9]}})),
        plots.plot_fidelity(pd.DataFrame({{"depth": 1, "seed": 0, "T": [1, 2],
                                          "cosine": [.9, 1.]}}))]
for k, fig in enumerate(figs):
    plots.save_figure(fig, {out!r} + f"/f{{k}}.png")
assert matplotlib.get_backend() == {backend!r}, ("draw", matplotlib.get_backend())
plt = sys.modules.get("matplotlib.pyplot")
assert plt is None or plt.get_fignums() == [], "figures registered with pyplot"
print("ok")
"""


@pytest.mark.parametrize("backend", ["svg", "pdf"])
def test_importing_and_plotting_keeps_the_users_backend(backend, tmp_path):
    code = SCRIPT.format(backend=backend, out=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert len(list(tmp_path.glob("f*.png"))) == 3


def test_plot_functions_return_figures_and_save_figure_writes(tmp_path):
    import pandas as pd
    from matplotlib.figure import Figure

    from runs.viz.plots import plot_fidelity, save_figure

    fig = plot_fidelity(pd.DataFrame({"depth": 1, "seed": [0, 1], "T": 1, "cosine": 1.0}))
    assert isinstance(fig, Figure)
    path = save_figure(fig, tmp_path / "a" / "b.svg")
    assert path == tmp_path / "a" / "b.svg" and path.read_text().lstrip().startswith("<?xml")
