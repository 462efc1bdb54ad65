"""BPTT of the forward predictor: BP on DAGs, Almeida–Pineda at a fixed point, else finite."""

import numpy as np
import pytest

from agents.errors import ConvergenceError, DataError
from networks.builders import layered, layered_recurrent, random_dag, scale_to_contractive
from networks.compile import compile_graph
from networks.oracles import (
    bp_gradient,
    exact_gradient,
    finite_difference,
    recurrent_gradient,
    settle_steps,
    settled_bptt_gradient,
)


def data(n_in, n_out, B, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n_in, B)), rng.uniform(0.05, 0.95, size=(n_out, B))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("loss", ["squared", "bce"])
def test_on_a_dag_it_is_bp_exactly(seed, loss):
    for G in (layered([3, 7, 5, 2], "tanh", "sigmoid", seed=seed),
              random_dag(12, 30, n_inputs=3, n_outputs=2, seed=seed, delays=(1, 3))):
        net = compile_graph(G)
        u, y = data(3, 2, 9, seed)
        s, g = settled_bptt_gradient(net, u, y, loss), bp_gradient(net, u, y, loss)
        assert s.settled
        np.testing.assert_allclose(s.dw, g.dw, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(s.db, g.db, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("seed", [0, 3])
def test_at_a_stable_fixed_point_it_is_almeida_pineda(seed):
    G = scale_to_contractive(layered_recurrent([2, 12, 1], "tanh", "sigmoid", seed=seed,
                                               self_loops=True, lateral=0.4), gain=0.9)
    net = compile_graph(G)
    u, y = data(2, 1, 20, seed)
    s, g = settled_bptt_gradient(net, u, y), recurrent_gradient(net, u, y)
    assert s.settled and s.steps < 1000
    np.testing.assert_allclose(s.dw, g.dw, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(s.db, g.db, rtol=1e-7, atol=1e-9)


def test_without_a_fixed_point_it_is_the_gradient_over_the_predictors_window():
    net = compile_graph(layered_recurrent([2, 6, 1], "tanh", "sigmoid", seed=1,
                                          self_loops=True, lateral=0.5))
    w = net.weight * 6.0
    u, y = data(2, 1, 3, 1)
    with pytest.raises(ConvergenceError):
        exact_gradient(net, u, y, weight=w)
    assert settle_steps(net, u, w, max_steps=300) == (300, False)
    s = settled_bptt_gradient(net, u, y, weight=w, max_steps=40)
    assert not s.settled and s.steps == 40
    assert np.isfinite(s.dw).all() and np.abs(s.dw).max() > 0
    # it is the gradient of the loss at the last of the 40 steps (finite differences)
    from networks.oracles import bptt_loss
    mask = np.zeros(40, dtype=bool)
    mask[-1] = True

    def last_step_loss(wv):
        return bptt_loss(net, np.broadcast_to(u, (40, 2, 3)), np.broadcast_to(y, (40, 1, 3)),
                         weight=wv, mask=mask, latency=0)

    fd = finite_difference(last_step_loss, w, eps=1e-6)
    np.testing.assert_allclose(s.dw, fd, rtol=1e-4, atol=1e-6)


def test_chunks_over_examples_do_not_change_the_sum():
    net = compile_graph(scale_to_contractive(layered_recurrent(
        [2, 8, 1], "tanh", "sigmoid", seed=4, lateral=0.3), gain=0.8))
    u, y = data(2, 1, 30, 4)
    a = settled_bptt_gradient(net, u, y)
    b = settled_bptt_gradient(net, u, y, chunk_cells=1)  # one example per chunk
    np.testing.assert_allclose(a.dw, b.dw, rtol=1e-12, atol=1e-15)
    assert a.loss == pytest.approx(b.loss, rel=1e-12)


def test_bad_shapes_are_refused():
    net = compile_graph(layered([2, 3, 1], seed=0))
    with pytest.raises(DataError):
        settled_bptt_gradient(net, np.zeros((3, 4)), np.zeros((1, 4)))
    with pytest.raises(DataError):
        settled_bptt_gradient(net, np.zeros((2, 4)), np.zeros((1, 5)))
