"""Static forward pass and backpropagation on DAGs (one topological generation at a time)."""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import scipy.sparse as sp

from agents.activations import ActivationMap
from agents.errors import GraphError
from networks.compile import CompiledNetwork
from networks.oracles._common import (
    Gradient,
    _cache,
    _check_u,
    _check_y,
    _finish,
    _output_error,
    _params,
)


@dataclass(frozen=True)
class _Plan:
    perm: np.ndarray  # topological position → canonical node index (inputs first)
    ranges: tuple[tuple[int, int, ActivationMap], ...]  # non-input generations
    eperm: np.ndarray  # canonical edge ids sorted by (pos[tgt], pos[src])
    indices: np.ndarray  # pos[src] in eperm order
    indptr: np.ndarray  # CSR row pointer over positions



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


