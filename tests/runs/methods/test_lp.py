"""The LP method: learning, engines agreeing, mini-batches, named errors."""

from dataclasses import replace

import numpy as np
import pytest

from agents.errors import ConfigError
from agents.lp import LPParams
from networks.builders import layered, layered_recurrent
from networks.compile import compile_graph
from networks.oracles import forward_pass
from runs.data.datasets import load_dataset
from runs.methods import train
from runs.methods.base import batches
from runs.methods.lp import LPMethodParams

SGD = LPMethodParams(constraint="lin", rho=1.0, optimizer="sgd", eta_w=0.5, eta_x=0.2,
                     eta_lam=0.2)
FWD = replace(SGD, x_init="forward")
KEYS = {"step", "epoch", "loss", "train_acc", "test_acc", "state_loss", "state_acc",
        "lagrangian", "mean_violation", "max_violation", "mean_abs_lam", "cos_bptt"}


@pytest.fixture(scope="module")
def xor():
    return load_dataset("xor")


@pytest.mark.parametrize("x_init", ["zero", "forward"])
def test_lp_learns_xor(xor, x_init):
    G = layered([2, 8, 1], "tanh", "sigmoid", seed=0)
    res = train("lp", G, xor, replace(SGD, x_init=x_init),
                schedule={"epochs": 1000, "eval_every": 100})
    h = res.history
    assert set(h[0]) == KEYS and [r["step"] for r in h] == list(range(0, 1001, 100))
    assert h[0]["train_acc"] < 1.0 and h[-1]["train_acc"] == 1.0
    assert h[-1]["loss"] < 0.1 * h[0]["loss"]
    # the LP weight gradient follows the BP gradient (cosine ~ 1 for G = lin, plain steps)
    assert min(r["cos_bptt"] for r in h[1:]) > 0.9
    assert h[-1]["max_violation"] < 1e-2
    assert res.x.shape == res.lam.shape == (11, 4)


def test_cyclic_network_learns_xor_and_moons(xor):
    moons = load_dataset("moons", seed=0, n_samples=100)
    for ds in (xor, moons):
        G = layered_recurrent([2, 8, 1], "tanh", "sigmoid", seed=0, lateral=0.3,
                              recurrent_scale=0.5)
        net = compile_graph(G)
        assert not net.is_dag
        res = train("lp", net, ds, FWD, schedule={"epochs": 1000, "eval_every": 250})
        print(f"\ncyclic {ds.name}: train acc {res.final['train_acc']:.3f}, test acc "
              f"{res.final['test_acc']:.3f}, cos to BPTT {res.final['cos_bptt']:.2f}")
        assert res.history[0]["train_acc"] < 0.9
        assert res.final["train_acc"] == 1.0 if ds.name == "xor" else \
            res.final["train_acc"] >= 0.95
        assert np.isfinite(res.final["cos_bptt"])


