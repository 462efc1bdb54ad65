r"""Keep the cyclic part of a network contractive during training, neuron by neuron.

For neuron i let ``C(i)`` be its in-edges that lie on a directed cycle (source and target
in the same strongly connected component; self-loops included) and ``s_i`` the slope
bound of its activation (:data:`networks.builders.MAX_SLOPE`). Its **cycle gain** is
``γ_i = s_i Σ_{j∈C(i)} |w_ij|``. If ``max_i γ_i < 1`` the forward map restricted to every
strongly connected component is a contraction in the max-norm, so (components being
solved in topological order) the forward fixed point ``x = σ(W x + b)`` exists, is unique,
is reached by iteration from any start, and ``I − D W`` is invertible with
``‖(I − D W)⁻¹‖_∞ <= 1 / (1 − max γ)``. :func:`clip_cycle_gain` rescales the in-cycle
in-weights of each neuron whose cycle gain exceeds ``gain``; it is local: neuron i reads
and writes only its own in-edge weights and knows only which of them lie on cycles.

Why (measured, ``runs/configs/cyclic_lp.toml``, moons, 2–16–1 tanh with self-loops and
lateral edges, LP with Adam on the weights): started at spectral gain 0.9, the recurrent
weights grow during training (max cycle gain 0.7–1.2 → 2.8–3.7 in 300 epochs), the
frozen-weight LP step's spectral radius (:mod:`networks.lp_stability`) crosses 1, the LP
state x leaves the forward fixed point (it still classifies the training set while the
forward predictor falls to 0.2–0.6 train accuracy) and 4 of 10 seeds collapse. Clipping
every neuron's cycle gain to 0.9 after each weight step keeps the radius at 0.95–0.995
and all 10 seeds reach >= 0.98 test accuracy (also at gains 0.5 and 0.99, and over 1000
epochs). :func:`networks.builders.scale_to_contractive` is the global (spectral-norm)
version, for building a network, not for a local rule.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from agents.errors import ConfigError, GraphError
from networks.builders import MAX_SLOPE
from networks.compile import CompiledNetwork
from networks.engines.base import as_compiled


def cycle_edges(net) -> np.ndarray:
    """Mask of the edges on a directed cycle (both ends in one strongly connected component).

    Args:
        net: compiled network or graph.

    Returns:
        Boolean array, shape (E,), in canonical edge order. All False on a DAG.
    """
    net: CompiledNetwork = as_compiled(net)
    g = nx.DiGraph()
    g.add_nodes_from(range(net.n_nodes))
    g.add_edges_from(zip(net.src.tolist(), net.tgt.tolist(), strict=True))
    comp = np.empty(net.n_nodes, dtype=np.intp)
    for k, members in enumerate(nx.strongly_connected_components(g)):
        comp[list(members)] = k
    return comp[net.src] == comp[net.tgt]


def _slopes(net: CompiledNetwork) -> np.ndarray:
    out = np.empty(net.n_nodes)
    for i, act in enumerate(net.activation):
        if act not in MAX_SLOPE:
            raise GraphError(f"node {net.node_ids[i]!r}: no slope bound known for activation "
                             f"{act!r}")
        out[i] = MAX_SLOPE[act]
    return out


def cycle_gains(net, weight=None, mask=None) -> np.ndarray:
    """Cycle gain ``γ_i = s_i Σ_{j∈C(i)} |w_ij|`` of every neuron, shape (N,) (0 off cycles).

    Args:
        net: compiled network or graph.
        weight: weights, shape (E,) (default: the network's).
        mask: :func:`cycle_edges` if already computed.
    """
    net = as_compiled(net)
    w = net.weight if weight is None else np.asarray(weight, dtype=float)
    mask = cycle_edges(net) if mask is None else mask
    total = np.zeros(net.n_nodes)
    np.add.at(total, net.tgt[mask], np.abs(w[mask]))
    return total * _slopes(net)


def clip_cycle_gain(net, weight, gain: float = 0.9, mask=None) -> np.ndarray:
    """Scale each neuron's in-cycle in-weights so that its cycle gain is at most ``gain``.

    Neurons already within the bound and edges not on a cycle are unchanged.

    Args:
        net: compiled network or graph.
        weight: weights, shape (E,), canonical order (not modified).
        gain: the bound, in (0, 1) for a contraction.
        mask: :func:`cycle_edges` if already computed (it depends on the graph only).

    Returns:
        The clipped weights, shape (E,).

    Raises:
        ConfigError: if ``gain`` is not a number in (0, 1).
        GraphError: for an activation without a slope bound.
    """
    if isinstance(gain, bool) or not isinstance(gain, int | float) or not 0 < gain < 1:
        raise ConfigError(f"cycle gain must be a number in (0, 1), got {gain!r}")
    net = as_compiled(net)
    mask = cycle_edges(net) if mask is None else mask
    w = np.array(weight, dtype=float)
    gains = cycle_gains(net, w, mask)
    factor = np.where(gains > gain, gain / np.where(gains > 0, gains, 1.0), 1.0)
    w[mask] *= factor[net.tgt[mask]]
    return w
