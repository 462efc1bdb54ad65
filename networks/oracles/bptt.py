r"""Backpropagation through time (BPTT) over a window of steps of the delayed network.

The exact reference gradient on **any** graph with integer edge delays, cyclic or not,
with or without a forward fixed point, for time-varying inputs: the gradient of what the
network actually computed over the window. It runs the same discrete-time network as the
engines (and as backprop diffusion), records the whole trajectory and sweeps it backwards.

**Forward** (steps t = 1 … T, the window), exactly the engines' forward wave::

    x_j(t) = u_j(t)                                    inputs (clamped; a_j(t) = 0)
    a_i(t) = Σ_j w_ij x_j(t − d_ij) + b_i,   x_i(t) = σ_i(a_i(t))     other neurons

**Initial state**: every neuron's output before the window, x_j(t) for t ≤ 0 (inputs
included), is the ``history``: zeros by default (a freshly built engine), a constant
(N,) / (N, B) value (an engine after ``fill_history``), or the full last D = max-delay
steps (D, N, B) with ``history[-1] = x(0)``, ``history[-k] = x(1 − k)`` (an engine that
has already been running: pass the tail of the previous window's ``x``).

**Loss** (summed over steps, outputs and examples)::

    L = Σ_{t=1}^{T} Σ_o Σ_κ m_o(t − τ_o, κ) V(x_oκ(t), y_oκ(t − τ_o))     (t − τ_o ≥ 1)

``y[s]`` is the target *belonging to the input of step s* (the frame convention of
:class:`agents.diffusion.Presenter`) and ``mask[s]`` says whether frame s is scored.
Output o is scored at step ``t = s + τ_o`` on the target of frame s; frames with
``s + τ_o > T`` fall outside the window and are not scored, and no target exists at
steps ``t ≤ τ_o``. ``latency=None`` uses the default forward latency τ_o of
:func:`agents.diffusion.output_latency` (the shortest input-to-o path delay), as the
Presenter does, so a diffusion run presented with a Presenter and this oracle score the
same (step, output) pairs; ``latency=0`` scores ``y[t]`` at step t.

**Backward** (t = T … 1; δ(t) = 0 for t > T)::

    dx_i(t) = ∂L/∂x_i(t) = [i∈O] m V'(x_i(t), ·) + Σ_{h∈ch(i)} w_hi δ_h(t + d_hi)
    δ_i(t)  = ∂L/∂a_i(t) = σ_i'(a_i(t)) dx_i(t)                  (0 for inputs)
    ∂L/∂w_ij = Σ_t Σ_κ δ_iκ(t) x_jκ(t − d_ij),     ∂L/∂b_i = Σ_t Σ_κ δ_iκ(t)

For inputs ``dx`` is ∂L/∂u(t). Compare with diffusion, whose backward signal travels
*forward* in time (δ_h(t − d)): the two agree only when the waves have settled.

Limits: BP on a DAG is the special case "held input, window long enough for the forward
and backward waves to settle (T ≥ 2 × longest path delay), one scored step" — exactly
(``tests/networks/test_bptt.py``); on a contractive cyclic graph with held input the
gradient of the last step's loss tends geometrically to the Almeida–Pineda gradient at the
fixed point as T grows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from agents.diffusion import output_latency
from agents.errors import DataError
from agents.losses import get_loss
from networks.compile import CompiledNetwork
from networks.oracles._common import _amap, _params

_MAX_CELLS = 20_000_000  # T · N · B: 160 MB per recorded array, about 6 live at once
_DENSE_DW_N = 2_000  # weight gradient through an (N, N) matrix up to this many nodes


@dataclass(frozen=True)
class TrajectoryGradient:
    """Exact BPTT gradient of the windowed loss and the trajectory it was taken on.

    Attributes:
        loss: L, the loss summed over scored steps, outputs and examples (float).
        dw: ∂L/∂w, shape (E,), canonical edge order.
        db: ∂L/∂b, shape (N,) (zero for inputs).
        delta: δ(t) = ∂L/∂a(t), shape (T, N, B) (zero for inputs).
        dx: ∂L/∂x(t) (total, through every later step), shape (T, N, B); for inputs
            ∂L/∂u(t).
        a, x: the forward trajectory, shape (T, N, B); ``x[t - 1]`` is x(t).
        target: the target each output was scored on at each step, (T, n_out, B)
            (0 where not scored).
        scored: which (step, output, example) entered the loss, bool (T, n_out, B).
        latency: τ_o per output, int (n_out,).
    """

    loss: float
    dw: np.ndarray
    db: np.ndarray
    delta: np.ndarray
    dx: np.ndarray
    a: np.ndarray
    x: np.ndarray
    target: np.ndarray
    scored: np.ndarray
    latency: np.ndarray

    @property
    def steps(self) -> int:
        """T, the number of steps in the window."""
        return self.x.shape[0]


def _stream(arr, rows: int, name: str, what: str) -> np.ndarray:
    """Check a stream of shape (T, rows, B) or (T, rows) (B = 1); return (T, rows, B)."""
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[1] != rows or arr.shape[0] < 1:
        raise DataError(f"{name} has shape {arr.shape}; expected (T, {rows}, B) with T >= 1 "
                        f"steps and one row per {what} (or (T, {rows}) for B = 1)")
    bad = np.argwhere(~np.isfinite(arr))
    if len(bad):
        t, r, k = bad[0]
        raise DataError(f"{name}[{t}, {r}, {k}] is {arr[t, r, k]} (step {t + 1}, {what} row "
                        f"{r}, example {k}); data must be finite")
    return arr


def _history(net: CompiledNetwork, history, batch: int) -> np.ndarray:
    """The outputs before the window as (D, N, B): row D − k is x(1 − k)."""
    D, N = net.max_delay, net.n_nodes
    if history is None:
        return np.zeros((D, N, batch))
    h = np.asarray(history, dtype=np.float64)
    if h.ndim == 1:
        h = h[:, None]
    if h.ndim == 2:
        h = h[None]
    if h.ndim != 3 or h.shape[1] != N or h.shape[0] not in (1, D) or h.shape[2] not in (1, batch):
        raise DataError(f"history has shape {np.shape(history)}; expected ({N},), ({N}, B), "
                        f"or ({D}, {N}, B) (D = max delay {D}, B = {batch})")
    if not np.all(np.isfinite(h)):
        raise DataError("history has a non-finite value; it must be finite")
    return np.array(np.broadcast_to(h, (D, N, batch)))


def _delay_matrices(net: CompiledNetwork, w: np.ndarray) -> list[tuple[int, np.ndarray,
                                                                         sp.csr_matrix]]:
    """One sparse W_d (N, N) per distinct delay d, with the canonical ids of its edges."""
    n = net.n_nodes
    out = []
    for d in np.unique(net.delay):
        ids = np.flatnonzero(net.delay == d)
        Wd = sp.csr_matrix((w[ids], (net.tgt[ids], net.src[ids])), shape=(n, n))
        out.append((int(d), ids, Wd))
    return out


def _check_size(T: int, N: int, B: int) -> None:
    if T * N * B > _MAX_CELLS:
        raise DataError(f"a BPTT window of T={T} steps × N={N} neurons × B={B} examples "
                        f"records {T * N * B:,} values per array (limit {_MAX_CELLS:,}); "
                        f"use a shorter window or a smaller batch")


def _run(net, u, w, b, history):
    """Forward trajectory: (a (T, N, B), X (D + T, N, B) with X[D - 1 + t] = x(t))."""
    T, _, B = u.shape
    D, N = net.max_delay, net.n_nodes
    _check_size(T, N, B)
    mats = _delay_matrices(net, w)
    amap, inp = _amap(net), net.input_idx
    X = np.empty((D + T, N, B))
    X[:D] = _history(net, history, B)
    a = np.empty((T, N, B))
    bias = b[:, None]
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, T + 1):
            k = D - 1 + t
            at = np.broadcast_to(bias, (N, B)).copy()
            for d, _, Wd in mats:
                at += Wd @ X[k - d]
            at[inp] = 0.0
            xt = amap.f(at)
            xt[inp] = u[t - 1]
            a[t - 1], X[k] = at, xt
    return a, X, mats


def trajectory(net: CompiledNetwork, u, weight=None, bias=None, history=None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Run the delayed network over a window and return its trajectory.

    Args:
        net: a compiled network (cycles allowed).
        u: input stream, shape (T, n_in, B) or (T, n_in).
        weight: optional weight override, shape (E,).
        bias: optional bias override, shape (N,).
        history: outputs before the window (see the module docstring); default zeros.

    Returns:
        ``(a, x)``, each of shape (T, N, B); ``x[t - 1]`` is x(t).

    """
    u = _stream(u, len(net.input_idx), "u", "input neuron")
    w, b = _params(net, weight, bias)
    a, X, _ = _run(net, u, w, b, history)
    return a, X[net.max_delay:]


