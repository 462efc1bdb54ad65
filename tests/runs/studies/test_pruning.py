"""Support neurons and pruning: measured, not assumed."""

import networkx as nx
import numpy as np

from agents.lp import LPParams
from networks.builders import layered
from networks.compile import compile_graph
from networks.ensemble_members import graph_with_params
from networks.oracles import forward_pass
from runs.data.datasets import load_dataset
from runs.methods import Schedule, train
from runs.methods.bp import BPParams
from runs.methods.lagrangian import support_fractions
from runs.studies.pruning import prune_experiment


def test_support_fractions_follow_the_reaction():
    net = compile_graph(layered([3, 4, 2], "tanh", "identity", seed=0))
    u = np.random.default_rng(0).normal(size=(3, 5))
    _, x = forward_pass(net, u)
    lam = np.ones_like(x)
    lam[:, :2] = 0.0
    # at the forward pass c = 0: with lin, g = λ ⇒ support exactly where λ ≠ 0
    fr = support_fractions(net, x, lam, net.weight, net.bias, u, LPParams())
    assert set(fr) == set(net.node_ids[3:]) and all(f == 0.6 for f in fr.values())
    # abs-eps: inside the tube no reaction whatever λ
    x2 = x.copy()
    x2[3, 4] += 0.5  # neuron 3 violates its constraint on example 4 only
    fr = support_fractions(net, x2, lam, net.weight, net.bias, u,
                           LPParams(constraint="abs-eps", eps=0.1))
    assert fr[3] == 0.2 and fr[4] == fr[5] == fr[6] == 0.0  # other hidden neurons
    assert fr[7] <= 0.2 and fr[8] <= 0.2  # its children see a changed input on example 4


def test_pruning_is_measured_not_assumed():
    ds = load_dataset("wine", seed=0)
    net = compile_graph(layered([13, 6, 3], "sigmoid", seed=0))
    res = train("bp", net, ds, BPParams(eta=0.05), schedule=Schedule(epochs=200, eval_every=200))
    w, b = res.weight.copy(), res.bias.copy()
    dead = 13  # first hidden neuron: cut its out-edges, so removing it changes nothing
    w[net.src == dead] = 0.0
    base = {n: 1.0 for n in net.node_ids[13:]}
    r = prune_experiment(net, w, b, base | {dead: 0.0}, ds)
    assert r.removed == [dead] and r.n_hidden_after == 5 and r.graph is not None
    assert (r.train_acc_after, r.test_acc_after) == (r.train_acc_before, r.test_acc_before)
    assert dead not in r.graph
    # marking every hidden neuron as non-support: the outputs become unreachable; the
    # measured accuracy is that of the cut network (constant outputs), far lower
    r = prune_experiment(net, res.weight, res.bias, dict.fromkeys(base, 0.0), ds)
    assert r.graph is None and r.n_hidden_after == 0
    assert r.train_acc_before > 0.95 and r.train_acc_after < 0.6


def test_lp_support_neurons_can_be_pruned_on_wine():
    """Train with an ε-insensitive G, prune hidden neurons supporting no example."""
    ds = load_dataset("wine", seed=0)
    G = layered([13, 100, 3], "sigmoid", seed=0)
    p = LPParams(constraint="lin-eps", eps=0.01, rho=1.0, optimizer="adam",
                 state_optimizer="sgd", eta_w=3e-3, eta_x=0.2, eta_lam=0.2)
    res = train("lp", G, ds, {**p.__dict__, "x_init": "forward"},
                schedule=Schedule(epochs=2000, eval_every=2000), with_cosine=False)
    fr = support_fractions(res.net, res.x, res.lam, res.weight, res.bias, ds.inputs(), p)
    out = {}
    for comp in (False, True):
        r = prune_experiment(res.net, res.weight, res.bias, fr, ds, compensate=comp)
        out[comp] = r
        print(f"\nwine 1x100 lin-eps: pruned {len(r.removed)}/{r.n_hidden_before} hidden "
              f"(compensate={comp}); train {r.train_acc_before:.3f} -> "
              f"{r.train_acc_after:.3f}, test {r.test_acc_before:.3f} -> "
              f"{r.test_acc_after:.3f}")
    assert 0 < len(out[False].removed) < 100
    assert out[False].train_acc_before > 0.95
    assert nx.number_of_nodes(out[False].graph) == 116 - len(out[False].removed)
    # the pruned graph carries the trained weights of the kept neurons
    kept = graph_with_params(res.net, res.weight, res.bias)
    j, i = next((j, i) for j, i in out[False].graph.edges)
    assert out[False].graph.edges[j, i]["weight"] == kept.edges[j, i]["weight"]
