"""Sparse benchmarks: time per edge from 10^3 to 10^6 edges, a plain scipy baseline, memory.

On random digraphs (fan-in 10, tanh, delay 1) the vectorised engine's diffusion step
(forward ``W x``, backward ``Wᵀ δ``, the per-edge Hebbian ``Σ_κ δ_iκ x_jκ``, the weight
step) is timed interleaved with :class:`ScipyDiffusion`, the same products written
plainly with one ``scipy.sparse`` CSR matrix, and reported as nanoseconds per edge and
step and as the ratio to that baseline per round, with the minor page faults of a step
(a plain baseline's fresh (E, B) temporaries fault in their pages at every step, which
can dominate its time at B = 16). :class:`EngineProducts` times the engine's own sparse
products alone, the floor of its step: the engine's time above it is the rest of the
step (the rule's node updates, the weight and accumulator updates, the checks, the
bookkeeping), which dominates at 10^3 edges. :class:`CallFloor` times the whole step as
nothing but its numpy/scipy calls, bound once: the floor of any numpy step, set by
the calls' fixed costs on small networks. :func:`lp_memory`
measures the peak memory (tracemalloc) of building the LP engine at 10^6 edges and
running a few steps.
"""

from __future__ import annotations

import functools
import time
import tracemalloc

try:
    import resource
except ImportError:  # not on Windows: no page-fault counts
    resource = None

import numpy as np
import scipy.sparse as sp
from scipy.linalg import blas

from agents.diffusion import DIFFUSION
from agents.lp import LP
from networks.builders import random_digraph
from networks.compile import compile_graph
from networks.engines import VectorEngine
from runs.bench.protocol import interleaved

FAN_IN = 10


