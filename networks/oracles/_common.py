"""Shared pieces of the oracles: the Gradient record, data checks, parameters, caches."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from agents.activations import ActivationMap
from agents.errors import DataError
from agents.losses import get_loss
from networks.compile import CompiledNetwork


@dataclass(frozen=True)
class Gradient:
    """Exact gradient of ``E = Σ_κ Σ_o V(x_oκ, y_oκ)`` and the state it was taken at.

    Attributes:
        loss: E (float).
        dw: ∂E/∂w, shape (E,), canonical edge order (summed over the batch).
        db: ∂E/∂b, shape (N,) (zero for inputs).
        delta: δ = ∂E/∂a, shape (N, B) (zero for inputs).
        dx: total derivative ∂E/∂x_i = [i∈O] ∂V/∂x_i + Σ_h w_hi δ_h, shape (N, B);
            for inputs this is ∂E/∂u. At the LP saddle point λ = −dx (see :attr:`lam`).
        a, x: activations and outputs of the (settled) forward state, shape (N, B).

    """

    loss: float
    dw: np.ndarray
    db: np.ndarray
    delta: np.ndarray
    dx: np.ndarray
    a: np.ndarray
    x: np.ndarray

    @property
    def lam(self) -> np.ndarray:
        """The LP multipliers at the saddle point, λ = −dx, shape (N, B)."""
        return -self.dx


def _as_batch(arr, rows: int, name: str, what: str) -> np.ndarray:
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != rows:
        raise DataError(f"{name} has shape {arr.shape}; expected ({rows}, B) with one row "
                        f"per {what} (or ({rows},) for B = 1)")
    bad = np.argwhere(~np.isfinite(arr))
    if len(bad):
        r, k = bad[0]
        raise DataError(f"{name}[{r}, {k}] is {arr[r, k]} ({what} row {r}, example {k}); "
                        f"data must be finite")
    return arr


def _check_u(net: CompiledNetwork, u) -> np.ndarray:
    return _as_batch(u, len(net.input_idx), "u", "input neuron")


def _check_y(net: CompiledNetwork, y, batch: int) -> np.ndarray:
    y = _as_batch(y, len(net.output_idx), "y", "output neuron")
    if y.shape[1] != batch:
        raise DataError(f"y has {y.shape[1]} examples (columns) but u has {batch}")
    return y


def _params(net: CompiledNetwork, weight, bias) -> tuple[np.ndarray, np.ndarray]:
    w = net.weight if weight is None else np.asarray(weight, dtype=np.float64)
    b = net.bias if bias is None else np.asarray(bias, dtype=np.float64)
    if w.shape != (net.n_edges,):
        raise DataError(f"weight has shape {w.shape}; expected ({net.n_edges},)")
    if b.shape != (net.n_nodes,):
        raise DataError(f"bias has shape {b.shape}; expected ({net.n_nodes},)")
    b = b.copy()
    b[net.is_input] = 0.0
    return w, b



_CACHE: dict[int, tuple[weakref.ref, dict]] = {}


def _cache(net: CompiledNetwork) -> dict:
    """Per-network memo (topological plan, activation map), dropped with the network.

    Both depend only on the network's structure: networks that declare they share
    another's (``structure_of``, e.g. ensemble members made from one template) share
    its memo.
    """
    net = getattr(net, "structure_of", None) or net
    hit = _CACHE.get(key := id(net))
    if hit is None or hit[0]() is not net:
        hit = (weakref.ref(net, lambda _: _CACHE.pop(key, None)), {})
        _CACHE[key] = hit
    return hit[1]


def _amap(net: CompiledNetwork) -> ActivationMap:
    c = _cache(net)
    if "amap" not in c:
        c["amap"] = ActivationMap(net.activation)
    return c["amap"]



def _W(net: CompiledNetwork, w: np.ndarray) -> sp.csr_matrix:
    """Canonical sparse W (W[i, j] = w_ij); canonical edges are already CSR by target."""
    n = net.n_nodes
    return sp.csr_matrix((w, net.src, net.in_ptr), shape=(n, n))



def total_loss(net: CompiledNetwork, x: np.ndarray, y, loss: str = "squared") -> float:
    """``E = Σ_κ Σ_o V(x_oκ, y_oκ)`` summed over output neurons and examples.

    Args:
        net: the compiled network.
        x: node outputs, shape (N, B).
        y: targets, shape (n_out, B) or (n_out,).
        loss: ``"squared"`` or ``"bce"``.

    """
    x = np.asarray(x, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    y = _check_y(net, y, x.shape[1])
    return float(np.sum(get_loss(loss).value(x[net.output_idx], y)))


def edge_products(net: CompiledNetwork, post: np.ndarray, pre: np.ndarray) -> np.ndarray:
    """``Σ_κ post[tgt_e, κ] · pre[src_e, κ]`` per canonical edge e, shape (E,).

    ``post``, ``pre``: (N, B). A dense block of the network's plan (a layer fully
    connected to another) is one matrix product; the other edges are gathered in
    bounded chunks.
    """
    out = np.empty(net.n_edges)
    dense = [b for b in net.blocks if b.kind == "dense"]
    for b in dense:
        (t0, t1), (s0, s1) = b.tgt_range, b.src_range
        out[net.block_order[b.start:b.stop]] = (post[t0:t1] @ pre[s0:s1].T).ravel()
    if sum(b.stop - b.start for b in dense) == net.n_edges:
        return out
    rest = np.concatenate([net.block_order[b.start:b.stop] for b in net.blocks
                           if b.kind != "dense"]) if dense else np.arange(net.n_edges)
    step = max(1, 2**22 // max(1, post.shape[1]))  # bounded temporaries: (step, B) gathers
    for e0 in range(0, len(rest), step):
        e = rest[e0:e0 + step]
        out[e] = np.einsum("eb,eb->e", post[net.tgt[e]], pre[net.src[e]])
    return out


def _finish(net, a, x, delta, dx, y, loss) -> Gradient:
    dw = edge_products(net, delta, x)
    return Gradient(loss=total_loss(net, x, y, loss), dw=dw, db=delta.sum(axis=1),
                    delta=delta, dx=dx, a=a, x=x)


def _output_error(net, x, y, loss) -> np.ndarray:
    e = np.zeros_like(x)
    e[net.output_idx] = get_loss(loss).grad(x[net.output_idx], y)
    return e


