"""Figures of the explorer: the network by layer with its state, and the live metrics.

Both return :class:`matplotlib.figure.Figure` objects built without pyplot (importing this
module never changes the backend).
"""

from __future__ import annotations

import matplotlib as mpl
import networkx as nx
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch
from matplotlib.transforms import offset_copy

from networks.compile import CompiledNetwork

KINDS = ("feedforward", "lateral", "feedback", "self-loop")
STYLES = {"feedforward": "-", "lateral": ":", "feedback": "--", "self-loop": "-"}
ROLE_MARKERS = {"input": "s", "hidden": "o", "output": "D"}
RADS = {"feedforward": 0.0, "lateral": 0.3, "feedback": -0.3}  # arc3 curvature per kind
#: Sequential edge colours starting from a visible grey (0 = no message): forward wave,
#: and (dots) backward wave.
WAVE = mpl.colors.LinearSegmentedColormap.from_list(
    "wave", ["#cfcfcf", "#fdae61", "#d7191c", "#5e0018"])
BACK_WAVE = mpl.colors.LinearSegmentedColormap.from_list(
    "back_wave", ["#e3e3e3", "#92c5de", "#2166ac", "#08204a"])


def node_layers(net: CompiledNetwork) -> np.ndarray:
    """Layer of every neuron, shape (N,).

    The graph's ``layer`` attributes when all nodes have one, else the hop distance from
    the inputs (outputs in the last column).
    """
    G = net.graph
    if all("layer" in G.nodes[n] for n in net.node_ids):
        return np.array([int(G.nodes[n]["layer"]) for n in net.node_ids])
    dist = nx.multi_source_dijkstra_path_length(
        G, {net.node_ids[k] for k in net.input_idx}, weight=lambda u, v, d: 1)
    layer = np.array([dist.get(n, -1) for n in net.node_ids])
    last = max(int(layer.max(initial=0)), 1)
    layer[layer < 0] = last
    layer[net.is_output] = last + (layer[~net.is_output].max(initial=0) >= last)
    return layer


def edge_kinds(net: CompiledNetwork, layer: np.ndarray) -> np.ndarray:
    """Kind of every edge (E,): feedforward, lateral, feedback or self-loop."""
    ls, lt = layer[net.src], layer[net.tgt]
    kinds = np.where(lt > ls, "feedforward", np.where(lt == ls, "lateral", "feedback"))
    return np.where(net.src == net.tgt, "self-loop", kinds)


def node_positions(net: CompiledNetwork, layer: np.ndarray) -> np.ndarray:
    """Positions (N, 2): one column per layer (networkx multipartite layout)."""
    H = nx.Graph()
    for k in range(net.n_nodes):
        H.add_node(k, layer=int(layer[k]))
    pos = nx.multipartite_layout(H, subset_key="layer", align="vertical")
    return np.array([pos[k] for k in range(net.n_nodes)])


def _on_edges(ax, pos, src, tgt, rads, frac: float) -> np.ndarray:
    """Data points at ``frac`` along each drawn edge from its source, shape (k, 2).

    Edges are matplotlib ``arc3`` curves (straight for rad 0): quadratic Béziers whose
    control point is built in display space.
    """
    to_disp = ax.transData.transform
    p0, p2 = to_disp(pos[src]), to_disp(pos[tgt])
    d = p2 - p0
    c = (p0 + p2) / 2 + rads[:, None] * np.stack([d[:, 1], -d[:, 0]], axis=1)
    pt = (1 - frac) ** 2 * p0 + 2 * frac * (1 - frac) * c + frac ** 2 * p2
    return ax.transData.inverted().transform(pt)


def _norm(values: np.ndarray, signed: bool):
    finite = values[np.isfinite(values)]
    if not signed:
        lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
        return mpl.colors.Normalize(lo, hi if hi > lo else lo + 1.0)
    m = float(np.abs(finite).max()) if finite.size else 1.0
    return mpl.colors.Normalize(-(m or 1.0), m or 1.0)


