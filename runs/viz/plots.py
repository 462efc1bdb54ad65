"""Plots written to files (matplotlib, Agg backend): each function saves one figure.

Every function takes the data it plots and a destination path, creates the parent
folder, saves the figure, closes it and returns the path. Nothing is shown on screen.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_fidelity(table, path, *, threshold: float = 0.99, x: str = "T",
                  xlabel: str = "hold time T (steps per example)") -> Path:
    """Gradient fidelity vs input speed: cosine vs T, one line per depth.

    Lines are the mean over seeds, bands the min–max spread; a dashed line marks
    ``threshold``.

    Args:
        table: pandas DataFrame with columns ``depth``, ``seed``, ``x`` and ``cosine``.
        path: output file (PNG, PDF, SVG... by suffix).
        threshold: cosine level to mark.
        x: name of the speed column (``"T"`` or a period).
        xlabel: x axis label.

    Returns:
        The path written.
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    stats = table.groupby(["depth", x])["cosine"].agg(["mean", "min", "max"]).reset_index()
    for depth, rows in stats.groupby("depth"):
        rows = rows.sort_values(x)
        line, = ax.plot(rows[x], rows["mean"], marker="o", ms=3, label=f"depth {depth}")
        ax.fill_between(rows[x], rows["min"], rows["max"], color=line.get_color(), alpha=0.2)
    ax.axhline(threshold, color="grey", ls="--", lw=1, label=f"cosine {threshold:g}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("cosine(diffusion update, BP gradient)")
    ax.set_title("Backprop diffusion: gradient fidelity vs input speed")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


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


def plot_raster(net, recording: dict, path, *, example: int = 0, mode: str = "value",
                t_range: tuple[int, int] | None = None, marks=None,
                title: str | None = None) -> Path:
    """Space-time raster of the forward (x) and backward (δ) waves: neuron vs time.

    Neurons are sorted by layer (horizontal lines separate levels, inputs at the
    bottom); time runs left to right.

    Args:
        net: the compiled network.
        recording: ``{"x": (S, N, B) or (S, N), "delta": same}`` (e.g. from
            :func:`runs.methods.fidelity.record_waves`).
        path: output file.
        example: which batch column to show.
        mode: ``"value"`` (x and δ) or ``"change"`` (|x(t) − x(t−1)|, |δ(t) − δ(t−1)|,
            which makes the wave fronts stand out).
        t_range: steps ``(first, last)`` to show (1-based, inclusive); default all.
        marks: optional step numbers to mark with vertical lines (e.g. example onsets).
        title: figure title.

    Returns:
        The path written.
    """
    order, level = neuron_order(net)
    panels = []
    for name in ("x", "delta"):
        arr = np.asarray(recording[name], dtype=np.float64)
        arr = arr[:, :, example] if arr.ndim == 3 else arr
        if mode == "change":
            arr = np.abs(np.diff(arr, axis=0, prepend=0.0))
        elif mode != "value":
            raise ValueError(f"mode must be 'value' or 'change', got {mode!r}")
        panels.append(arr[:, order].T)  # (N, S)
    S = panels[0].shape[1]
    t0, t1 = t_range if t_range is not None else (1, S)
    fig, axes = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    labels = ("forward wave: x" if mode == "value" else "forward wave: |Δx|",
              "backward wave: δ" if mode == "value" else "backward wave: |Δδ|")
    for ax, img, label in zip(axes, panels, labels, strict=True):
        img = img[:, t0 - 1:t1]
        if mode == "value":
            lim = max(float(np.abs(img).max()), 1e-12)
            kw = {"cmap": "RdBu_r", "vmin": -lim, "vmax": lim}
        else:
            kw = {"cmap": "magma", "vmin": 0.0, "vmax": max(float(img.max()), 1e-12)}
        im = ax.imshow(img, aspect="auto", origin="lower", interpolation="nearest",
                       extent=(t0 - 0.5, t1 + 0.5, -0.5, len(order) - 0.5), **kw)
        for k in np.flatnonzero(np.diff(level)):
            ax.axhline(k + 0.5, color="k", lw=0.5, alpha=0.6)
        for m in marks if marks is not None else ():
            if t0 <= m <= t1:
                ax.axvline(m - 0.5, color="w" if mode == "change" else "k", lw=0.6,
                           ls=":", alpha=0.8)
        ax.set_ylabel("neuron (sorted by layer)")
        ax.set_title(label, fontsize=10)
        fig.colorbar(im, ax=ax, pad=0.01)
    axes[-1].set_xlabel("time step t")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_learning_curves(curves: dict, path, *, metric: str = "test_acc",
                         x: str = "epoch", title: str | None = None) -> Path:
    """Learning curves: ``metric`` against ``x``, one line per label.

    Args:
        curves: ``{label: history rows (list of dicts) or DataFrame}``; each must hold
            the columns ``x`` and ``metric``.
        path: output file.
        metric: the column plotted (e.g. ``test_acc``, ``loss``).
        x: the column on the x axis (``epoch`` or ``step``).
        title: figure title.
    """
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, rows in curves.items():
        rows = rows.to_dict("records") if hasattr(rows, "to_dict") else rows
        xs = [r[x] for r in rows if metric in r]
        ys = [r[metric] for r in rows if metric in r]
        ax.plot(xs, ys, marker=".", label=label)
    ax.set_xlabel(x)
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or f"{metric} during training")
    return _save(fig, path)


