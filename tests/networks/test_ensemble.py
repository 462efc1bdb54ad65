"""Ensembles: every member's trajectory equals its single run; views; shape and param errors."""

from __future__ import annotations

import numpy as np
import pytest

from agents import DIFFUSION, FEEDBACK_ALIGNMENT, LP, LP_TWO_ROUND
from agents.errors import ConfigError, DataError, GraphError
from agents.lp import LPParams
from networks.builders import layered, layered_recurrent, random_digraph, ring
from networks.compile import compile_graph, plan_blocks
from networks.engines import make_engine
from networks.ensemble import Ensemble, chunks
from networks.ensemble_union import union_network

TOL = 1e-12
B, STEPS = 4, 7


def _close(a, b):
    np.testing.assert_allclose(a, b, rtol=0, atol=TOL)


def _data(nets, seed, steps=STEPS):
    """Per-member inputs (T, K, n_in, B) and targets (T, K, n_out, B)."""
    net = compile_graph(nets[0])
    rng = np.random.default_rng(seed)
    K, n_in, n_out = len(nets), len(net.input_idx), len(net.output_idx)
    return (rng.standard_normal((steps, K, n_in, B)),
            rng.uniform(0.1, 0.9, (steps, K, n_out, B)))


def _max_gap(ens, nets, rule, params, seeds, U, Y):
    """Largest |ensemble member − single run| over every variable at every step."""
    names = ens.var_names
    rec = ens.run(U, Y)
    gap = 0.0
    for k, net in enumerate(nets):
        single = make_engine("vector", net, rule, params[k], batch=B, rng=seeds[k],
                             record=names)
        single_rec = single.run(U[:, k], Y[:, k])
        for name in names:
            assert rec[name][:, k].shape == single_rec[name].shape
            gap = max(gap, float(np.abs(rec[name][:, k] - single_rec[name]).max()))
            _close(ens.member(k).state(name), single.state(name))
    return gap


LP_CASES = [
    (LP, LPParams(rho=1.0, optimizer="adam", state_optimizer="sgd")),
    (LP_TWO_ROUND, LPParams(rho=0.5, two_round=True, alpha=1e-3, mu=1e-3)),
]


@pytest.mark.parametrize(("rule", "base"), LP_CASES, ids=["lp", "lp2"])
@pytest.mark.parametrize("seed", [0, 7])
def test_lp_members_equal_single_runs_with_seeds_and_varied_eta(rule, base, seed):
    nets = [layered([3, 6, 5, 2], "sigmoid", seed=seed + k) for k in range(4)]
    params = [LPParams(**{**base.__dict__, "eta_w": 0.01 * (k + 1), "eta_x": 0.1 + 0.05 * k})
              for k in range(4)]
    seeds = [seed + 10 * k for k in range(4)]
    ens = Ensemble(nets, rule, params, batch=B, rng=seeds, record=LP_VARS)
    assert ens.varied == ("eta_w", "eta_x")
    assert _max_gap(ens, nets, rule, params, seeds, *_data(nets, seed)) <= TOL


LP_VARS = tuple(v.name for v in LP.all_node_vars + LP.all_edge_vars)


@pytest.mark.parametrize("seed", [1, 3])
def test_lp_on_cyclic_members(seed):
    nets = [layered_recurrent([2, 5, 2], "tanh", seed=seed + k, lateral=0.0)
            for k in range(3)]
    params = [LPParams(eta_w=0.02, eta_lam=0.05 * (k + 1), rho=1.0) for k in range(3)]
    ens = Ensemble(nets, LP, params, batch=B, rng=seed, record=LP_VARS)
    assert _max_gap(ens, nets, LP, params, [seed] * 3, *_data(nets, seed)) <= TOL


@pytest.mark.parametrize("seed", [0, 5])
@pytest.mark.parametrize("builder", ["layered_recurrent", "ring"])
def test_diffusion_on_cyclic_delayed_members_with_varied_eta(builder, seed):
    if builder == "ring":
        nets = [ring(5, n_inputs=2, n_outputs=2, seed=seed + k, delays=2) for k in range(3)]
    else:
        nets = [layered_recurrent([2, 4, 2], seed=seed + k, delays=2, recurrent_delays=3)
                for k in range(3)]
    params = [{"eta": 0.05 * (k + 1)} for k in range(3)]
    names = tuple(v.name for v in DIFFUSION.all_node_vars + DIFFUSION.all_edge_vars)
    ens = Ensemble(nets, DIFFUSION, params, batch=B, rng=[seed, seed + 1, seed + 2],
                   record=names)
    assert ens.varied == ("eta",)
    gap = _max_gap(ens, nets, DIFFUSION, params, [seed, seed + 1, seed + 2],
                   *_data(nets, seed, steps=12))
    assert gap <= TOL


def test_random_initial_state_is_each_members_own():
    """Feedback alignment draws B from the engine's Generator: member k's from rng[k]."""
    nets = [layered([3, 4, 2], seed=k) for k in range(3)]
    params = [{"eta": 0.1}] * 3
    names = tuple(v.name for v in FEEDBACK_ALIGNMENT.all_node_vars
                  + FEEDBACK_ALIGNMENT.all_edge_vars)
    ens = Ensemble(nets, FEEDBACK_ALIGNMENT, params, batch=B, rng=[4, 5, 6], record=names)
    fb = ens.state("feedback")
    assert not np.allclose(fb[0], fb[1])
    gap = _max_gap(ens, nets, FEEDBACK_ALIGNMENT, params, [4, 5, 6], *_data(nets, 2))
    assert gap <= TOL


