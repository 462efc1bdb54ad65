"""Support neurons and pruning: remove the hidden neurons that support no example.

A neuron supports example κ when its LP reaction ``g_iκ ≠ 0``
(:func:`runs.methods.lagrangian.support_fractions`); :func:`prune_experiment` removes the
hidden neurons supporting at most a threshold fraction and measures the accuracy of the
forward-pass predictor before and after.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from agents.errors import GraphError
from networks.compile import CompiledNetwork, compile_graph
from networks.ensemble_members import graph_with_params
from runs.methods.evaluate import forward_state, predict
from runs.methods.lp import LPMethodParams
from runs.methods.metrics import accuracy


@dataclass(frozen=True)
class PruningParams(LPMethodParams):
    """LP's method parameters plus the pruning threshold on the support fraction."""

    threshold: float = 0.0


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
        dataset: a :class:`runs.data.datasets.Dataset` (accuracy on its train and test sets).
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
