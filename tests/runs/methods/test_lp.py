"""LP training, the BP baseline, support neurons and pruning, LP vs BP comparisons."""

import networkx as nx
import numpy as np
import pytest

from agents.errors import ConfigError
from agents.lp import LPParams
from networks.builders import layered, layered_recurrent
from networks.compile import compile_graph
from networks.oracles import bp_gradient, forward_pass
from runs.data.datasets import load_dataset
from runs.methods.bp import batches, train_bp
from runs.methods.evaluate import graph_with_params
from runs.methods.lagrangian import support_fractions
from runs.methods.lp import train_lp
from runs.studies import lp_table
from runs.studies.lp_table import COMPARE_LP, compare
from runs.studies.pruning import prune_experiment

SGD = LPParams(constraint="lin", rho=1.0, optimizer="sgd", eta_w=0.5, eta_x=0.2, eta_lam=0.2)
KEYS = {"step", "epoch", "loss", "train_acc", "test_acc", "state_loss", "state_acc",
        "lagrangian", "mean_violation", "max_violation", "mean_abs_lam", "cos_bp"}


@pytest.fixture(scope="module")
def xor():
    return load_dataset("xor")


@pytest.mark.parametrize("x_init", ["zero", "forward"])
def test_lp_learns_xor(xor, x_init):
    G = layered([2, 8, 1], "tanh", "sigmoid", seed=0)
    res = train_lp(G, xor, SGD, epochs=1000, x_init=x_init, eval_every=100)
    h = res.history
    assert set(h[0]) == KEYS and [r["step"] for r in h] == list(range(0, 1001, 100))
    assert h[0]["train_acc"] < 1.0 and h[-1]["train_acc"] == 1.0
    assert h[-1]["loss"] < 0.1 * h[0]["loss"]
    # the LP weight gradient follows the BP gradient (cosine ~ 1 for G = lin, plain steps)
    assert min(r["cos_bp"] for r in h[1:]) > 0.9
    assert h[-1]["max_violation"] < 1e-2
    assert res.x.shape == res.lam.shape == (11, 4)


def test_cyclic_network_learns_xor_and_moons(xor):
    moons = load_dataset("moons", seed=0, n_samples=100)
    for ds in (xor, moons):
        G = layered_recurrent([2, 8, 1], "tanh", "sigmoid", seed=0, lateral=0.3,
                              recurrent_scale=0.5)
        net = compile_graph(G)
        assert not net.is_dag
        res = train_lp(net, ds, SGD, epochs=1000, x_init="forward", eval_every=250)
        print(f"\ncyclic {ds.name}: train acc {res.final['train_acc']:.3f}, test acc "
              f"{res.final['test_acc']:.3f}, cos to recurrent BP {res.final['cos_bp']:.2f}")
        assert res.history[0]["train_acc"] < 0.9
        assert res.final["train_acc"] == 1.0 if ds.name == "xor" else \
            res.final["train_acc"] >= 0.95
        assert np.isfinite(res.final["cos_bp"])


