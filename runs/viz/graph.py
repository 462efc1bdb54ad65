"""The network drawn with its neurons coloured by one value each (x, λ, support...)."""

from __future__ import annotations

import networkx as nx
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import offset_copy

from runs.viz.style import new_figure, nonconstant_limits

#: Edge kinds of a layered graph, drawn in this order: colour, alpha, curvature (arc3
#: ``rad``; one radius per kind so arcs of a kind nest instead of tangling).
EDGE_KINDS = {
    "feedforward": ("0.55", 0.25, 0.0),
    "lateral": ("tab:blue", 0.45, 0.35),
    "feedback": ("tab:red", 0.55, -0.25),
    "edge": ("0.45", 0.35, 0.15),  # graphs without layers
    "self-loop": ("tab:orange", 0.9, None),
}
NODE_SIZE = 70


def edge_kind(G: nx.DiGraph, j, i) -> str:
    """Kind of the edge ``j → i``: self-loop, feedforward, lateral or feedback.

    Kinds other than self-loop come from the ``layer`` attributes (``"edge"`` when the
    graph has none).
    """
    if j == i:
        return "self-loop"
    lj, li = G.nodes[j].get("layer"), G.nodes[i].get("layer")
    if lj is None or li is None:
        return "edge"
    return "feedforward" if li > lj else ("lateral" if li == lj else "feedback")


def shared_limits(*values) -> tuple[float, float]:
    """One colour scale for several panels: min and max over all finite values.

    Args:
        values: arrays, sequences or ``{node: value}`` mappings.

    Returns:
        ``(vmin, vmax)`` for :func:`plot_graph` (widened if all values are equal).
    """
    flat = np.concatenate([np.asarray(list(v.values()) if isinstance(v, dict) else v,
                                      dtype=float).ravel() for v in values])
    flat = flat[np.isfinite(flat)]
    return nonconstant_limits(flat.min(), flat.max()) if flat.size else (0.0, 1.0)


def _layout(G: nx.DiGraph, nodes: list) -> dict:
    layers = [G.nodes[n].get("layer") for n in nodes]
    if any(lay is None for lay in layers):
        return nx.spring_layout(G, seed=0)
    count: dict = {}
    for lay in layers:
        count[lay] = count.get(lay, 0) + 1
    seen: dict = {}
    pos = {}
    for n, lay in zip(nodes, layers, strict=True):
        k = seen.get(lay, 0)
        seen[lay] = k + 1
        pos[n] = (lay, (k - (count[lay] - 1) / 2) / max(count[lay], 1))
    return pos


def plot_graph(G: nx.DiGraph, values, *, label: str = "value", title: str | None = None,
               vmin: float | None = None, vmax: float | None = None,
               cmap: str = "viridis") -> Figure:
    """The network with its neurons coloured by one value each (x, λ, support...).

    Layered graphs are drawn layer by layer (``layer`` attribute), others with a spring
    layout (seed 0). Edges are drawn by kind (:func:`edge_kind`), each kind in its own
    colour and curvature and named in the legend; self-loops as rings on their neuron.

    Args:
        G: the network graph.
        values: one number per node, a mapping node → value or a sequence in
            ``G.nodes`` order; NaN draws the node grey (no value).
        label: colour-bar label (the variable and its meaning).
        title: figure title.
        vmin: lower colour limit, e.g. from :func:`shared_limits` of the values of
            several networks to compare them on one scale; default: this graph's
            minimum (a constant ``c`` gets ``[0, c]``).
        vmax: upper colour limit (default: this graph's maximum).
        cmap: colour map name.

    Returns:
        The figure.
    """
    nodes = list(G.nodes)
    vals = (np.array([values[n] for n in nodes], dtype=float) if isinstance(values, dict)
            else np.asarray(values, dtype=float))
    if vals.shape != (len(nodes),):
        raise ValueError(f"values must hold one number per node ({len(nodes)}), "
                         f"got shape {vals.shape}")
    auto = shared_limits(vals)
    norm = Normalize(auto[0] if vmin is None else vmin, auto[1] if vmax is None else vmax)
    pos = _layout(G, nodes)
    fig = new_figure(7.5, 5.2)
    ax = fig.add_subplot()
    by_kind: dict[str, list] = {k: [] for k in EDGE_KINDS}
    for j, i in G.edges():
        by_kind[edge_kind(G, j, i)].append((j, i))
    handles = []
    for kind, edges in by_kind.items():
        if not edges:
            continue
        color, alpha, rad = EDGE_KINDS[kind]
        if kind == "self-loop":
            ring = offset_copy(ax.transData, fig=fig, x=0, y=5.5, units="points")
            xy = np.array([pos[j] for j, _ in edges])
            ax.plot(xy[:, 0], xy[:, 1], ls="none", marker="o", ms=10, mfc="none",
                    mec=color, mew=1.4, alpha=alpha, transform=ring, zorder=1, gid=kind)
        else:
            nx.draw_networkx_edges(G, pos, edgelist=edges, ax=ax, edge_color=color,
                                   alpha=alpha, arrows=True, arrowsize=7, width=0.9,
                                   node_size=NODE_SIZE, arrowstyle="-|>",
                                   connectionstyle=f"arc3,rad={rad}")
        handles.append(Line2D([], [], color=color, lw=1.6, label=f"{kind} ({len(edges)})",
                              **({"ls": "none", "marker": "o", "mfc": "none", "ms": 8}
                                 if kind == "self-loop" else {})))
    known = np.isfinite(vals)
    xy = np.array([pos[n] for n in nodes]).reshape(-1, 2)
    if (~known).any():  # no value (e.g. clamped inputs)
        ax.scatter(xy[~known, 0], xy[~known, 1], s=NODE_SIZE * 0.7, c="lightgrey",
                   edgecolors="0.5", linewidths=0.5, zorder=3)
        handles.append(Line2D([], [], ls="none", marker="o", mfc="lightgrey", mec="0.5",
                              label="no value (input)"))
    ax.scatter(xy[known, 0], xy[known, 1], s=NODE_SIZE, c=vals[known], cmap=cmap,
               norm=norm, edgecolors="k", linewidths=0.4, zorder=3)
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=label, shrink=0.85)
    ax.set_axis_off()
    ax.set_title(title or f"network coloured by {label}")
    fig.legend(handles=handles, loc="outside lower center", ncols=min(4, len(handles)),
               fontsize=8, frameon=False)
    return fig
