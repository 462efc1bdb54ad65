"""BPTT oracle: engines' trajectory, finite differences, the BP and Almeida–Pineda limits."""

import networkx as nx
import numpy as np
import pytest

from agents.diffusion import DIFFUSION, Presenter
from agents.errors import DataError
from agents.losses import get_loss
from networks.builders import random_dag, random_digraph, ring, scale_to_contractive
from networks.compile import compile_graph
from networks.engines import make_engine
from networks.oracles import (
    bp_gradient,
    bptt_gradient,
    bptt_loss,
    cosine,
    cosine_to_bptt,
    finite_difference,
    recurrent_gradient,
    trajectory,
)
from networks.oracles import bptt as bptt_module


def _cyclic(seed, n=12, gain=None, loss="squared", delays=(1, 3)):
    out = "sigmoid" if loss == "bce" else "tanh"
    G = random_digraph(n, 3 * n, n_inputs=2, n_outputs=2, seed=seed, delays=delays,
                       output_activation=out, bias_scale=0.3, weight_scale=1.3)
    rng = np.random.default_rng(seed + 50)
    for v, role in G.nodes(data="role"):
        if role == "hidden":
            G.nodes[v]["activation"] = str(rng.choice(["tanh", "sigmoid", "identity"]))
    if gain is not None:
        G = scale_to_contractive(G, gain)
    net = compile_graph(G)
    assert not net.is_dag and len(set(net.delay.tolist())) > 1
    return net


def _streams(net, T, B, seed, loss="squared"):
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(T, len(net.input_idx), B))
    shape = (T, len(net.output_idx), B)
    y = rng.uniform(0.1, 0.9, size=shape) if loss == "bce" else rng.normal(size=shape)
    return u, y


def _rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


