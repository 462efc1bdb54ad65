"""The vectorised engine's dense step: buffers reused, linear edge updates folded into
the GEMM, and a finiteness check that skips variables vouched for by others — each of
which must leave every observable result as the plain formulation gives it."""

import dataclasses

import numpy as np
import pytest
from scipy.linalg import blas

import agents
from agents.activations import ACTIVATIONS, ActivationMap
from agents.errors import ConfigError, DivergenceError
from agents.rule import Rule, StateVar, apply_linear
from networks.builders import layered
from networks.compile import compile_graph
from networks.engines import VectorEngine, make_engine
from networks.engines.buffered import gemm_into


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("coef", "beta"), [(0.3, 1.0), (-2.0, 0.9), (1.0, 0.0)])
def test_gemm_fold_updates_the_weights_in_place(seed, dtype, coef, beta):
    """``W ← coef · post preᵀ + beta · W`` by one BLAS call writing into W (no copy)."""
    rng = np.random.default_rng(seed)
    W0 = rng.normal(size=(7, 5)).astype(dtype)
    post, pre = rng.normal(size=(7, 4)).astype(dtype), rng.normal(size=(5, 4)).astype(dtype)
    expected = coef * (post.astype(np.float64) @ pre.T.astype(np.float64)) + beta * W0
    gemm = blas.get_blas_funcs("gemm", dtype=dtype)
    W = W0.copy()
    out = gemm(coef, pre.T, post.T, beta=beta, c=W.T, trans_a=1, overwrite_c=1)
    assert np.shares_memory(out, W)      # BLAS wrote into W itself
    W2 = W0.copy()
    address = W2.__array_interface__["data"][0]
    gemm_into(gemm, coef, post, pre, beta, W2)   # the engine's call
    assert W2.__array_interface__["data"][0] == address
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(W, expected, rtol=tol, atol=tol)
    np.testing.assert_allclose(W2, expected, rtol=tol, atol=tol)


def test_apply_linear_is_the_formula_and_decay_one_forgets_the_old_value():
    edge = {"w": np.array([1.0, 2.0]), "d": np.array([np.nan, np.inf])}
    hebb = {"h": np.array([3.0, -1.0])}
    out = apply_linear(edge, hebb, {"w": ("h", 0.5, 0.1), "d": ("h", 1.0, 1.0)})
    np.testing.assert_array_equal(out["w"], 0.9 * edge["w"] + 0.5 * hebb["h"])
    np.testing.assert_array_equal(out["d"], hebb["h"])   # the non-finite old value is gone


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("seed", [0, 3])
def test_activations_write_into_out_as_they_compute_without(name, seed):
    a = np.random.default_rng(seed).normal(size=(6, 5)) * 3
    act = ACTIVATIONS[name]
    x = act.f(a)
    np.testing.assert_array_equal(act.f(a, out=np.empty_like(a)), x)
    np.testing.assert_array_equal(act.df(a, x, out=np.empty_like(a)), act.df(a, x))
    same = a.copy()
    np.testing.assert_array_equal(act.f(same, out=same), x)   # out may be a itself
    mixed = ActivationMap(["tanh", "sigmoid", "tanh", name, "relu", "identity"])
    np.testing.assert_array_equal(mixed.f(a, out=np.empty_like(a)), mixed.f(a))
    xm = mixed.f(a)
    np.testing.assert_array_equal(mixed.df(a, xm, out=np.empty_like(a)), mixed.df(a, xm))


def test_a_finite_witness_must_name_declared_variables():
    lp = agents.RULES["lp"]
    with pytest.raises(ConfigError, match="finite_implied entry 'c' -> 'nope'"):
        Rule(name="bad", node_vars=lp.node_vars, edge_vars=lp.edge_vars, stages=lp.stages,
             params=lp.params, finite_implied={"c": "nope"})
    with pytest.raises(ConfigError, match="finite_implied entry 'zz'"):
        Rule(name="bad", node_vars=(*lp.node_vars, StateVar("y")), edge_vars=lp.edge_vars,
             stages=lp.stages, params=lp.params, finite_implied={"zz": None})


