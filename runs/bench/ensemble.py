"""Benchmark: a sweep of LP runs with ensembles against one run per task, on a process pool.

``python -m runs.bench.ensemble [--runs 100] [--epochs 50] [--batch 16] [--size 32]
[--workers 2] [--rounds 3] [--steps]``

The sweep (:func:`sweep_config`): ``runs`` LP training runs — experiment ``train``, the
library's LP defaults, wine with a 13-100-3 sigmoid MLP, ``epochs`` epochs of mini-batches
of ``batch`` (0: full batch), seeds 0 … runs−1 (each run's network, data split and
example order follow its seed). Both contenders run it with :func:`runs.sweeps.sweep.run_sweep`
on the same warmed pool of ``workers`` spawned processes, into a fresh folder each time:

* **single**: ``ensembles="off"``, one run per task (what a sweep did before ensembles);
* **ensemble**: ``ensembles="on"``, the runs cut into ensembles of at most ``size``
  members spread over the workers (:func:`runs.sweeps.ensembles.plan_units`).

Everything a sweep does is timed: building each network and split, training, the
evaluations (at epoch 0 and the last, with LP's gradient-fidelity metric), writing the
records. Both write the same records: the benchmark checks every number to 1e-12 and
every accuracy exactly. Protocol (:mod:`runs.bench.protocol`): one BLAS thread per
process, the pool warmed up first, interleaved rounds (order rotated); figures are min
and median over rounds of the wall time and of the tasks' time (the records'
``duration_s`` summed); throughput ratio = single time / ensemble time, per round.
``--steps`` times the engine steps alone instead (this process, CPU time).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import multiprocessing
import tempfile
import time
from pathlib import Path

import numpy as np

from agents.lp import LP, LPParams
from networks.builders import layered
from networks.compile import compile_graph
from networks.engines import make_engine
from networks.ensemble import Ensemble
from networks.threads import cap_threads, limit_threads
from runs.bench.protocol import format_machine, interleaved, machine_info

SIZES = (13, 100, 3)

CONFIG = """
name = "bench-ensemble"
experiment = "train"
seeds = {seeds}

[data]
name = "wine"

[network]
builder = "layered"
sizes = {sizes}
activation = "sigmoid"

[rule]
name = "lp"

[schedule]
epochs = {epochs}
{batch}
"""


def sweep_config(folder: Path, runs: int, epochs: int, batch: int | None):
    """The benchmark's sweep (module doc) as a loaded config, its file in ``folder``."""
    from runs.config import load_config

    path = Path(folder) / "bench_ensemble.toml"
    path.write_text(CONFIG.format(seeds=list(range(runs)), sizes=list(SIZES), epochs=epochs,
                                  batch="" if batch is None else f"batch = {batch}"))
    return load_config(path)


def records_gap(a: Path, b: Path) -> tuple[float, bool, int]:
    """Compare the run records of two sweep folders of the same runs.

    Returns:
        ``(largest |difference| of a number in rows and summaries (``seconds`` aside),
        whether every accuracy is equal, runs compared)``.

    Raises:
        AssertionError: the folders hold different runs, a run failed, or rows differ.
    """
    gap, same_acc, n = 0.0, True, 0
    runs_a = {p.name for p in (Path(a) / "runs").glob("*.json")}
    if runs_a != {p.name for p in (Path(b) / "runs").glob("*.json")}:
        raise AssertionError(f"{a} and {b} hold different runs")
    for name in sorted(runs_a):
        ra, rb = (json.loads((Path(d) / "runs" / name).read_text()) for d in (a, b))
        if ra["status"] != "ok" or rb["status"] != "ok" or len(ra["rows"]) != len(rb["rows"]):
            raise AssertionError(f"run {name}: {ra['error'] or rb['error'] or 'rows differ'}")
        pairs = [(ra["summary"], rb["summary"])] + list(zip(ra["rows"], rb["rows"],
                                                            strict=True))
        for x, y in pairs:
            for key, v in x.items():
                if key == "seconds":
                    continue
                if key.endswith("_acc"):
                    same_acc &= v == y[key]
                gap = max(gap, abs(v - y[key]))
        n += 1
    return gap, same_acc, n


def _task_seconds(folder: Path) -> float:
    return sum(json.loads(p.read_text())["duration_s"]
               for p in (Path(folder) / "runs").glob("*.json"))


