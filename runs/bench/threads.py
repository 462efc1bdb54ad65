"""Two runs sharing the cores, with and without capped BLAS threads.

A sweep, a CLI run next to another, or a trainer beside a benchmark shares the machine's
cores. Uncapped, each process's BLAS starts one thread per core and the threads
oversubscribe the cores; capped with :func:`networks.threads.cap_threads` to their share
(:func:`networks.threads.threads_per_worker`) they do not. This benchmark runs the LP step
of the dense benchmark alone (BLAS threads = cores), then in two processes at once,
uncapped (each with threads = cores) and capped (each with its share), and reports the
wall time per step of each against the solo run. Wall time is the figure here: the cost of
contention is time lost waiting, which CPU time does not see.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time

import numpy as np

SIZES, BATCH = (784, 256, 256, 10), 128


def _lp_steps(threads: int, steps: int, start_at: float) -> float:
    """Wall seconds per LP step with ``threads`` BLAS threads (runs in a child process)."""
    from agents.lp import LP
    from networks.builders import layered
    from networks.compile import compile_graph
    from networks.engines import VectorEngine
    from networks.threads import cap_threads

    cap_threads(threads)
    net = compile_graph(layered(list(SIZES), "sigmoid", seed=0))
    rng = np.random.default_rng(0)
    u, y = rng.normal(size=(SIZES[0], BATCH)), rng.uniform(size=(SIZES[-1], BATCH))
    eng = VectorEngine(net, LP, {"eta_w": 1e-3, "eta_x": 0.1, "eta_lam": 0.1}, batch=BATCH)
    eng.advance(u, y)
    while time.time() < start_at:      # start together with the other process
        time.sleep(0.001)
    start = time.perf_counter()
    for _ in range(steps):
        eng.advance(u, y)
    return (time.perf_counter() - start) / steps


def _run(threads: list[int], steps: int) -> list[float]:
    ctx = mp.get_context("spawn")
    with ctx.Pool(len(threads)) as pool:
        start_at = time.time() + 3.0      # after every child has imported and built
        jobs = [pool.apply_async(_lp_steps, (t, steps, start_at)) for t in threads]
        return [j.get() for j in jobs]


def bench_sharing(steps: int = 40) -> dict:
    """Seconds per step: solo, solo with one thread, two uncapped, two capped processes.

    Returns:
        ``{"cores", "share", "solo_s", "solo_one_thread_s", "pair_uncapped_s",
        "pair_capped_s"}`` and their ratios ``*_over_solo`` (per-step wall time; for a
        pair, its slower process).
    """
    from networks.threads import threads_per_worker

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else os.cpu_count() or 1
    solo = _run([cores], steps)[0]
    solo_one = _run([1], steps)[0]
    uncapped = max(_run([cores, cores], steps))
    share = threads_per_worker(2, cores)
    capped = max(_run([share, share], steps))
    return {"cores": cores, "share": share, "solo_s": solo, "solo_one_thread_s": solo_one,
            "one_thread_over_solo": solo_one / solo, "pair_uncapped_s": uncapped,
            "pair_capped_s": capped, "uncapped_over_solo": uncapped / solo,
            "capped_over_solo": capped / solo}


def format_sharing(r: dict) -> list[str]:
    """Report lines of :func:`bench_sharing`."""
    return [f"LP step {'-'.join(map(str, SIZES))} B={BATCH}, wall time per step: alone with "
            f"{r['cores']} BLAS threads {r['solo_s'] * 1e3:.2f} ms (one thread "
            f"{r['one_thread_over_solo']:.2f}x); two at once uncapped "
            f"({r['cores']} threads each) {r['uncapped_over_solo']:.2f}x alone; two at once "
            f"capped ({r['share']} each, networks.threads) {r['capped_over_solo']:.2f}x alone"]
