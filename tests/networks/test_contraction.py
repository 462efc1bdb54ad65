"""Per-neuron cycle-gain clipping: bound, locality, contraction, DAGs untouched."""

import numpy as np
import pytest

from agents.errors import ConfigError, ConvergenceError
from networks.builders import layered, layered_recurrent
from networks.compile import compile_graph
from networks.contraction import clip_cycle_gain, cycle_edges, cycle_gains
from networks.oracles import fixed_point


def strong_net(seed):
    """A layered-recurrent tanh net whose recurrent weights are far from contractive."""
    G = layered_recurrent([3, 12, 10, 2], "tanh", seed=seed, lateral=0.4, feedback=0.3,
                          recurrent_scale=4.0)
    return compile_graph(G)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_clipped_gains_are_bounded_and_other_weights_unchanged(seed):
    net = strong_net(seed)
    mask = cycle_edges(net)
    assert mask.any() and not mask.all()
    before = cycle_gains(net)
    w = clip_cycle_gain(net, net.weight, 0.9)
    after = cycle_gains(net, w)
    assert after.max() <= 0.9 + 1e-12 and before.max() > 0.9
    assert np.array_equal(w[~mask], net.weight[~mask])  # edges off cycles untouched
    ok = before <= 0.9  # neurons within the bound keep their weights
    assert np.array_equal(w[ok[net.tgt]], net.weight[ok[net.tgt]])
    hit = before > 0.9  # the others are scaled to exactly the bound
    assert np.allclose(after[hit], 0.9)


def test_cycle_edges_are_the_recurrent_edges_of_the_builder():
    G = layered_recurrent([2, 5, 1], "tanh", seed=0, lateral=0.5)
    net = compile_graph(G)
    layer = net.layer
    same_layer = layer[net.src] == layer[net.tgt]
    assert np.array_equal(cycle_edges(net), same_layer)  # self-loops and lateral edges


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clipping_makes_the_forward_fixed_point_unique_and_reachable(seed):
    net = strong_net(seed)
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((3, 16))
    with pytest.raises(ConvergenceError):  # the unclipped net has no reachable fixed point
        fixed_point(net, u, max_iter=2000)
    w = clip_cycle_gain(net, net.weight, 0.9)
    _, x0 = fixed_point(net, u, w, max_iter=2000, tol=1e-12)
    start = rng.uniform(-1, 1, (net.n_nodes, 16))
    _, x1 = fixed_point(net, u, w, max_iter=2000, tol=1e-12, x0=start)
    assert np.abs(x0 - x1).max() < 1e-9


def test_clipping_is_local_to_each_neuron():
    net = strong_net(0)
    w = net.weight.copy()
    base = clip_cycle_gain(net, w, 0.5)
    i = net.tgt[cycle_edges(net)][0]
    into_i = net.tgt == i
    w2 = w.copy()
    w2[into_i] *= 7.0  # perturb only neuron i's in-weights
    moved = clip_cycle_gain(net, w2, 0.5)
    assert np.array_equal(moved[~into_i], base[~into_i])
    assert not np.array_equal(moved[into_i], base[into_i])


def test_dag_and_sigmoid_slope():
    dag = compile_graph(layered([2, 4, 1], "sigmoid", seed=0))
    assert not cycle_edges(dag).any()
    assert np.array_equal(clip_cycle_gain(dag, dag.weight * 50, 0.5), dag.weight * 50)
    G = layered_recurrent([2, 4, 1], "sigmoid", seed=0, recurrent_scale=20.0)
    net = compile_graph(G)
    mask = cycle_edges(net)
    sums = np.zeros(net.n_nodes)
    np.add.at(sums, net.tgt[mask], np.abs(net.weight[mask]))
    assert np.allclose(cycle_gains(net), 0.25 * sums)  # sigmoid slope bound 1/4


@pytest.mark.parametrize("gain", [0, 1, 1.5, -0.1, float("nan"), True, "0.9"])
def test_bad_gain_is_refused(gain):
    net = strong_net(0)
    with pytest.raises(ConfigError, match="cycle gain"):
        clip_cycle_gain(net, net.weight, gain)
