"""The neuron agent's own storage: in-edge variables that cache the weights' row, and state
dicts sharing one key table; both must behave as the plain dicts they stand for."""

import copy
import pickle

import numpy as np
import pytest

from agents.diffusion import DIFFUSION
from agents.errors import ConfigError
from agents.forward import FORWARD
from agents.plan import EdgeVars
from agents.rule import Channel, Rule, Stage, StateVar
from networks.builders import random_digraph
from networks.compile import compile_graph
from networks.engines import AgentEngine, VectorEngine


def _net(seed):
    return compile_graph(random_digraph(14, 45, n_inputs=3, n_outputs=2, seed=seed,
                                        delays=(1, 2), weight_scale=0.8))


def _paired(net, seed, steps: int):
    """The agent and vectorised engines on ``net`` (diffusion), after 3 equal steps.

    Returns ``agent, vector, rng, U, Y`` with inputs and targets for ``steps`` steps.
    """
    rng = np.random.default_rng(seed)
    agent, vector = (cls(net, DIFFUSION, {"eta": 0.05}, batch=2, rng=seed)
                     for cls in (AgentEngine, VectorEngine))
    U, Y = rng.normal(size=(steps, 3, 2)), rng.normal(size=(steps, 2, 2))
    for k in range(3):
        agent.advance(U[k], Y[k])
        vector.advance(U[k], Y[k])
    return agent, vector, rng, U, Y


def _advance_equal(agent, vector, U, Y, steps: range, names) -> None:
    """Advance both engines over ``steps``; ``names`` agree after each step."""
    for k in steps:
        agent.advance(U[k], Y[k])
        vector.advance(U[k], Y[k])
        for name in names:
            np.testing.assert_allclose(agent.state(name), vector.state(name), rtol=1e-10,
                                       atol=1e-12, err_msg=f"{name} after step {k + 1}")


def _replace(edge_state: dict, value: np.ndarray, how: str) -> None:
    """Replace ``edge_state["weight"]`` by ``value`` the way ``how`` says."""
    if how == "setitem":
        edge_state["weight"] = value
    elif how == "update":
        edge_state.update(weight=value)
    elif how == "ior":
        edge_state |= {"weight": value}
    else:  # pop, then set again
        edge_state.pop("weight")
        edge_state["weight"] = value