@functools.lru_cache(maxsize=2)
def sparse_net(n_edges: int, *, seed: int = 0, fan_in: int = FAN_IN, n_io: int = 10):
    """A random tanh digraph with ``n_edges`` edges, ``n_edges / fan_in`` neurons, delay 1.

    Cached (the 10^6-edge graph takes half a minute to build): engines copy its arrays.
    """
    n = max(n_edges // fan_in, 2 * n_io + 2)
    return compile_graph(random_digraph(n, n_edges, n_inputs=n_io, n_outputs=n_io,
                                        seed=seed, weight_scale=0.5, delays=1))


def _sig_tanh(a):
    return np.tanh(a)


class ScipyDiffusion:
    """Backprop diffusion on a delay-1 graph written plainly with one scipy CSR matrix.

    The state is the full (N, B) arrays; inputs clamped, squared loss on the outputs.
    ``WT``, the transpose for the backward product, is made once: a CSC view sharing
    ``W``'s arrays (the weight step updates ``W.data`` in place), so no step pays for
    building it.
    """

    def __init__(self, net, batch: int, eta: float = 1e-4, dtype=np.float64):
        self.W = sp.csr_array((net.weight.astype(dtype), (net.tgt, net.src)),
                              shape=(net.n_nodes, net.n_nodes))
        self.W.sort_indices()
        self.WT = self.W.T
        self.rows = np.repeat(np.arange(net.n_nodes), np.diff(self.W.indptr))
        self.b = net.bias.astype(dtype)[:, None]
        self.x = np.zeros((net.n_nodes, batch), dtype)
        self.delta = np.zeros_like(self.x)
        self.inp, self.out, self.eta, self.batch = net.input_idx, net.output_idx, eta, batch

    def step(self, u, y) -> None:
        """One diffusion step with input u (n_in, B) and target y (n_out, B)."""
        x = np.tanh(self.W @ self.x + self.b)
        x[self.inp] = u
        e = np.zeros_like(x)
        e[self.out] = x[self.out] - y
        delta = (1.0 - x * x) * (e + self.WT @ self.delta)
        delta[self.inp] = 0.0
        dw = np.einsum("eb,eb->e", delta[self.rows], self.x[self.W.indices])
        self.W.data -= (self.eta / self.batch) * dw
        self.b -= (self.eta / self.batch) * delta.sum(axis=1, keepdims=True)
        self.x, self.delta = x, delta


class EngineProducts:
    """The sparse products of a diffusion step of ``engine`` alone: the floor of its step.

    One :meth:`step` makes what the engine's step makes with its own sparse blocks
    (:mod:`networks.engines.sparse_blocks`), on (N, B) messages as its delay buffers hold
    them, into preallocated outputs: the inboxes zeroed, then forward ``W x``, backward
    ``Wᵀ δ`` (active rows) and the Hebbian ``Σ_κ δ_iκ x_jκ`` per edge.

    Args:
        engine: a :class:`VectorEngine` whose blocks are all sparse (its weights, in
            block order, are read once).
        seed: for the random messages.
    """

    def __init__(self, engine: VectorEngine, seed: int = 0):
        if any(blk.kind != "sparse" for blk in engine.blocks):
            raise ValueError("EngineProducts needs an engine whose blocks are all sparse")
        # the engine's prebuilt products (private: this measures exactly them)
        self.ops = [(engine._sparse[k], blk.start, blk.stop)
                    for k, blk in enumerate(engine.blocks)]
        n, width = engine.net.n_nodes, engine.n_batch
        rng = np.random.default_rng(seed)
        self.n_in = engine.n_in
        self.w = engine.state("weight")[engine.block_order].astype(engine.dtype)
        self.x = rng.normal(size=(n, width)).astype(engine.dtype)        # x(t − 1)
        self.delta = rng.normal(size=(n, width)).astype(engine.dtype)    # δ(t − 1)
        self.post = self.delta[self.n_in:].copy()                        # δ(t), active rows
        self.net_in = np.empty((n - self.n_in, width), dtype=engine.dtype)
        self.back_in = np.empty_like(self.net_in)
        self.dw = np.empty(engine.net.n_edges, dtype=engine.dtype)

    def step(self) -> None:
        """Forward, backward and Hebbian products of every block."""
        self.net_in.fill(0.0)
        self.back_in.fill(0.0)
        for op, lo, hi in self.ops:
            w = self.w[lo:hi]
            op.forward(w, self.x, self.net_in)
            op.backward(w, self.delta, self.back_in)
            op.hebb(self.post, self.x, self.dw[lo:hi])


class CallFloor:
    """A whole diffusion step as nothing but its numpy/scipy calls: the floor of a numpy step.

    The step of :class:`ScipyDiffusion` on ``engine``'s network and internal layout
    (inputs first, weights in block order, the engine's own sparse kernel calls), written
    as the fewest calls it needs, bound once to preallocated arrays: the inboxes zeroed,
    forward and backward products, the node update (``a = net + b``, ``x = tanh a``, the
    output error, ``δ = (1 − x²)(e + back)``), the bias step, the Hebbian product, the
    ``dw_sum`` and weight steps (BLAS ``axpy``) and the writes of u, x and δ into the
    delay buffers. :meth:`step` runs that list and nothing else, so its time is what the
    calls' fixed costs and work add up to; the engine's time above it is bookkeeping.

    Args:
        engine: a :class:`VectorEngine` running diffusion on a network of sparse blocks
            of delay 1 whose outputs are one range of rows (read once: weights, biases).
        u, y: the input (n_in, B) and target (n_out, B) copied in at every step (they
            may be changed between steps, in place).
    """

    def __init__(self, engine: VectorEngine, u: np.ndarray, y: np.ndarray):
        if any(blk.kind != "sparse" or blk.delay != 1 for blk in engine.blocks) or \
                not isinstance(engine._out_rows, slice):
            raise ValueError("CallFloor needs sparse blocks of delay 1 and output rows "
                             "in one range")
        n, n_in, width, dt = engine.net.n_nodes, engine.n_in, engine.n_batch, engine.dtype
        n_act, eta = n - n_in, engine.params.eta
        scale = eta / width if engine.params.average else eta
        self.u, self.y = u, y
        self.w = engine.state("weight")[engine.block_order].astype(dt)
        self.bias = engine.state("bias")[engine.perm[n_in:]].astype(dt).reshape(-1, 1)
        self.xbuf = np.zeros((n, width), dt)       # x(t − 1), inputs' rows first
        self.dbuf = np.zeros((n, width), dt)       # δ(t − 1), inputs' rows 0
        net, back, a, x, e, d = (np.zeros((n_act, width), dt) for _ in range(6))
        self.x, self.delta = x, d
        db = d if width == 1 else np.zeros((n_act, 1), dt)
        b_step, db_sum = np.zeros((n_act, 1), dt), np.zeros((n_act, 1), dt)
        self.dw, self.dw_sum = np.zeros(len(self.w), dt), np.zeros(len(self.w), dt)
        out = engine._out_rows
        one, minus_scale = np.ones((), dt), np.asarray(-scale, dtype=dt)
        axpy = blas.get_blas_funcs("axpy", dtype=dt)
        calls = [(net.fill, (0.0,))]
        for k, blk in enumerate(engine.blocks):
            lo, hi = blk.start, blk.stop
            calls += engine._sparse[k].bound_forward(self.w[lo:hi], self.xbuf, net)
        calls.append((back.fill, (0.0,)))
        for k, blk in enumerate(engine.blocks):
            lo, hi = blk.start, blk.stop
            calls += engine._sparse[k].bound_backward(self.w[lo:hi], self.dbuf, back)
        calls += [(np.add, (net, self.bias, a)), (np.tanh, (a, x)), (e.fill, (0.0,)),
                  (np.subtract, (x[out], y, e[out])), (np.add, (e, back, back)),
                  (np.multiply, (x, x, d)), (np.subtract, (one, d, d)),
                  (np.multiply, (d, back, d))]
        if width > 1:
            calls.append((np.dot, (d, np.ones((width, 1), dt), db)))
        calls += [(np.multiply, (db, minus_scale, b_step)),
                  (np.add, (self.bias, b_step, self.bias)), (np.add, (db_sum, db, db_sum))]
        for k, blk in enumerate(engine.blocks):
            lo, hi = blk.start, blk.stop
            calls += engine._sparse[k].bound_hebb(d, self.xbuf, self.dw[lo:hi])
        calls += [(axpy, (self.dw, self.dw_sum, len(self.w), 1.0)),
                  (axpy, (self.dw, self.w, len(self.w), -scale)),
                  (self.xbuf[:n_in].__setitem__, (Ellipsis, u)),
                  (self.xbuf[n_in:].__setitem__, (Ellipsis, x)),
                  (self.dbuf[n_in:].__setitem__, (Ellipsis, d))]
        self.calls = calls

    def step(self) -> None:
        """One diffusion step with the current ``u`` and ``y``: the bound calls in turn."""
        for fn, args in self.calls:
            fn(*args)


def bench_scaling(edge_counts=(10**3, 10**4, 10**5, 10**6), batches=(1, 16), *,
                  rounds: int = 5, seconds_per_call: float = 0.05) -> list[dict]:
    """Engine diffusion vs :class:`ScipyDiffusion`, per size and batch, interleaved.

    Returns:
        One row per (edges, batch): ns per edge and step (min and median over rounds) of
        the engine with default settings, bare (``check_finite=False``), of its sparse
        products alone (:class:`EngineProducts`), of the step as its calls alone
        (``floor``, :class:`CallFloor`, with ``floor_calls`` calls) and of scipy; the
        (min, median) ratios engine/scipy and products/scipy; the rest of the engine's
        step (``rest_us``:
        median step − median products, default and bare, µs); minor page faults per step
        (``faults_per_step``, None where unavailable): fresh large temporaries fault
        their pages in at every step, which then dominates a step's time.
    """
    rows = []
    for n_edges in edge_counts:
        net = sparse_net(n_edges)
        for batch in batches:
            rng = np.random.default_rng(0)
            u = rng.normal(size=(len(net.input_idx), batch))
            y = rng.normal(size=(len(net.output_idx), batch))
            ref = ScipyDiffusion(net, batch)
            engines = {name: VectorEngine(net, DIFFUSION, {"eta": 1e-4}, batch=batch,
                                          check_finite=check)
                       for name, check in (("engine", True), ("engine_bare", False))}
            fns = {"scipy": lambda r=ref, u=u, y=y: r.step(u, y)}
            fns |= {name: (lambda e=e, u=u, y=y: e.advance(u, y))
                    for name, e in engines.items()}
            fns["products"] = EngineProducts(engines["engine"]).step
            floor = CallFloor(engines["engine"], u.copy(), y.copy())
            fns["floor"] = floor.step
            t = interleaved(fns, "scipy", rounds=rounds, seconds_per_call=seconds_per_call)
            per = 1e9 / net.n_edges
            rows.append({"edges": net.n_edges, "neurons": net.n_nodes, "batch": batch,
                         **{f"{n}_ns_per_edge": (t.best(n) * per, t.median(n) * per)
                            for n in fns},
                         "engine_over_scipy": t.ratio("engine"),
                         "bare_over_scipy": t.ratio("engine_bare"),
                         "products_over_scipy": t.ratio("products"),
                         "floor_calls": len(floor.calls),
                         "rest_us": ((t.median("engine") - t.median("products")) * 1e6,
                                      (t.median("engine_bare") - t.median("products"))
                                      * 1e6),
                         "faults_per_step": {n: page_faults(fns[n])
                                             for n in ("engine", "scipy")}})
    return rows


def page_faults(fn, calls: int = 5) -> float | None:
    """Minor page faults per call of ``fn`` (after one warm-up call).

    None where :mod:`resource` is missing (Windows).
    """
    if resource is None:
        return None
    fn()
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start) / calls


