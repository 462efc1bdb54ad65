"""The finiteness check (``check_finite=True``, the default) of both engines.

The vectorised engine checks one sum per variable written since the last check and seeks
the culprit only when a sum is not finite: it must still stop at the first step where a
NaN or inf appears anywhere, name the step, the neuron (or edge) and the variable, and
not stop when only a sum of finite values overflows.
"""

import networkx as nx
import numpy as np
import pytest

from agents.diffusion import DIFFUSION
from agents.errors import DivergenceError
from agents.forward import FORWARD
from agents.lp import LP
from networks.builders import layered, random_digraph
from networks.compile import compile_graph
from networks.engines import make_engine
from tests.networks.test_engines import self_exciting

KINDS = ["agent", "vector"]


def _net(seed):
    return compile_graph(random_digraph(12, 40, n_inputs=3, n_outputs=2, seed=seed))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_bad_weight_is_caught_at_that_step_with_edge_and_variable(kind, seed, bad):
    net = _net(seed)
    eng = make_engine(kind, net, DIFFUSION, params={"eta": 0.01}, batch=2)
    u, y = np.ones((3, 2)), np.zeros((2, 2))
    eng.run(u, y, steps=2)
    e = int(np.random.default_rng(seed).integers(net.n_edges))
    w = eng.state("weight")
    w[e] = bad
    # written past set_state (which refuses non-finite values), as a rule's update would
    eng._set_edge("weight", w)
    # the bad weight is caught after the next step, named by step and edge or neuron
    with pytest.raises(DivergenceError, match=r"step 3: (edge )?variable '\w+' of"):
        eng.advance(u, y)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("name", "where"), [("mw", "edge"), ("vx", "node"),
                                             ("vl", "node"), ("mb", "node")])
def test_a_variable_the_rule_does_not_update_is_still_checked(kind, name, where):
    """Under SGD the Adam moments are never written by the rule; a NaN put there by the
    user is still found and named."""
    net = compile_graph(layered([3, 5, 2], "sigmoid", seed=4))
    eng = make_engine(kind, net, LP, params={"optimizer": "sgd"}, batch=3)
    u, y = np.ones((3, 3)), np.zeros((2, 3))
    eng.advance(u, y)
    value = eng.state(name)
    value[-1] = np.nan
    # written past set_state (which refuses non-finite values), as a rule's update would
    if where == "edge":
        eng._set_edge(name, value)
    else:
        eng._set_node(name, value.reshape(len(value), -1))
    pattern = (rf"step 2: edge variable '{name}' of edge" if where == "edge"
               else rf"step 2: variable '{name}' of neuron {net.node_ids[-1]!r}")
    with pytest.raises(DivergenceError, match=pattern):
        eng.advance(u, y)


@pytest.mark.parametrize("kind", KINDS)
def test_overflowing_sum_of_finite_values_is_not_a_divergence(kind):
    """Two weights of 1e308 sum to inf but are finite: no error."""
    G = nx.DiGraph()
    for k in range(3):
        G.add_node(k, role="input")
    G.add_node("h", role="hidden", activation="tanh")
    G.add_node("o", role="output", activation="identity")
    G.add_edge(0, "h", weight=1e308)
    G.add_edge(1, "h", weight=1e308)
    G.add_edge(2, "h", weight=1.0)
    G.add_edge("h", "o", weight=1.0)
    eng = make_engine(kind, G, FORWARD, batch=1)
    eng.run(np.zeros((3, 1)), steps=3)           # x = 0 on the big weights: all finite
    assert np.isfinite(eng.state("x")).all()
    assert eng.state("weight").max() == 1e308


@pytest.mark.parametrize("kind", KINDS)
def test_divergence_during_a_run_names_the_first_bad_step(kind):
    eng = make_engine(kind, self_exciting(1e100), FORWARD)
    # delay 1: x_1 = 0, 1, 1e100, 1e200, 1e300 (finite) at steps 1-5, inf at step 6
    with pytest.raises(DivergenceError, match=r"step 6: variable '(x|a)' of neuron 1 "
                                              r"became -?inf"):
        eng.run(np.ones((10, 1)))


@pytest.mark.parametrize("kind", KINDS)
def test_perturbing_lazy_initial_state_writes_only_that_neuron(kind):
    """Variables still at their initial value are shared constants in the vectorised
    engine; perturbing one neuron must change that neuron's copy only."""
    net = compile_graph(layered([3, 4, 2], "sigmoid", seed=1))
    eng = make_engine(kind, net, LP, params={"optimizer": "sgd"}, batch=2)
    before = {n: eng.state(n) for n in ("mx", "mw")}
    node = net.node_ids[4]
    eng.perturb_neuron(node, np.random.default_rng(0))
    mx = eng.state("mx")
    changed = np.flatnonzero(np.any(mx != before["mx"], axis=1))
    assert list(changed) == [net.index[node]]
    mine = set(net.in_edges(node))
    changed_w = set(np.flatnonzero(eng.state("mw") != before["mw"]))
    assert changed_w == mine


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_the_message_shows_the_bad_value_not_its_row_s_first_example(kind, seed, bad):
    """The NaN or inf sits in the last example of a neuron whose first example is
    finite: the message names the value that is not finite."""
    net = compile_graph(layered([3, 5, 2], "sigmoid", seed=seed))
    eng = make_engine(kind, net, LP, params={"optimizer": "sgd"}, batch=3)
    u, y = np.ones((3, 3)), np.zeros((2, 3))
    eng.advance(u, y)
    value = eng.state("vx")
    value[-1, -1] = bad
    eng._set_node("vx", value)   # past set_state, as a rule's update would
    with pytest.raises(DivergenceError, match=rf"step 2: variable 'vx' of neuron "
                                              rf"{net.node_ids[-1]!r} became {bad}"):
        eng.advance(u, y)