@pytest.mark.parametrize("how", ["setitem", "update", "ior", "pop"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weights_written_into_edge_state_are_what_the_next_step_uses(how, seed):
    """A neuron caches the (1, k) row of its weights; writing the dict by any mutator
    (as the explorer does) must change the next step exactly like set_state does in the
    vectorised engine."""
    net = _net(seed)
    agent, vector, rng, U, Y = _paired(net, seed, steps=8)
    w = rng.normal(size=net.n_edges)
    vector.set_state("weight", w)
    for i, node in enumerate(net.node_ids):
        lo, hi = net.in_ptr[i], net.in_ptr[i + 1]
        _replace(agent.agent(node).edge_state, w[lo:hi].copy(), how)
    np.testing.assert_array_equal(agent.state("weight"), w)
    _advance_equal(agent, vector, U, Y, range(3, 8), ("x", "delta", "weight", "dw"))


def test_edge_vars_drop_the_cached_row_on_every_change():
    ev = EdgeVars(weight=np.arange(3.0))
    ev.owner = owner = type("Owner", (), {"_wrow": None})()   # (a neuron keeps a copy)
    row = ev.weight_row()
    assert row.shape == (1, 3) and ev.row is row and owner._wrow is row
    np.testing.assert_array_equal(row[0], ev["weight"])
    for change in (lambda: ev.__setitem__("other", np.zeros(3)),
                   lambda: ev.setdefault("more", np.ones(3)), lambda: ev.popitem(),
                   lambda: ev.__delitem__("other"), lambda: ev.update(more=np.ones(3)),
                   ev.clear):
        if "weight" in ev:
            ev.weight_row()
            assert owner._wrow is ev.row
        change()
        assert ev.row is None and owner._wrow is None


@pytest.mark.parametrize("seed", [0, 3, 7])
def test_state_dicts_are_plain_dicts_private_to_each_neuron(seed):
    net = _net(seed)
    eng = AgentEngine(net, FORWARD, rng=seed)
    eng.run(np.random.default_rng(seed).normal(size=(4, 3)))
    a, b = (eng.agent(n) for n in net.node_ids[-2:])
    assert type(a.state) is dict and list(a.state) == list(b.state)
    before = b.state["x"].copy()
    a.state["x"] = np.full((1, 1), 7.0)
    a.state["extra"] = np.zeros((1, 1))    # a new key in one neuron only
    assert "extra" not in b.state
    np.testing.assert_array_equal(b.state["x"], before)
    assert eng.agent(net.node_ids[-2]).state["x"][0, 0] == 7.0


@pytest.mark.parametrize("copier", [copy.copy, copy.deepcopy,
                                    lambda ev: pickle.loads(pickle.dumps(ev))])
def test_edge_vars_copies_make_their_own_row(copier):
    ev = EdgeVars(weight=np.arange(4.0))
    ev.weight_row()
    twin = copier(ev)
    assert type(twin) is EdgeVars and twin.row is None
    np.testing.assert_array_equal(twin.weight_row()[0], ev["weight"])
    assert np.shares_memory(twin.row, twin["weight"])


# ------------------------------------------------------------------ node values in rows
def _returning(kind: str):
    """A forward rule whose update returns x and a in the form ``kind``."""
    def update(state, inbox, nrn, params):
        a = inbox["net"] + state["bias"]
        x = np.tanh(a)
        if kind == "float32":
            return {"a": a.astype(np.float32), "x": x}
        if kind == "int":                         # an integer array: cast, like the vector engine
            return {"a": np.rint(10 * a).astype(np.int64), "x": x}
        if kind == "unbatched":                   # (n, 1): broadcast to (n, B)
            return {"a": a[:, :1], "x": x}
        if kind == "scalar":                      # a number: broadcast to every row
            return {"a": 0.25, "x": x}
        if kind == "inbox":                       # the inbox array itself (the update's own)
            return {"a": inbox["net"], "x": x}
        if kind == "undeclared":
            return {"a": a, "x": x, "y": a}
        if kind == "wide":                        # more values than the neuron has
            return {"a": np.zeros((2, 5)), "x": x}
        raise AssertionError(kind)

    return Rule(name=f"ret-{kind}", node_vars=(StateVar("x"), StateVar("a")), edge_vars=(),
                stages=(Stage(channels=(Channel("net", "x", "forward"),),
                              node_update=update),))


@pytest.mark.parametrize("kind", ["float32", "int", "unbatched", "scalar", "inbox"])
@pytest.mark.parametrize("batch", [None, 3])
@pytest.mark.parametrize("seed", [0, 4])
def test_returned_values_are_stored_cast_and_broadcast_as_the_vector_engine_does(kind, batch,
                                                                                 seed):
    """A neuron copies what its update returns into its own rows: numbers, other dtypes
    and (n, 1) values come out as the vectorised engine stores them."""
    net = _net(seed)
    rule = _returning(kind)
    rng = np.random.default_rng(seed)
    U = rng.normal(size=(5, 3) if batch is None else (5, 3, batch))
    engines = [cls(net, rule, batch=batch, rng=seed) for cls in (AgentEngine, VectorEngine)]
    for u in U:
        for eng in engines:
            eng.advance(u)
        for name in ("x", "a"):
            np.testing.assert_allclose(engines[0].state(name), engines[1].state(name),
                                       rtol=1e-12, atol=1e-14)
    node = net.node_ids[-1]
    for name in ("x", "a"):
        value = engines[0].agent(node).state[name]
        assert value.dtype == np.float64 and value.shape == (1, batch or 1), name


@pytest.mark.parametrize("batch", [None, 2])
def test_an_undeclared_variable_and_a_value_that_does_not_fit_are_refused(batch):
    net = _net(1)
    u = np.zeros((3,) if batch is None else (3, batch))
    with pytest.raises(ConfigError, match="rule 'ret-undeclared' updated undeclared node "
                                          "variable 'y'"):
        AgentEngine(net, _returning("undeclared"), batch=batch).advance(u)
    with pytest.raises(ValueError, match="broadcast"):
        AgentEngine(net, _returning("wide"), batch=batch).advance(u)


@pytest.mark.parametrize("seed", [0, 2, 5])
def test_a_delay_one_ring_kept_in_the_rows_is_apart_from_state_set_from_outside(seed):
    """Neurons whose edges all have delay 1 keep their ring in their rows: setting the
    state from outside, the buffers, or both, must still change the next step exactly
    as in the vectorised engine (state and ring apart)."""
    net = compile_graph(random_digraph(14, 45, n_inputs=3, n_outputs=2, seed=seed,
                                       delays=1, weight_scale=0.8))
    agent, vector, rng, U, Y = _paired(net, seed, steps=9)
    assert all(agent.agent(n)._in_row for n in net.node_ids if not
               agent.agent(n)._clamped)
    x = rng.normal(size=(net.n_nodes, 2))
    agent.set_state("x", x)
    vector.set_state("x", x)
    node = net.node_ids[-1]
    before = agent.agent(node).buffers["x"][0].copy()
    np.testing.assert_array_equal(agent.agent(node).state["x"], x[-1:])
    assert not np.array_equal(before, x[-1:])     # the ring kept the value of the step
    _advance_equal(agent, vector, U, Y, range(3, 6), ("x", "delta", "weight"))
    # set_buffer alone leaves the state; fill_history sets the ring to the state
    a = agent.agent(node)
    x_now = a.state["x"].copy()
    a.set_buffer("x", [np.full(2, 3.0)])
    np.testing.assert_array_equal(a.state["x"], x_now)
    np.testing.assert_array_equal(a.buffers["x"][0], np.full((1, 2), 3.0))
    agent.fill_history()
    np.testing.assert_array_equal(a.buffers["x"][0], x_now)


def _ms_stage0(state, inbox, nrn, p):
    return {"a": inbox["net"] + 0.1 * inbox["back"]}


def _ms_stage1(state, inbox, nrn, p):
    x = np.tanh(state["a"]) + 0.2 * np.tanh(inbox["now"])
    return {"x": x, "d": 0.5 * state["d"] + 0.1 * x}


def _ms_edges(edge, hebb, nrn, p):
    return {"weight": edge["weight"] + 0.01 * np.tanh(hebb["h"])}


#: two stages, delayed channels sent only in the first; the variables they carry are
#: written only in the second (the ring in the rows must hold t − 1 through stage 0)
TWO_STAGE = Rule(
    name="two_stage", node_vars=(StateVar("x"), StateVar("a"), StateVar("d")), edge_vars=(),
    stages=(Stage(channels=(Channel("net", "x", "forward", delayed=True),
                            Channel("back", "d", "backward", delayed=True)),
                  node_update=_ms_stage0),
            Stage(channels=(Channel("now", "x", "forward", delayed=False),),
                  node_update=_ms_stage1, edge_update=_ms_edges, hebb={"h": ("x", "net")})))


@pytest.mark.parametrize("seed", [1, 2, 4])
@pytest.mark.parametrize("delays", [1, (1, 2)])
@pytest.mark.parametrize("batch", [None, 1, 3])
def test_a_ring_in_the_rows_under_a_two_stage_rule_equals_the_vectorised_engine(
        seed, delays, batch):
    """The rows hold t − 1 while the first stage sends; the second writes them. State
    set from outside, a perturbation and fill_history in between change both engines
    alike."""
    net = compile_graph(random_digraph(16, 26, n_inputs=3, n_outputs=2, seed=seed,
                                       delays=delays, weight_scale=0.7))
    engines = [cls(net, TWO_STAGE, batch=batch, rng=seed) for cls in (AgentEngine,
                                                                         VectorEngine)]
    in_row = [engines[0].agent(n)._in_row for n in net.node_ids]
    assert any(in_row) and (delays == 1 or not all(in_row))
    rng = np.random.default_rng(seed)
    for k in range(12):
        if k in (3, 5):
            name = "x" if k == 3 else "d"
            value = rng.normal(size=engines[0].state(name).shape)
            for eng in engines:
                eng.set_state(name, value)
        for eng in engines:
            if k == 7:
                eng.perturb_neuron(net.node_ids[-1], np.random.default_rng(k))
            if k == 9:
                eng.fill_history()
        u = rng.normal(size=(3,) if batch is None else (3, batch))
        for eng in engines:
            eng.advance(u)
        for name in ("x", "a", "d", "weight"):
            np.testing.assert_allclose(engines[0].state(name), engines[1].state(name),
                                       rtol=1e-10, atol=1e-12, err_msg=f"{name}, step {k}")


@pytest.mark.parametrize("delays", [1, (1, 3)])
def test_set_buffer_refuses_values_that_do_not_fit_the_ring(delays):
    """One (B,) or (1, B) value per slot of the neuron's ring, for a delayed variable:
    a wrong count or width was stored (or broadcast) silently, the in-row ring keeping
    only the first value and the ring of copies changing its length."""
    from agents.errors import ConfigError, DataError
    net = compile_graph(random_digraph(16, 26, n_inputs=3, n_outputs=2, seed=4,
                                       delays=delays, weight_scale=0.7))
    eng = AgentEngine(net, DIFFUSION, {"eta": 0.05}, batch=2)
    eng.advance(np.ones((3, 2)))
    for node in net.node_ids:
        a = eng.agent(node)
        before = a.buffers["x"]
        for bad in ([np.zeros(2)] * (a.depth + 1), [np.zeros(3)] * a.depth,
                    [np.zeros(1)] * a.depth):
            with pytest.raises(DataError, match=rf"set_buffer\('x'\) of neuron {node!r}"):
                a.set_buffer("x", bad)
        with pytest.raises(ConfigError, match="'y'"):
            a.set_buffer("y", before)
        for got, want in zip(a.buffers["x"], before, strict=True):
            np.testing.assert_array_equal(got, want)
        a.set_buffer("x", [np.full((1, 2), 7.0)] * a.depth)   # (B,) or (1, B) both fit
        a.set_buffer("x", [np.full(2, 7.0)] * a.depth)
        assert all(np.array_equal(row, np.full((1, 2), 7.0)) for row in a.buffers["x"])
