"""Dense benchmarks: LP and diffusion steps vs a plain-numpy BP step and the GEMM floor.

A step of each contender is one full learning update on one batch of a sigmoid MLP:

* ``bp`` (baseline): forward pass, backward pass, gradient step, in tight numpy.
* ``lp``, ``diffusion``: one step of the rule in the vectorised engine with the library's
  default settings (``check_finite=True``); ``lp_bare``, ``diffusion_bare`` with the
  finiteness check off.
* ``gemm``: the step's own matrix products alone — forward ``W x`` per layer, backward
  ``Wᵀ s`` per hidden layer, gradient ``s xᵀ`` per layer — into preallocated outputs: the
  floor no step can go below. ``gemm / step`` is the fraction of the step spent in
  them; a fraction above 1 means the protocol failed (reported as an error).

All contenders are timed by :func:`runs.bench.protocol.interleaved`.
"""

from __future__ import annotations

import numpy as np

from agents.diffusion import DIFFUSION
from agents.lp import LP
from networks.builders import layered
from networks.compile import compile_graph
from networks.engines import VectorEngine
from runs.bench.protocol import Timing, interleaved

STEPS = ("lp", "lp_bare", "diffusion", "diffusion_bare")


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


class GemmFloor:
    """The matrix products of one BP/LP/diffusion step on an MLP, nothing else.

    Forward ``W_l x_l`` (every layer), backward ``W_lᵀ s_l`` (every layer but the first),
    gradient ``s_l x_lᵀ`` (every layer), each into a preallocated output.
    """

    def __init__(self, Ws, batch: int, dtype, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.Ws = Ws
        self.xs = [rng.normal(size=(W.shape[1], batch)).astype(dtype) for W in Ws]
        self.ss = [rng.normal(size=(W.shape[0], batch)).astype(dtype) for W in Ws]
        self.fw = [np.empty((W.shape[0], batch), dtype) for W in Ws]
        self.bw = [np.empty((W.shape[1], batch), dtype) for W in Ws]
        self.gw = [np.empty_like(W) for W in Ws]

    def step(self) -> None:
        """Run the step's products once."""
        for k, W in enumerate(self.Ws):
            np.matmul(W, self.xs[k], out=self.fw[k])
            if k > 0:
                np.matmul(W.T, self.ss[k], out=self.bw[k])
            np.matmul(self.ss[k], self.xs[k].T, out=self.gw[k])

    @property
    def n_products(self) -> int:
        """How many GEMMs one step runs."""
        return 3 * len(self.Ws) - 1


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


def dense_contenders(sizes, batch: int, dtype=np.float64, seed: int = 0) -> dict:
    """``{name: fn}`` of one step of BP, LP, diffusion (default and bare) and the GEMM floor."""
    net = compile_graph(layered(list(sizes), "sigmoid", seed=seed))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(sizes[0], batch)).astype(dtype)
    Y = rng.uniform(size=(sizes[-1], batch)).astype(dtype)
    Ws, bs = mlp_weights(net, sizes, dtype)
    bp = NumpyBP([W.copy() for W in Ws], bs, lr=1e-3)
    floor = GemmFloor(Ws, batch, dtype, seed)
    out = {"bp": lambda: bp.step(X, Y), "gemm": floor.step}
    for name, rule, params in (("lp", LP, {"eta_w": 1e-3, "eta_x": 0.1, "eta_lam": 0.1}),
                               ("diffusion", DIFFUSION, {"eta": 1e-3})):
        for suffix, check in (("", True), ("_bare", False)):
            eng = VectorEngine(net, rule, params, batch=batch, dtype=dtype,
                               check_finite=check)
            out[name + suffix] = lambda e=eng: e.advance(X, Y)
    return out


def bench_dense(sizes=(784, 256, 256, 10), batch: int = 128, dtype=np.float64, *,
                rounds: int = 7, seconds_per_call: float = 0.05, seed: int = 0) -> dict:
    """Time BP, LP, diffusion and the GEMM floor interleaved; ratios to BP per round.

    Returns:
        ``{"sizes", "batch", "dtype", "timing": Timing, "fraction": {name: (min, median)},
        "errors": [str]}`` — ``fraction[name]`` is the per-round ``gemm / name``;
        ``errors`` lists every fraction above 1 (a broken measurement).
    """
    timing = interleaved(dense_contenders(sizes, batch, dtype, seed), "bp", rounds=rounds,
                         seconds_per_call=seconds_per_call)
    fractions, errors = {}, []
    for name in ("bp", *STEPS):
        f = timing.seconds["gemm"] / timing.seconds[name]
        fractions[name] = (float(f.min()), float(np.median(f)))
        if f.max() > 1.0:
            errors.append(f"GEMM fraction of {name} above 1 ({f.max():.2f}): the step "
                          "timed faster than its own products — measurement is broken")
    return {"sizes": "-".join(map(str, sizes)), "batch": batch,
            "dtype": np.dtype(dtype).name, "timing": timing, "fraction": fractions,
            "errors": errors}


def format_dense(r: dict) -> list[str]:
    """Report lines of :func:`bench_dense`."""
    t: Timing = r["timing"]
    lines = [f"{r['sizes']} B={r['batch']} {r['dtype']}: BP {t.best('bp') * 1e3:.3f} ms "
             f"(median {t.median('bp') * 1e3:.3f}); GEMM floor/BP {t.fmt_ratio('gemm')}"]
    for rule in ("lp", "diffusion"):
        label = "LP" if rule == "lp" else "diffusion"
        cost = t.seconds[rule] / t.seconds[rule + "_bare"] - 1.0
        lines.append(
            f"  {label}/BP {t.fmt_ratio(rule)} default (check_finite on), "
            f"{t.fmt_ratio(rule + '_bare')} bare; finiteness check costs "
            f"{100 * np.median(cost):+.1f}% (median)")
    lines.append("  GEMM fraction reached (floor/step, min–median): " + ", ".join(
        f"{n} {lo:.2f}–{med:.2f}" for n, (lo, med) in r["fraction"].items()))
    lines += [f"  ERROR: {e}" for e in r["errors"]]
    return lines