def _targets(net, y, mask, latency, T, B):
    """Targets and scored flags per step and output, each (T, n_out, B), and τ (n_out,)."""
    n_out = len(net.output_idx)
    y = _stream(y, n_out, "y", "output neuron")
    if y.shape[0] != T or y.shape[2] != B:
        raise DataError(f"y has shape {y.shape} but u has {T} steps and {B} examples; "
                        f"expected ({T}, {n_out}, {B})")
    if mask is None:
        m = np.ones((T, n_out, B), dtype=bool)
    else:
        m = np.asarray(mask)
        if m.dtype != bool:
            raise DataError(f"mask must be boolean, got dtype {m.dtype}")
        shape = m.shape
        m = m.reshape(shape + (1,) * (3 - m.ndim)) if m.ndim in (1, 2) else m
        if m.ndim != 3 or m.shape[0] != T or m.shape[1] not in (1, n_out) \
                or m.shape[2] not in (1, B):
            raise DataError(f"mask has shape {shape}; expected ({T},), ({T}, {n_out}) or "
                            f"({T}, {n_out}, {B}) (steps × outputs × examples)")
        m = np.broadcast_to(m, (T, n_out, B))
    tau = output_latency(net, latency, warn=False)
    target = np.zeros((T, n_out, B))
    scored = np.zeros((T, n_out, B), dtype=bool)
    for r, lag in enumerate(tau):
        if lag < T:
            target[lag:, r] = np.where(m[:T - lag, r], y[:T - lag, r], 0.0)
            scored[lag:, r] = m[:T - lag, r]
    return target, scored, tau