def draw_network(net, layer, pos, node_values, node_label, edge_values, edge_label,
                 *, selected=None, cone=None, signed_edges=True, edge_dots=None,
                 title="") -> Figure:
    """The network by layer, neurons coloured by a variable, edges by a message or weight.

    Args:
        net: the compiled network.
        layer: layer per neuron (N,) (:func:`node_layers`).
        pos: positions (N, 2) (:func:`node_positions`).
        node_values: colour value per neuron (N,) (NaN: grey).
        node_label: what ``node_values`` are (colour-bar label).
        edge_values: colour value per edge (E,).
        edge_label: what ``edge_values`` are.
        selected: the picked neuron (ringed).
        cone: a :class:`~runs.viz.explore_model.Cone`: reached neurons get a red ring
            and their hop count.
        signed_edges: diverging colour map centred on 0 for the edges (else sequential).
        edge_dots: optional ``(values (E,), label)`` drawn as a dot on every edge near its
            presynaptic end (where a backward message arrives), sequential colours.
        title: figure title.
    """
    fig = Figure(figsize=(9.5, 6.2), dpi=96)
    fig.subplots_adjust(left=0.03, right=0.99, top=0.95, bottom=0.11)
    ax = fig.add_subplot()
    ax.set_axis_off()
    kinds = edge_kinds(net, layer)
    emap = mpl.colormaps["PuOr_r"] if signed_edges else WAVE
    enorm = _norm(edge_values, signed_edges)
    above = offset_copy(ax.transData, fig=fig, y=11, units="points")
    for kind in KINDS:
        sel = np.flatnonzero(kinds == kind)
        colours = emap(enorm(np.nan_to_num(edge_values[sel])))
        if kind == "feedforward":
            segs = np.stack([pos[net.src[sel]], pos[net.tgt[sel]]], axis=1)
            ax.add_collection(LineCollection(segs, colors=colours, linewidths=1.4,
                                             zorder=1, alpha=0.9))
            continue
        for e, c in zip(sel, colours, strict=True):
            j, i = net.src[e], net.tgt[e]
            if kind == "self-loop":  # a ring just above the neuron (display units)
                ax.plot(*pos[i], marker="o", ms=13, mfc="none", mec=c, mew=1.6,
                        transform=above, zorder=2)
                continue
            rad = RADS[kind]
            ax.add_patch(FancyArrowPatch(pos[j], pos[i], connectionstyle=f"arc3,rad={rad}",
                                         arrowstyle="-|>", mutation_scale=9, color=c,
                                         lw=1.4, linestyle=STYLES[kind], zorder=1,
                                         shrinkA=6, shrinkB=6, clip_on=False))
    nmap = mpl.colormaps["magma" if node_label.startswith("cone") else
                         "viridis" if node_label.startswith("support") else "RdBu_r"]
    signed = not node_label.startswith(("cone", "support"))
    nnorm = _norm(node_values, signed)
    roles = np.where(net.is_input, "input", np.where(net.is_output, "output", "hidden"))
    rows = int(np.bincount(layer - layer.min()).max())  # neurons in the fullest column
    size = float(np.clip((330 / rows) ** 2, 10, 210))  # marker area (pt²) that fits
    for role, marker in ROLE_MARKERS.items():
        sel = roles == role
        vals = node_values[sel]
        face = np.where(np.isfinite(vals)[:, None], nmap(nnorm(np.nan_to_num(vals))),
                        mpl.colors.to_rgba("0.85"))
        ax.scatter(pos[sel, 0], pos[sel, 1], s=size, marker=marker, c=face,
                   edgecolors="0.15", linewidths=0.8, zorder=3)
    if rows <= 12:  # neuron ids under the neurons
        for k, n in enumerate(net.node_ids):
            ax.annotate(str(n), pos[k], xytext=(0, -15), textcoords="offset points",
                        ha="center", va="top", fontsize=7, color="0.35", zorder=5)
    if cone is not None:
        hit = np.flatnonzero(cone.reached)
        ax.scatter(pos[hit, 0], pos[hit, 1], s=2 * size, facecolors="none", edgecolors="red",
                   linewidths=2.0, zorder=4)
        for k in hit:
            ax.annotate(str(cone.hops[k]), pos[k], xytext=(9, 7), textcoords="offset points",
                        color="red", fontsize=9, fontweight="bold", zorder=5)
    if selected is not None and selected in net.index:
        k = net.index[selected]
        ax.scatter(*pos[k], s=max(2.7 * size, 120), facecolors="none", edgecolors="orange",
                   linewidths=2.5,
                   zorder=4)
    lo, hi = pos.min(axis=0), pos.max(axis=0)  # the neurons fill the axes (arcs may
    pad = np.where(hi > lo, 0.07 * (hi - lo), 0.1)  # bulge out of them, unclipped)
    ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
    ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
    fig.colorbar(mpl.cm.ScalarMappable(nnorm, nmap), ax=ax, shrink=0.6, pad=0.01,
                 label=f"neurons: {node_label}")
    if edge_dots is not None:
        dvals, dlabel = edge_dots
        dnorm = _norm(dvals, signed=False)
        fig.colorbar(mpl.cm.ScalarMappable(dnorm, BACK_WAVE), ax=ax, shrink=0.6, pad=0.01,
                     label=f"edge dots: {dlabel}")
    fig.colorbar(mpl.cm.ScalarMappable(enorm, emap), ax=ax, shrink=0.6, pad=0.01,
                 label=f"edges: {edge_label}")
    if edge_dots is not None:  # placed now that the axes have their final geometry
        sel = np.flatnonzero(kinds != "self-loop")
        where = _on_edges(ax, pos, net.src[sel], net.tgt[sel],
                          np.array([RADS[k] for k in kinds[sel]]), 0.3)
        ax.scatter(where[:, 0], where[:, 1], s=22, c=BACK_WAVE(dnorm(dvals[sel])),
                   edgecolors="none", zorder=2)
    handles = [Line2D([], [], color="0.3", ls=STYLES[k], lw=1.6, label=k) for k in KINDS
               if k in kinds and k != "self-loop"]
    if "self-loop" in kinds:
        handles.append(Line2D([], [], color="0.3", marker="o", ls="", mfc="none", ms=10,
                              label="self-loop"))
    handles += [Line2D([], [], color="0.15", marker=m, ls="", mfc="0.85", ms=8, label=r)
                for r, m in ROLE_MARKERS.items() if (roles == r).any()]
    if edge_dots is not None:
        handles.append(Line2D([], [], color="#2166ac", marker="o", ls="", ms=5,
                              label="backward wave (dot)"))
    handles.append(Line2D([], [], color="orange", marker="o", ls="", mfc="none", ms=11,
                          mew=2, label="picked neuron"))
    if cone is not None:
        handles.append(Line2D([], [], color="red", marker="o", ls="", mfc="none", ms=11,
                              mew=2, label="in the cone (hop count)"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.01),
              ncol=min(len(handles), 4), fontsize=8, frameon=False)
    if title:
        ax.set_title(title, fontsize=11)
    return fig