def test_agent_and_vector_training_agree_with_mini_batches(xor):
    G = layered([2, 3, 1], "tanh", "sigmoid", seed=1)
    p = LPParams(constraint="abs-eps", eps=1e-2, rho=0.5, optimizer="adam", eta_w=0.05,
                 eta_x=0.05, eta_lam=0.05, mu=1e-3, alpha=1e-3)
    runs = [train_lp(G, xor, p, epochs=15, batch_size=2, engine=k, seed=3, eval_every=5)
            for k in ("agent", "vector")]
    np.testing.assert_allclose(runs[0].weight, runs[1].weight, rtol=1e-10)
    np.testing.assert_allclose(runs[0].x, runs[1].x, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(runs[0].lam, runs[1].lam, rtol=1e-10, atol=1e-13)
    assert not np.allclose(runs[1].weight, compile_graph(G).weight)


def test_mini_batches_only_update_visited_examples():
    ds = load_dataset("moons", seed=0, n_samples=40)  # 30 training examples
    G = layered([2, 5, 1], "tanh", "sigmoid", seed=2)
    net = compile_graph(G)
    res = train_lp(net, ds, SGD, epochs=1, batch_size=8, x_init="forward", seed=4)
    visited = np.concatenate(batches(30, 8, np.random.default_rng(4)))
    assert len(visited) == 24  # 3 batches of 8, 6 examples dropped this epoch
    rest = np.setdiff1d(np.arange(30), visited)
    x0 = forward_pass(net, ds.inputs())[1]
    np.testing.assert_array_equal(res.x[:, rest], x0[:, rest])
    assert np.all(res.lam[:, rest] == 0.0)
    assert np.all(np.any(res.x[:, visited] != x0[:, visited], axis=0))
    assert res.engine.t == 3
    # a batch as large as the training set is the full-batch run
    a = train_lp(net, ds, SGD, epochs=5, batch_size=30, eval_every=5)
    b = train_lp(net, ds, SGD, epochs=5, batch_size=None, eval_every=5)
    np.testing.assert_array_equal(a.weight, b.weight)


def test_train_lp_errors_are_named(xor):
    G = layered([2, 2, 1], seed=0)
    with pytest.raises(ConfigError, match="x_init"):
        train_lp(G, xor, SGD, x_init="random")
    with pytest.raises(ConfigError, match="epochs"):
        train_lp(G, xor, SGD, epochs=0)
    with pytest.raises(ConfigError, match="batch_size"):
        train_lp(G, xor, SGD, batch_size=0)
    with pytest.raises(ConfigError, match="unknown engine"):
        train_lp(G, xor, SGD, engine="gpu")
    with pytest.raises(ConfigError, match="unknown parameter 'eta'"):
        train_lp(G, xor, {"eta": 0.1})


# ----------------------------------------------------------------------------- BP baseline
def test_bp_step_is_the_oracle_step_and_learns_xor(xor):
    G = layered([2, 8, 1], "tanh", "sigmoid", seed=0)
    net = compile_graph(G)
    one = train_bp(net, xor, optimizer="sgd", lr=0.5, mu=0.01, epochs=1, eval_every=1)
    gr = bp_gradient(net, xor.inputs(), xor.targets())
    np.testing.assert_allclose(one.weight, net.weight - 0.5 * (gr.dw / 4 + 0.01 * net.weight),
                               rtol=1e-12)
    np.testing.assert_allclose(one.bias, net.bias - 0.5 * gr.db / 4, rtol=1e-12)
    res = train_bp(net, xor, optimizer="adam", lr=0.05, epochs=500, eval_every=100)
    assert res.final["train_acc"] == 1.0 and res.final["loss"] < res.history[0]["loss"]
    mb = train_bp(net, load_dataset("moons", n_samples=40), epochs=3, batch_size=10)
    assert mb.final["step"] == 9


# ----------------------------------------------------------------------------- support
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
    res = train_bp(net, ds, lr=0.05, epochs=200, eval_every=200)
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
    res = train_lp(G, ds, p, epochs=2000, x_init="forward", eval_every=2000,
                   with_cosine=False)
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


# ----------------------------------------------------------------------------- LP vs BP
def test_lp_matches_bp_on_wine_fast():
    rows = compare("wine", [0], ["1x100"], epochs=1500)
    r = rows[0]
    print(f"\nwine 1x100 seed 0: BP {r['bp_test_acc']:.3f}, LP {r['lp_test_acc']:.3f}")
    assert r["lp_test_acc"] >= r["bp_test_acc"] - 0.02
    assert r["lp_train_acc"] == 1.0


def test_cli_prints_the_table(capsys):
    lp_table.main(["--compare", "xor", "--seeds", "0", "--archs", "1x100", "--epochs", "20",
                   "--set", "constraint=abs-eps", "eps=0.01", "state_optimizer=none"])
    out = capsys.readouterr().out
    assert "BP test" in out and "xor" in out and "mean LP-BP" in out
    assert "constraint='abs-eps', eps=0.01" in out and "state_optimizer=None" in out
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        lp_table.main(["--compare", "xor", "--set", "rho"])
    with pytest.raises(ConfigError, match="unknown parameter 'lr'"):
        lp_table.main(["--compare", "xor", "--set", "lr=0.1"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["wine", "digits"])
def test_lp_within_two_points_of_bp_several_seeds(name):
    rows = compare(name, [0, 1, 2], ["1x100", "3x30"], epochs=2000, verbose=True)
    for arch in ("1x100", "3x30"):
        diffs = [r["diff"] for r in rows if r["arch"] == arch]
        print(f"{name} {arch}: LP-BP per seed {diffs}, mean {np.mean(diffs):+.2f}")
        assert np.mean(diffs) >= -2.0, (arch, diffs, COMPARE_LP)