def _loss(net, x, target, scored, loss) -> tuple[float, np.ndarray]:
    """Windowed loss and ∂ℓ/∂x on the outputs, shape (T, n_out, B)."""
    V = get_loss(loss)
    xo = x[:, net.output_idx]
    value = float(np.sum(np.where(scored, V.value(xo, target), 0.0)))
    return value, np.where(scored, V.grad(xo, target), 0.0)


def bptt_loss(net: CompiledNetwork, u, y, loss: str = "squared", weight=None, bias=None, *,
              mask=None, latency=None, history=None) -> float:
    """The windowed loss L only (arguments as :func:`bptt_gradient`)."""
    u = _stream(u, len(net.input_idx), "u", "input neuron")
    T, _, B = u.shape
    target, scored, _ = _targets(net, y, mask, latency, T, B)
    w, b = _params(net, weight, bias)
    _, X, _ = _run(net, u, w, b, history)
    return _loss(net, X[net.max_delay:], target, scored, loss)[0]


def bptt_gradient(net: CompiledNetwork, u, y, loss: str = "squared", weight=None, bias=None,
                  *, mask=None, latency=None, history=None) -> TrajectoryGradient:
    """Exact gradient of the windowed loss by backpropagation through time.

    See the module docstring for the forward model, the initial state, the loss and the
    latency convention.

    Args:
        net: a compiled network (cycles and any integer delays allowed).
        u: input stream, shape (T, n_in, B) or (T, n_in) (B = 1): ``u[t - 1]`` is u(t).
        y: target stream in frame convention, shape (T, n_out, B) or (T, n_out).
        loss: ``"squared"`` or ``"bce"``.
        weight: optional weight override, shape (E,).
        bias: optional bias override, shape (N,).
        mask: which frames are scored, bool of shape (T,), (T, n_out) or (T, n_out, B);
            default all.
        latency: τ per output (see :func:`agents.diffusion.output_latency`); None = the
            default forward latency, 0 = targets already aligned with the outputs' steps.
        history: outputs before the window: None (zeros), (N,), (N, B) or (D, N, B).

    Returns:
        The :class:`TrajectoryGradient`.

    Raises:
        DataError: for streams of the wrong shape, non-finite data or a window too large.
        GraphError: if an output is unreachable from the inputs and has no latency.

    """
    u = _stream(u, len(net.input_idx), "u", "input neuron")
    T, _, B = u.shape
    target, scored, tau = _targets(net, y, mask, latency, T, B)
    w, b = _params(net, weight, bias)
    a, X, mats = _run(net, u, w, b, history)
    D = net.max_delay
    x = X[D:]
    value, eo = _loss(net, x, target, scored, loss)
    N, out, amap = net.n_nodes, net.output_idx, _amap(net)
    dsig = amap.df(a.swapaxes(0, 1), x.swapaxes(0, 1)).swapaxes(0, 1)  # neurons on axis 0
    dsig[:, net.input_idx] = 0.0
    delta = np.zeros((T + D, N, B))  # delta[t - 1] = δ(t); zero beyond the window
    dx = np.empty((T, N, B))
    mats_T = [(d, Wd.T.tocsr()) for d, _, Wd in mats]
    for t in range(T, 0, -1):
        g = np.zeros((N, B))
        g[out] = eo[t - 1]
        for d, WdT in mats_T:
            g += WdT @ delta[t - 1 + d]
        dx[t - 1] = g
        delta[t - 1] = dsig[t - 1] * g
    delta = delta[:T]
    dw = np.empty(net.n_edges)
    for d, ids, _ in mats:
        xs = X[D - d:D - d + T]  # x(t − d) for t = 1 … T
        if N <= _DENSE_DW_N:
            M = np.tensordot(delta, xs, axes=([0, 2], [0, 2]))  # (N, N): Σ_t,κ δ_i x_j
            dw[ids] = M[net.tgt[ids], net.src[ids]]
        else:
            step = max(1, 2**22 // (T * B))
            for e0 in range(0, len(ids), step):
                e = ids[e0:e0 + step]
                dw[e] = np.einsum("tkb,tkb->k", delta[:, net.tgt[e]], xs[:, net.src[e]])
    return TrajectoryGradient(loss=value, dw=dw, db=delta.sum(axis=(0, 2)), delta=delta,
                              dx=dx, a=a, x=x, target=target, scored=scored, latency=tau)