def bench_sweep(runs: int, epochs: int, batch: int | None, *, size: int = 32,
                workers: int = 2, rounds: int = 3, out=print) -> dict:
    """Time the sweep with and without ensembles (module doc); print and return figures.

    Returns:
        ``{"runs", "wall": {single, ensemble (min s), ratio_min, ratio_median}, "task":
        {...}, "weight_gap"...}`` — ``gap``: the largest difference of a recorded number.
    """
    from runs.sweeps.sweep import run_sweep

    modes = {"single": "off", "ensemble": "on"}
    wall = {name: [] for name in modes}
    task = {name: [] for name in modes}
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp, cf.ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=cap_threads, initargs=(1,)) as pool:
        tmp = Path(tmp)
        warm = sweep_config(tmp, 2 * workers, 1, batch)
        for name, mode in modes.items():   # warm-up: imports and first allocations
            run_sweep(warm, tmp / f"warm-{name}", executor=pool, progress=False,
                      ensembles=mode, ensemble_size=size)
        cfg = sweep_config(tmp, runs, epochs, batch)
        names = list(modes)
        for r in range(rounds):
            for name in names[r % 2:] + names[:r % 2]:
                folder = tmp / f"{name}-{r}"
                start = time.perf_counter()
                s = run_sweep(cfg, folder, executor=pool, progress=False,
                              ensembles=modes[name], ensemble_size=size)
                wall[name].append(time.perf_counter() - start)
                task[name].append(_task_seconds(folder))
                if s.n_failed:
                    raise AssertionError(f"{name}: {s.n_failed} runs failed: {s.failed}")
                out(f"round {r + 1}: {name:8s} wall {wall[name][-1]:7.2f} s, task time "
                    f"{task[name][-1]:7.2f} s")
        gap, same_acc, n = records_gap(tmp / "single-0", tmp / "ensemble-0")
    if gap > 1e-12 or not same_acc:
        raise AssertionError(f"ensemble records differ from single runs: largest gap "
                             f"{gap:.3g}, same accuracies: {same_acc}")
    res = {"runs": n, "gap": gap}
    for kind, table in (("wall", wall), ("task", task)):
        ratio = np.array(table["single"]) / np.array(table["ensemble"])
        res[kind] = {"single": min(table["single"]), "ensemble": min(table["ensemble"]),
                     "ratio_min": float(ratio.min()), "ratio_median": float(np.median(ratio))}
    return res


def format_sweep(res: dict) -> list[str]:
    """Lines reporting :func:`bench_sweep`'s figures."""
    lines = []
    for kind in ("wall", "task"):
        r = res[kind]
        lines.append(f"{kind:4s}: one run per task {r['single']:.2f} s, ensembles "
                     f"{r['ensemble']:.2f} s (min over rounds); throughput ratio "
                     f"{r['ratio_min']:.2f}–{r['ratio_median']:.2f}x (min–median)")
    lines.append(f"records equal: {res['runs']} runs, largest gap {res['gap']:.2g}, "
                 f"accuracies identical")
    return lines


def step_timing(batch: int, size: int, rounds: int = 5):
    """Engine steps alone: ``size`` single-engine steps vs one ensemble step of ``size``.

    In this process, LP rule defaults, 13-100-3, batch ``batch``.

    Returns:
        The :class:`runs.bench.protocol.Timing` (per-call CPU seconds, ratios to "single").
    """
    nets = [compile_graph(layered(list(SIZES), "sigmoid", seed=s)) for s in range(size)]
    rng = np.random.default_rng(0)
    u, y = rng.standard_normal((size, SIZES[0], batch)), rng.uniform(size=(size, 3, batch))
    single = make_engine("vector", nets[0], LP, LPParams(), batch=batch)
    ens = Ensemble(nets, LP, LPParams(), batch=batch)
    # one call = ``size`` single steps or one ensemble step: the same work
    return interleaved({"single": lambda: [single.advance(u[0], y[0]) for _ in range(size)],
                        "ensemble": lambda: ens.advance(u, y)}, "single", rounds=rounds)


def main(argv=None) -> dict:
    """Command line (module doc); prints the table and returns the figures."""
    ap = argparse.ArgumentParser(prog="python -m runs.bench.ensemble", description=__doc__)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--batch", type=int, default=16, help="mini-batch size; 0: full batch")
    ap.add_argument("--size", type=int, default=32, help="members per ensemble at most")
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
    print(f"sweep: {args.runs} LP runs (experiment train), wine "
          f"{'-'.join(map(str, SIZES))}, {args.epochs} epochs, batch {batch or 'full'}; "
          f"ensembles of at most {args.size}; pool of {args.workers} spawned processes, "
          f"one BLAS thread each", flush=True)
    res = bench_sweep(args.runs, args.epochs, batch, size=args.size, workers=args.workers,
                      rounds=args.rounds, out=lambda s: print(s, flush=True))
    for line in format_sweep(res):
        print(line)
    return res


if __name__ == "__main__":
    main()
