"""Engine behaviour beyond the contract (tests/contract): the forward rule's semantics,
dtypes, inspection by node id, node-order invariance, errors, divergence, no aliasing."""

import networkx as nx
import numpy as np
import pytest

from agents.errors import ConfigError, DataError, DivergenceError
from agents.forward import FORWARD
from networks.builders import layered, random_dag, random_digraph
from networks.compile import compile_graph
from networks.engines import AgentEngine, VectorEngine, make_engine
from tests.contract.harness import permute_nodes
from tests.contract.probe_rule import PROBE

RULES = {"forward": FORWARD, "probe": PROBE}


def _graph(kind: str, n: int, seed: int):
    build = random_dag if kind == "dag" else random_digraph
    return build(n, 3 * n, n_inputs=3, n_outputs=2, seed=seed, delays=(1, 3),
                 weight_scale=0.9, activation=["tanh", "sigmoid"][seed % 2],
                 output_activation="identity")


def _drive(engine, steps, seed, n_in, n_out, batch):
    rng = np.random.default_rng(100 + seed)
    shape = (steps, n_in) if batch is None else (steps, n_in, batch)
    U = rng.normal(size=shape)
    Y = rng.normal(size=(steps, n_out) if batch is None else (steps, n_out, batch))
    return engine.run(U, Y)


@pytest.mark.parametrize("engine_kind", ["agent", "vector"])
def test_forward_rule_semantics(engine_kind):
    """a_i(t) = Σ_j w_ij x_j(t − d_ij) + b_i on a hand-made chain with delays 2 and 3."""
    G = nx.DiGraph()
    G.add_node("u", role="input")
    G.add_node("h", role="hidden", activation="identity", bias=0.5)
    G.add_node("o", role="output", activation="identity")
    G.add_edge("u", "h", weight=2.0, delay=2)
    G.add_edge("h", "o", weight=3.0, delay=3)
    eng = make_engine(engine_kind, G, FORWARD, record=["x"])
    U = np.arange(1.0, 11.0)[:, None]           # u(t) = t
    x = eng.run(U)["x"]                          # (T, N)
    t = np.arange(1, 11)
    h = np.where(t - 2 >= 1, 2.0 * (t - 2), 0.0) + 0.5
    o = np.array([3.0 * h[k - 3] if k - 3 >= 0 else 0.0 for k in range(10)])
    np.testing.assert_allclose(x[:, 0], t)
    np.testing.assert_allclose(x[:, 1], h)
    np.testing.assert_allclose(x[:, 2], o)


@pytest.mark.parametrize("engine_kind", ["agent", "vector"])
def test_settled_forward_dynamics_equal_static_pass(engine_kind):
    from networks.oracles import forward_pass
    net = compile_graph(layered([4, 7, 3], seed=2, delays=(1, 3), bias_scale=0.3))
    u = np.random.default_rng(0).normal(size=(4, 5))
    eng = make_engine(engine_kind, net, FORWARD, batch=5)
    eng.run(u, steps=2 * 3 + 1)
    _, x = forward_pass(net, u)
    np.testing.assert_allclose(eng.state("x"), x, rtol=1e-12)


@pytest.mark.parametrize("engine_kind", ["agent", "vector"])
def test_float32_runs(engine_kind):
    net = compile_graph(_graph("cyclic", 20, 3))
    eng = make_engine(engine_kind, net, FORWARD, batch=2, dtype=np.float32)
    eng.run(np.ones((3, 2)), steps=5)
    assert eng.state("x").dtype == np.float32


def test_neuron_inspection_by_id_matches_in_both_engines():
    G = _graph("cyclic", 15, 8)
    net = compile_graph(G)
    engines = [cls(net, PROBE, batch=2) for cls in (AgentEngine, VectorEngine)]
    for eng in engines:
        _drive(eng, 12, 8, 3, 2, 2)
    for node in net.node_ids:
        a, v = (eng.neuron(node) for eng in engines)
        assert set(a["in_edges"]) == set(G.predecessors(node))
        for k in ("x", "delta", "z", "bias"):
            np.testing.assert_allclose(a[k], v[k], rtol=1e-10, atol=1e-14)
        for src in a["in_edges"]:
            assert a["in_edges"][src] == pytest.approx(v["in_edges"][src], rel=1e-10)


