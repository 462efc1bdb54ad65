"""Feedback alignment: B = W gives the BP gradient, random B gives the FA update (not
BP), B is drawn from the engine's Generator and never changes, and the rule learns."""

import networkx as nx
import numpy as np
import pytest

import agents
from agents.activations import ActivationMap
from agents.diffusion import DIFFUSION, Presenter, diffusion_edge_update, diffusion_node_update
from agents.errors import ConfigError
from agents.feedback_alignment import FEEDBACK_ALIGNMENT, FAParams
from agents.losses import get_loss
from networks.builders import layered, random_dag, random_digraph
from networks.compile import compile_graph
from networks.engines import ENGINES, make_engine
from networks.oracles import bp_gradient, forward_pass


def _dag(seed, n=20, out_act="identity", act="tanh"):
    return compile_graph(random_dag(n, 3 * n, n_inputs=3, n_outputs=2, seed=seed,
                                    delays=(1, 3), activation=act,
                                    output_activation=out_act))


def _data(seed, loss):
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(3, 4))
    y = rng.normal(size=(2, 4)) if loss == "squared" else rng.integers(0, 2, (2, 4)) * 1.0
    return u, y


def _settled(eng, net, u, y):
    """Hold (u, y) until both waves have settled (2 × longest path delay + latency);
    return the recording of the 5 steps after that."""
    p = Presenter(eng, warn=False)
    longest = nx.dag_longest_path_length(net.graph, weight="delay")
    steps = 2 * longest + int(p.latency.max()) + 1
    for _ in range(steps + 5):
        p.step(u, y)
    return {k: v[-5:] for k, v in eng.recording.items()}


def fa_update(net, B, u, y, loss):
    """The FA update on a DAG under held input, computed globally (test oracle):
    x = forward pass, δ = σ'(a) ⊙ (e + Bᵀ δ) (exact after depth iterations), dw = δ xᵀ."""
    a, x = forward_pass(net, u)
    e = np.zeros_like(x)
    e[net.output_idx] = get_loss(loss).grad(x[net.output_idx], y)
    MB = np.zeros((net.n_nodes, net.n_nodes))
    MB[net.tgt, net.src] = B
    df = ActivationMap(list(net.activation)).df(a, x)
    delta = np.zeros_like(x)
    for _ in range(net.n_nodes):
        delta = np.where(net.is_input[:, None], 0.0, df * (e + MB.T @ delta))
    return delta, np.einsum("eb,eb->e", delta[net.tgt], x[net.src])


def test_registered_and_built_from_diffusion():
    assert agents.RULES["fa"] is FEEDBACK_ALIGNMENT
    stage, base = FEEDBACK_ALIGNMENT.stages[0], DIFFUSION.stages[0]
    assert stage.node_update is diffusion_node_update
    assert stage.edge_update is diffusion_edge_update
    assert [ch.weight for ch in stage.channels] == ["weight", "feedback"]
    assert [ch.weight for ch in base.channels] == ["weight", "weight"]


@pytest.mark.parametrize(("engine_kind", "seed"), [("vector", 0), ("vector", 1),
                                                   ("vector", 2), ("agent", 3)])
