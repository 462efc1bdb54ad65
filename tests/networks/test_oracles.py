"""Oracles: BP and recurrent backprop against finite differences and each other."""

import networkx as nx
import numpy as np
import pytest

from agents.activations import ACTIVATIONS
from agents.errors import ConvergenceError, DataError, GraphError
from agents.losses import get_loss
from networks import oracles
from networks.builders import layered, random_dag, random_digraph, scale_to_contractive
from networks.compile import compile_graph
from networks.oracles import (
    Gradient,
    bp_gradient,
    exact_gradient,
    finite_difference,
    fixed_point,
    forward_pass,
    recurrent_gradient,
    total_loss,
)

B = 3


def _mix_activations(G, seed, hidden=("tanh", "sigmoid", "identity")):
    """Give hidden nodes a random mix of activations (exercises ActivationMap groups)."""
    rng = np.random.default_rng(seed + 1000)
    for n, role in G.nodes(data="role"):
        if role == "hidden":
            G.nodes[n]["activation"] = str(rng.choice(hidden))
    return G


def _data(net, seed, loss):
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(len(net.input_idx), B))
    n_out = len(net.output_idx)
    y = rng.uniform(0.05, 0.95, size=(n_out, B)) if loss == "bce" else rng.normal(size=(n_out, B))
    return u, y


def _dag(n_nodes, seed, loss):
    out = "sigmoid" if loss == "bce" else "identity"
    G = random_dag(n_nodes, 3 * n_nodes, n_inputs=3, n_outputs=2, seed=seed,
                   output_activation=out, bias_scale=0.3)
    return compile_graph(_mix_activations(G, seed))


def _cyclic(n_nodes, seed, loss, gain=0.5):
    out = "sigmoid" if loss == "bce" else "tanh"
    G = random_digraph(n_nodes, 3 * n_nodes, n_inputs=3, n_outputs=2, seed=seed,
                       output_activation=out, bias_scale=0.3)
    return compile_graph(scale_to_contractive(_mix_activations(G, seed), gain))


def _close(actual, desired, rtol=1e-6):
    atol = 1e-7 * float(np.max(np.abs(desired)))
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=atol)


def _reference_forward(net, u, offset=None):
    """Node-by-node forward pass straight from the nx graph (independent of oracles)."""
    G = net.graph
    x = np.zeros((net.n_nodes, u.shape[1]))
    for n in nx.topological_sort(G):
        i = net.index[n]
        if net.is_input[i]:
            x[i] = u[list(net.input_idx).index(i)]
        else:
            a = G.nodes[n]["bias"] + sum(d["weight"] * x[net.index[j]]
                                         for j, _, d in G.in_edges(n, data=True))
            x[i] = ACTIVATIONS[G.nodes[n]["activation"]].f(a)
        if offset is not None:
            x[i] += offset[i]
    return x


# ----------------------------------------------------------------- BP on DAGs


@pytest.mark.parametrize("loss", ["squared", "bce"])
@pytest.mark.parametrize("n_nodes,seed", [(10, 0), (25, 1), (40, 2), (18, 3)])
def test_bp_matches_finite_differences(n_nodes, seed, loss):
    net = _dag(n_nodes, seed, loss)
    u, y = _data(net, seed, loss)
    g = bp_gradient(net, u, y, loss)
    assert g.dw.shape == (net.n_edges,) and g.db.shape == (net.n_nodes,)
    assert g.delta.shape == g.dx.shape == g.x.shape == (net.n_nodes, B)
    assert g.loss == pytest.approx(total_loss(net, forward_pass(net, u)[1], y, loss))
    fd_w = finite_difference(
        lambda w: total_loss(net, forward_pass(net, u, weight=w)[1], y, loss), net.weight)
    fd_b = finite_difference(
        lambda b: total_loss(net, forward_pass(net, u, bias=b)[1], y, loss), net.bias)
    _close(g.dw, fd_w)
    _close(g.db[~net.is_input], fd_b[~net.is_input])
    assert np.all(fd_b[net.is_input] == 0)  # input biases are ignored (inputs clamped)
    assert np.all(g.db[net.is_input] == 0) and np.all(g.delta[net.is_input] == 0)
    assert np.linalg.norm(g.dw) > 1e-3  # a non-trivial gradient was checked