@pytest.mark.parametrize("engine_kind", ["agent", "vector"])
def test_bad_data_and_config_are_named(engine_kind):
    G = _graph("dag", 10, 0)
    eng = make_engine(engine_kind, G, FORWARD, batch=2)
    with pytest.raises(DataError, match=r"shape \(3, 2\)"):
        eng.advance(np.zeros((4, 2)))
    bad = np.zeros((3, 2))
    bad[1, 1] = np.nan
    with pytest.raises(DataError, match=r"node 1, example 1"):
        eng.advance(bad)
    with pytest.raises(ConfigError, match="'nope'"):
        make_engine(engine_kind, G, FORWARD, record=["nope"])
    with pytest.raises(ConfigError, match="unknown parameter 'eta'"):
        make_engine(engine_kind, G, FORWARD, params={"eta": 1.0})
    with pytest.raises(ConfigError, match="no neuron 'zz'"):
        eng.neuron("zz")
    with pytest.raises(ConfigError, match="unknown engine"):
        make_engine("gpu", G, FORWARD)


def self_exciting(gain: float) -> nx.DiGraph:
    """input → 1 → out, neuron 1 identity with a self-loop of weight ``gain`` (delay 1)."""
    G = nx.DiGraph()
    G.add_node(0, role="input")
    G.add_node(1, role="hidden", activation="identity")
    G.add_node("out", role="output", activation="identity")
    G.add_edge(0, 1, weight=1.0)
    G.add_edge(1, 1, weight=gain)
    G.add_edge(1, "out", weight=1.0)
    return G


@pytest.mark.parametrize("engine_kind", ["agent", "vector"])
def test_divergence_names_step_neuron_and_variable(engine_kind):
    eng = make_engine(engine_kind, self_exciting(1e200), FORWARD)
    with pytest.raises(DivergenceError, match=r"step 4: variable '(x|a)' of neuron 1"):
        eng.run(np.ones((10, 1)))


