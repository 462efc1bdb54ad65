"""Backprop diffusion (docs/math/diffusion.md): exactness, cyclic convergence, latency.

Engine equality and locality: the contract harness, tests/contract.
"""

import networkx as nx
import numpy as np
import pytest

from agents.diffusion import DIFFUSION, DiffusionParams, Presenter, output_latency
from agents.errors import ConfigError, GraphError, LocalpropWarning
from networks.builders import random_dag, random_digraph, ring, scale_to_contractive
from networks.compile import compile_graph
from networks.engines import make_engine
from networks.oracles import bp_gradient, recurrent_gradient


def _dag(seed, n=20, **kw):
    kw = {"n_inputs": 3, "n_outputs": 2, "delays": (1, 3), "output_activation": "identity",
          **kw}
    return compile_graph(random_dag(n, 3 * n, seed=seed, **kw))


def _digraph(seed, n=20, **kw):
    kw = {"n_inputs": 3, "n_outputs": 2, "delays": (1, 3), "output_activation": "identity",
          **kw}
    return compile_graph(random_digraph(n, 3 * n, seed=seed, **kw))


def _longest_path_delay(net):
    return nx.dag_longest_path_length(net.graph, weight="delay")


# ----------------------------------------------------------------------------- params
@pytest.mark.parametrize(("field", "value"), [("eta", -1.0), ("eta", float("nan")),
                                              ("eta", True), ("loss", "hinge"),
                                              ("average", "yes")])
def test_params_are_validated_naming_the_field(field, value):
    with pytest.raises(ConfigError, match=f"'{field}'"):
        DiffusionParams(**{field: value})
    with pytest.raises(ConfigError, match="unknown parameter 'rho'"):
        DIFFUSION.make_params({"rho": 1.0})


# ----------------------------------------------------------------------------- exactness
@pytest.mark.parametrize(("engine_kind", "seed"), [("vector", 0), ("vector", 1), ("vector", 2),
                                                   ("vector", 3), ("agent", 0), ("agent", 1)])
