"""The plots of localprop: functions that return matplotlib Figures.

Importing this package does not touch matplotlib's backend (figures are built with
:class:`matplotlib.figure.Figure`, never with pyplot), so it is safe in a notebook;
show a figure there by leaving it as a cell's value, write one with
:func:`save_figure`. Seeds are aggregated (mean and a labelled ±1 std band), axes whose
values span decades are logarithmic and colour scales are robust to outliers.

* :func:`plot_learning_curves` — a metric during training, one colour per method, one
  line style per variant;
* :func:`plot_fidelity` — gradient fidelity of backprop diffusion vs hold time;
* :func:`plot_raster` — space-time raster of the forward and backward waves;
* :func:`plot_graph` — the network coloured by a per-neuron value (:func:`shared_limits`
  puts several networks on one scale).
"""

from runs.viz.curves import plot_fidelity, plot_learning_curves, seed_stats
from runs.viz.graph import edge_kind, plot_graph, shared_limits
from runs.viz.raster import neuron_order, plot_raster
from runs.viz.style import metric_label, robust_limits, save_figure

__all__ = ["edge_kind", "metric_label", "neuron_order", "plot_fidelity", "plot_graph",
           "plot_learning_curves", "plot_raster", "robust_limits", "save_figure",
           "seed_stats", "shared_limits"]