@pytest.mark.parametrize("engine_kind", ["agent", "vector"])
@pytest.mark.parametrize("rule", RULES)
def test_results_do_not_depend_on_the_node_order(rule, engine_kind):
    """The vectorised engine reorders neurons internally (inputs first); results must not
    depend on where the user put the inputs in G.nodes. (That both engines agree on such
    graphs is the contract's "permuted" family, tests/contract.)"""
    G0 = _graph("cyclic", 20, 6)
    G = permute_nodes(G0, 0)
    order = list(G.nodes)
    net, net0 = compile_graph(G), compile_graph(G0)
    assert list(net.input_idx) != list(range(len(net.input_idx)))
    idx = [order.index(n) for n in G0.nodes]
    in_rows = [order.index(n) for n in G0.nodes if G0.nodes[n]["role"] == "input"]
    assert sorted(in_rows) == in_rows  # inputs keep their relative order → same u columns
    # random initial values are drawn in canonical order, so they are copied over
    edge_idx = [net.in_edges(net0.node_ids[i])[list(net.src[net.in_edges(net0.node_ids[i])])
                                              .index(net.index[net0.node_ids[j]])]
                for j, i in zip(net0.src, net0.tgt, strict=True)]
    ref_eng = make_engine(engine_kind, net0, RULES[rule], batch=2, record=["x", "weight"])
    permuted = make_engine(engine_kind, net, RULES[rule], batch=2, record=["x", "weight"])
    for var in (*RULES[rule].node_vars, *RULES[rule].edge_vars):
        if callable(var.init):
            value = np.empty_like(permuted.state(var.name))
            value[idx if var in RULES[rule].node_vars else edge_idx] = ref_eng.state(var.name)
            permuted.set_state(var.name, value)
    permuted.fill_history()  # delay buffers start at the initial values
    ref, rec = _drive(ref_eng, 40, 6, 3, 2, 2), _drive(permuted, 40, 6, 3, 2, 2)
    np.testing.assert_allclose(rec["x"][:, idx], ref["x"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rec["weight"][:, edge_idx], ref["weight"], rtol=1e-10,
                               atol=1e-12)
    assert np.ptp(ref["x"][-10:]) > 1e-3


@pytest.mark.parametrize("engine_kind", ["agent", "vector"])
def test_engine_never_writes_into_user_arrays(engine_kind):
    """Found by the property tests: perturbing a clamped input used to write into u."""
    net = compile_graph(_graph("dag", 12, 1))
    U = np.random.default_rng(0).normal(size=(4, 3, 2))
    keep = U.copy()
    eng = make_engine(engine_kind, net, PROBE, batch=2)
    eng.run(U[:2])
    for node in [net.node_ids[k] for k in net.input_idx]:
        eng.perturb_neuron(node, np.random.default_rng(1))
    eng.run(U[2:])
    np.testing.assert_array_equal(U, keep)


@pytest.mark.parametrize("seed", [0, 3])
def test_agent_delay_buffers_hold_past_values_and_are_copied_out(seed):
    """A neuron's ring holds its values of the last ``depth`` steps (copies: its state
    rows are written in place); ``buffers`` hands out copies and
    ``set_buffer`` replaces one, changing what the neuron sends next."""
    G = random_dag(12, 30, n_inputs=2, n_outputs=2, seed=seed, delays=(1, 3))
    eng = AgentEngine(G, PROBE, batch=2, rng=seed)
    U = np.random.default_rng(seed).normal(size=(6, 2, 2))
    history = []
    for u in U:
        eng.advance(u)
        history.append({n: eng.agent(n).state["x"].copy() for n in eng.net.node_ids})
    for node in eng.net.node_ids:
        agent = eng.agent(node)
        ring = agent.buffers["x"]
        assert len(ring) == agent.depth
        for back in range(agent.depth):   # row t % depth holds the value after step t
            t = eng.t - back
            np.testing.assert_array_equal(ring[t % agent.depth], history[t - 1][node])
        ring[0][...] = 99.0               # a copy: the neuron's ring is unchanged
        assert not (agent.buffers["x"][0] == 99.0).any()
    # the value a neuron sends next on its delayed channel comes from the ring
    twin = AgentEngine(G, PROBE, batch=2, rng=seed)
    for u in U:
        twin.advance(u)
    net = eng.net
    i = next(k for k in range(net.n_nodes) if net.out_ptr[k + 1] > net.out_ptr[k])
    node = net.node_ids[i]
    eng.agent(node).set_buffer("x", [np.full(2, 5.0)] * eng.agent(node).depth)
    eng.advance(U[0])
    twin.advance(U[0])
    targets = {net.node_ids[net.tgt[e]]
               for e in net.out_edges[net.out_ptr[i]:net.out_ptr[i + 1]]}
    changed = {n for n in eng.net.node_ids
               if not np.array_equal(eng.agent(n).state["a"], twin.agent(n).state["a"])}
    assert changed and changed <= targets


@pytest.mark.parametrize("rule", ["diffusion", "probe"])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("batch", [None, 3])
def test_perturbing_a_neuron_of_shorter_delays_than_the_network_s_is_equal(rule, seed,
                                                                          batch):
    """Mixed delays: a neuron whose edges are shorter than the network's longest delay
    keeps fewer past values than the vectorised engine's ring has slots. The same
    Generator must still perturb both engines alike (its past values and in-edges)."""
    from agents.diffusion import DIFFUSION
    net = compile_graph(random_digraph(16, 40, n_inputs=3, n_outputs=2, seed=seed,
                                       delays=(1, 3), weight_scale=0.6))
    spec, params = (DIFFUSION, {"eta": 0.05}) if rule == "diffusion" else (PROBE, None)
    engines = [cls(net, spec, params, batch=batch, rng=seed)
               for cls in (AgentEngine, VectorEngine)]
    agent = engines[0]
    short = [n for n in net.node_ids if agent.agent(n).depth < net.max_delay]
    assert short and net.max_delay == 3
    rng = np.random.default_rng(seed)
    shape = (3,) if batch is None else (3, batch)
    U = rng.normal(size=(12, *shape))
    for k in range(12):
        if k in (4, 7):   # after steps 4 and 7 (ring slots at other places)
            for node in (*short[:3], net.node_ids[-1]):
                for eng in engines:
                    eng.perturb_neuron(node, np.random.default_rng([seed, k]))
        for eng in engines:
            eng.advance(U[k])
        for name in (*agent.node_var_names, *agent.edge_var_names):
            np.testing.assert_allclose(agent.state(name), engines[1].state(name),
                                       rtol=1e-9, atol=1e-12, err_msg=f"{name}, step {k + 1}")
