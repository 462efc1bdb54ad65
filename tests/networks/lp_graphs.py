"""Seeded graph suite for the LP stability tests: DAGs and contractive cyclic graphs.

``suite_graph(k)`` cycles through five kinds (k mod 5): layered (tanh/sigmoid layers),
layered with skip connections, random DAG, contractive random digraph and contractive
layered-recurrent graph; depth (non-input layers) 2–6, delays 1–4, hidden activations
mixed among tanh, sigmoid, relu and identity (except the plain layered kind).
"""

import networkx as nx
import numpy as np

from networks.builders import (
    layered,
    layered_recurrent,
    random_dag,
    random_digraph,
    scale_to_contractive,
)
from networks.compile import compile_graph
from networks.validate import validate_graph

ACTS = ("tanh", "sigmoid", "relu", "identity")
KINDS = ("layered", "skip", "random_dag", "cyclic", "layered_recurrent")


def _mix(G, rng):
    for _, d in G.nodes(data=True):
        if d.get("role") == "hidden":
            d["activation"] = str(rng.choice(ACTS))
    return G


def _sizes(n_in, n_out, depth, rng):
    return [n_in] + [int(rng.integers(3, 8)) for _ in range(depth - 1)] + [n_out]


def _skip(sizes, depth, rng):
    G = layered(sizes, "tanh", "identity", seed=rng, bias_scale=0.3, delays=(1, 4))
    layer = nx.get_node_attributes(G, "layer")
    nodes = list(G)
    for _ in range(3 * depth):
        j, i = rng.choice(nodes, 2)
        if layer[i] >= layer[j] + 2:
            G.add_edge(int(j), int(i), weight=float(rng.normal(0, 0.5)),
                       delay=int(rng.integers(1, 5)))
    return _mix(G, rng)


def suite_graph(k: int, batch: int = 3):
    """Graph k of the suite with data: ``(net, u (n_in, batch), y (n_out, batch))``."""
    rng = np.random.default_rng(1000 + k)
    kind = KINDS[k % 5]
    depth = 2 + (k // 5) % 5
    n_in, n_out = int(rng.integers(2, 5)), int(rng.integers(1, 4))
    n = int(rng.integers(8, 25))
    if kind == "layered":
        G = layered(_sizes(n_in, n_out, depth, rng),
                    [str(rng.choice(ACTS[:2])) for _ in range(depth)], "identity", seed=rng,
                    bias_scale=0.3, delays=(1, 4))
    elif kind == "skip":
        G = _skip(_sizes(n_in, n_out, depth, rng), depth, rng)
    elif kind == "random_dag":
        G = _mix(random_dag(n, 3 * n, n_inputs=n_in, n_outputs=n_out, seed=rng,
                            output_activation="identity", bias_scale=0.3, delays=(1, 4)), rng)
    elif kind == "cyclic":
        G = _mix(random_digraph(n, 3 * n, n_inputs=n_in, n_outputs=n_out, seed=rng,
                                output_activation="tanh", bias_scale=0.3, delays=(1, 4)), rng)
        G = scale_to_contractive(G, float(rng.uniform(0.3, 0.8)))
    else:
        G = layered_recurrent(_sizes(n_in, n_out, depth, rng), "tanh", "tanh", seed=rng,
                              lateral=0.3, feedback=0.3, bias_scale=0.3,
                              recurrent_delays=(1, 4))
        G = scale_to_contractive(_mix(G, rng), float(rng.uniform(0.3, 0.8)))
    validate_graph(G)
    net = compile_graph(G)
    u = rng.normal(size=(len(net.input_idx), batch))
    y = rng.normal(size=(len(net.output_idx), batch))
    return net, u, y
