"""Global analysis of an LP state: the Lagrangian, its gradient, support neurons, pruning.

These functions see the whole network at once (like :mod:`networks.oracles`): they are
for metrics, tests and experiments, never used by the local rule. Shapes: ``x``, ``lam``
(N, B) in canonical node order; ``weight`` (E,) canonical edges; ``bias`` (N,); ``u``
(n_in, B); ``y`` (n_out, B). Input rows of ``x`` are replaced by ``u`` (clamped) and input
rows of ``lam`` are ignored.

The Lagrangian (DESIGN §4), summed over examples::

    L = Σ_κ [Σ_o V(x_oκ, y_oκ) + Σ_{i∉I} (λ_iκ G(c_iκ) + ρ/2 G(c_iκ)²) + α Σ_{i∉I} |x_iκ|]
        + μ/2 Σ w²

**Support pairs**: (i, κ) with reaction ``g_iκ ≠ 0``. :func:`support_fractions` reports
per neuron the fraction of examples it supports; :func:`prune_experiment` removes the
hidden neurons supporting no example and measures the accuracy of the forward-pass
predictor before and after.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import scipy.sparse as sp

from agents.activations import ActivationMap
from agents.errors import ConvergenceError, GraphError
from agents.losses import get_loss
from agents.lp import LPParams, reaction
from networks.compile import CompiledNetwork, compile_graph
from networks.oracles import fixed_point, forward_pass
from runs.metrics import accuracy


def graph_with_params(net: CompiledNetwork, weight, bias) -> nx.DiGraph:
    """A copy of ``net.graph`` carrying the given weights (E,) and biases (N,)."""
    G = net.graph.copy()
    for e, (j, i) in enumerate(zip(net.src, net.tgt, strict=True)):
        G.edges[net.node_ids[j], net.node_ids[i]]["weight"] = float(weight[e])
    for k, node in enumerate(net.node_ids):
        G.nodes[node]["bias"] = 0.0 if net.is_input[k] else float(bias[k])
    return G


def forward_state(net: CompiledNetwork, u, weight=None, bias=None, *,
                  max_iter: int = 1000) -> np.ndarray:
    """All neuron outputs x of the forward-pass predictor, shape (N, B).

    DAG: the static forward pass. Cyclic graph: the forward fixed point; if the iteration
    does not settle within ``max_iter`` sweeps, the state after ``max_iter`` synchronous
    sweeps from x = 0 (what the delay-free forward dynamics shows at that time).
    """
    if net.is_dag:
        return forward_pass(net, u, weight, bias)[1]
    try:
        return fixed_point(net, u, weight, bias, max_iter=max_iter, tol=1e-10)[1]
    except ConvergenceError:
        w = net.weight if weight is None else weight
        b = net.bias if bias is None else bias
        W, amap = _W(net, w), ActivationMap(net.activation)
        x = np.zeros((net.n_nodes, np.shape(u)[1]))
        x[net.input_idx] = u
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(max_iter):
                x = amap.f(W @ x + b[:, None])
                x[net.input_idx] = u
        return x


def predict(net: CompiledNetwork, u, weight=None, bias=None) -> np.ndarray:
    """Output-neuron values of :func:`forward_state`, shape (n_out, B)."""
    return forward_state(net, u, weight, bias)[net.output_idx]


def _W(net: CompiledNetwork, w) -> sp.csr_matrix:
    return sp.csr_matrix((np.asarray(w, dtype=np.float64), net.src, net.in_ptr),
                         shape=(net.n_nodes, net.n_nodes))


def lp_terms(net: CompiledNetwork, x, lam, weight, bias, u, params: LPParams) -> dict:
    """The per-neuron quantities of §4 computed globally.

    Returns:
        ``{"x", "a", "c", "G", "g", "s"}``, each (N, B); inputs: x = u, the rest 0.
    """
    inp = net.input_idx
    x = np.array(x, dtype=np.float64)
    x[inp] = u
    a = _W(net, weight) @ x + np.asarray(bias, dtype=np.float64)[:, None]
    a[inp] = 0.0
    amap = ActivationMap(net.activation)
    sig = amap.f(a)
    c = x - sig
    c[inp] = 0.0
    G, g = reaction(c, np.asarray(lam, dtype=np.float64), params)
    G, g = G.copy(), g.copy()
    G[inp] = 0.0
    g[inp] = 0.0
    return {"x": x, "a": a, "c": c, "G": G, "g": g, "s": g * amap.df(a, sig)}


def lagrangian(net: CompiledNetwork, x, lam, weight, bias, u, y, params: LPParams) -> float:
    """The value of L (module doc) at the given state, a float."""
    t = lp_terms(net, x, lam, weight, bias, u, params)
    hidden = ~net.is_input
    lam = np.asarray(lam, dtype=np.float64)
    value = np.sum(get_loss(params.loss).value(t["x"][net.output_idx], y))
    value += np.sum(lam[hidden] * t["G"][hidden] + 0.5 * params.rho * t["G"][hidden] ** 2)
    value += params.alpha * np.sum(np.abs(t["x"][hidden]))
    return float(value + 0.5 * params.mu * np.sum(np.asarray(weight) ** 2))


def lagrangian_gradient(net: CompiledNetwork, x, lam, weight, bias, u, y,
                        params: LPParams) -> dict:
    """The exact partial derivatives of L (formulas of §4, summed over examples).

    Returns:
        ``{"x": (N, B), "lam": (N, B), "weight": (E,), "bias": (N,)}``; input rows are 0.
    """
    t = lp_terms(net, x, lam, weight, bias, u, params)
    out_idx, inp = net.output_idx, net.input_idx
    dx = t["g"] + params.alpha * np.sign(t["x"]) - _W(net, weight).T @ t["s"]
    dx[out_idx] += get_loss(params.loss).grad(t["x"][out_idx], y)
    dx[inp] = 0.0
    s, xs = t["s"], t["x"]
    dw = -np.einsum("eb,eb->e", s[net.tgt], xs[net.src]) + params.mu * np.asarray(weight)
    return {"x": dx, "lam": t["G"], "weight": dw, "bias": -s.sum(axis=1)}


def support_fractions(net: CompiledNetwork, x, lam, weight, bias, u, params: LPParams
                      ) -> dict:
    """Per non-input neuron, the fraction of examples κ with reaction ``g_iκ ≠ 0``.

    Returns:
        ``{node id: fraction in [0, 1]}`` in canonical node order (inputs omitted).
    """
    g = lp_terms(net, x, lam, weight, bias, u, params)["g"]
    frac = np.mean(g != 0.0, axis=1)
    return {node: float(frac[k]) for k, node in enumerate(net.node_ids)
            if not net.is_input[k]}


@dataclass(frozen=True)
class PruneResult:
    """Outcome of :func:`prune_experiment` (all numbers measured).

    Attributes:
        removed: ids of the removed hidden neurons.
        n_hidden_before, n_hidden_after: hidden neuron counts.
        train_acc_before, test_acc_before: forward-pass accuracy of the full network.
        train_acc_after, test_acc_after: accuracy of the pruned network.
        graph: the pruned graph (trained weights; None if it is not a valid network,
            e.g. an output became unreachable — the accuracy is then that of the network
            with the removed neurons' out-edges cut, which computes the same function).
    """

    removed: list
    n_hidden_before: int
    n_hidden_after: int
    train_acc_before: float
    test_acc_before: float
    train_acc_after: float
    test_acc_after: float
    graph: nx.DiGraph | None


def prune_experiment(net: CompiledNetwork, weight, bias, fractions: dict, dataset, *,
                     threshold: float = 0.0, compensate: bool = False) -> PruneResult:
    """Remove hidden neurons whose support fraction is <= ``threshold`` and re-evaluate.

    Args:
        net: the compiled network the state belongs to.
        weight: trained weights, (E,).
        bias: trained biases, (N,).
        fractions: :func:`support_fractions` output.
        dataset: a :class:`runs.datasets.Dataset` (accuracy on its train and test sets).
        threshold: prune neurons supporting at most this fraction (0: none at all).
        compensate: if True, add each removed neuron's mean training output times the
            out-edge weight to the child's bias (a constant replaces the neuron).

    Returns:
        The :class:`PruneResult`.
    """
    def acc(n, w, b, split):
        return accuracy(predict(n, dataset.inputs(split), w, b), dataset.labels(split))

    hidden = [n for n, r in net.graph.nodes(data="role") if r == "hidden"]
    removed = [n for n in hidden if fractions[n] <= threshold]
    before = (acc(net, weight, bias, "train"), acc(net, weight, bias, "test"))
    w_cut, b_new = np.array(weight, dtype=np.float64), np.array(bias, dtype=np.float64)
    if removed:
        mean_x = None
        if compensate:
            mean_x = forward_state(net, dataset.inputs("train"), weight, bias).mean(axis=1)
        gone = np.isin(np.arange(net.n_nodes), [net.index[n] for n in removed])
        cut = gone[net.src] & ~gone[net.tgt]
        if compensate:
            np.add.at(b_new, net.tgt[cut], weight[cut] * mean_x[net.src[cut]])
        w_cut[gone[net.src]] = 0.0
    G = graph_with_params(net, w_cut, b_new)
    G.remove_nodes_from(removed)
    try:
        pruned = compile_graph(G)
        after = (acc(pruned, None, None, "train"), acc(pruned, None, None, "test"))
    except GraphError:
        G = None
        after = (acc(net, w_cut, b_new, "train"), acc(net, w_cut, b_new, "test"))
    return PruneResult(removed, len(hidden), len(hidden) - len(removed), *before, *after, G)