def test_with_feedback_equal_to_the_weights_it_is_the_bp_gradient(engine_kind, seed):
    loss = ["squared", "bce"][seed % 2]
    net = _dag(seed, out_act="identity" if loss == "squared" else "sigmoid",
               act=["tanh", "sigmoid"][seed % 2])
    u, y = _data(seed, loss)
    g = bp_gradient(net, u, y, loss)
    eng = make_engine(engine_kind, net, FEEDBACK_ALIGNMENT,
                      {"loss": loss, "feedback": "weight"}, batch=4, rng=seed,
                      record=["dw", "delta"])
    np.testing.assert_array_equal(eng.state("feedback"), net.weight)
    rec = _settled(eng, net, u, y)
    scale = np.abs(g.dw).max()
    for t in range(5):
        np.testing.assert_allclose(rec["dw"][t], g.dw, rtol=1e-10, atol=1e-13 * scale)
        np.testing.assert_allclose(rec["delta"][t], g.delta, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize(("engine_kind", "seed", "feedback"),
                         [("vector", 0, "normal"), ("vector", 1, "uniform"),
                          ("agent", 2, "normal")])
def test_with_random_feedback_it_is_the_fa_update_not_bp(engine_kind, seed, feedback):
    net = _dag(seed)
    u, y = _data(seed, "squared")
    eng = make_engine(engine_kind, net, FEEDBACK_ALIGNMENT, {"feedback": feedback},
                      batch=4, rng=seed, record=["dw", "delta"])
    B = eng.state("feedback")
    rec = _settled(eng, net, u, y)
    delta, dw = fa_update(net, B, u, y, "squared")
    np.testing.assert_allclose(rec["dw"][-1], dw, rtol=1e-10, atol=1e-13 * np.abs(dw).max())
    np.testing.assert_allclose(rec["delta"][-1], delta, rtol=1e-10, atol=1e-13)
    g = bp_gradient(net, u, y)
    # into a neuron without children δ = σ'(a) e, as in BP; elsewhere B replaces W
    hidden_edges = np.diff(net.out_ptr)[net.tgt] > 0
    assert (~hidden_edges).any() and hidden_edges.any()
    np.testing.assert_allclose(dw[~hidden_edges], g.dw[~hidden_edges], rtol=1e-10)
    cos = dw @ g.dw / np.linalg.norm(dw) / np.linalg.norm(g.dw)
    assert np.abs(dw - g.dw)[hidden_edges].max() > 1e-2 * np.abs(g.dw).max()
    assert cos < 0.99


@pytest.mark.parametrize("engine_kind", sorted(ENGINES))
def test_feedback_is_fixed_while_the_weights_learn(engine_kind):
    net = compile_graph(random_digraph(15, 45, n_inputs=3, n_outputs=2, seed=4,
                                       delays=(1, 2), weight_scale=0.5))
    eng = make_engine(engine_kind, net, FEEDBACK_ALIGNMENT, {"eta": 0.1}, batch=2, rng=4,
                      record=["feedback", "weight"])
    rng = np.random.default_rng(4)
    rec = eng.run(rng.normal(size=(30, 3, 2)), rng.normal(size=(30, 2, 2)))
    assert np.ptp(rec["weight"], axis=0).max() > 1e-3
    assert np.ptp(rec["feedback"], axis=0).max() == 0.0
    assert not np.allclose(rec["feedback"][0], net.weight)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_feedback_distribution_is_the_documented_one(seed):
    net = compile_graph(layered([50, 200, 20], seed=seed))  # E = 14000 edges
    fan_in = np.bincount(net.tgt, minlength=net.n_nodes)[net.tgt]
    for feedback, scale in (("normal", 1.0), ("uniform", 0.5), ("normal", 2.0)):
        eng = make_engine("vector", net, FEEDBACK_ALIGNMENT,
                          {"feedback": feedback, "feedback_scale": scale}, rng=seed)
        z = eng.state("feedback") * np.sqrt(fan_in) / scale   # standardised
        assert abs(z.mean()) < 0.045 and abs(z.std() - 1.0) < 0.03, (feedback, z.std())  # 5σ
        if feedback == "uniform":
            assert np.abs(z).max() <= np.sqrt(3.0)
        again = make_engine("agent", net, FEEDBACK_ALIGNMENT,
                            {"feedback": feedback, "feedback_scale": scale}, rng=seed)
        np.testing.assert_array_equal(again.state("feedback"), eng.state("feedback"))
    other = make_engine("vector", net, FEEDBACK_ALIGNMENT, rng=seed + 10)
    assert not np.allclose(other.state("feedback"), eng.state("feedback"))


@pytest.mark.parametrize(("field", "value"), [("feedback", "orthogonal"),
                                              ("feedback_scale", 0.0),
                                              ("feedback_scale", float("inf")),
                                              ("feedback_scale", True), ("eta", -1.0),
                                              ("loss", "hinge")])
def test_params_are_validated_naming_the_field(field, value):
    with pytest.raises(ConfigError, match=f"feedback-alignment parameter '{field}'"):
        FAParams(**{field: value})
    with pytest.raises(ConfigError, match="unknown parameter 'rho' for rule 'fa'"):
        FEEDBACK_ALIGNMENT.make_params({"rho": 1.0})


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learns_xor_with_random_feedback(seed):
    """XOR needs the hidden layer, which learns only through the random feedback."""
    u = np.array([[-1.0, -1.0, 1.0, 1.0], [-1.0, 1.0, -1.0, 1.0]])
    y = np.array([[0.0, 1.0, 1.0, 0.0]])
    net = compile_graph(layered([2, 8, 1], "tanh", "sigmoid", seed=seed, bias_scale=0.5))
    eng = make_engine("vector", net, FEEDBACK_ALIGNMENT, {"eta": 0.5, "loss": "bce"},
                      batch=4, rng=seed)
    before = forward_pass(net, u)[1][net.output_idx]
    p = Presenter(eng)
    for _ in range(600):
        p.step(u, y)
    _, x = forward_pass(net, u, eng.state("weight"), eng.state("bias"))
    out = x[net.output_idx]
    assert np.array_equal(out > 0.5, y > 0.5), out
    bce = get_loss("bce")
    assert bce.value(out, y).sum() < 0.2 * bce.value(before, y).sum()