@pytest.mark.parametrize("loss", ["squared", "bce"])
@pytest.mark.parametrize("seed", [4, 5])
def test_dx_is_total_derivative_wrt_node_value(seed, loss):
    """dx_iκ = ∂E/∂x_iκ with x_i shifted by an offset after σ (downstream recomputed)."""
    net = _dag(15, seed, loss)
    u, y = _data(net, seed, loss)
    g = bp_gradient(net, u, y, loss)
    np.testing.assert_allclose(_reference_forward(net, u), g.x, rtol=1e-13, atol=1e-13)
    fd = finite_difference(
        lambda off: total_loss(net, _reference_forward(net, u, off.reshape(-1, B)), y, loss),
        np.zeros((net.n_nodes, B)))
    _close(g.dx, fd)
    # inputs: dx is ∂E/∂u
    fd_u = finite_difference(lambda v: total_loss(net, forward_pass(net, v.reshape(u.shape))[1],
                                                  y, loss), u)
    _close(g.dx[net.input_idx], fd_u)


def test_multiplier_satisfies_lp_stationarity():
    """λ = −dx makes ∂L/∂x = e + λ − Wᵀ(σ' λ) vanish and ∂L/∂w = −σ'λ xᵀ equal dw (G=lin)."""
    net = _dag(20, 6, "squared")
    u, y = _data(net, 6, "squared")
    g = bp_gradient(net, u, y)
    W = net.weight_matrix()
    e = np.zeros_like(g.x)
    e[net.output_idx] = g.x[net.output_idx] - y
    slope = np.ones_like(g.x)
    hid = ~net.is_input
    for i in np.flatnonzero(hid):
        slope[i] = ACTIVATIONS[net.activation[i]].df(g.a[i], g.x[i])
    s = np.where(hid[:, None], g.lam * slope, 0.0)
    dL_dx = e + g.lam - W.T @ s
    np.testing.assert_allclose(dL_dx[hid], 0.0, atol=1e-13)
    np.testing.assert_allclose(-(s @ g.x.T)[net.tgt, net.src], g.dw, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(g.lam, -g.dx)


def test_forward_pass_matches_reference_and_fixed_point():
    for seed in range(3):
        net = _dag(30, seed, "squared")
        u, _ = _data(net, seed, "squared")
        a, x = forward_pass(net, u)
        np.testing.assert_allclose(x, _reference_forward(net, u), rtol=1e-13, atol=1e-13)
        np.testing.assert_array_equal(x[net.input_idx], u)
        np.testing.assert_array_equal(a[net.input_idx], 0.0)
        a2, x2 = fixed_point(net, u)
        np.testing.assert_allclose(x2, x, rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(a2, a, rtol=1e-13, atol=1e-14)


def test_layered_net_and_one_dimensional_data():
    net = compile_graph(layered([4, 6, 5, 2], "tanh", "sigmoid", seed=0, bias_scale=0.2))
    u = np.linspace(-1, 1, 4)
    y = np.array([0.2, 0.9])
    g = bp_gradient(net, u, y, "bce")
    assert g.x.shape == (net.n_nodes, 1)
    g2 = bp_gradient(net, u[:, None], y[:, None], "bce")
    np.testing.assert_array_equal(g.dw, g2.dw)
    fd = finite_difference(
        lambda w: total_loss(net, forward_pass(net, u, weight=w)[1], y, "bce"), net.weight)
    _close(g.dw, fd)


# ----------------------------------------------------------- recurrent backprop


@pytest.mark.parametrize("loss", ["squared", "bce"])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_recurrent_gradient_matches_finite_differences(seed, loss):
    net = _cyclic(20 + 4 * seed, seed, loss)
    assert not net.is_dag
    u, y = _data(net, seed, loss)
    g = recurrent_gradient(net, u, y, loss)
    a, x = fixed_point(net, u, tol=1e-15, max_iter=20_000)
    np.testing.assert_allclose(g.x, x, atol=1e-12)

    def E_w(w):
        return total_loss(net, fixed_point(net, u, weight=w, x0=x, tol=1e-15)[1], y, loss)

    def E_b(b):
        return total_loss(net, fixed_point(net, u, bias=b, x0=x, tol=1e-15)[1], y, loss)

    _close(g.dw, finite_difference(E_w, net.weight))
    hid = ~net.is_input
    _close(g.db[hid], finite_difference(E_b, net.bias)[hid])
    # the adjoint equation δ = σ'(a) (e + Wᵀ δ) holds and dx is its bracket
    W = net.weight_matrix()
    e = np.zeros_like(x)
    e[net.output_idx] = get_loss(loss).grad(g.x[net.output_idx], y)
    np.testing.assert_allclose(g.dx, e + W.T @ g.delta, atol=1e-12)
    assert exact_gradient(net, u, y, loss).dw == pytest.approx(g.dw, rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("loss", ["squared", "bce"])
def test_recurrent_equals_bp_on_dag(loss):
    for seed in range(3):
        net = _dag(30, seed, loss)
        u, y = _data(net, seed, loss)
        bp, rec = bp_gradient(net, u, y, loss), recurrent_gradient(net, u, y, loss)
        assert rec.loss == pytest.approx(bp.loss, rel=1e-12)
        for name in ("dw", "db", "delta", "dx", "a", "x"):
            np.testing.assert_allclose(getattr(rec, name), getattr(bp, name),
                                       rtol=1e-10, atol=1e-10, err_msg=name)
        assert isinstance(exact_gradient(net, u, y, loss), Gradient)


def test_large_network_adjoint_solvers_agree_with_dense(monkeypatch):
    net = _cyclic(60, 7, "squared")
    u, y = _data(net, 7, "squared")
    dense = recurrent_gradient(net, u, y)
    monkeypatch.setattr(oracles.recurrent, "_DENSE_MAX_N", 10)
    sparse = recurrent_gradient(net, u, y)
    np.testing.assert_allclose(sparse.delta, dense.delta, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(sparse.dw, dense.dw, rtol=1e-10, atol=1e-14)
    # GMRES failing → the direct sparse LU fallback gives the same answer
    monkeypatch.setattr(oracles.recurrent.spla, "gmres",
                        lambda M, rhs, **kw: (np.zeros_like(rhs), 1))
    direct = recurrent_gradient(net, u, y)
    np.testing.assert_allclose(direct.delta, dense.delta, rtol=1e-10, atol=1e-14)


def test_parameter_overrides_match_a_recompiled_graph():
    net = _cyclic(20, 8, "squared")
    u, y = _data(net, 8, "squared")
    rng = np.random.default_rng(0)
    w2, b2 = net.weight * 0.9, net.bias + 0.1 * rng.normal(size=net.n_nodes)
    G = net.graph.copy()
    for k, (j, i) in enumerate(zip(net.src, net.tgt, strict=True)):
        G.edges[net.node_ids[j], net.node_ids[i]]["weight"] = float(w2[k])
    for n in G.nodes:
        G.nodes[n]["bias"] = float(b2[net.index[n]]) if G.nodes[n]["role"] != "input" else 0.0
    g1 = recurrent_gradient(net, u, y, weight=w2, bias=b2)
    g2 = recurrent_gradient(compile_graph(G), u, y)
    np.testing.assert_allclose(g1.dw, g2.dw, rtol=1e-12, atol=1e-15)
    assert not np.allclose(g1.dw, recurrent_gradient(net, u, y).dw)


# ----------------------------------------------------------------------- errors


def _ring(weight, activation="identity", n=3):
    G = nx.DiGraph()
    G.add_node("in", role="input")
    for k in range(n):
        G.add_node(f"h{k}", role="output" if k == n - 1 else "hidden", activation=activation)
        G.add_edge(f"h{k}", f"h{(k + 1) % n}", weight=weight)
    G.add_edge("in", "h0", weight=1.0)
    return compile_graph(G)


def test_fixed_point_divergence_raises_convergence_error():
    net = _ring(2.0)
    with pytest.raises(ConvergenceError, match="diverged") as info:
        fixed_point(net, np.ones(1))
    msg = str(info.value)
    assert "iterations" in msg and "smaller weight scale" in msg and "contractive" in msg
    with pytest.raises(ConvergenceError):
        recurrent_gradient(net, np.ones(1), np.zeros(1))


def test_fixed_point_oscillation_names_residual_iterations_and_neuron():
    net = _ring(-1.0, n=2)  # x ↦ −x on the loop: a 2-cycle, never settles
    with pytest.raises(ConvergenceError, match=r"after 50 iterations") as info:
        fixed_point(net, np.ones(1), max_iter=50)
    msg = str(info.value)
    assert "residual" in msg and "neuron 'h" in msg and "smaller weight scale" in msg


def test_cyclic_graph_rejected_by_dag_oracles():
    net = _ring(0.5, activation="tanh")
    with pytest.raises(GraphError, match="cycle.*fixed_point"):
        forward_pass(net, np.ones(1))
    with pytest.raises(GraphError, match="cycle"):
        bp_gradient(net, np.ones(1), np.zeros(1))
    g = exact_gradient(net, np.ones(1), np.zeros(1))  # dispatches to recurrent backprop
    assert g.dw.shape == (net.n_edges,)


def test_bad_data_raises_data_error():
    net = _dag(12, 0, "squared")
    u, y = _data(net, 0, "squared")
    with pytest.raises(DataError, match=r"\(2, 3\).*expected \(3, B\)"):
        forward_pass(net, u[:2])
    with pytest.raises(DataError, match=r"y has shape \(3, 3\).*expected \(2, B\)"):
        bp_gradient(net, u, np.zeros((3, B)))
    with pytest.raises(DataError, match="2 examples"):
        bp_gradient(net, u, y[:, :2])
    bad = u.copy()
    bad[1, 2] = np.nan
    with pytest.raises(DataError, match=r"u\[1, 2\] is nan"):
        fixed_point(net, bad)
    with pytest.raises(DataError, match=r"weight has shape \(3,\)"):
        forward_pass(net, u, weight=np.zeros(3))
    with pytest.raises(DataError, match="bias has shape"):
        recurrent_gradient(net, u, y, bias=np.zeros(2))


def test_finite_difference_of_known_function():
    theta = np.array([[1.0, -2.0], [0.5, 3.0]])
    g = finite_difference(lambda t: float(np.sum(t**3)), theta)
    assert g.shape == theta.shape
    np.testing.assert_allclose(g, 3 * theta**2, rtol=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_edge_products_equal_the_per_edge_sums(seed):
    from networks.builders import layered_recurrent
    from networks.oracles import edge_products

    rng = np.random.default_rng(seed)
    for G in (layered([3, 5, 2], "tanh", seed=seed),  # dense blocks only
              layered_recurrent([3, 6, 2], "tanh", seed=seed, lateral=0.3),  # mixed
              random_dag(9, 20, n_inputs=2, n_outputs=2, seed=seed)):  # sparse only
        net = compile_graph(G)
        post, pre = rng.normal(size=(2, net.n_nodes, 7))
        ref = np.einsum("eb,eb->e", post[net.tgt], pre[net.src])
        np.testing.assert_allclose(edge_products(net, post, pre), ref, rtol=1e-13,
                                   atol=1e-14)