def format_scaling(rows) -> list[str]:
    """Report lines of :func:`bench_scaling`, with the max/min spread per batch."""
    lines = []
    for batch in sorted({r["batch"] for r in rows}):
        mine = [r for r in rows if r["batch"] == batch]
        for r in mine:
            lo, med = r["engine_ns_per_edge"]
            s_lo, s_med = r["scipy_ns_per_edge"]
            lines.append(
                f"B={batch:<2} {r['edges']:>9,} edges: engine {lo:.2f}–{med:.2f} ns/edge/step, "
                f"scipy CSR {s_lo:.2f}–{s_med:.2f}; engine/scipy "
                f"{r['engine_over_scipy'][0]:.2f}–{r['engine_over_scipy'][1]:.2f}x default, "
                f"{r['bare_over_scipy'][0]:.2f}–{r['bare_over_scipy'][1]:.2f}x bare"
                + _faults(r["faults_per_step"]))
            p_lo, p_med = r["products_ns_per_edge"]
            lines.append(
                f"       its sparse products alone {p_lo:.2f}–{p_med:.2f} ns/edge/step "
                f"({r['products_over_scipy'][0]:.2f}–{r['products_over_scipy'][1]:.2f}x "
                f"scipy's step); the rest of the step "
                f"{r['rest_us'][0]:.1f} µs default, {r['rest_us'][1]:.1f} µs bare")
            f_lo, f_med = r["floor_ns_per_edge"]
            lines.append(
                f"       the whole step as its {r['floor_calls']} numpy/scipy calls alone "
                f"(the floor of a numpy step) {f_lo:.2f}–{f_med:.2f} ns/edge/step")
        per = [r["engine_ns_per_edge"][1] for r in mine]
        ref = [r["scipy_ns_per_edge"][1] for r in mine]
        floor = [r["floor_ns_per_edge"][1] for r in mine]
        lines.append(f"B={batch:<2} time per edge max/min over sizes: engine "
                     f"{max(per) / min(per):.2f}x, scipy {max(ref) / min(ref):.2f}x, "
                     f"the calls alone (floor) {max(floor) / min(floor):.2f}x; the "
                     f"smallest size's floor over the engine's fastest size "
                     f"{floor[0] / min(per):.2f}x")
    return lines