def test_exact_bp_gradient_once_the_waves_settle(engine_kind, seed):
    """η = 0, constant u and y: δ_i(t) x_j(t − d_ij) = ∂E/∂w_ij after ≈ 2 × longest path."""
    loss = ["squared", "bce"][seed % 2]
    out_act = "identity" if loss == "squared" else "sigmoid"
    net = _dag(seed, activation=["tanh", "sigmoid"][seed % 2], output_activation=out_act)
    L = _longest_path_delay(net)
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(3, 4))
    y = rng.normal(size=(2, 4)) if loss == "squared" else rng.integers(0, 2, (2, 4)) * 1.0
    g = bp_gradient(net, u, y, loss)
    eng = make_engine(engine_kind, net, DIFFUSION, {"loss": loss}, batch=4,
                      record=["dw", "delta", "x"])
    with pytest.warns(LocalpropWarning):  # random delays: paths of unequal length
        presenter = Presenter(eng)
    settle = 2 * L + int(presenter.latency.max()) + 1
    for _ in range(settle + 5):
        presenter.step(u, y)
    rec = eng.recording
    scale = np.abs(g.dw).max()
    for t in range(settle, settle + 5):
        np.testing.assert_allclose(rec["dw"][t], g.dw, rtol=1e-10, atol=1e-13 * scale)
        np.testing.assert_allclose(rec["delta"][t], g.delta, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(rec["x"][t], g.x, rtol=1e-12, atol=1e-14)
    # before the waves have settled the product is not the gradient: zero before the
    # first target, far off when the backward wave has just left the outputs
    tau = presenter.latency
    np.testing.assert_array_equal(rec["dw"][:tau.min()], 0.0)
    assert np.abs(rec["dw"][tau.max()] - g.dw).max() > 1e-2 * scale
    # frozen weights; the accumulated update is the running sum of dw
    np.testing.assert_array_equal(eng.state("weight"), net.weight)
    np.testing.assert_allclose(eng.state("dw_sum"), rec["dw"].sum(axis=0), rtol=1e-12)


def test_one_hop_per_delay_on_a_chain():
    """The backward wave takes d steps per edge, like the forward wave."""
    G = nx.DiGraph()
    G.add_node("u", role="input")
    G.add_node("h", role="hidden", activation="identity")
    G.add_node("o", role="output", activation="identity")
    G.add_edge("u", "h", weight=2.0, delay=2)
    G.add_edge("h", "o", weight=3.0, delay=3)
    net = compile_graph(G)
    assert output_latency(net).tolist() == [5]
    eng = make_engine("vector", net, DIFFUSION, record=["delta", "e"])
    p = Presenter(eng)
    for _ in range(14):
        p.step(np.array([1.0]), np.array([0.0]))
    rec = eng.recording
    e_o = rec["e"][:, 2]
    assert np.all(e_o[:5] == 0) and np.all(e_o[5:] == 6.0)  # x_o = 6 from t = 6
    d_h = rec["delta"][:, 1]  # δ_h(t) = 3 δ_o(t − 3): first nonzero at t = 9
    assert np.all(d_h[:8] == 0) and np.all(d_h[8:] == 18.0)


# ----------------------------------------------------------------------------- cyclic
@pytest.mark.parametrize("kind", ["digraph", "ring"])
@pytest.mark.parametrize("seed", [0, 1])
def test_cyclic_converges_to_recurrent_backprop(kind, seed):
    if kind == "digraph":
        G = random_digraph(15, 45, n_inputs=3, n_outputs=2, seed=seed, delays=(1, 3),
                           output_activation="identity")
    else:
        G = ring(6, n_inputs=3, n_outputs=2, seed=seed, delays=(1, 2), bias_scale=0.2)
    net = compile_graph(scale_to_contractive(G, 0.6))
    assert not net.is_dag
    rng = np.random.default_rng(seed)
    u, y = rng.normal(size=(3, 3)), rng.normal(size=(2, 3))
    g = recurrent_gradient(net, u, y)
    eng = make_engine("vector", net, DIFFUSION, batch=3)
    p = Presenter(eng)
    for _ in range(300):
        p.step(u, y)
    scale = np.abs(g.dw).max()
    np.testing.assert_allclose(eng.state("x"), g.x, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(eng.state("delta"), g.delta, rtol=1e-8,
                               atol=1e-12 * np.abs(g.delta).max())
    np.testing.assert_allclose(eng.state("dw"), g.dw, rtol=1e-8, atol=1e-12 * scale)


# ----------------------------------------------------------------------------- latency
def _two_path_graph(d_long=3):
    G = nx.DiGraph()
    G.add_node("u", role="input")
    G.add_node("h", role="hidden")
    G.add_node("o", role="output", activation="identity")
    G.add_node("p", role="output", activation="identity")
    G.add_edge("u", "h", weight=1.0, delay=1)
    G.add_edge("h", "o", weight=1.0, delay=d_long)
    G.add_edge("u", "o", weight=1.0, delay=2)
    G.add_edge("h", "p", weight=1.0, delay=2)
    return compile_graph(G)


def test_latency_warns_when_paths_differ_and_can_be_overridden():
    net = _two_path_graph()
    with pytest.warns(LocalpropWarning, match=r"output 'o' have different delays \(2 to 4\)"):
        tau = output_latency(net)
    assert tau.tolist() == [2, 3]
    assert output_latency(net, {"o": 4}).tolist() == [4, 3]  # no warning: o is given
    assert output_latency(net, 5).tolist() == [5, 5]
    assert output_latency(net, [1, 0]).tolist() == [1, 0]
    assert output_latency(_two_path_graph(d_long=1), warn=True).tolist() == [2, 3]
    with pytest.raises(ConfigError, match="'zz'"):
        output_latency(net, {"zz": 1})
    with pytest.raises(ConfigError, match="output 'o'"):
        output_latency(net, {"o": -1})


def test_latency_on_cyclic_graphs_and_unreachable_outputs():
    net = compile_graph(ring(4, n_inputs=1, n_outputs=1, seed=0, delays=2))
    assert output_latency(net).tolist() == [2 * (1 + 3 + 1)]  # in → p0 → … → p3 → out
    G = nx.DiGraph()
    G.add_node("u", role="input")
    G.add_node("h", role="hidden")
    G.add_node("o", role="output")
    G.add_edge("u", "h", weight=1.0)
    G.add_edge("o", "o", weight=0.5)
    with pytest.raises(GraphError, match="'o' is not reachable"):  # caught at compile time
        output_latency(compile_graph(G))


def test_presenter_shifts_targets_by_the_latency():
    net = _two_path_graph()
    eng = make_engine("vector", net, DIFFUSION, batch=2)
    with pytest.warns(LocalpropWarning):
        p = Presenter(eng)
    seen = []
    eng.advance = lambda u, y, m: seen.append((y.copy(), m.copy()))
    for s in range(1, 6):
        p.step(np.zeros((1, 2)), np.full((2, 2), float(s)))
    for s, (y, m) in enumerate(seen, start=1):
        assert m.tolist() == [s > 2, s > 3]
        assert y[0, 0] == (s - 2 if s > 2 else 0) and y[1, 0] == (s - 3 if s > 3 else 0)
