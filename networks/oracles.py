"""Exact, deliberately global gradient oracles used to check the local rules (DESIGN §6).

Nothing here is local: these functions see the whole weight matrix and are meant for tests
and for measuring gradient fidelity during runs. Everything is float64.

Shapes: data ``u`` is (n_in, B) and targets ``y`` are (n_out, B); a 1-D ``u`` or ``y``
means B = 1 and results still carry a batch axis of length 1. Rows follow
``net.input_idx`` / ``net.output_idx``. Node arrays are (N, B) in canonical node order,
edge arrays (E,) in canonical edge order (see :mod:`networks.compile`). Every function
takes optional ``weight`` (E,) and ``bias`` (N,) that override the network's own, so
finite differences and trainers can evaluate modified parameters. Input biases are
ignored (inputs are clamped: ``a = 0``, ``x = u``).

The loss is summed, not averaged: ``E = Σ_κ Σ_o V(x_oκ, y_oκ)``, and so are the weight
gradients: ``dw_ij = Σ_κ δ_iκ x_jκ``, ``db_i = Σ_κ δ_iκ``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass

import networkx as nx
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from agents.activations import ActivationMap
from agents.errors import ConvergenceError, DataError, GraphError
from agents.losses import get_loss
from networks.compile import CompiledNetwork

_DENSE_MAX_N = 400  # recurrent_gradient: dense solves up to this many nodes


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


@dataclass(frozen=True)
class _Plan:
    perm: np.ndarray  # topological position → canonical node index (inputs first)
    ranges: tuple[tuple[int, int, ActivationMap], ...]  # non-input generations
    eperm: np.ndarray  # canonical edge ids sorted by (pos[tgt], pos[src])
    indices: np.ndarray  # pos[src] in eperm order
    indptr: np.ndarray  # CSR row pointer over positions


_CACHE: dict[int, tuple[weakref.ref, dict]] = {}


def _cache(net: CompiledNetwork) -> dict:
    """Per-network memo (topological plan, activation map), dropped with the network."""
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


def _generations(net: CompiledNetwork) -> list[np.ndarray] | None:
    """Topological generations (Kahn's algorithm on the edge arrays); None if cyclic."""
    n = net.n_nodes
    indeg = np.bincount(net.tgt, minlength=n)
    frontier = np.flatnonzero(indeg == 0)
    gens, done = [], 0
    while frontier.size:
        gens.append(frontier)
        done += frontier.size
        counts = net.out_ptr[frontier + 1] - net.out_ptr[frontier]
        offsets = np.repeat(net.out_ptr[frontier] - np.cumsum(counts) + counts, counts)
        edges = net.out_edges[offsets + np.arange(counts.sum())]
        indeg -= np.bincount(net.tgt[edges], minlength=n)
        cand = np.unique(net.tgt[edges])
        frontier = cand[indeg[cand] == 0]
    return gens if done == n else None


def _dag_plan(net: CompiledNetwork, need: bool = True) -> _Plan | None:
    """Return the cached generation plan; None (need=False) or GraphError if cyclic."""
    c = _cache(net)
    if "plan" not in c:
        c["plan"] = _make_plan(net)
    if c["plan"] is None and need:
        cycle = [j for j, _ in nx.find_cycle(net.graph)]
        raise GraphError(f"the graph has a directed cycle through nodes {cycle!r}; "
                         f"forward_pass/bp_gradient need a DAG: use fixed_point or "
                         f"recurrent_gradient")
    return c["plan"]


def _make_plan(net: CompiledNetwork) -> _Plan | None:
    gens = _generations(net)
    if gens is None:
        return None
    order = list(net.input_idx)
    ranges = []
    for gen in gens:
        idx = gen[~net.is_input[gen]].tolist()
        if idx:
            amap = ActivationMap([net.activation[i] for i in idx])
            ranges.append((len(order), len(order) + len(idx), amap))
            order.extend(idx)
    perm = np.asarray(order, dtype=np.intp)
    pos = np.empty_like(perm)
    pos[perm] = np.arange(len(perm))
    eperm = np.lexsort((pos[net.src], pos[net.tgt])).astype(np.intp)
    indptr = np.zeros(net.n_nodes + 1, dtype=np.intp)
    np.cumsum(np.bincount(pos[net.tgt], minlength=net.n_nodes), out=indptr[1:])
    return _Plan(perm, tuple(ranges), eperm, pos[net.src][eperm], indptr)


def _permuted_W(net: CompiledNetwork, plan: _Plan, w: np.ndarray) -> sp.csr_matrix:
    n = net.n_nodes
    return sp.csr_matrix((w[plan.eperm], plan.indices, plan.indptr), shape=(n, n))


def _unpermute(plan: _Plan, arr: np.ndarray) -> np.ndarray:
    out = np.empty_like(arr)
    out[plan.perm] = arr
    return out


def _W(net: CompiledNetwork, w: np.ndarray) -> sp.csr_matrix:
    """Canonical sparse W (W[i, j] = w_ij); canonical edges are already CSR by target."""
    n = net.n_nodes
    return sp.csr_matrix((w, net.src, net.in_ptr), shape=(n, n))


def forward_pass(net: CompiledNetwork, u, weight=None, bias=None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Compute the static forward pass on a DAG (delays play no role in the settled state).

    Neurons are processed one topological generation at a time with a sparse W:
    ``a_i = Σ_j w_ij x_j + b_i``, ``x_i = σ_i(a_i)``; inputs have ``a = 0``, ``x = u``.

    Args:
        net: a compiled acyclic network.
        u: inputs, shape (n_in, B) or (n_in,).
        weight: optional weight override, shape (E,).
        bias: optional bias override, shape (N,).

    Returns:
        ``(a, x)``, each of shape (N, B).

    Raises:
        GraphError: if the graph has a directed cycle (use :func:`fixed_point`).
        DataError: if ``u`` has the wrong shape or a non-finite entry.

    """
    u = _check_u(net, u)
    w, b = _params(net, weight, bias)
    a, x, _, _ = _forward_dag(net, u, w, b)
    return a, x


def _forward_dag(net, u, w, b):
    plan = _dag_plan(net)
    Wp = _permuted_W(net, plan, w)
    n_in, B = u.shape
    ap = np.zeros((net.n_nodes, B))
    xp = np.zeros((net.n_nodes, B))
    xp[:n_in] = u
    bp = b[plan.perm][:, None]
    for r0, r1, amap in plan.ranges:
        ap[r0:r1] = Wp[r0:r1] @ xp + bp[r0:r1]
        xp[r0:r1] = amap.f(ap[r0:r1])
    return _unpermute(plan, ap), _unpermute(plan, xp), (plan, Wp, ap, xp), b


def fixed_point(net: CompiledNetwork, u, weight=None, bias=None, *, tol: float = 1e-13,
                max_iter: int = 10_000, x0=None) -> tuple[np.ndarray, np.ndarray]:
    """Forward fixed point ``x = σ(W x + b)`` (inputs clamped to ``u``) by iteration.

    Synchronous (Jacobi) iteration ``x ← σ(W x + b)`` from ``x0`` until
    ``max |Δx| < tol · max(1, max |x|)``. On a DAG it is exact after depth + 1 sweeps.
    The returned pair satisfies ``x = σ(a)`` exactly and ``a = W x + b`` up to the tolerance.

    Args:
        net: a compiled network (cycles allowed).
        u: inputs, shape (n_in, B) or (n_in,).
        weight: optional weight override, shape (E,).
        bias: optional bias override, shape (N,).
        tol: convergence tolerance on the largest change of an output in one sweep.
        max_iter: maximum number of sweeps.
        x0: initial outputs, shape (N, B) or (N,); default zeros (inputs are set to u).

    Returns:
        ``(a, x)``, each of shape (N, B).

    Raises:
        ConvergenceError: naming the final residual, the sweep count and the neuron and
            example with the largest change, if the iteration diverges or does not settle.
        DataError: if ``u`` or ``x0`` has the wrong shape or a non-finite entry.

    """
    u = _check_u(net, u)
    w, b = _params(net, weight, bias)
    W = _W(net, w)
    B = u.shape[1]
    x = np.zeros((net.n_nodes, B)) if x0 is None else _as_batch(x0, net.n_nodes, "x0", "neuron")
    if x.shape[1] not in (1, B):
        raise DataError(f"x0 has {x.shape[1]} examples (columns) but u has {B}")
    x = np.array(np.broadcast_to(x, (net.n_nodes, B)))
    x[net.input_idx] = u
    amap = _amap(net)
    inp = net.input_idx
    res, k, where = np.inf, 0, (0, 0)
    with np.errstate(over="ignore", invalid="ignore"):
        while k < max_iter:
            k += 1
            a = W @ x + b[:, None]
            a[inp] = 0.0
            x_new = amap.f(a)
            x_new[inp] = u
            change = np.abs(x_new - x)
            x = x_new
            if not np.all(np.isfinite(change)):
                res, where = np.inf, np.unravel_index(np.argmax(~np.isfinite(change)), x.shape)
                break
            where = np.unravel_index(np.argmax(change), x.shape)
            res = float(change[where])
            if res < tol * max(1.0, float(np.max(np.abs(x)))):
                return a, x
    i, kappa = int(where[0]), int(where[1])
    state = "diverged (non-finite outputs)" if res == np.inf else "did not converge"
    raise ConvergenceError(
        f"forward fixed point {state} after {k} iterations: residual max|Δx| = {res:.3e} "
        f"(tol {tol:g}), largest change at neuron {net.node_ids[i]!r} (example {kappa}); "
        f"use a smaller weight scale or a contractive network "
        f"(networks.builders.scale_to_contractive)"
    )


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


def _finish(net, a, x, delta, dx, y, loss) -> Gradient:
    dw = np.empty(net.n_edges)
    step = max(1, 2**22 // x.shape[1])  # bounded temporaries: (step, B) gathers
    for e0 in range(0, net.n_edges, step):
        t, s = net.tgt[e0:e0 + step], net.src[e0:e0 + step]
        dw[e0:e0 + step] = np.einsum("eb,eb->e", delta[t], x[s])
    return Gradient(loss=total_loss(net, x, y, loss), dw=dw, db=delta.sum(axis=1),
                    delta=delta, dx=dx, a=a, x=x)


def _output_error(net, x, y, loss) -> np.ndarray:
    e = np.zeros_like(x)
    e[net.output_idx] = get_loss(loss).grad(x[net.output_idx], y)
    return e


def bp_gradient(net: CompiledNetwork, u, y, loss: str = "squared", weight=None,
                bias=None) -> Gradient:
    """Backpropagation on a DAG: ``δ_i = σ'(a_i) ([i∈O] ∂V/∂x_i + Σ_{h∈ch(i)} w_hi δ_h)``.

    Args:
        net: a compiled acyclic network.
        u: inputs, shape (n_in, B) or (n_in,).
        y: targets, shape (n_out, B) or (n_out,).
        loss: ``"squared"`` or ``"bce"``.
        weight: optional weight override, shape (E,).
        bias: optional bias override, shape (N,).

    Returns:
        The :class:`Gradient` at the forward pass.

    Raises:
        GraphError: if the graph has a directed cycle (use :func:`recurrent_gradient`).
        DataError: for data of the wrong shape or with non-finite entries.

    """
    u = _check_u(net, u)
    y = _check_y(net, y, u.shape[1])
    w, b = _params(net, weight, bias)
    a, x, (plan, Wp, ap, xp), _ = _forward_dag(net, u, w, b)
    WTp = Wp.T.tocsr()
    ep = _output_error(net, x, y, loss)[plan.perm]
    dp = np.zeros_like(ap)  # δ in topological positions
    dxp = np.zeros_like(ap)
    for r0, r1, amap in reversed(plan.ranges):
        dxp[r0:r1] = ep[r0:r1] + WTp[r0:r1] @ dp
        dp[r0:r1] = amap.df(ap[r0:r1], xp[r0:r1]) * dxp[r0:r1]
    n_in = len(net.input_idx)
    dxp[:n_in] = WTp[:n_in] @ dp
    return _finish(net, a, x, _unpermute(plan, dp), _unpermute(plan, dxp), y, loss)


def recurrent_gradient(net: CompiledNetwork, u, y, loss: str = "squared", weight=None,
                       bias=None, *, tol: float = 1e-13, max_iter: int = 10_000
                       ) -> Gradient:
    """Recurrent backprop (Almeida–Pineda) at the forward fixed point.

    Solves ``δ* = D (e + Wᵀ δ*)`` exactly, i.e. ``(I − D Wᵀ) δ = D e`` per example, with
    ``D = diag σ'(a*)`` (zero on inputs) and ``e_o = ∂V/∂x_o``: dense LU for small
    networks; above a few hundred nodes GMRES to a 1e-14 relative residual (fast for
    contractive nets), with a sparse LU fallback if it does not get there.

    Args:
        net: a compiled network (cycles allowed).
        u: inputs, shape (n_in, B) or (n_in,).
        y: targets, shape (n_out, B) or (n_out,).
        loss: ``"squared"`` or ``"bce"``.
        weight: optional weight override, shape (E,).
        bias: optional bias override, shape (N,).
        tol: convergence tolerance of :func:`fixed_point`.
        max_iter: iteration limit of :func:`fixed_point`.

    Returns:
        The :class:`Gradient` at the fixed point.

    Raises:
        ConvergenceError: if the fixed point is not found or ``I − D Wᵀ`` is singular.
        DataError: for data of the wrong shape or with non-finite entries.

    """
    u = _check_u(net, u)
    y = _check_y(net, y, u.shape[1])
    w, b = _params(net, weight, bias)
    a, x = fixed_point(net, u, w, b, tol=tol, max_iter=max_iter)
    D = _amap(net).df(a, x)
    D[net.input_idx] = 0.0
    e = _output_error(net, x, y, loss)
    N, B = x.shape
    delta = np.empty_like(x)
    try:
        if N <= _DENSE_MAX_N:
            WT = net.weight_matrix(w).T
            chunk = max(1, 2**23 // (N * N))  # ≤ 64 MB of stacked matrices
            for k0 in range(0, B, chunk):
                d = D[:, k0:k0 + chunk].T  # (b, N)
                M = np.eye(N) - d[:, :, None] * WT[None]
                rhs = (d * e[:, k0:k0 + chunk].T)[..., None]
                delta[:, k0:k0 + chunk] = np.linalg.solve(M, rhs)[..., 0].T
        else:
            WT = _W(net, w).T.tocsr()
            eye = sp.identity(N, format="csr")
            for k in range(B):
                M, rhs = (eye - sp.diags(D[:, k]) @ WT).tocsr(), D[:, k] * e[:, k]
                sol, info = spla.gmres(M, rhs, rtol=1e-14, atol=0.0, restart=min(N, 60),
                                       maxiter=200)
                if info != 0 or np.linalg.norm(M @ sol - rhs) > 1e-12 * np.linalg.norm(rhs):
                    sol = spla.splu(M.tocsc()).solve(rhs)  # direct fallback
                delta[:, k] = sol
    except (np.linalg.LinAlgError, RuntimeError) as exc:
        raise ConvergenceError(f"recurrent backprop: I − D Wᵀ is singular ({exc}); the "
                               f"adjoint does not exist at this fixed point") from None
    if not np.all(np.isfinite(delta)):
        raise ConvergenceError("recurrent backprop: I − D Wᵀ is singular (non-finite δ)")
    dx = e + _W(net, w).T @ delta
    return _finish(net, a, x, delta, dx, y, loss)


def exact_gradient(net: CompiledNetwork, u, y, loss: str = "squared", weight=None,
                   bias=None, **kw) -> Gradient:
    """:func:`bp_gradient` on a DAG, :func:`recurrent_gradient` (with ``**kw``) otherwise."""
    if _dag_plan(net, need=False) is not None:
        return bp_gradient(net, u, y, loss, weight, bias)
    return recurrent_gradient(net, u, y, loss, weight, bias, **kw)


def finite_difference(fn: Callable[[np.ndarray], float], theta, eps: float = 1e-6
                      ) -> np.ndarray:
    """Central differences ``(fn(θ + ε e_k) − fn(θ − ε e_k)) / 2ε`` of a scalar function.

    Args:
        fn: scalar function of a flat float vector.
        theta: the point, any shape (flattened for ``fn``).
        eps: the step.

    Returns:
        The numerical gradient, same shape as ``theta``.

    """
    theta = np.asarray(theta, dtype=np.float64)
    flat = theta.ravel().copy()
    g = np.empty_like(flat)
    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + eps
        fp = fn(flat.copy())
        flat[k] = old - eps
        fm = fn(flat.copy())
        flat[k] = old
        g[k] = (fp - fm) / (2.0 * eps)
    return g.reshape(theta.shape)