_DIVERGING = [  # (rule, params, hidden activation): each diverges within a few dozen steps
    ("lp", {"eta_x": 3.0, "eta_lam": 3.0, "rho": 20.0}, "relu"),
    ("lp", {"eta_w": 50.0, "rho": 1.0}, "relu"),
    ("lp2", {"eta_x": 3.0, "eta_lam": 3.0, "rho": 20.0, "two_round": True}, "tanh"),
    ("diffusion", {"eta": 1e3}, "identity"),
    ("diffusion", {"eta": 1e6}, "tanh"),
    ("diffusion", {"eta": 20.0}, "identity"),
    ("fa", {"eta": 1e6}, "tanh"),
    ("fa", {"eta": 20.0}, "identity"),
]


@pytest.mark.parametrize(("rule", "params", "act"), _DIVERGING)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_skipping_vouched_variables_names_the_same_step_neuron_and_variable(rule, params,
                                                                           act, seed):
    """The check that skips variables (Rule.finite_implied) stops at the same step with
    the same message as one checking every variable, and as the agent engine."""
    net = compile_graph(layered([4, 8, 8, 3], act, "identity", seed=seed))
    rng = np.random.default_rng(seed)
    u, y = 3 * rng.normal(size=(4, 5)), rng.uniform(size=(3, 5))
    full = dataclasses.replace(agents.RULES[rule], finite_implied={})
    messages = []
    for kind, r in (("vector", agents.RULES[rule]), ("vector", full),
                    ("agent", agents.RULES[rule])):
        eng = make_engine(kind, net, r, params, batch=5)
        with pytest.raises(DivergenceError) as info:
            eng.run(u, y, steps=300)
        messages.append(str(info.value))
    assert messages[0] == messages[1] == messages[2]


@pytest.mark.parametrize("rule", ["lp", "lp2", "diffusion", "fa"])
def test_node_variables_live_in_two_arrays_each(rule):
    """Nothing is rebuilt per step: after the first step every variable the rule writes
    alternates between two arrays."""
    net = compile_graph(layered([5, 6, 3], "sigmoid", seed=1))
    params = {"two_round": True} if rule == "lp2" else None
    eng = VectorEngine(net, agents.RULES[rule], params, batch=4)
    rng = np.random.default_rng(0)
    u, y = rng.normal(size=(5, 4)), rng.uniform(size=(3, 4))
    seen: dict[str, set] = {}
    for step in range(8):
        eng.advance(u, y)
        for name, arr in eng._nodes.items() if step >= 2 else ():  # after the first steps
            seen.setdefault(name, set()).add(arr.__array_interface__["data"][0])
    written = [n for n in ("x", "a") if n in eng._nodes]
    # (one array for a variable whose old value nobody reads: Stage.reads)
    assert written and all(len(seen[n]) == (1 if n in eng._single else 2)
                           for n in written), seen
    assert ("a" in eng._single) == rule.startswith("lp")


@pytest.mark.parametrize("seed", [0, 1])
def test_a_clamped_head_set_from_outside_reaches_the_delay_buffers(seed):
    """Input neurons' delayed variables other than the input are copied into the ring
    buffer only until every slot holds them; a value set later must still be sent."""
    from tests.contract.harness import family_net
    from tests.contract.probe_rule import PROBE

    net = family_net("delays", seed)
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(len(net.input_idx), 2))
    engines = [make_engine(kind, net, PROBE, batch=2, rng=seed) for kind in ("agent", "vector")]
    z = rng.normal(size=(net.n_nodes, 2))
    for eng in engines:
        eng.run(u, steps=4)
        eng.set_state("z", z)
        eng.run(u, steps=5)
    for name in ("z", "x", "weight", "trace"):
        np.testing.assert_allclose(engines[0].state(name), engines[1].state(name),
                                   rtol=1e-10, atol=1e-12)