def _faults(faults: dict) -> str:
    if any(v is None for v in faults.values()):
        return ""
    return (f"; page faults/step engine {faults['engine']:.0f}, "
            f"scipy {faults['scipy']:.0f}")


def lp_memory(n_edges: int = 10**6, batch: int = 16, steps: int = 3) -> dict:
    """Peak traced memory of building the LP engine (SGD) and of running ``steps`` steps.

    Returns:
        ``{"edges", "neurons", "batch", "build_mb", "step_mb", "total_mb",
        "state_mb"}``: peak above the start during the build, peak above the built
        engine during the steps, peak above the start overall, and the memory the built
        engine holds.
    """
    net = sparse_net(n_edges)
    rng = np.random.default_rng(0)
    u = rng.normal(size=(len(net.input_idx), batch))
    y = rng.normal(size=(len(net.output_idx), batch))
    was = tracemalloc.is_tracing()
    if not was:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        eng = VectorEngine(net, LP, {"eta_w": 1e-4, "eta_x": 0.1, "eta_lam": 0.1},
                           batch=batch)
        built, build_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(steps):
            eng.advance(u, y)
        step_peak = tracemalloc.get_traced_memory()[1]
        del eng
    finally:
        if not was:
            tracemalloc.stop()
    mb = 1.0 / 2**20
    return {"edges": net.n_edges, "neurons": net.n_nodes, "batch": batch,
            "build_mb": (build_peak - start) * mb, "step_mb": (step_peak - built) * mb,
            "total_mb": (max(build_peak, step_peak) - start) * mb,
            "state_mb": (built - start) * mb}


def timed_build(fn) -> float:
    """CPU seconds of one call of ``fn`` (a build; too slow to repeat)."""
    start = time.process_time()
    fn()
    return time.process_time() - start
