"""The forward-dynamics demo: run a network in both engines and say what happened.

:func:`cyclic_example` is the built-in network it runs when given none.
"""

from __future__ import annotations

import time
from itertools import islice

import networkx as nx
import numpy as np

from agents.forward import FORWARD
from networks.builders import layered_recurrent, scale_to_contractive
from networks.compile import compile_graph
from networks.engines import make_engine
from networks.oracles import fixed_point


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


def describe(G: nx.DiGraph) -> str:
    """One paragraph on a network: sizes, roles, cycles, delays."""
    net = compile_graph(G)
    if net.is_dag:
        cycles = "acyclic"
    else:
        k = sum(1 for _ in islice(nx.simple_cycles(G, 4), 1000))
        cycles = f"cyclic ({k}{'+' if k == 1000 else ''} cycles of length ≤ 4)"
    return (f"{net.n_nodes} neurons ({len(net.input_idx)} inputs, {len(net.output_idx)} "
            f"outputs), {net.n_edges} synapses, {cycles}, delays "
            f"{int(net.delay.min())}–{int(net.delay.max())}, "
            f"{sum(b.kind == 'dense' for b in net.blocks)} dense + "
            f"{sum(b.kind == 'sparse' for b in net.blocks)} sparse blocks")


def run_forward_demo(G: nx.DiGraph, *, steps: int = 60, seed: int = 0, print_fn=print) -> dict:
    """Drive ``G`` with a constant random input in both engines and report.

    Prints the network, the output trajectory, the distance of the state to the forward
    fixed point (oracle), the agreement of the two engines and their speed.

    Returns:
        ``{"max_engine_diff", "final_distance", "steps_per_s": {engine: float}}``.
    """
    net = compile_graph(G)
    u = np.random.default_rng(seed).uniform(-1.0, 1.0, size=len(net.input_idx))
    print_fn(f"network: {describe(G)}")
    print_fn(f"input u = {np.array2string(u, precision=3)} held for {steps} steps")
    recs, speed = {}, {}
    for kind in ("agent", "vector"):
        eng = make_engine(kind, net, FORWARD, record=["x"])
        start = time.perf_counter()
        recs[kind] = eng.run(u, steps=steps)["x"]
        speed[kind] = steps / (time.perf_counter() - start)
    x = recs["vector"]
    _, x_star = fixed_point(net, u[:, None])
    dist = np.abs(x - x_star[:, 0]).max(axis=1)
    out = net.output_idx
    print_fn(f"{'step':>6} {'output x_o(t)':>16} {'max |x(t) − x*|':>18}")
    for t in sorted({1, 2, 3, 5, 10, 20, steps // 2, steps}):
        if 1 <= t <= steps:
            print_fn(f"{t:>6} {np.array2string(x[t - 1, out], precision=5):>16} "
                     f"{dist[t - 1]:>18.3e}")
    diff = float(np.abs(recs["agent"] - recs["vector"]).max())
    print_fn(f"fixed point x*: output {np.array2string(x_star[out, 0], precision=5)}; "
             f"reached to {dist[-1]:.1e} after {steps} steps")
    print_fn(f"agent engine vs vectorised engine: max |difference| = {diff:.1e}")
    print_fn("speed: " + ", ".join(f"{k} {v:,.0f} steps/s" for k, v in speed.items()))
    return {"max_engine_diff": diff, "final_distance": float(dist[-1]), "steps_per_s": speed}
