"""The rule interface as both engines honour it: a channel weighted by a named edge
variable, and initial state drawn from the engine's seeded Generator."""

import networkx as nx
import numpy as np
import pytest

from agents.errors import ConfigError
from agents.rule import Channel, Rule, Stage, StateVar
from networks.builders import layered, random_digraph
from networks.compile import compile_graph
from networks.engines import ENGINES, engine_rng, make_engine


def _chain():
    """u → h → o, identity activations, weights 2 and 5, unit delays."""
    G = nx.DiGraph()
    G.add_node("u", role="input")
    G.add_node("h", role="hidden", activation="identity")
    G.add_node("o", role="output", activation="identity")
    G.add_edge("u", "h", weight=2.0)
    G.add_edge("h", "o", weight=5.0)
    return G


def _relay(state, inbox, nrn, p):
    return {"x": inbox["fwd"], "m": inbox["bwd"]}


def _relay_rule(weight: str) -> Rule:
    """x_i(t) = Σ_j alt_ij x_j(t − 1); m_i = Σ_h weight_hi x_h(now) (before this update)."""
    return Rule(
        name="relay",
        node_vars=(StateVar("x"), StateVar("m")),
        edge_vars=(StateVar("alt", 3.0, batched=False),),
        stages=(Stage(channels=(Channel("fwd", "x", "forward", weight="alt"),
                                Channel("bwd", "x", "backward", delayed=False,
                                        weight=weight)),
                      node_update=_relay),),
    )


@pytest.mark.parametrize("engine_kind", sorted(ENGINES))
@pytest.mark.parametrize("backward_weight", ["alt", "weight"])
def test_channels_are_weighted_by_the_edge_variable_they_name(engine_kind, backward_weight):
    eng = make_engine(engine_kind, _chain(), _relay_rule(backward_weight), record=["x", "m"])
    eng.set_state("alt", [7.0, 11.0])        # canonical edge order: (u, h), (h, o)
    rec = eng.run(np.arange(1.0, 6.0)[:, None])
    x, m = rec["x"], rec["m"]
    u = np.arange(1.0, 6.0)
    h = np.concatenate([[0.0], 7.0 * u[:-1]])            # x_h(t) = alt_uh u(t − 1)
    o = np.concatenate([[0.0], 11.0 * h[:-1]])           # x_o(t) = alt_ho x_h(t − 1)
    np.testing.assert_array_equal(x[:, 1], h)
    np.testing.assert_array_equal(x[:, 2], o)
    w_ho = 11.0 if backward_weight == "alt" else 5.0      # o sends w_ho x_o to h
    np.testing.assert_array_equal(m[:, 1], w_ho * np.concatenate([[0.0], o[:-1]]))
    np.testing.assert_array_equal(eng.state("weight"), [2.0, 5.0])  # w itself unused


def test_a_channel_weighted_by_an_unknown_variable_is_refused():
    with pytest.raises(ConfigError, match="weighted by unknown edge variable 'B'"):
        Rule(name="bad", node_vars=(StateVar("x"),), edge_vars=(),
             stages=(Stage(channels=(Channel("c", "x", "backward", weight="B"),),
                           node_update=_relay),))
    with pytest.raises(ConfigError, match="initial value of 'x'"):
        Rule(name="bad", node_vars=(StateVar("x", "zero"),), edge_vars=(),
             stages=(Stage(channels=(), node_update=_relay),))


# ----------------------------------------------------------------------------- random init
def _node_init(rng, shape, ctx):
    return rng.normal(size=shape)


def _edge_init(rng, shape, ctx):
    return rng.uniform(-1.0, 1.0, size=shape) / np.sqrt(ctx.fan_in) + 0.0 * ctx.weight


def _random_rule(node_init=_node_init, edge_init=_edge_init) -> Rule:
    return Rule(
        name="random-init",
        node_vars=(StateVar("x"), StateVar("r", node_init),
                   StateVar("q", node_init, batched=False)),
        edge_vars=(StateVar("B", edge_init, batched=False),),
        stages=(Stage(channels=(Channel("net", "x", "forward"),
                                Channel("back", "r", "backward", weight="B")),
                      node_update=lambda s, i, n, p: {"x": n.act.f(i["net"] + i["back"])}),),
    )


