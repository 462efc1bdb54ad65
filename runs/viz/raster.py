"""Space-time raster of the forward (x) and backward (δ) waves: neuron vs time."""

from __future__ import annotations

import networkx as nx
import numpy as np
from matplotlib import colormaps
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from runs.viz.style import new_figure, robust_limits

#: Per mode: colour map, whether values are signed, and (title, colour-bar label) of the
#: x and δ panels.
MODES = {
    "value": ("RdBu_r", True,
              (("forward wave: x", "x, neuron output (dimensionless)"),
               ("backward wave: δ", "δ, backward signal ∂L/∂x (dimensionless)"))),
    "change": ("magma", False,
               (("forward wave: |Δx|", "|x(t) − x(t−1)| per step"),
                ("backward wave: |Δδ|", "|δ(t) − δ(t−1)| per step"))),
}


def neuron_order(net) -> tuple[np.ndarray, np.ndarray]:
    """Neurons sorted by layer (or by shortest input path delay when layers are missing).

    Returns:
        ``(order, level)``: canonical node indices (N,) and each one's level, sorted.
    """
    if np.all(net.layer >= 0):
        level = net.layer.astype(float)
    else:
        inputs = {net.node_ids[k] for k in net.input_idx}
        dist = nx.multi_source_dijkstra_path_length(net.graph, inputs, weight="delay")
        level = np.array([dist.get(v, np.inf) for v in net.node_ids], dtype=float)
    order = np.lexsort((np.arange(net.n_nodes), level))
    return order, level[order]


def contrasting(rgba) -> str:
    """Black or white, whichever stands out on the colour ``rgba``."""
    r, g, b, _ = to_rgba(rgba)
    return "k" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.5 else "w"


def plot_raster(net, recording: dict, *, example: int = 0, mode: str = "value",
                t_range: tuple[int, int] | None = None, marks=None,
                title: str | None = None, percentile: float = 99.0) -> Figure:
    """Space-time raster of the forward (x) and backward (δ) waves: neuron vs time.

    Neurons are sorted by layer (lines separate levels, inputs at the bottom, drawn in
    the colour that stands out on the map's background); time runs left to right.
    Colour limits are robust: the ``percentile`` of |value| (symmetric, diverging map)
    for values, the 1st to ``percentile``-th percentiles for changes, so one bright cell
    does not wash the rest out; the colour bars name the variable and mark clipping.

    Args:
        net: the compiled network.
        recording: ``{"x": (S, N, B) or (S, N), "delta": same}`` (e.g. from
            :func:`runs.methods.fidelity.record_waves`).
        example: which batch column to show.
        mode: ``"value"`` (x and δ) or ``"change"`` (|x(t) − x(t−1)|, |δ(t) − δ(t−1)|,
            which makes the wave fronts stand out).
        t_range: steps ``(first, last)`` to show (1-based, inclusive); default all.
        marks: optional step numbers to mark with vertical lines (e.g. example onsets).
        title: figure title.
        percentile: upper percentile of the colour scale.

    Returns:
        The figure.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be 'value' or 'change', got {mode!r}")
    cmap, signed, labels = MODES[mode]
    order, level = neuron_order(net)
    panels = []
    for name in ("x", "delta"):
        arr = np.asarray(recording[name], dtype=np.float64)
        arr = arr[:, :, example] if arr.ndim == 3 else arr
        if mode == "change":
            arr = np.abs(np.diff(arr, axis=0, prepend=0.0))
        panels.append(arr[:, order].T)  # (N, S)
    S = panels[0].shape[1]
    t0, t1 = t_range if t_range is not None else (1, S)
    background = colormaps[cmap](0.5 if signed else 0.0)
    line_color = contrasting(background)
    fig = new_figure(9, 6.5)
    axes = fig.subplots(2, 1, sharex=True)
    for ax, img, (panel_title, cbar_label) in zip(axes, panels, labels, strict=True):
        img = img[:, t0 - 1:t1]
        vmin, vmax = robust_limits(img, signed=signed, hi=percentile)
        im = ax.imshow(img, aspect="auto", origin="lower", interpolation="nearest",
                       cmap=cmap, vmin=vmin, vmax=vmax,
                       extent=(t0 - 0.5, t1 + 0.5, -0.5, len(order) - 0.5))
        for k in np.flatnonzero(np.diff(level)):
            ax.axhline(k + 0.5, color=line_color, lw=0.6, alpha=0.7, gid="layer-separator")
        for m in marks if marks is not None else ():
            if t0 <= m <= t1:
                ax.axvline(m - 0.5, color=line_color, lw=0.6, ls=":", alpha=0.8,
                           gid="mark")
        ax.set_ylabel("neuron (sorted by layer)")
        ax.set_title(panel_title, fontsize=10)
        finite = img[np.isfinite(img)]
        over, under = (finite > vmax).any(), (finite < vmin).any()
        extend = {(True, True): "both", (True, False): "max", (False, True): "min"}.get(
            (bool(over), bool(under)), "neither")
        fig.colorbar(im, ax=ax, pad=0.01, label=cbar_label, extend=extend)
    axes[-1].set_xlabel("time step t")
    if title:
        fig.suptitle(title)
    return fig
