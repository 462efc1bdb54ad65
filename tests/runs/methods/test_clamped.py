"""Clamped methods (backprop diffusion): learning, the params object, dtype."""

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
