"""Sparse benchmarks: scaling with the number of edges; the agent engine's message rate.

The vectorised engine's time per edge and example is measured from 10^3 to 10^6 edges;
the agent engine's messages per second and its ratio to the vectorised engine on the
same graph.
"""

from __future__ import annotations

import time

import numpy as np

from agents.diffusion import DIFFUSION
from agents.forward import FORWARD
from networks.builders import random_digraph, scale_to_contractive
from networks.compile import compile_graph
from networks.engines import AgentEngine, VectorEngine

RULES = {"forward": (FORWARD, None), "diffusion": (DIFFUSION, {"eta": 1e-4})}


def sparse_net(n_edges: int, *, seed: int = 0, fan_in: int = 10):
    """A contractive random digraph with ``n_edges`` edges and ``n_edges / fan_in`` neurons."""
    n = max(n_edges // fan_in, 20)
    G = random_digraph(n, n_edges, n_inputs=10, n_outputs=10, seed=seed, delays=(1, 3))
    return compile_graph(scale_to_contractive(G, gain=0.8))


def _steps_per_s(engine, u, y, min_seconds: float, min_steps: int = 3) -> float:
    engine.advance(u, y)
    steps, start = 0, time.perf_counter()
    while steps < min_steps or time.perf_counter() - start < min_seconds:
        engine.advance(u, y)
        steps += 1
    return steps / (time.perf_counter() - start)


def bench_scaling(edge_counts=(10**3, 10**4, 10**5, 10**6), batch: int = 16,
                  rules=("forward", "diffusion"), min_seconds: float = 1.0) -> list[dict]:
    """Nanoseconds per edge and example per step of the vectorised engine, per size."""
    rows = []
    for n_edges in edge_counts:
        net = sparse_net(n_edges)
        rng = np.random.default_rng(0)
        u = rng.normal(size=(len(net.input_idx), batch))
        y = rng.normal(size=(len(net.output_idx), batch))
        for name in rules:
            rule, params = RULES[name]
            eng = VectorEngine(net, rule, params, batch=batch, check_finite=False)
            sps = _steps_per_s(eng, u, y, min_seconds)
            rows.append({"rule": name, "edges": net.n_edges, "neurons": net.n_nodes,
                         "batch": batch, "steps_per_s": sps,
                         "ns_per_edge_example": 1e9 / (sps * net.n_edges * batch)})
    return rows


def bench_agent(n_nodes: int = 1000, n_edges: int = 10_000, *, batch: int | None = None,
                min_seconds: float = 2.0, rules=("forward", "diffusion")) -> dict:
    """Messages per second of the agent engine and its speed ratio to the vector engine.

    A message is one value (per example) sent along one edge on one channel; the forward
    rule sends one per edge per step, the diffusion rule two (x forward, δ backward).
    """
    net = sparse_net(n_edges, fan_in=n_edges // n_nodes)
    rng = np.random.default_rng(0)
    shape = (lambda k: (k,)) if batch is None else (lambda k: (k, batch))
    u = rng.normal(size=shape(len(net.input_idx)))
    y = rng.normal(size=shape(len(net.output_idx)))
    out = {"neurons": net.n_nodes, "edges": net.n_edges, "batch": batch or 1}
    for name in rules:
        rule, params = RULES[name]
        channels = sum(len(s.channels) for s in rule.stages)
        sps = {}
        for cls in (AgentEngine, VectorEngine):
            eng = cls(net, rule, params, batch=batch, check_finite=False)
            sps[cls.kind] = _steps_per_s(eng, u, y, min_seconds)
        out[f"{name}_agent_steps_per_s"] = sps["agent"]
        out[f"{name}_agent_messages_per_s"] = sps["agent"] * net.n_edges * channels
        out[f"{name}_vector_over_agent"] = sps["vector"] / sps["agent"]
    return out