def _net(seed):
    return compile_graph(random_digraph(12, 30, n_inputs=2, n_outputs=2, seed=seed,
                                        delays=(1, 3), activation="identity",
                                        output_activation="identity", weight_scale=0.5))


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_random_initial_state_is_drawn_in_canonical_order_from_the_seed(seed):
    net, rule = _net(seed), _random_rule()
    rng = engine_rng(seed)  # the documented order: node vars, then edge vars
    r = rng.normal(size=(net.n_nodes, 3))
    q = rng.normal(size=(net.n_nodes, 1))
    fan_in = np.bincount(net.tgt, minlength=net.n_nodes)[net.tgt]
    B = rng.uniform(-1.0, 1.0, size=net.n_edges) / np.sqrt(fan_in)
    for kind in sorted(ENGINES):
        eng = make_engine(kind, net, rule, batch=3, rng=seed)
        np.testing.assert_array_equal(eng.state("r"), r)
        np.testing.assert_array_equal(eng.state("q"), q[:, 0])
        np.testing.assert_array_equal(eng.state("B"), B)
        for node in (net.node_ids[0], net.node_ids[-1]):   # per neuron, by node id
            k = net.index[node]
            np.testing.assert_array_equal(eng.neuron(node)["r"], r[k])
            got = [e["B"] for e in eng.neuron(node)["in_edges"].values()]
            np.testing.assert_array_equal(got, B[net.in_edges(node)])
        # the delay buffer of r starts at r: step 1 receives Σ_h B_hi r_h(1 − d_hi)
        eng.advance(np.ones((2, 3)))
        M = np.zeros((net.n_nodes, net.n_nodes))
        M[net.tgt, net.src] = B
        hidden = ~net.is_input
        np.testing.assert_allclose(eng.state("x")[hidden], (M.T @ r)[hidden], rtol=1e-12)
    other = make_engine("vector", net, rule, batch=3, rng=seed + 1)
    assert not np.allclose(other.state("B"), B)


@pytest.mark.parametrize("seed", [3, 4])
def test_engines_given_equal_generators_start_and_run_equal(seed):
    """A Generator (not a seed) works too: the agent engine draws the initial state before
    Mesa seeds its stdlib random from the same Generator."""
    net, rule = _net(seed), _random_rule()
    gens = [np.random.default_rng(seed), np.random.default_rng(seed)]
    engines = [make_engine(k, net, rule, batch=2, rng=g, record=["x"])
               for k, g in zip(("agent", "vector"), gens, strict=True)]
    assert [e.rng for e in engines] == gens  # the engine's Generator is the one given
    U = np.random.default_rng(seed).normal(size=(15, 2, 2))
    recs = [e.run(U)["x"] for e in engines]
    np.testing.assert_allclose(recs[0], recs[1], rtol=1e-12, atol=1e-14)
    assert np.ptp(recs[1][-1]) > 1e-3
    np.testing.assert_array_equal(engines[0].state("B"), engines[1].state("B"))


@pytest.mark.parametrize("seed", [0, 5])
def test_an_engine_and_a_builder_with_the_same_seed_draw_different_numbers(seed):
    """Builders draw from default_rng(seed); an engine seeded alike must not repeat those
    draws (random feedback weights N(0, 1/fan_in) would equal a layered net's weights)."""
    np.testing.assert_array_equal(engine_rng(seed).normal(size=4),
                                  np.random.default_rng(np.random.SeedSequence(
                                      seed, spawn_key=(0x656E67,))).normal(size=4))
    assert not np.allclose(engine_rng(seed).normal(size=4),
                           np.random.default_rng(seed).normal(size=4))
    net = compile_graph(layered([5, 4, 3], seed=seed))
    like_builder = _random_rule(node_init=0.0, edge_init=lambda rng, shape, ctx:
                                rng.standard_normal(shape) / np.sqrt(ctx.fan_in))
    B = make_engine("vector", net, like_builder, rng=seed).state("B")
    assert np.abs(B - net.weight).min() > 0
    same_stream = make_engine("vector", net, like_builder, rng=np.random.default_rng(seed))
    np.testing.assert_allclose(same_stream.state("B"), net.weight, rtol=1e-12)  # the trap
    gen = np.random.default_rng(seed)  # a Generator is used as given
    assert make_engine("vector", net, like_builder, rng=gen).rng is gen


@pytest.mark.parametrize("engine_kind", sorted(ENGINES))
def test_reproducible_by_default(engine_kind):
    net, rule = _net(2), _random_rule()
    a, b = (make_engine(engine_kind, net, rule, batch=2) for _ in range(2))
    for name in ("r", "q", "B"):
        np.testing.assert_array_equal(a.state(name), b.state(name))


@pytest.mark.parametrize("engine_kind", sorted(ENGINES))
def test_bad_initialisers_and_seeds_are_named(engine_kind):
    net = _net(0)
    wrong_shape = _random_rule(edge_init=lambda rng, shape, ctx: rng.normal(size=3))
    with pytest.raises(ConfigError, match=r"'B' returned shape \(3,\)"):
        make_engine(engine_kind, net, wrong_shape)
    not_finite = _random_rule(node_init=lambda rng, shape, ctx: np.full(shape, np.inf))
    with pytest.raises(ConfigError, match="'r' returned a non-finite value"):
        make_engine(engine_kind, net, not_finite)
    for bad in ("seed", -1, 1.5):
        with pytest.raises(ConfigError, match="rng"):
            make_engine(engine_kind, net, _random_rule(), rng=bad)