def draw_metrics(frame, reference: str) -> Figure:
    """Loss, accuracy and cosine to the exact gradient against the step.

    Args:
        frame: the DataCollector's model-variables DataFrame (loss, accuracy, cosine).
        reference: what the exact gradient is (BP, or BPTT of the settled forward pass).
    """
    fig = Figure(figsize=(4.6, 6.2), dpi=96)
    fig.subplots_adjust(left=0.2, right=0.96, top=0.95, bottom=0.08, hspace=0.35)
    axes = fig.subplots(3, 1, sharex=True)
    steps = np.arange(len(frame))
    panels = (("loss", "loss per example", None), ("accuracy", "accuracy", (0, 1.02)),
              ("cosine", f"cos(−Δθ, ∇E)\n{reference}", (-1.05, 1.05)))
    for ax, (col, label, lim) in zip(axes, panels, strict=True):
        y = frame[col].to_numpy(dtype=float)
        ax.plot(steps, y, lw=1.3, color={"loss": "C3", "accuracy": "C2"}.get(col, "C0"))
        ax.set_ylabel(label, fontsize=9)
        ax.grid(alpha=0.3)
        if lim:
            ax.set_ylim(*lim)
        finite = y[np.isfinite(y)]
        if col == "loss" and finite.size and finite.min() > 0 \
                and finite.max() > 10 * finite.min():  # log axis when it spans decades
            ax.set_yscale("log")
        elif col == "loss":
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3), useOffset=False)
        last = y[np.isfinite(y)]
        ax.set_title(f"{col}: {last[-1]:.3g}" if last.size else f"{col}: —", fontsize=9,
                     loc="right")
    note = ("no parameter update yet (learning rate 0 or no learning rule)"
            if not np.isfinite(frame["cosine"].to_numpy(dtype=float)).any() else "")
    if note:
        axes[2].text(0.5, 0.5, note, ha="center", va="center", wrap=True,
                     transform=axes[2].transAxes, fontsize=8)
    axes[-1].set_xlabel("step")
    return fig
