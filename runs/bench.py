"""Benchmarks (speed is measured here, never in timed tests).

``python -m runs.bench [engines] [--large]`` — each benchmark prints its figures and its
ratio against a baseline measured in the same run.

* ``engines``: steps per second of the agent engine and the vectorised engine running the
  forward-dynamics rule on a random digraph (default 1,000 neurons, ~10,000 edges, delays
  1–3), messages per second of the agent engine, and the vector/agent speed ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from agents.forward import FORWARD
from networks.builders import random_digraph, scale_to_contractive
from networks.compile import compile_graph
from networks.engines import make_engine


def _time_steps(engine, u, min_steps: int, min_seconds: float) -> float:
    """Steps per second of ``engine`` (after one warm-up step)."""
    engine.advance(u)
    steps, start = 0, time.perf_counter()
    while steps < min_steps or time.perf_counter() - start < min_seconds:
        engine.advance(u)
        steps += 1
    return steps / (time.perf_counter() - start)


def bench_engines(n_nodes: int = 1000, n_edges: int = 10_000, *, seed: int = 0,
                  batch: int | None = None, min_seconds: float = 2.0) -> dict:
    """Steps/s of both engines on a random digraph; returns the figures."""
    G = scale_to_contractive(random_digraph(n_nodes, n_edges, n_inputs=10, n_outputs=10,
                                            seed=seed, delays=(1, 3)), gain=0.8)
    net = compile_graph(G)
    shape = (len(net.input_idx),) if batch is None else (len(net.input_idx), batch)
    u = np.random.default_rng(seed).normal(size=shape)
    out = {"neurons": net.n_nodes, "edges": net.n_edges, "batch": batch or 1}
    for kind in ("agent", "vector"):
        eng = make_engine(kind, net, FORWARD, batch=batch, check_finite=False)
        out[f"{kind}_steps_per_s"] = _time_steps(eng, u, 5, min_seconds)
    out["agent_messages_per_s"] = out["agent_steps_per_s"] * net.n_edges
    out["vector_over_agent"] = out["vector_steps_per_s"] / out["agent_steps_per_s"]
    return out


def main(argv=None) -> None:
    """Run the benchmarks and print their figures and ratios."""
    p = argparse.ArgumentParser(prog="python -m runs.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("which", nargs="*", help="benchmarks to run: engines (default: all)")
    p.add_argument("--large", action="store_true", help="bigger sizes")
    p.add_argument("--small", action="store_true", help="tiny sizes (smoke test)")
    args = p.parse_args(argv)
    args.which = args.which or ["engines"]
    if "engines" in args.which:
        n, e = (10_000, 100_000) if args.large else (100, 1_000) if args.small else (1000, 10_000)
        secs = 0.2 if args.small else 2.0
        print(f"== engines: forward dynamics, random digraph ~{n} neurons ~{e} edges ==")
        for batch in (None, 32):
            r = bench_engines(n, e, batch=batch, min_seconds=secs)
            print(f"batch {r['batch']:>3}: agent {r['agent_steps_per_s']:10.1f} steps/s "
                  f"({r['agent_messages_per_s']:,.0f} messages/s) | vector "
                  f"{r['vector_steps_per_s']:10.1f} steps/s | vector/agent "
                  f"{r['vector_over_agent']:.1f}x   [{r['neurons']} neurons, "
                  f"{r['edges']} edges]")


if __name__ == "__main__":
    main()
