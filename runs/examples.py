"""Built-in example networks (no download): used by the CLI, docs and tests."""

from __future__ import annotations

import networkx as nx

from networks.builders import layered_recurrent, scale_to_contractive


def cyclic_example(seed: int = 0) -> nx.DiGraph:
    """A small cyclic network (19 neurons) with a unique stable fixed point.

    2 inputs → 8 → 8 → 1 tanh layers with self-loops, lateral and feedback edges
    (recurrent delays 1–3), scaled so its forward map is contractive (gain 0.6): for a
    constant input the dynamics converge to the fixed point.
    """
    G = layered_recurrent([2, 8, 8, 1], seed=seed, self_loops=True, lateral=0.25,
                          feedback=0.25, recurrent_delays=(1, 3), bias_scale=0.2,
                          output_activation="tanh")
    return scale_to_contractive(G, gain=0.6)
