"""The neuron agent's own storage: in-edge variables that cache the weights' row, and state
dicts sharing one key table; both must behave as the plain dicts they stand for."""

import copy
import pickle

import numpy as np
import pytest

from agents.diffusion import DIFFUSION
from agents.forward import FORWARD
from agents.plan import EdgeVars
from networks.builders import random_digraph
from networks.compile import compile_graph
from networks.engines import AgentEngine, VectorEngine


def _net(seed):
    return compile_graph(random_digraph(14, 45, n_inputs=3, n_outputs=2, seed=seed,
                                        delays=(1, 2), weight_scale=0.8))


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
    rng = np.random.default_rng(seed)
    agent, vector = (cls(net, DIFFUSION, {"eta": 0.05}, batch=2, rng=seed)
                     for cls in (AgentEngine, VectorEngine))
    U, Y = rng.normal(size=(8, 3, 2)), rng.normal(size=(8, 2, 2))
    for k in range(3):
        agent.advance(U[k], Y[k])
        vector.advance(U[k], Y[k])
    w = rng.normal(size=net.n_edges)
    vector.set_state("weight", w)
    for i, node in enumerate(net.node_ids):
        lo, hi = net.in_ptr[i], net.in_ptr[i + 1]
        _replace(agent.agent(node).edge_state, w[lo:hi].copy(), how)
    np.testing.assert_array_equal(agent.state("weight"), w)
    for k in range(3, 8):
        agent.advance(U[k], Y[k])
        vector.advance(U[k], Y[k])
        for name in ("x", "delta", "weight", "dw"):
            np.testing.assert_allclose(agent.state(name), vector.state(name), rtol=1e-10,
                                       atol=1e-12, err_msg=f"{name} after step {k + 1}")


def test_edge_vars_drop_the_cached_row_on_every_change():
    ev = EdgeVars(weight=np.arange(3.0))
    row = ev.weight_row()
    assert row.shape == (1, 3) and ev.row is row
    np.testing.assert_array_equal(row[0], ev["weight"])
    for change in (lambda: ev.__setitem__("other", np.zeros(3)),
                   lambda: ev.setdefault("more", np.ones(3)), lambda: ev.popitem(),
                   lambda: ev.__delitem__("other"), ev.clear):
        ev.weight_row() if "weight" in ev else None
        change()
        assert ev.row is None


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