def test_member_views_and_shared_inputs():
    nets = [layered([2, 3, 1], seed=k) for k in range(2)]
    ens = Ensemble(nets, LP, {"eta_w": 0.1}, batch=B, rng=[0, 1])
    single = make_engine("vector", nets[1], LP, {"eta_w": 0.1}, batch=B, rng=1)
    u = np.arange(2 * B, dtype=float).reshape(2, B) / 10
    y = np.full((1, B), 0.3)
    for _ in range(3):
        ens.advance(u, y)            # one input for every member
        single.advance(u, y)
    m = ens.member(1)
    for node in (0, 2, 5):
        view, ref = m.neuron(node), single.neuron(node)
        assert view.keys() == ref.keys()
        assert view["in_edges"] == ref["in_edges"]
        _close(view["x"], ref["x"])
    _close(m.weight, single.state("weight"))
    _close(m.bias, single.state("bias"))
    assert ens.state("x").shape == (2, 6, B) and ens.state("weight").shape == (2, 9)
    ens.set_state("lam", 0.0)
    ens.set_state("x", np.ones((6, B)))
    assert np.all(ens.state("x") == 1.0) and np.all(ens.state("lam") == 0.0)
    with pytest.raises(ConfigError, match="no neuron 'h' in ensemble member 1"):
        m.neuron("h")
    with pytest.raises(ConfigError, match="no ensemble member 2"):
        ens.member(2)
    with pytest.raises(DataError, match=r"input u must have shape \(2, 2, 4\)"):
        ens.advance(np.zeros((3, 2, B)))
    with pytest.raises(ConfigError, match="unknown variable 'ensemble_eta_w'"):
        ens.state("ensemble_eta_w")


def test_union_of_layered_members_uses_per_member_dense_blocks():
    nets = [compile_graph(layered([3, 5, 2], seed=k)) for k in range(4)]
    union = union_network(nets)
    assert [b.kind for b in union.blocks] == ["dense"] * 8
    assert union.node_ids[:2] == ((0, 0), (0, 1)) and union.n_edges == 4 * 25
    blocks, order = plan_blocks(union.layer, union.src, union.tgt, union.delay)
    assert blocks == union.blocks and np.array_equal(order, union.block_order)
    G = union.graph          # built on first use, with the members' attributes
    assert G.number_of_nodes() == 4 * 10 and G.number_of_edges() == 4 * 25
    assert G.edges[(2, 0), (2, 3)]["weight"] == nets[2].graph.edges[0, 3]["weight"]
    assert union.graph is G and union.is_dag


def test_members_of_different_shape_are_refused_by_name():
    a = layered([3, 5, 2], seed=0)
    with pytest.raises(GraphError, match="member 2 .* it has 11 nodes, member 0 has 10"):
        Ensemble([a, a, layered([3, 6, 2], seed=0)], LP)
    d1, d2 = random_digraph(8, 14, seed=1), random_digraph(8, 14, seed=2)
    with pytest.raises(GraphError, match="member 1 .*(has|lacks) edge"):
        Ensemble([d1, d2], LP)
    b = layered([3, 5, 2], seed=1)
    b.nodes[8]["role"] = "hidden"
    b.add_edge(8, 9, weight=0.1)
    with pytest.raises(GraphError, match="member 1 .*node 8 is not an output"):
        Ensemble([a, b], LP)


def test_parameters_that_cannot_vary_are_refused():
    nets = [layered([2, 3, 1], seed=k) for k in range(2)]
    with pytest.raises(ConfigError, match="'constraint' differs .*member 1: 'abs'"):
        Ensemble(nets, LP, [{"constraint": "lin"}, {"constraint": "abs"}])
    with pytest.raises(ConfigError, match="params: got 3 values for 2"):
        Ensemble(nets, LP, [{}, {}, {}])
    with pytest.raises(ConfigError, match="one seed or Generator per member"):
        Ensemble(nets, LP, rng=np.random.default_rng(0))
    ens = Ensemble(nets, DIFFUSION, [{"eta": 0.0}, {"eta": 0.1}], batch=B)
    with pytest.raises(ConfigError, match="'eta' is used by the rule as a switch"):
        ens.advance(np.zeros((2, B)), np.zeros((1, B)))


def test_chunks():
    assert chunks(5, 2) == [range(0, 2), range(2, 4), range(4, 5)]
    with pytest.raises(ConfigError):
        chunks(5, 0)


def test_layered_members_run_stacked_products_on_views():
    """Layered members: one batched product per layer pair, on views of the union's arrays."""
    nets = [layered([3, 5, 4, 2], "sigmoid", seed=k) for k in range(3)]
    ens = Ensemble(nets, LP, batch=B)
    eng = ens.engine
    assert eng.stacked
    w = eng._edges["weight"]
    for op in eng._stacked["fwd"][0]:
        W = eng._weights(w, op)
        assert W.shape == (3, *op.shape) and np.shares_memory(W, w)
    assert np.shares_memory(eng.active_rows("x"), eng._nodes["x"])
    ring_ens = Ensemble([ring(5, n_inputs=2, n_outputs=2, seed=k) for k in range(2)], LP)
    assert not ring_ens.engine.stacked   # sparse blocks: the vectorised engine's products