def test_agent_and_vector_training_agree_with_mini_batches(xor):
    G = layered([2, 3, 1], "tanh", "sigmoid", seed=1)
    p = LPParams(constraint="abs-eps", eps=1e-2, rho=0.5, optimizer="adam", eta_w=0.05,
                 eta_x=0.05, eta_lam=0.05, mu=1e-3, alpha=1e-3)
    runs = [train("lp", G, xor, p, schedule={"epochs": 15, "batch": 2, "eval_every": 5},
                  engine=k, seed=3) for k in ("agent", "vector")]
    np.testing.assert_allclose(runs[0].weight, runs[1].weight, rtol=1e-10)
    np.testing.assert_allclose(runs[0].x, runs[1].x, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(runs[0].lam, runs[1].lam, rtol=1e-10, atol=1e-13)
    assert not np.allclose(runs[1].weight, compile_graph(G).weight)


def test_mini_batches_only_update_visited_examples():
    ds = load_dataset("moons", seed=0, n_samples=40)  # 30 training examples
    G = layered([2, 5, 1], "tanh", "sigmoid", seed=2)
    net = compile_graph(G)
    res = train("lp", net, ds, FWD, schedule={"epochs": 1, "batch": 8}, seed=4)
    visited = np.concatenate(batches(30, 8, np.random.default_rng(4)))
    assert len(visited) == 24  # 3 batches of 8, 6 examples dropped this epoch
    rest = np.setdiff1d(np.arange(30), visited)
    x0 = forward_pass(net, ds.inputs())[1]
    np.testing.assert_array_equal(res.x[:, rest], x0[:, rest])
    assert np.all(res.lam[:, rest] == 0.0)
    assert np.all(np.any(res.x[:, visited] != x0[:, visited], axis=0))
    assert res.engine.t == 3
    # a batch as large as the training set is the full-batch run
    a = train("lp", net, ds, SGD, schedule={"epochs": 5, "batch": 30, "eval_every": 5})
    b = train("lp", net, ds, SGD, schedule={"epochs": 5, "batch": None, "eval_every": 5})
    np.testing.assert_array_equal(a.weight, b.weight)


def test_lp_training_errors_are_named(xor):
    G = layered([2, 2, 1], seed=0)
    with pytest.raises(ConfigError, match="x_init"):
        train("lp", G, xor, {"x_init": "random"})
    with pytest.raises(ConfigError, match="epochs"):
        train("lp", G, xor, SGD, schedule={"epochs": 0})
    with pytest.raises(ConfigError, match="batch"):
        train("lp", G, xor, SGD, schedule={"batch": 0})
    with pytest.raises(ConfigError, match="'T' is not used by method 'lp'"):
        train("lp", G, xor, SGD, schedule={"T": 4})
    with pytest.raises(ConfigError, match="unknown engine"):
        train("lp", G, xor, SGD, engine="gpu")
    with pytest.raises(ConfigError, match="unknown parameter 'eta'"):
        train("lp", G, xor, {"eta": 0.1})
    with pytest.raises(ConfigError, match="unknown method 'lpp'; did you mean 'lp'"):
        train("lpp", G, xor)


@pytest.mark.parametrize(("two_round", "state_optimizer", "expected"), [
    (False, "sgd", ("x", "lam", "s")),
    (True, "sgd", ("x", "lam")),
    (False, "adam", ("x", "lam", "s", "mx", "vx", "ml", "vl", "age")),
    (True, "adam", ("x", "lam", "mx", "vx", "ml", "vl", "age")),
])
def test_carried_vars_are_derived_from_the_rule(two_round, state_optimizer, expected):
    from agents.lp import lp_rule
    from runs.methods.lp import LP_DEFAULTS, carried_vars

    params = replace(LP_DEFAULTS, two_round=two_round, state_optimizer=state_optimizer)
    assert carried_vars(lp_rule(two_round), params) == expected


@pytest.mark.parametrize(("two_round", "state_optimizer", "constraint"), [
    (False, "sgd", "lin"), (True, "sgd", "abs-eps"), (False, "adam", "abs-eps"),
    (True, "adam", "lin")])
@pytest.mark.parametrize("seed", [0, 5])
def test_swapping_only_carried_vars_changes_nothing(monkeypatch, two_round, state_optimizer,
                                                   constraint, seed):
    from agents.lp import EXAMPLE_VARS
    from runs.methods import lp as lp_module

    net = compile_graph(layered([13, 8, 3], "sigmoid", seed=seed))
    data = load_dataset("wine", seed=seed)
    params = {"two_round": two_round, "state_optimizer": state_optimizer,
              "constraint": constraint, "eps": 0.01, "x_init": "zero"}
    schedule = {"epochs": 3, "batch": 16, "eval_every": 1}
    ours = train("lp", net, data, params, schedule=schedule, seed=seed)
    monkeypatch.setattr(lp_module, "carried_vars", lambda rule, p: EXAMPLE_VARS)
    every = train("lp", net, data, params, schedule=schedule, seed=seed)
    assert ours.history == every.history
    for name in ("weight", "bias", "x", "lam"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(every, name))


@pytest.mark.parametrize("seed", [0, 4])
def test_store_swap_equals_swapping_by_set_state(monkeypatch, seed):
    """The learner's swap (load_examples / save_examples) trains as set_state / state."""
    from networks.engines.state_access import StateAccess

    def load(eng, values):
        for var, value in values.items():
            eng.set_state(var, value)

    def save(eng, out):
        for var, value in out.items():
            value[...] = eng.state(var)

    net = compile_graph(layered([13, 8, 3], "sigmoid", seed=seed))
    data = load_dataset("wine", seed=seed)
    schedule = {"epochs": 3, "batch": 16, "eval_every": 1}
    ours = train("lp", net, data, schedule=schedule, seed=seed)
    monkeypatch.setattr(StateAccess, "load_examples", load)
    monkeypatch.setattr(StateAccess, "save_examples", save)
    public = train("lp", net, data, schedule=schedule, seed=seed)
    assert ours.history == public.history
    for name in ("weight", "bias", "x", "lam"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(public, name))
