r"""BPTT of the forward predictor: the exact gradient of what a held input computes.

A settled rule (LP) is compared with the gradient of the network's *forward predictor*:
the input ``u`` held on the inputs, the network run from rest (zero history) until it
settles, the loss scored on the outputs at the last step. That is backpropagation through
time (:func:`networks.oracles.bptt_gradient`) over a window of ``T`` steps with the
input held and one scored step, so it is defined on **any** graph:

* DAG: the window is long enough for the forward and backward waves to settle, and the
  gradient equals BP (:func:`networks.oracles.bp_gradient`) exactly;
* cyclic graph with a stable fixed point: ``T`` is twice the steps the dynamics took to
  settle (to ``tol``) plus twice the largest delay, so the gradient equals the
  Almeida–Pineda gradient at the fixed point up to about ``tol``;
* cyclic graph without a fixed point (the dynamics still move after ``max_steps``): the
  window is ``max_steps``, the one the forward predictor
  (:func:`runs.methods.evaluate.forward_state`) reports its state after; the gradient is
  that of the loss the predictor actually reported.

Examples are processed in chunks (the gradient is a sum over examples) so the recorded
trajectory stays within ``chunk_cells`` values per array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from networks.compile import CompiledNetwork
from networks.oracles._common import _amap, _check_u, _check_y, _params
from networks.oracles.bptt import _delay_matrices, bptt_gradient


@dataclass(frozen=True)
class SettledGradient:
    """Result of :func:`settled_bptt_gradient`.

    Attributes:
        loss: the loss at the last step, summed over outputs and examples.
        dw: ∂loss/∂w, shape (E,). db: ∂loss/∂b, shape (N,).
        steps: the window T.
        settled: whether the dynamics settled within ``max_steps`` for every example.
    """

    loss: float
    dw: np.ndarray
    db: np.ndarray
    steps: int
    settled: bool


def settle_steps(net: CompiledNetwork, u, weight=None, bias=None, *, tol: float = 1e-10,
                 max_steps: int = 1000) -> tuple[int, bool]:
    """Steps the delayed network needs, input ``u`` held from rest, to stop moving.

    Args:
        net: a compiled network.
        u: inputs, shape (n_in, B) or (n_in,).
        weight: optional weight override, shape (E,).
        bias: optional bias override, shape (N,).
        tol: settled when ``max |x(t) − x(t − 1)| < tol · max(1, max |x(t)|)``.
        max_steps: give up after this many steps.

    Returns:
        ``(t, True)`` with t the first settled step, or ``(max_steps, False)``.
    """
    u = _check_u(net, u)
    w, b = _params(net, weight, bias)
    D, N, B = net.max_delay, net.n_nodes, u.shape[1]
    mats, amap, inp = _delay_matrices(net, w), _amap(net), net.input_idx
    X = [np.zeros((N, B)) for _ in range(D)]  # X[-k] = x(t − k + 1) after step t
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, max_steps + 1):
            a = np.repeat(b[:, None], B, axis=1)
            for d, _, Wd in mats:
                a += Wd @ X[-d]
            a[inp] = 0.0
            x = amap.f(a)
            x[inp] = u
            change = np.max(np.abs(x - X[-1]), initial=0.0)
            X = [*X[1:], x]
            if t > 1 and change < tol * max(1.0, float(np.max(np.abs(x), initial=0.0))):
                return t, True
    return max_steps, False


def settled_bptt_gradient(net: CompiledNetwork, u, y, loss: str = "squared", weight=None,
                          bias=None, *, tol: float = 1e-10, max_steps: int = 1000,
                          chunk_cells: int = 2_000_000) -> SettledGradient:
    """Exact gradient of the forward predictor's loss by BPTT (module docstring).

    Args:
        net: a compiled network (cycles and any delays allowed).
        u: inputs, shape (n_in, B) or (n_in,), held over the window.
        y: targets, shape (n_out, B) or (n_out,), scored at the last step.
        loss: ``"squared"`` or ``"bce"``.
        weight: optional weight override, shape (E,).
        bias: optional bias override, shape (N,).
        tol: settling tolerance (:func:`settle_steps`).
        max_steps: the window when the dynamics do not settle.
        chunk_cells: at most this many T · N · B values per recorded array.

    Returns:
        A :class:`SettledGradient` (summed over examples).
    """
    u = _check_u(net, u)
    y = _check_y(net, y, u.shape[1])
    k, settled = settle_steps(net, u, weight, bias, tol=tol, max_steps=max_steps)
    T = 2 * k + 2 * net.max_delay if settled else max_steps
    mask = np.zeros(T, dtype=bool)
    mask[-1] = True
    B = u.shape[1]
    step = max(1, chunk_cells // (T * net.n_nodes))
    dw, db, value = np.zeros(net.n_edges), np.zeros(net.n_nodes), 0.0
    for k0 in range(0, B, step):
        cols = slice(k0, min(B, k0 + step))
        n = cols.stop - cols.start
        g = bptt_gradient(net, np.broadcast_to(u[:, cols], (T, u.shape[0], n)),
                          np.broadcast_to(y[:, cols], (T, y.shape[0], n)), loss, weight,
                          bias, mask=mask, latency=0)
        dw, db, value = dw + g.dw, db + g.db, value + g.loss
    return SettledGradient(loss=value, dw=dw, db=db, steps=T, settled=settled)
