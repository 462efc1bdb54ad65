"""Forward fixed point and recurrent backprop (Almeida–Pineda) on cyclic graphs."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from agents.errors import ConvergenceError, DataError
from networks.compile import CompiledNetwork
from networks.oracles._common import (
    _W,
    Gradient,
    _amap,
    _as_batch,
    _check_u,
    _check_y,
    _finish,
    _output_error,
    _params,
)
from networks.oracles.dag import _dag_plan, bp_gradient

_DENSE_MAX_N = 400  # recurrent_gradient: dense solves up to this many nodes



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