# ------------------------------------------------------------------------- trajectory
@pytest.mark.parametrize(("kind", "seed"), [("vector", 0), ("vector", 1), ("agent", 2)])
def test_trajectory_is_what_the_engines_compute(kind, seed):
    net = _cyclic(seed)
    u, _ = _streams(net, 15, 3, seed)
    eng = make_engine(kind, net, DIFFUSION, batch=3, record=["x", "a"])
    rec = eng.run(u)
    a, x = trajectory(net, u)
    active = ~net.is_input
    np.testing.assert_allclose(x, rec["x"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a[:, active], rec["a"][:, active], rtol=1e-12, atol=1e-14)


def test_history_continues_a_window():
    net = _cyclic(3)
    u, y = _streams(net, 20, 2, 3)
    _, x = trajectory(net, u)
    D = net.max_delay
    _, x2 = trajectory(net, u[12:], history=x[12 - D:12])
    np.testing.assert_allclose(x2, x[12:], rtol=1e-13, atol=1e-15)
    const = np.random.default_rng(0).normal(size=net.n_nodes)
    eng = make_engine("vector", net, DIFFUSION, batch=2, record=["x"])
    eng.set_state("x", const)
    eng.fill_history()
    np.testing.assert_allclose(trajectory(net, u, history=const)[1], eng.run(u)["x"],
                               rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------ finite differences
@pytest.mark.parametrize(("seed", "loss"), [(0, "squared"), (1, "bce"), (2, "squared"),
                                            (3, "bce")])
def test_gradient_matches_finite_differences_on_cyclic_mixed_delays(seed, loss):
    net = _cyclic(seed, n=9, loss=loss)
    T, B = 14, 2
    u, y = _streams(net, T, B, seed, loss)
    rng = np.random.default_rng(seed + 7)
    mask = rng.random((T, len(net.output_idx), B)) < 0.6
    hist = 0.3 * rng.normal(size=(net.max_delay, net.n_nodes, B))
    kw = {"mask": mask, "latency": [1, 2], "history": hist}
    g = bptt_gradient(net, u, y, loss, **kw)
    assert g.loss == pytest.approx(bptt_loss(net, u, y, loss, **kw), rel=1e-14)
    fd_w = finite_difference(lambda w: bptt_loss(net, u, y, loss, weight=w, **kw),
                             net.weight)
    active = ~net.is_input

    def of_bias(b_active):
        b = net.bias.copy()
        b[active] = b_active
        return bptt_loss(net, u, y, loss, bias=b, **kw)

    fd_b = finite_difference(of_bias, net.bias[active])
    assert _rel(g.dw, fd_w) <= 1e-6
    assert _rel(g.db[active], fd_b) <= 1e-6
    np.testing.assert_allclose(g.dw, fd_w, rtol=1e-6, atol=1e-8 * np.abs(fd_w).max())
    assert np.all(g.db[net.is_input] == 0.0)


def test_input_adjoint_matches_finite_differences():
    net = _cyclic(5, n=8)
    u, y = _streams(net, 10, 1, 5)

    def of_u(flat):
        return bptt_loss(net, flat.reshape(u.shape), y)

    fd = finite_difference(of_u, u).reshape(u.shape)
    g = bptt_gradient(net, u, y)
    assert _rel(g.dx[:, net.input_idx], fd) <= 1e-6


# ---------------------------------------------------------------------------- BP limit
def _dag(seed, loss):
    out = "sigmoid" if loss == "bce" else "identity"
    G = random_dag(16, 45, n_inputs=3, n_outputs=2, seed=seed, delays=(1, 3),
                   output_activation=out, bias_scale=0.3)
    return compile_graph(G)


@pytest.mark.parametrize(("seed", "loss"), [(0, "squared"), (1, "bce"), (2, "squared")])
def test_equals_bp_on_a_dag_under_held_input_once_settled(seed, loss):
    """Loss of one settled step T ≥ 2L + 1 → BP exactly; per-step mean of settled steps too."""
    net = _dag(seed, loss)
    L = nx.dag_longest_path_length(net.graph, weight="delay")
    rng = np.random.default_rng(seed)
    u0 = rng.normal(size=(3, 4))
    y0 = rng.uniform(0.1, 0.9, (2, 4)) if loss == "bce" else rng.normal(size=(2, 4))
    bp = bp_gradient(net, u0, y0, loss)
    T = 2 * L + 1 + 5
    u, y = np.repeat(u0[None], T, 0), np.repeat(y0[None], T, 0)
    last = np.zeros(T, dtype=bool)
    last[-1] = True
    g = bptt_gradient(net, u, y, loss, mask=last, latency=0)
    assert g.loss == pytest.approx(bp.loss, rel=1e-12)
    np.testing.assert_allclose(g.dw, bp.dw, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(g.db, bp.db, rtol=1e-8, atol=1e-12)
    settled = np.arange(1, T + 1) >= 2 * L + 1
    gm = bptt_gradient(net, u, y, loss, mask=settled, latency=0)
    k = settled.sum()
    np.testing.assert_allclose(gm.dw / k, bp.dw, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(gm.db / k, bp.db, rtol=1e-8, atol=1e-12)
    # an unsettled window is not BP: the test can fail
    early = np.arange(1, T + 1) == L
    assert _rel(bptt_gradient(net, u, y, loss, mask=early, latency=0).dw, bp.dw) > 1e-3


# ---------------------------------------------------------------- Almeida–Pineda limit
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tends_to_almeida_pineda_on_a_contractive_cycle(seed):
    net = _cyclic(seed, n=14, gain=0.5)
    rng = np.random.default_rng(seed)
    u0, y0 = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    ap = recurrent_gradient(net, u0, y0)
    errors = []
    for T in (5, 20, 60, 200):
        u, y = np.repeat(u0[None], T, 0), np.repeat(y0[None], T, 0)
        last = np.arange(1, T + 1) == T
        g = bptt_gradient(net, u, y, mask=last, latency=0)
        errors.append(max(_rel(g.dw, ap.dw), _rel(g.db, ap.db)))
    assert errors[-1] <= 1e-8
    assert errors[0] > 1e-3 and errors[0] > errors[1] > errors[2]


def test_ring_with_delays_tends_to_almeida_pineda():
    net = compile_graph(ring(5, seed=4, weight_scale=0.8, delays=(1, 4), bias_scale=0.2))
    u0, y0 = np.array([[0.7]]), np.array([[0.3]])
    ap = recurrent_gradient(net, u0, y0)
    T = 600
    g = bptt_gradient(net, np.repeat(u0[None], T, 0), np.repeat(y0[None], T, 0),
                      mask=np.arange(1, T + 1) == T, latency=0)
    assert _rel(g.dw, ap.dw) <= 1e-8


# ------------------------------------------------------------------ window conventions
def test_latency_and_mask_match_what_diffusion_is_scored_on():
    """With a Presenter, diffusion's output errors are BPTT's ∂ℓ/∂x_o at every step."""
    net = _cyclic(6)
    u, y = _streams(net, 12, 2, 6)
    eng = make_engine("vector", net, DIFFUSION, batch=2, record=["e"])
    pres = Presenter(eng, latency=[1, 3])
    pres.run(u, y)
    g = bptt_gradient(net, u, y, latency=[1, 3])
    xo = g.x[:, net.output_idx]
    expected = np.where(g.scored, get_loss("squared").grad(xo, g.target), 0.0)
    np.testing.assert_allclose(eng.recording["e"][:, net.output_idx], expected, rtol=1e-12,
                               atol=1e-14)
    assert not g.scored[0, 0].any() and g.scored[1, 0].all() and not g.scored[2, 1].any()
    np.testing.assert_array_equal(g.latency, [1, 3])
    np.testing.assert_allclose(g.target[3:, 1], y[:-3, 1])


def test_default_latency_is_the_forward_latency():
    net = compile_graph(ring(4, seed=0, delays=2))
    u, y = _streams(net, 30, 1, 0)
    g = bptt_gradient(net, u, y)
    assert g.latency.tolist() == [2 * 5]  # input → ring (1 edge) → 3 ring edges → output
    assert not g.scored[:10].any() and g.scored[10:].all()


def test_unscored_window_has_zero_gradient_and_nan_cosine():
    net = _cyclic(1)
    u, y = _streams(net, 6, 1, 1)
    g = bptt_gradient(net, u, y, mask=np.zeros(6, dtype=bool))
    assert g.loss == 0.0 and not g.dw.any() and not g.db.any()
    assert np.isnan(cosine_to_bptt(np.ones_like(g.dw), np.ones_like(g.db), g))


# --------------------------------------------------------------------------- fidelity
def test_cosine_to_bptt():
    net = _cyclic(2)
    u, y = _streams(net, 10, 2, 2)
    g = bptt_gradient(net, u, y)
    assert cosine_to_bptt(g.dw, g.db, g) == pytest.approx(1.0)
    assert cosine_to_bptt(-3 * g.dw, -3 * g.db, g) == pytest.approx(-1.0)
    noise = np.random.default_rng(0).normal(size=g.dw.shape)
    c = cosine_to_bptt(g.dw + noise * np.linalg.norm(g.dw), g.db, g, bias=False)
    assert -1.0 < c < 1.0
    assert c == pytest.approx(cosine(g.dw + noise * np.linalg.norm(g.dw), g.dw))
    with pytest.raises(DataError, match="edges"):
        cosine_to_bptt(g.dw[:-1], g.db, g)
    with pytest.raises(DataError, match="sizes"):
        cosine([1.0, 2.0], [1.0])


# ----------------------------------------------------------------------------- errors
def test_bad_streams_are_named():
    net = _cyclic(0)
    u, y = _streams(net, 5, 2, 0)
    with pytest.raises(DataError, match=r"expected \(T, 2, B\)"):
        bptt_gradient(net, u[:, :1], y)
    with pytest.raises(DataError, match="u has 5 steps"):
        bptt_gradient(net, u, y[:4])
    bad = u.copy()
    bad[3, 1, 0] = np.nan
    with pytest.raises(DataError, match=r"step 4, input neuron row 1, example 0"):
        bptt_gradient(net, bad, y)
    with pytest.raises(DataError, match="mask has shape"):
        bptt_gradient(net, u, y, mask=np.ones((5, 3), dtype=bool))
    with pytest.raises(DataError, match="mask must be boolean"):
        bptt_gradient(net, u, y, mask=np.ones(5))
    with pytest.raises(DataError, match="history has shape"):
        bptt_gradient(net, u, y, history=np.zeros(3))


def test_window_size_is_checked_before_allocating(monkeypatch):
    net = _cyclic(0)
    monkeypatch.setattr(bptt_module, "_MAX_CELLS", 100)
    u, y = _streams(net, 10, 2, 0)
    with pytest.raises(DataError, match="T=10 steps"):
        bptt_gradient(net, u, y)


def test_large_network_weight_gradient_path_agrees(monkeypatch):
    net = _cyclic(4, n=10)
    u, y = _streams(net, 8, 2, 4)
    dense = bptt_gradient(net, u, y)
    monkeypatch.setattr(bptt_module, "_DENSE_DW_N", 1)
    np.testing.assert_allclose(bptt_gradient(net, u, y).dw, dense.dw, rtol=1e-12, atol=1e-15)
