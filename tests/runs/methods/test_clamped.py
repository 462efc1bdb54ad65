"""Clamped methods (backprop diffusion): learning, the params object, dtype."""

import pytest

from agents.diffusion import DiffusionParams
from networks.builders import layered, layered_recurrent, scale_to_contractive
from networks.compile import compile_graph
from runs.data.datasets import load_dataset
from runs.methods import Schedule, train


def test_xor_reaches_full_train_accuracy():
    ds = load_dataset("xor")
    for seed in (0, 1):
        net = compile_graph(layered([2, 4, 1], "tanh", "sigmoid", seed=seed, bias_scale=0.5))
        res = train("diffusion", net, ds, DiffusionParams(eta=0.5, loss="bce"),
                    schedule=Schedule(epochs=300, batch=4, eval_every=100, T=4), seed=seed)
        assert res.final["train_acc"] == 1.0
        assert res.history[0]["loss"] > 3 * res.final["loss"]


def test_training_runs_on_a_cyclic_network():
    ds = load_dataset("moons", seed=0, n_samples=80)
    G = layered_recurrent([2, 8, 1], "tanh", "sigmoid", seed=0, lateral=0.3,
                          recurrent_delays=(1, 2))
    net = compile_graph(scale_to_contractive(G, 0.5))
    assert not net.is_dag
    res = train("diffusion", net, ds, DiffusionParams(eta=0.3, loss="bce"),
                schedule=Schedule(epochs=30, batch=4, eval_every=30, T=10))
    assert res.final["loss"] < 0.7 * res.history[0]["loss"]
    assert res.final["train_acc"] > 0.8


@pytest.mark.parametrize("method", ["diffusion", "fa"])
@pytest.mark.parametrize("seed", [0, 3])
def test_clamped_methods_learn_with_no_arguments(method, seed):
    """The rules' own default is η = 0 (measurement mode); the methods' defaults learn:
    within 5 points of BP (with its defaults) on wine, same network, init and split."""
    from runs.methods import compare

    ds = load_dataset("wine", seed=seed)
    G = layered([ds.n_inputs, 16, ds.n_outputs], "tanh", output_activation="sigmoid",
                seed=seed)
    acc = {r["method"]: r["test_acc"] for r in compare([method, "bp"], G, ds, [seed]).rows}
    assert acc[method] >= 0.9 and acc[method] >= acc["bp"] - 0.05, acc
