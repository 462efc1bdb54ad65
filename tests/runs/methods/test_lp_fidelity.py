"""LP's cos_bptt: the cosine to BPTT of the forward predictor; BP on DAGs, a number always."""

import numpy as np
import pytest

from agents.errors import ConvergenceError
from networks.builders import layered, layered_recurrent
from networks.compile import compile_graph
from networks.oracles import exact_gradient
from runs.data.datasets import load_dataset
from runs.methods import train
from runs.methods.lagrangian import lagrangian_gradient
from runs.methods.lp import LPMethodParams, lp_metrics
from runs.methods.metrics import cosine

PARAMS = LPMethodParams(constraint="lin", rho=1.0, eta_w=0.05, mu=1e-3)


@pytest.fixture(scope="module")
def moons():
    return load_dataset("moons", n_samples=60, seed=1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_on_a_dag_cos_bptt_is_the_bp_cosine(moons, seed):
    net = compile_graph(layered([2, 7, 5, 1], "tanh", "sigmoid", seed=seed))
    res = train("lp", net, moons, PARAMS, schedule={"epochs": 15, "eval_every": 5})
    U, Y = moons.inputs("train"), moons.targets("train")
    lp = lagrangian_gradient(net, res.x, res.lam, res.weight, res.bias, U, Y, PARAMS)["weight"]
    bp = exact_gradient(net, U, Y, PARAMS.loss, res.weight, res.bias).dw
    old = cosine(lp, bp + PARAMS.mu * res.weight)
    assert res.final["cos_bptt"] == pytest.approx(old, abs=1e-8)
    assert all(np.isfinite(r["cos_bptt"]) for r in res.history)


def test_on_a_cyclic_network_without_fixed_point_cos_bptt_is_a_number(moons):
    net = compile_graph(layered_recurrent([2, 6, 1], "tanh", "sigmoid", seed=1,
                                          self_loops=True, lateral=0.5))
    w = net.weight * 6.0
    U, Y = moons.inputs("train"), moons.targets("train")
    with pytest.raises(ConvergenceError):
        exact_gradient(net, U, Y, weight=w)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(net.n_nodes, U.shape[1]))
    x[net.input_idx] = U
    lam = rng.normal(size=x.shape)
    row = lp_metrics(net, x, lam, w, net.bias, moons, PARAMS)
    assert np.isfinite(row["cos_bptt"]) and -1 <= row["cos_bptt"] <= 1
    assert np.isnan(lp_metrics(net, x, lam, w, net.bias, moons, PARAMS,
                               with_cosine=False)["cos_bptt"])
