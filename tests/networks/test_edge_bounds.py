"""Edge bounds (networks.engines.edge_bounds): the finiteness check skips reading a linearly
updated edge variable whose entrywise bound stays far below overflow. The bound must hold
at every step, a divergence must be reported exactly as when every variable is read, and
anything that writes the variable otherwise must drop the bound."""

import numpy as np
import pytest

import agents
from agents.errors import DivergenceError
from networks.builders import layered, random_digraph
from networks.compile import compile_graph
from networks.engines import VectorEngine, arena
from networks.engines.edge_bounds import EdgeBounds
from tests.networks.test_finite_window import spoil_in_step

CASES = [("lp", {"eta_w": 0.05}), ("diffusion", {"eta": 0.05}), ("fa", {"eta": 0.05})]


def _engine(rule, params, seed, act=("tanh", "sigmoid"), batch=3):
    net = compile_graph(layered([6, 12, 4], *act, seed=seed))
    return VectorEngine(net, agents.RULES[rule], params, batch=batch, rng=seed)


def _data(seed, scale=1.0, batch=3):
    rng = np.random.default_rng(seed)
    return scale * rng.normal(size=(6, batch)), rng.uniform(size=(4, batch))


@pytest.fixture
def large_layout(monkeypatch):
    """The arena of a large network (edges outside the window), on a small one."""
    monkeypatch.setattr(arena, "SMALL_ARENA", 0)