def plot_graph(G: nx.DiGraph, values, path, *, label: str = "value",
               title: str | None = None) -> Path:
    """The network drawn with its neurons coloured by one value each (x, λ, support...).

    Layered graphs are drawn layer by layer (``layer`` attribute), others with a spring
    layout (seed 0). Edges into a node of a later layer are drawn straight, others
    (recurrent, lateral, feedback) curved.

    Args:
        G: the network graph.
        values: one number per node, a mapping node → value or a sequence in
            ``G.nodes`` order; NaN draws the node grey (no value).
        path: output file.
        label: colour-bar label.
        title: figure title.
    """
    nodes = list(G.nodes)
    vals = (np.array([values[n] for n in nodes], dtype=float) if isinstance(values, dict)
            else np.asarray(values, dtype=float))
    layers = [G.nodes[n].get("layer") for n in nodes]
    if all(lay is not None for lay in layers):
        pos, count = {}, {}
        for lay in layers:
            count[lay] = count.get(lay, 0) + 1
        seen: dict = {}
        for n, lay in zip(nodes, layers, strict=True):
            k = seen.get(lay, 0)
            seen[lay] = k + 1
            pos[n] = (lay, (k - (count[lay] - 1) / 2) / max(count[lay], 1))
    else:
        pos = nx.spring_layout(G, seed=0)
    fig, ax = plt.subplots(figsize=(7, 5))
    layered = layers[0] is not None
    forward = [(j, i) for j, i in G.edges
               if layered and G.nodes[i].get("layer", 0) > G.nodes[j].get("layer", 0)]
    other = [e for e in G.edges if e not in set(forward)]
    nx.draw_networkx_edges(G, pos, edgelist=forward, ax=ax, alpha=0.15, arrows=False)
    nx.draw_networkx_edges(G, pos, edgelist=other, ax=ax, alpha=0.4, edge_color="tab:red",
                           connectionstyle="arc3,rad=0.3", arrowsize=6)
    known = ~np.isnan(vals)
    nx.draw_networkx_nodes(G, pos, nodelist=[n for n, k in zip(nodes, known, strict=True)
                                             if not k], node_color="lightgrey",
                           node_size=40, ax=ax)  # no value (e.g. clamped inputs)
    art = nx.draw_networkx_nodes(G, pos, nodelist=[n for n, k in zip(nodes, known,
                                                                     strict=True) if k],
                                 node_color=vals[known], cmap="viridis", node_size=60, ax=ax)
    fig.colorbar(art, ax=ax, label=label)
    ax.set_axis_off()
    ax.set_title(title or f"network coloured by {label}")
    return _save(fig, path)
