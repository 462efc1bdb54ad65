"""Dense benchmarks: LP and diffusion steps vs a plain-numpy BP step; matmul throughput.

All timings of one call are taken in the same process, interleaved, so their ratios are
comparable. A step of each method is one full learning update on one batch:

* **BP** (baseline): forward pass, backward pass, gradient step, in tight numpy.
* **LP**: one step of the LP rule (one round) in the vectorised engine.
* **diffusion**: one step of the diffusion rule (η > 0) in the vectorised engine.
"""

from __future__ import annotations

import time

import numpy as np

from agents.diffusion import DIFFUSION
from agents.lp import LP
from networks.builders import layered
from networks.compile import compile_graph
from networks.engines import VectorEngine


def _sigmoid(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))


class NumpyBP:
    """A sigmoid MLP trained by plain-numpy backprop (the baseline), squared loss, SGD.

    Args:
        Ws: weight matrices, ``Ws[l]`` of shape (n_{l+1}, n_l).
        bs: biases, ``bs[l]`` of shape (n_{l+1}, 1).
    """

    def __init__(self, Ws, bs, lr=1e-2):
        self.Ws, self.bs, self.lr = Ws, bs, lr

    def step(self, X: np.ndarray, Y: np.ndarray) -> None:
        """One BP update on a batch: X (n_0, B), Y (n_L, B)."""
        xs = [X]
        for W, b in zip(self.Ws, self.bs, strict=True):
            xs.append(_sigmoid(W @ xs[-1] + b))
        delta = (xs[-1] - Y) * xs[-1] * (1.0 - xs[-1])
        scale = self.lr / X.shape[1]
        for layer in range(len(self.Ws) - 1, -1, -1):
            gW = delta @ xs[layer].T
            gb = delta.sum(axis=1, keepdims=True)
            if layer > 0:
                delta = (self.Ws[layer].T @ delta) * xs[layer] * (1.0 - xs[layer])
            self.Ws[layer] -= scale * gW
            self.bs[layer] -= scale * gb


def mlp_weights(net, sizes, dtype):
    """The layer matrices and biases of a compiled layered net (canonical order)."""
    W = net.weight_matrix()
    offsets = np.cumsum([0, *sizes])
    Ws, bs = [], []
    for k in range(len(sizes) - 1):
        t0, t1, s0, s1 = offsets[k + 1], offsets[k + 2], offsets[k], offsets[k + 1]
        Ws.append(np.ascontiguousarray(W[t0:t1, s0:s1], dtype=dtype))
        bs.append(net.bias[t0:t1, None].astype(dtype))
    return Ws, bs


def _best_time(fn, min_seconds: float, min_reps: int = 3) -> float:
    """Best-of time (seconds) of one call of ``fn`` (robust to noise)."""
    fn()
    best, total, reps = np.inf, 0.0, 0
    while reps < min_reps or total < min_seconds:
        start = time.perf_counter()
        fn()
        dt = time.perf_counter() - start
        best, total, reps = min(best, dt), total + dt, reps + 1
    return best


def gemm_flops_per_s(dtype, n: int = 1024, min_seconds: float = 0.5) -> float:
    """The machine's matrix-multiply throughput: FLOP/s of an n×n×n product."""
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(n, n)).astype(dtype), rng.normal(size=(n, n)).astype(dtype)
    C = np.empty((n, n), dtype=dtype)
    return 2.0 * n**3 / _best_time(lambda: np.matmul(A, B, out=C), min_seconds)


def bench_steps(sizes=(784, 256, 256, 10), batch: int = 128, dtype=np.float64,
                min_seconds: float = 1.0, seed: int = 0) -> dict:
    """Time one BP, LP and diffusion step on the same MLP, batch and dtype.

    Returns:
        Seconds per step of each method, their ratios to BP, the FLOPs of one step of
        matrix products, and the fraction of the measured GEMM throughput reached.
    """
    G = layered(list(sizes), "sigmoid", seed=seed)
    net = compile_graph(G)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(sizes[0], batch)).astype(dtype)
    Y = rng.uniform(size=(sizes[-1], batch)).astype(dtype)
    bp = NumpyBP(*mlp_weights(net, sizes, dtype))
    lp = VectorEngine(net, LP, {"eta_w": 1e-3, "eta_x": 0.1, "eta_lam": 0.1}, batch=batch,
                      dtype=dtype, check_finite=False)
    diff = VectorEngine(net, DIFFUSION, {"eta": 1e-3}, batch=batch, dtype=dtype,
                        check_finite=False)
    out = {"sizes": "-".join(map(str, sizes)), "batch": batch, "dtype": np.dtype(dtype).name}
    out["bp_s"] = _best_time(lambda: bp.step(X, Y), min_seconds)
    out["lp_s"] = _best_time(lambda: lp.advance(X, Y), min_seconds)
    out["diffusion_s"] = _best_time(lambda: diff.advance(X, Y), min_seconds)
    out["lp_over_bp"] = out["lp_s"] / out["bp_s"]
    out["diffusion_over_bp"] = out["diffusion_s"] / out["bp_s"]
    # matrix-product FLOPs per step: forward 2EB; backward 2E'B (E' = edges not out of the
    # inputs); per-edge gradient 2EB — the same three products for all three methods
    E = net.n_edges
    E_hidden = E - sizes[0] * sizes[1]
    flops = 2.0 * batch * (2 * E + E_hidden)
    peak = gemm_flops_per_s(dtype)
    out["gemm_gflops"] = peak / 1e9
    for name in ("bp", "lp", "diffusion"):
        out[f"{name}_gemm_fraction"] = flops / out[f"{name}_s"] / peak
    return out


def bench_lp_step(sizes=(784, 256, 256, 10), batch: int = 128, dtype=np.float64,
                  min_seconds: float = 1.0, seed: int = 0) -> float:
    """Seconds per LP step of the vectorised engine (the peer comparison's number)."""
    net = compile_graph(layered(list(sizes), "sigmoid", seed=seed))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(sizes[0], batch)).astype(dtype)
    Y = rng.uniform(size=(sizes[-1], batch)).astype(dtype)
    lp = VectorEngine(net, LP, {"eta_w": 1e-3, "eta_x": 0.1, "eta_lam": 0.1}, batch=batch,
                      dtype=dtype, check_finite=False)
    return _best_time(lambda: lp.advance(X, Y), min_seconds)