@pytest.mark.parametrize(("rule", "params"), CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_bounds_hold_at_every_step(rule, params, seed, large_layout):
    eng = _engine(rule, params, seed)
    u, y = _data(seed)
    for _ in range(30):
        eng.advance(u, y)
        for name, bound in eng._edge_max.items():
            assert np.abs(eng.state(name)).max() <= bound, name
    assert "weight" in eng._boundable   # (so the check did not read it since step 3)


#: (rule, step size key, step size, input scale): identity neurons whose weights grow
#: until some value overflows, a few of them first in the weights, after steps with a bound
DIVERGING = [("lp", "eta_w", 3.0, 10.0), ("lp", "eta_w", 10.0, 10.0),
             ("lp", "eta_w", 100.0, 1.0), ("diffusion", "eta", 3.0, 1.0),
             ("diffusion", "eta", 30.0, 10.0), ("fa", "eta", 30.0, 1.0),
             ("fa", "eta", 10.0, 10.0)]


def _divergence(rule, params, scale, seed, batch=3):
    """Run until the check reports a divergence: its message, steps with a weight bound."""
    eng = _engine(rule, params, seed, ("identity", "identity"), batch=batch)
    u, y = _data(seed, scale, batch=batch)
    bounded = 0
    with pytest.raises(DivergenceError) as info:
        for _ in range(3000):
            eng.advance(u, y)
            bounded += "weight" in eng._edge_max
    return str(info.value), bounded


@pytest.mark.parametrize("seed", [0, 1])
def test_a_divergence_is_reported_as_when_every_variable_is_read(seed, large_layout,
                                                                  monkeypatch):
    named_weight = 0
    for rule, key, eta, scale in DIVERGING:
        with_bounds, bounded = _divergence(rule, {key: eta}, scale, seed)
        assert bounded >= 3, (rule, eta, scale)
        with monkeypatch.context() as m:
            m.setattr(EdgeBounds, "_worth", lambda self, *args: False)
            m.setattr(EdgeBounds, "_bound_from_scan", lambda self, *args: None)
            without, none = _divergence(rule, {key: eta}, scale, seed)
        assert none == 0
        assert with_bounds == without
        named_weight += "edge variable 'weight'" in with_bounds
    assert named_weight >= 2   # (some overflowed in a weight that had a bound)


def test_writes_from_outside_and_unchecked_steps_drop_the_bound(large_layout):
    eng = _engine("diffusion", {"eta": 0.05}, 0)
    u, y = _data(0)
    eng.run(u, y, steps=4)
    assert {"weight", "dw_sum"} <= eng._edge_max.keys()
    eng.set_state("weight", 2.0 * eng.state("weight"))
    assert "weight" not in eng._edge_max and "dw_sum" in eng._edge_max
    eng.advance(u, y)   # read again, bound again
    assert np.abs(eng.state("weight")).max() <= eng._edge_max["weight"]
    eng.perturb_neuron(eng.net.node_ids[5], np.random.default_rng(0))
    assert not eng._edge_max
    eng.run(u, y, steps=2)
    eng.check_finite = False
    eng.advance(u, y)
    assert not eng._edge_max
    eng.check_finite = True
    eng.run(u, y, steps=2)
    for name, bound in eng._edge_max.items():
        assert np.abs(eng.state(name)).max() <= bound, name


def test_small_networks_read_their_edges_in_the_window():
    """On a small arena the edges are in the window: no bound is worth its reads."""
    eng = _engine("lp", {"eta_w": 0.05}, 0)
    u, y = _data(0)
    eng.run(u, y, steps=4)
    assert "weight" not in eng._edge_max
    assert "weight" in {m[1] for m in eng._window.members}


@pytest.mark.parametrize("seed", [0, 1])
def test_a_variable_without_a_bound_is_read_on_every_path(seed):
    """Small network: the weights never get a bound, so a check variable by variable
    (after a write from outside) reads them, whatever earlier checks did."""
    eng = _engine("lp", {"eta_w": 0.05}, seed)
    u, y = _data(seed)
    eng.run(u, y, steps=3)
    eng.set_state("x", eng.state("x"))   # the next check reads variable by variable
    eng.run(u, y, steps=2)
    eng.set_state("x", eng.state("x"))
    spoil_in_step(eng, lambda: eng._edges["weight"].__setitem__(-1, np.nan))
    with pytest.raises(DivergenceError, match="step 6: edge variable 'weight'"):
        eng.advance(u, y)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_an_input_copied_by_the_full_check_is_summed_again(seed, large_layout):
    """Q counts Σ |u| as the step data computed it on their fast path, kept with its step.
    An input that takes the full check (here a list) must not be counted by an earlier
    step's sum, even at the same step number (the clock set back by the user)."""
    net = compile_graph(layered([60, 4], "sigmoid", seed=seed))
    eng = VectorEngine(net, agents.RULES["lp"], {"eta_w": 0.05}, batch=3, rng=seed)
    rng = np.random.default_rng(seed)
    eng.set_state("weight", 1e-200 * rng.normal(size=net.n_edges))
    y = rng.uniform(size=(4, 3))
    eng.run(np.zeros((60, 3)), y, steps=30)   # Σ |u| = 0; the weights stay tiny
    assert "weight" in eng._edge_max
    eng.t -= 1
    eng.advance((1e200 * rng.normal(size=(60, 3))).tolist(), y)
    assert np.abs(eng.state("weight")).max() > 1e100   # (the step did move them)
    for name, bound in eng._edge_max.items():
        assert np.abs(eng.state(name)).max() <= bound, name


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_q_counts_the_messages_of_every_delay(seed, large_layout):
    """Three delays: the messages of t − 3 (a large input) must be in Q even when those
    of t − 1 and t − 2 are small. (Q skipped rows whose view had the id of a view already
    freed: the third delay's, on CPython.)"""
    from networks.builders import random_digraph
    net = compile_graph(random_digraph(40, 400, n_inputs=5, n_outputs=3, seed=seed,
                                       delays=(1, 3), activation="identity",
                                       output_activation="identity", weight_scale=1e-6))
    eng = VectorEngine(net, agents.RULES["diffusion"], {"eta": 1e-4}, batch=2, rng=seed)
    assert net.max_delay == 3
    rng = np.random.default_rng(seed)
    bounded = 0
    for k in range(16):
        u = (1e2 if k % 4 == 0 else 1e-6) * rng.normal(size=(5, 2))
        eng.advance(u, np.zeros((3, 2)))
        for name, bound in eng._edge_max.items():
            bounded += 1
            assert np.abs(eng.state(name)).max() <= bound, (name, k)
    assert bounded >= 20


#: a batch wide enough that reading the product's carrier (E = 120 values) costs less than
#: P and Q ((N - n_in) B + N B): diffusion and fa bound by Σ |dw| ("scan")
WIDE = 16


@pytest.mark.parametrize(("rule", "params"), CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_wide_batch_bounds_by_the_carrier_and_they_hold(rule, params, seed, large_layout):
    eng = _engine(rule, params, seed, batch=WIDE)
    u, y = _data(seed, batch=WIDE)
    for _ in range(30):
        eng.advance(u, y)
        for name, bound in eng._edge_max.items():
            assert np.abs(eng.state(name)).max() <= bound, name
    # (lp has no carrier: at this width P and Q cost more than its weights, never bound)
    assert ("weight" in eng._edge_max) == (rule != "lp")
    assert set(eng._bound_worth.values()) == {False if rule == "lp" else "scan"}


@pytest.mark.parametrize("seed", [0, 1])
def test_a_wide_batch_reports_a_divergence_as_when_every_variable_is_read(
        seed, large_layout, monkeypatch):
    for rule, key, eta, scale in DIVERGING:
        if rule == "lp":   # (no carrier)
            continue
        with_bounds, bounded = _divergence(rule, {key: eta}, scale, seed, batch=WIDE)
        assert bounded >= 3, (rule, eta, scale)
        with monkeypatch.context() as m:
            m.setattr(EdgeBounds, "_worth", lambda self, *args: False)
            m.setattr(EdgeBounds, "_bound_from_scan", lambda self, *args: None)
            without, none = _divergence(rule, {key: eta}, scale, seed, batch=WIDE)
        assert none == 0
        assert with_bounds == without


def _sparse_engine(rule, seed, batch):
    """A random digraph (sparse blocks): 6 inputs, 4 outputs, 30 neurons, 150 edges."""
    net = compile_graph(random_digraph(30, 150, n_inputs=6, n_outputs=4, seed=seed,
                                       weight_scale=0.5))
    return VectorEngine(net, agents.RULES[rule], {"eta": 0.05}, batch=batch, rng=seed)


@pytest.mark.parametrize("rule", ["diffusion", "fa"])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("sparse", [True, False])
def test_a_non_finite_product_is_named_as_when_every_variable_is_read(rule, seed, bad,
                                                                      sparse, large_layout):
    """The carrier's scan sees a NaN or inf the product brings (the targets' bounds are
    dropped and they are read): same step, edge and variable as without any bound."""
    def run(bounds):
        eng = _sparse_engine(rule, seed, WIDE) if sparse else \
            _engine(rule, {"eta": 0.05}, seed, batch=WIDE)
        if not bounds:
            eng._worth = lambda *args: False
            eng._bound_from_scan = lambda *args: None
        u, y = _data(seed, batch=WIDE)
        eng.run(u, y, steps=5)
        assert ("weight" in eng._edge_max) == bounds
        assert eng._bound_worth == {("delta", "net"): "scan" if bounds else False} or \
            not bounds
        name = "_hebb_into" if sparse else "_bound_hebb"
        make = getattr(eng, name)

        def bad_product(*args):   # (the product as its kernel made it, then spoiled)
            product = make(*args)
            product.reshape(-1)[7 + seed] = bad
            return product

        setattr(eng, name, bad_product)
        with pytest.raises(DivergenceError) as info:
            eng.advance(u, y)
        return str(info.value)

    message = run(True)
    assert message.startswith("step 6: edge variable 'weight'")   # (first in order)
    assert message == run(False)
