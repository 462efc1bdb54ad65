"""Benchmark: a sweep of LP runs as ensembles against one run per task, on a process pool.

``python -m runs.bench.ensemble [--runs 100] [--epochs 50] [--batch 16] [--size 10]
[--workers 2] [--rounds 3] [--steps]``

The sweep: ``runs`` LP training runs on wine with a 13-100-3 sigmoid MLP, run r using seed
r for its network, its data split and its mini-batch order (library LP defaults, x
starting at the forward pass; ``--batch 0``: full batch). Each run builds its network,
trains ``epochs`` epochs with the vectorised engine and evaluates its final test accuracy.

* **single**: one run per task (what a sweep does today) on a pool of ``workers`` spawned
  processes;
* **ensemble**: the same runs cut into ensembles of ``size`` members
  (:class:`networks.ensemble.Ensemble`), one ensemble per task, on the same pool.

Both produce the same results: the script checks that every run's final weights agree to
1e-12 and its accuracy exactly. Protocol (:mod:`runs.bench.protocol`): one BLAS thread per
process, the pool warmed up before timing, interleaved rounds (order rotated), wall time
of the whole sweep and the CPU time its tasks used; figures are min and median over the
rounds, throughput ratio = single time / ensemble time, per round. ``--steps`` times the
engine steps alone instead (in this process, CPU time): where the ensemble gains.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing
import time

import numpy as np

from agents.lp import EXAMPLE_VARS, LP, LPParams
from networks.builders import layered
from networks.compile import compile_graph
from networks.engines import make_engine
from networks.ensemble import Ensemble, chunks
from networks.threads import cap_threads, limit_threads
from runs.bench.protocol import format_machine, machine_info
from runs.data.datasets import load_dataset
from runs.methods.base import batches
from runs.methods.evaluate import evaluate, forward_state

SIZES = (13, 100, 3)


def _problem(seed: int):
    ds = load_dataset("wine", seed=seed)
    net = compile_graph(layered(list(SIZES), "sigmoid", seed=seed))
    return ds, net, ds.inputs("train"), ds.targets("train")


def single_run(seed: int, epochs: int, batch: int | None) -> tuple[list[dict], float]:
    """One LP run (module doc); returns ``([result], CPU seconds)``."""
    start = time.process_time()
    ds, net, U, Y = _problem(seed)
    n = U.shape[1]
    eng = make_engine("vector", net, LP, LPParams(), batch=batch or n)
    store = {v: np.zeros((net.n_nodes, n)) for v in EXAMPLE_VARS}
    store["x"] = forward_state(net, U)
    if batch is None:
        eng.set_state("x", store["x"])
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        for idx in batches(n, batch, rng):
            if batch is None:
                eng.advance(U, Y)
                continue
            for var in EXAMPLE_VARS:
                eng.set_state(var, store[var][:, idx])
            eng.advance(U[:, idx], Y[:, idx])
            for var in EXAMPLE_VARS:
                store[var][:, idx] = eng.state(var)
    w, b = eng.state("weight"), eng.state("bias")
    acc = evaluate(net, w, b, ds)["test_acc"]
    return [{"seed": seed, "test_acc": acc, "weight": w}], time.process_time() - start


def ensemble_run(seeds, epochs: int, batch: int | None) -> tuple[list[dict], float]:
    """The runs of ``seeds`` as one ensemble; returns ``(results, CPU seconds)``."""
    start = time.process_time()
    problems = [_problem(s) for s in seeds]
    K, n = len(seeds), problems[0][2].shape[1]
    U = np.stack([p[2] for p in problems])                   # (K, n_in, n)
    Y = np.stack([p[3] for p in problems])                   # (K, n_out, n)
    ens = Ensemble([p[1] for p in problems], LP, LPParams(), batch=batch or n)
    N = ens.n_nodes
    # per-example state, example-major (K, n, N): a batch is K·B contiguous rows
    store = {v: np.zeros((K, n, N)) for v in EXAMPLE_VARS}
    store["x"] = np.stack([forward_state(p[1], p[2]).T for p in problems])
    if batch is None:
        ens.set_state("x", store["x"].transpose(0, 2, 1))
    rngs = [np.random.default_rng(s) for s in seeds]
    member = np.arange(K)[:, None]
    for _ in range(epochs):
        if batch is None:
            ens.advance(U, Y)
            continue
        for idx in zip(*[batches(n, batch, r) for r in rngs], strict=True):
            idx = np.stack(idx)                              # (K, B)
            for var in EXAMPLE_VARS:
                ens.set_state(var, store[var][member, idx].transpose(0, 2, 1))
            ens.advance(np.stack([U[k][:, i] for k, i in enumerate(idx)]),
                        np.stack([Y[k][:, i] for k, i in enumerate(idx)]))
            for var in EXAMPLE_VARS:
                store[var][member, idx] = ens.state(var).transpose(0, 2, 1)
    out = []
    for k, (ds, net, _, _) in enumerate(problems):
        m = ens.member(k)
        out.append({"seed": seeds[k], "test_acc": evaluate(net, m.weight, m.bias, ds)["test_acc"],
                    "weight": m.weight})
    return out, time.process_time() - start


def step_timing(batch: int, size: int, rounds: int = 5):
    """Engine steps alone: ``size`` single-engine steps vs one ensemble step of ``size``.

    In this process, LP defaults, 13-100-3, batch ``batch``.

    Returns:
        The :class:`runs.bench.protocol.Timing` (per-call CPU seconds, ratios to "single").
    """
    from runs.bench.protocol import interleaved

    nets = [compile_graph(layered(list(SIZES), "sigmoid", seed=s)) for s in range(size)]
    rng = np.random.default_rng(0)
    u, y = rng.standard_normal((size, SIZES[0], batch)), rng.uniform(size=(size, 3, batch))
    single = make_engine("vector", nets[0], LP, LPParams(), batch=batch)
    ens = Ensemble(nets, LP, LPParams(), batch=batch)
    # one call = ``size`` single steps or one ensemble step: the same work
    return interleaved({"single": lambda: [single.advance(u[0], y[0]) for _ in range(size)],
                        "ensemble": lambda: ens.advance(u, y)}, "single", rounds=rounds)


def _sweep(pool, fn, jobs, epochs, batch) -> tuple[list[dict], float, float]:
    start = time.perf_counter()
    futures = [pool.submit(fn, job, epochs, batch) for job in jobs]
    results, cpu = [], 0.0
    for f in futures:
        rows, seconds = f.result()
        results += rows
        cpu += seconds
    return results, time.perf_counter() - start, cpu


def main(argv=None) -> dict:
    """Command line (module doc); prints the table and returns the figures."""
    ap = argparse.ArgumentParser(prog="python -m runs.bench.ensemble", description=__doc__)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--batch", type=int, default=16, help="mini-batch size; 0: full batch")
    ap.add_argument("--size", type=int, default=10, help="members per ensemble")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", action="store_true",
                    help="time engine steps alone (batch 133, 16, 4) instead of the sweep")
    args = ap.parse_args(argv)
    batch = args.batch or None
    cap_threads(1)  # this process too (the header reports its BLAS threads)
    for line in format_machine(machine_info()):
        print(line)
    if args.steps:
        with limit_threads(1):
            for b in (133, 16, 4):
                t = step_timing(b, args.size, rounds=max(args.rounds, 3))
                lo, med = t.ratio("ensemble")
                print(f"steps, batch {b:3d}, {args.size} members: single "
                      f"{t.best('single') / args.size * 1e3:.3f} ms, ensemble "
                      f"{t.best('ensemble') / args.size * 1e3:.3f} ms per member-step; "
                      f"throughput ratio {1 / med:.2f}x median ({1 / lo:.2f}x min)",
                      flush=True)
        return {}
    seeds = list(range(args.runs))
    contenders = {
        "single": (single_run, seeds),
        "ensemble": (ensemble_run, [list(c) for c in chunks(args.runs, args.size)]),
    }
    print(f"sweep: {args.runs} LP runs, wine {'-'.join(map(str, SIZES))}, {args.epochs} "
          f"epochs, batch {batch or 'full'}; ensembles of {args.size}; pool of "
          f"{args.workers} spawned processes, one BLAS thread each", flush=True)
    ctx = multiprocessing.get_context("spawn")
    wall = {name: [] for name in contenders}
    cpu = {name: [] for name in contenders}
    with cf.ProcessPoolExecutor(args.workers, mp_context=ctx, initializer=cap_threads,
                                initargs=(1,)) as pool:
        for fn, jobs in contenders.values():   # warm-up: imports, first allocations
            _sweep(pool, fn, jobs[:args.workers], 1, batch)
        results = {}
        names = list(contenders)
        for r in range(args.rounds):
            for name in names[r % 2:] + names[:r % 2]:
                fn, jobs = contenders[name]
                results[name], w, c = _sweep(pool, fn, jobs, args.epochs, batch)
                wall[name].append(w)
                cpu[name].append(c)
                print(f"round {r + 1}: {name:8s} wall {w:7.2f} s, task CPU {c:7.2f} s",
                      flush=True)
    gap = max(float(np.abs(a["weight"] - b["weight"]).max())
              for a, b in zip(results["single"], results["ensemble"], strict=True))
    same_acc = all(a["test_acc"] == b["test_acc"]
                   for a, b in zip(results["single"], results["ensemble"], strict=True))
    if gap > 1e-12 or not same_acc:
        raise AssertionError(f"ensemble results differ from single runs: weight gap {gap:.3g}, "
                             f"same accuracies: {same_acc}")
    out = {"weight_gap": gap}
    for kind, table in (("wall", wall), ("cpu", cpu)):
        ratio = np.array(table["single"]) / np.array(table["ensemble"])
        out[kind] = {"single": min(table["single"]), "ensemble": min(table["ensemble"]),
                     "ratio_min": float(ratio.min()), "ratio_median": float(np.median(ratio))}
        print(f"{kind:4s}: single {min(table['single']):.2f} s, ensemble "
              f"{min(table['ensemble']):.2f} s (min over rounds); throughput ratio "
              f"{ratio.min():.2f}–{np.median(ratio):.2f}x (min–median)")
    print(f"results equal: max weight gap {gap:.2g}, accuracies identical; mean test accuracy "
          f"{np.mean([r['test_acc'] for r in results['single']]):.3f}")
    return out


if __name__ == "__main__":
    main()
