"""The benchmark suite: every figure a ratio against a baseline measured in the same run.

``python -m runs.bench [NAME ...] [--small | --large]`` (``make bench``). The suite runs
under one BLAS thread, times in CPU time and interleaves its contenders round by round
(:mod:`runs.bench.protocol`); it first prints the machine, BLAS kernel and thread
settings. Benchmarks:

1. ``dense``: one LP and one diffusion step of the vectorised engine (library defaults,
   and bare: ``check_finite=False``) against a plain-numpy BP step and the step's own
   GEMMs timed alone (the floor), on 784-256-256-10 with batch 128 and on 13-100-3 with
   batch 32, float64 (:mod:`runs.bench.dense`).
2. ``sparse``: diffusion on random digraphs from 10^3 to 10^6 edges, batch 1 and 16, in
   ns per edge and step and against a plain scipy CSR implementation, beside the step's
   sparse products alone and the whole step as its numpy/scipy calls alone (the floor
   of a numpy step) (:mod:`runs.bench.sparse`); peak memory of LP at 10^6 edges,
   batch 16.
3. ``agent``: agent-engine messages/s against a minimal Mesa model doing the same
   send/receive, 10^3 to 10^5 neurons; build time (:mod:`runs.bench.agent`).
4. ``threads``: two LP runs sharing the cores, with and without capped BLAS threads,
   against one run alone (wall time; :mod:`runs.bench.threads`).
5. ``torch``: LP written with PyTorch autograd (a separate interpreter, skipped with a
   reason when there is none) against the vectorised LP (:mod:`runs.bench.memory`).
6. ``memory``: peak memory of full-batch LP on the bundled datasets.
7. ``ensemble``: a sweep of LP runs on wine 13-100-3 with ensembles against one run per
   task, on the same pool of two processes (:mod:`runs.bench.ensemble`; a shorter sweep
   than ``python -m runs.bench.ensemble``'s 100 runs of 50 epochs, which ``--large``
   runs): throughput ratio, records checked equal.

``--small`` runs tiny sizes (the test suite's smoke test); ``--large`` bigger ones.
Ratios below 1 mean faster than the baseline; each is "min–median" over rounds.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from networks.threads import limit_threads
from runs.bench.protocol import format_machine, machine_info

ALL = ("dense", "sparse", "agent", "threads", "torch", "memory", "ensemble")
#: the ensemble sweep per size: (runs, epochs, rounds)
ENSEMBLE_SWEEP = {"small": (4, 1, 1), "default": (40, 20, 2), "large": (100, 50, 3)}

SIZES = {  # (dense nets, sparse edge counts, sparse batches, LP memory edges, agent neurons)
    "small": ([((20, 16, 16, 3), 8), ((5, 8, 3), 4)], (10**3, 10**4), (1, 4), 10**4,
              (100, 300)),
    "default": ([((784, 256, 256, 10), 128), ((13, 100, 3), 32)],
                (10**3, 10**4, 10**5, 10**6), (1, 16), 10**6, (10**3, 10**4, 10**5)),
    "large": ([((784, 1024, 1024, 10), 128), ((784, 256, 256, 10), 128), ((13, 100, 3), 32)],
              (10**3, 10**4, 10**5, 10**6, 10**7), (1, 16), 10**6, (10**3, 10**4, 10**5)),
}


def run(which=ALL, size: str = "default", out=print) -> dict:
    """Run the chosen benchmarks under one BLAS thread, print their figures, return them."""
    with limit_threads(1):
        return _run(which, size, out)


def _run(which, size: str, out) -> dict:
    from runs.bench import agent, dense, memory, sparse, threads

    small = size == "small"
    nets, edge_counts, batches, mem_edges, neurons = SIZES[size]
    rounds, secs = (2, 0.002) if small else (7, 0.05)
    results: dict = {"machine": machine_info()}
    for line in format_machine(results["machine"]):
        out(line)
    if "dense" in which:
        out("== 1. dense step vs numpy BP step (ratio = step / BP), float64")
        for sizes, batch in nets:
            r = dense.bench_dense(sizes, batch, np.float64, rounds=rounds,
                                  seconds_per_call=secs)
            results[f"dense_{r['sizes']}"] = r
            for line in dense.format_dense(r):
                out(line)
    if "sparse" in which:
        out(f"== 2. sparse diffusion, vectorised engine vs plain scipy CSR, fan-in "
            f"{sparse.FAN_IN}, edges {edge_counts}")
        rows = sparse.bench_scaling(edge_counts, batches, rounds=max(rounds - 2, 2),
                                    seconds_per_call=secs)
        results["sparse"] = rows
        for line in sparse.format_scaling(rows):
            out(line)
        m = sparse.lp_memory(mem_edges, 16)
        results["sparse_lp_memory"] = m
        out(f"LP memory at {m['edges']:,} edges ({m['neurons']:,} neurons), B=16, SGD: "
            f"peak +{m['total_mb']:.0f} MB (engine holds {m['state_mb']:.0f} MB; build "
            f"peak +{m['build_mb']:.0f} MB, steps +{m['step_mb']:.0f} MB above it)")
    if "agent" in which:
        out("== 3. agent engine vs a minimal Mesa model doing the same send/receive "
            "(forward, delay 1, no batch axis)")
        for n in neurons:
            r = agent.bench_agent(n, rounds=max(rounds - 2, 2),
                                  seconds_per_call=0.01 if small else 0.2)
            results[f"agent_{n}"] = r
            for line in agent.format_agent(r):
                out(line)
    if "threads" in which:
        out("== 4. two runs sharing the cores: BLAS threads uncapped vs capped")
        r = threads.bench_sharing(steps=3 if small else 40)
        results["threads"] = r
        for line in threads.format_sharing(r):
            out(line)
    if "torch" in which:
        sizes, batch = nets[0]
        out(f"== 5. peer: PyTorch-autograd LP vs our vectorised LP, "
            f"{'-'.join(map(str, sizes))}, batch {batch}, float64")
        r = memory.compare_torch(sizes, batch, "float64", 0.05 if small else 1.0)
        results["torch"] = r
        if r["torch_s"] is None:
            out(f"ours {r['lp_s'] * 1e3:.3f} ms; torch: skipped ({r['torch_reason']})")
        else:
            out(f"torch-autograd LP {r['torch_s'] * 1e3:.3f} ms | ours "
                f"{r['lp_s'] * 1e3:.3f} ms | ours/torch {r['lp_over_torch']:.2f}x")
    if "memory" in which:
        out("== 6. LP per-example state memory (full batch)")
        rows = memory.bench_lp_memory(dataset_names=("xor",) if small else
                                      ("wine", "digits"))
        results["memory"] = rows
        for r in rows:
            out(json.dumps({k: (round(v, 3) if isinstance(v, float) else v)
                            for k, v in r.items()}))
    if "ensemble" in which:
        from runs.bench import ensemble

        runs, epochs, n_rounds = ENSEMBLE_SWEEP[size]
        out(f"== 7. sweep of {runs} LP runs (wine 13-100-3, {epochs} epochs, batch 16): "
            f"ensembles vs one run per task, pool of 2 processes (ratio = single / "
            f"ensembles time)")
        r = ensemble.bench_sweep(runs, epochs, 16, workers=2, rounds=n_rounds,
                                 out=lambda s: None)
        results["ensemble"] = r
        for line in ensemble.format_sweep(r):
            out(line)
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
    print(f"(suite took {time.perf_counter() - start:.0f} s wall time)")
