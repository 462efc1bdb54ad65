"""BPTT training on temporal tasks: a cyclic net learns what its feedforward control cannot."""

import numpy as np
import pytest

from agents.errors import ConfigError
from networks.oracles import bptt_gradient
from runs.data.tasks import evaluate, make_task
from runs.studies import recurrence


def test_network_pair_shares_neurons_and_feedforward_edges():
    pair = recurrence.network_pair(3, 3, 10, seed=4)
    cyc, ff = pair["cyclic"], pair["feedforward"]
    assert cyc.node_ids == ff.node_ids and not cyc.is_dag and ff.is_dag
    ff_edges = {(j, i): (w, d) for j, i, w, d in zip(ff.src, ff.tgt, ff.weight, ff.delay,
                                                     strict=True)}
    cyc_edges = {(j, i): (w, d) for j, i, w, d in zip(cyc.src, cyc.tgt, cyc.weight, cyc.delay,
                                                      strict=True)}
    assert all(cyc_edges[e] == v for e, v in ff_edges.items())
    assert len(cyc_edges) > len(ff_edges)


def test_aligned_outputs_are_what_bptt_scores():
    net = recurrence.network_pair(1, 1, 8, seed=0)["cyclic"]
    task = make_task("delayed_recall", 30, lag=3, batch=2, seed=1)
    g = bptt_gradient(net, task.u, task.y, mask=task.mask)
    out = recurrence.aligned_outputs(net, task, net.weight, net.bias, g.latency)
    tau = int(g.latency[0])
    np.testing.assert_allclose(out[:30 - tau, 0], g.x[tau:, net.output_idx[0]], rtol=1e-13)
    inside = task.mask.copy()
    inside[30 - tau:] = False
    sq = ((out - task.y) ** 2)[inside]
    assert g.loss == pytest.approx(0.5 * sq.sum(), rel=1e-12)


def test_delayed_recall_needs_the_cycles():
    """Lag 4 > the control's longest path delay (2): only the cyclic net recalls."""
    table = recurrence.recurrence_study(["delayed_recall"], seeds=[0, 1, 2], hidden=12,
                                        methods=["bptt"], iters=300, lr=0.02,
                                        train_steps=60, batch=8, test_steps=200)
    cyc = table[table.network == "cyclic"]
    ff = table[table.network == "feedforward"]
    assert len(cyc) == len(ff) == 3
    assert (cyc["accuracy"] >= 0.95).all() and (cyc["mse"] < 0.2).all()
    assert (ff["accuracy"] <= 0.65).all() and (ff["mse"] > 0.8).all()
    s = recurrence.summarize(table)
    assert set(s["network"]) == {"cyclic", "feedforward"} and (s["seeds"] == 3).all()


@pytest.mark.slow
def test_flip_flop_is_learnt_by_the_cyclic_net_only():
    table = recurrence.recurrence_study(["flip_flop"], seeds=[0, 1, 2], methods=["bptt"])
    cyc = table[table.network == "cyclic"]
    ff = table[table.network == "feedforward"]
    assert (cyc["accuracy"] >= 0.98).all()
    assert (ff["accuracy"] <= 0.65).all()


def test_training_lowers_the_loss_and_bad_arguments_are_named():
    net = recurrence.network_pair(1, 1, 8, seed=2)["cyclic"]
    params = recurrence.TASK_SETUPS["periodic"][0]
    w, b, curve = recurrence.train_bptt(net, "periodic", params, seed=2, iters=150,
                                        lr=0.01, train_steps=40, batch=4)
    assert np.mean(curve[-10:]) < 0.5 * np.mean(curve[:10])
    assert np.all(b[net.is_input] == 0.0)
    w2, b2, _ = recurrence.train_bptt(net, "periodic", params, seed=2, iters=20, lr=0.01,
                                      train_steps=20, batch=2, readout_only=True)
    readout = net.is_output[net.tgt]
    np.testing.assert_array_equal(w2[~readout], net.weight[~readout])
    np.testing.assert_array_equal(b2[~net.is_output], net.bias[~net.is_output])
    assert not np.allclose(w2[readout], net.weight[readout])
    test = make_task("periodic", 100, batch=2, seed=9, **params)
    assert np.isnan(evaluate(test, np.zeros_like(test.y))["accuracy"])
    with pytest.raises(ConfigError, match="iters"):
        recurrence.train_bptt(net, "periodic", params, seed=0, iters=0)
    with pytest.raises(ConfigError, match="parity"):
        recurrence.recurrence_study(["parity"])
    with pytest.raises(ConfigError, match="methods"):
        recurrence.recurrence_study(["periodic"], methods=["lp"])


def test_diffusion_training_updates_the_weights_it_is_given():
    """Online diffusion on a task: weights move, the result is scored, η = 0 changes nothing."""
    net = recurrence.network_pair(1, 1, 8, seed=1)["cyclic"]
    params = recurrence.TASK_SETUPS["delayed_recall"][0]
    w0, b0 = recurrence.train_diffusion(net, "delayed_recall", params, seed=1, eta=0.0,
                                        steps=50, batch=2)
    np.testing.assert_array_equal(w0, net.weight)
    np.testing.assert_array_equal(b0, net.bias)
    w, b = recurrence.train_diffusion(net, "delayed_recall", params, seed=1, eta=0.01,
                                      steps=300, batch=2)
    assert not np.allclose(w, net.weight)
    table = recurrence.recurrence_study(["delayed_recall"], seeds=[0], hidden=6,
                                        methods=["diffusion"], etas=[0.01],
                                        diffusion_steps=200, test_steps=50)
    assert list(table["method"]) == ["diffusion"] * 2 and (table["eta"] == 0.01).all()
    assert table["mse"].notna().all() and not table["diverged"].any()
