"""The benchmark suite: every figure measured side by side in one run, with ratios.

``python -m runs.bench [NAME ...] [--small | --large]`` (``make bench``). Benchmarks:

1. ``steps``: one LP step and one diffusion step of the vectorised engine vs a plain-numpy
   BP step on the same MLP and batch (784-256-256-10, batch 128; float64 and float32).
2. ``gemm``: fraction of the machine's matrix-multiply throughput (an n×n×n GEMM timed
   in the same run) reached by BP, LP and diffusion steps on that dense net.
3. ``scaling``: vectorised engine on sparse random digraphs from 10^3 to 10^6 edges:
   nanoseconds per edge and example per step, and the max/min ratio across sizes.
4. ``agent``: agent-engine messages per second on a 1,000-neuron, 10,000-edge graph and
   the vectorised engine's speed ratio on the same graph.
5. ``torch``: LP written as public LP code does (PyTorch autograd on a Lagrangian with x
   and λ as parameters, sign-flipped λ gradient; CPU) vs our vectorised LP, same net,
   batch and dtype (needs an interpreter with torch: see :mod:`runs.bench_memory`).
6. ``memory``: peak memory of LP's per-example state on the bundled datasets, float64
   and float32.

``--small`` runs tiny sizes (the test suite's smoke test); ``--large`` bigger ones.
Timings are best-of repeats; ratios < 1 mean faster than the baseline.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

ALL = ("steps", "gemm", "scaling", "agent", "torch", "memory")


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def bench_engines(n_nodes: int = 1000, n_edges: int = 10_000, *, batch: int | None = None,
                  min_seconds: float = 2.0) -> dict:
    """Forward-rule steps/s of both engines on a random digraph (kept for scripts)."""
    from runs.bench_sparse import bench_agent

    r = bench_agent(n_nodes, n_edges, batch=batch, min_seconds=min_seconds,
                    rules=("forward",))
    return {"neurons": r["neurons"], "edges": r["edges"], "batch": r["batch"],
            "agent_steps_per_s": r["forward_agent_steps_per_s"],
            "vector_steps_per_s": r["forward_agent_steps_per_s"]
            * r["forward_vector_over_agent"],
            "agent_messages_per_s": r["forward_agent_messages_per_s"],
            "vector_over_agent": r["forward_vector_over_agent"]}


def run(which=ALL, size: str = "default", out=print) -> dict:
    """Run the chosen benchmarks, print their figures, return them."""
    from runs import bench_dense, bench_sparse

    small, large = size == "small", size == "large"
    secs = 0.05 if small else 1.0
    results: dict = {}
    sizes = (20, 16, 16, 3) if small else (784, 1024, 1024, 10) if large else (784, 256, 256, 10)
    batch = 8 if small else 128
    if "steps" in which or "gemm" in which:
        out(f"== 1-2. dense steps vs numpy BP, MLP {'-'.join(map(str, sizes))}, batch {batch}")
        for dtype in (np.float64, np.float32):
            r = bench_dense.bench_steps(sizes, batch, dtype, min_seconds=secs)
            results[f"steps_{r['dtype']}"] = r
            out(f"{r['dtype']}: BP {r['bp_s'] * 1e3:.3f} ms | LP {r['lp_s'] * 1e3:.3f} ms "
                f"(LP/BP {r['lp_over_bp']:.2f}x) | diffusion {r['diffusion_s'] * 1e3:.3f} ms "
                f"(diffusion/BP {r['diffusion_over_bp']:.2f}x)")
            out(f"{r['dtype']}: GEMM peak {r['gemm_gflops']:.1f} GFLOP/s; fraction reached: "
                f"BP {r['bp_gemm_fraction']:.2f}, LP {r['lp_gemm_fraction']:.2f}, diffusion "
                f"{r['diffusion_gemm_fraction']:.2f}")
    if "scaling" in which:
        counts = (10**3, 10**4) if small else (10**3, 10**4, 10**5, 10**6, 10**7) if large \
            else (10**3, 10**4, 10**5, 10**6)
        out(f"== 3. sparse scaling, vectorised engine, batch 16, edges {counts}")
        rows = bench_sparse.bench_scaling(counts, min_seconds=secs)
        results["scaling"] = rows
        for rule in sorted({r["rule"] for r in rows}):
            mine = [r for r in rows if r["rule"] == rule]
            per = [r["ns_per_edge_example"] for r in mine]
            out(f"{rule}: " + " | ".join(f"{r['edges']:.0e} edges {r['ns_per_edge_example']:.2f}"
                                         f" ns" for r in mine)
                + f" | max/min {max(per) / min(per):.2f}x")
    if "agent" in which:
        n, e = (100, 1000) if small else (1000, 10_000)
        out(f"== 4. agent engine, random digraph {n} neurons {e} edges")
        for batch_ in (None, 32):
            r = bench_sparse.bench_agent(n, e, batch=batch_, min_seconds=secs)
            results[f"agent_batch{r['batch']}"] = r
            for rule in ("forward", "diffusion"):
                out(f"batch {r['batch']:>2} {rule}: {r[f'{rule}_agent_messages_per_s']:,.0f} "
                    f"messages/s ({r[f'{rule}_agent_steps_per_s']:.1f} steps/s); vector/agent "
                    f"{r[f'{rule}_vector_over_agent']:.0f}x")
    if "torch" in which:
        from runs import bench_memory

        out(f"== 5. peer: PyTorch-autograd LP vs our vectorised LP, "
            f"{'-'.join(map(str, sizes))}, batch {batch}")
        for dtype in ("float64", "float32"):
            peer = bench_memory.bench_torch_peer(sizes, batch, dtype, secs)
            ours = bench_dense.bench_lp_step(sizes, batch, np.dtype(dtype), secs)
            if peer is None or "seconds_per_step" not in peer:
                reason = bench_memory.torch_unavailable_reason() or "no timing returned"
                out(f"{dtype}: ours {ours * 1e3:.3f} ms; torch: skipped ({reason})")
                continue
            results[f"torch_{dtype}"] = {"ours_s": ours, **peer}
            out(f"{dtype}: torch-autograd LP {peer['seconds_per_step'] * 1e3:.3f} ms | ours "
                f"{ours * 1e3:.3f} ms | ours/torch {ours / peer['seconds_per_step']:.2f}x")
    if "memory" in which:
        from runs import bench_memory

        out("== 6. LP per-example state memory (full batch)")
        rows = bench_memory.bench_lp_memory(dataset_names=("xor",) if small else
                                            ("wine", "digits"))
        results["memory"] = rows
        for r in rows:
            out(json.dumps({k: (round(v, 3) if isinstance(v, float) else v)
                            for k, v in r.items()}))
    return results


def main(argv=None) -> None:
    """Parse arguments and run the suite."""
    p = argparse.ArgumentParser(prog="python -m runs.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("which", nargs="*", help=f"benchmarks to run (default: all of {ALL})")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--small", action="store_true", help="tiny sizes (smoke test)")
    g.add_argument("--large", action="store_true", help="bigger sizes")
    args = p.parse_args(argv)
    unknown = set(args.which) - set(ALL)
    if unknown:
        p.error(f"unknown benchmark(s) {sorted(unknown)}; choose from {ALL}")
    start = time.perf_counter()
    run(tuple(args.which) or ALL, "small" if args.small else "large" if args.large
        else "default")
    print(f"(suite took {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
