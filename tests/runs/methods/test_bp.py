"""The BP baseline method: the oracle step, learning, mini-batches, dtype."""

import numpy as np
import pytest

from networks.builders import layered
from networks.compile import compile_graph
from networks.oracles import bp_gradient
from runs.data.datasets import load_dataset
from runs.methods import Schedule, train
from runs.methods.bp import BPParams


@pytest.fixture(scope="module")
def xor():
    return load_dataset("xor")


def test_bp_step_is_the_oracle_step_and_learns_xor(xor):
    G = layered([2, 8, 1], "tanh", "sigmoid", seed=0)
    net = compile_graph(G)
    one = train("bp", net, xor, BPParams(optimizer="sgd", eta=0.5, mu=0.01),
                schedule=Schedule(epochs=1, eval_every=1))
    gr = bp_gradient(net, xor.inputs(), xor.targets())
    np.testing.assert_allclose(one.weight, net.weight - 0.5 * (gr.dw / 4 + 0.01 * net.weight),
                               rtol=1e-12)
    np.testing.assert_allclose(one.bias, net.bias - 0.5 * gr.db / 4, rtol=1e-12)
    res = train("bp", net, xor, BPParams(optimizer="adam", eta=0.05),
                schedule=Schedule(epochs=500, eval_every=100))
    assert res.final["train_acc"] == 1.0 and res.final["loss"] < res.history[0]["loss"]
    mb = train("bp", net, load_dataset("moons", n_samples=40), schedule={"epochs": 3, "batch": 10})
    assert mb.final["step"] == 9
