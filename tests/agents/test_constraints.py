"""Constraint functions G, G' and the elementwise optimisers."""

import numpy as np
import pytest

from agents import optim
from agents.constraints import CONSTRAINTS, get_constraint
from agents.errors import ConfigError

EPS = 0.1


def test_registry_has_the_five_constraints():
    assert set(CONSTRAINTS) == {"lin", "lin-eps", "abs", "abs-eps", "squared"}
    with pytest.raises(ConfigError, match=r"unknown constraint 'quadratic'.*abs-eps"):
        get_constraint("quadratic")


@pytest.mark.parametrize("name", sorted(CONSTRAINTS))
def test_zero_at_zero_and_broadcasting(name):
    con = get_constraint(name)
    c = np.zeros((3, 4))
    assert np.array_equal(con.g(c, EPS), np.zeros((3, 4)))
    c = np.linspace(-1, 1, 12).reshape(3, 4)
    assert con.g(c, EPS).shape == con.dg(c, EPS).shape == (3, 4)


@pytest.mark.parametrize("name", sorted(CONSTRAINTS))
def test_derivative_matches_finite_differences_away_from_kinks(name):
    con = get_constraint(name)
    c = np.array([-2.0, -0.7, -0.13, -0.05, -0.01, 0.01, 0.04, 0.12, 0.6, 1.9])
    h = 1e-6
    fd = (con.g(c + h, EPS) - con.g(c - h, EPS)) / (2 * h)
    np.testing.assert_allclose(con.dg(c, EPS), fd, rtol=1e-7, atol=1e-9)


def test_values_and_subgradient_conventions():
    c = np.array([-0.3, -EPS, -0.05, 0.0, 0.05, EPS, 0.3])
    G = {k: get_constraint(k).g(c, EPS) for k in CONSTRAINTS}
    dG = {k: get_constraint(k).dg(c, EPS) for k in CONSTRAINTS}
    np.testing.assert_allclose(G["lin"], c)
    np.testing.assert_allclose(G["abs"], np.abs(c))
    np.testing.assert_allclose(G["squared"], c * c)
    np.testing.assert_allclose(G["abs-eps"], [0.2, 0, 0, 0, 0, 0, 0.2], atol=1e-15)
    np.testing.assert_allclose(G["lin-eps"], [-0.2, 0, 0, 0, 0, 0, 0.2], atol=1e-15)
    # abs at 0 -> 0; eps variants: the tube border counts as inside (reaction 0)
    assert dG["abs"][3] == 0.0
    np.testing.assert_array_equal(dG["abs-eps"], [-1, 0, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(dG["lin-eps"], [1, 0, 0, 0, 0, 0, 1])
    # lin-eps with eps = 0 is lin
    np.testing.assert_allclose(get_constraint("lin-eps").g(c, 0.0), c)


def test_sgd_and_adam_steps_match_hand_computation():
    theta, grad = np.array([1.0, -2.0]), np.array([0.5, -4.0])
    np.testing.assert_allclose(optim.sgd_step(theta, grad, 0.1), [0.95, -1.6])
    m, v = np.zeros(2), np.zeros(2)
    th, m, v = optim.adam_step(theta, grad, m, v, 1, 0.1, 0.9, 0.999, 0.0)
    # first Adam step moves each entry by lr * sign(grad)
    np.testing.assert_allclose(th, theta - 0.1 * np.sign(grad))
    th2, m2, v2 = optim.adam_step(th, grad, m, v, 2, 0.1, 0.9, 0.999, 1e-8)
    m_ref = 0.9 * m + 0.1 * grad
    v_ref = 0.999 * v + 0.001 * grad ** 2
    step = 0.1 * (m_ref / (1 - 0.81)) / (np.sqrt(v_ref / (1 - 0.999 ** 2)) + 1e-8)
    np.testing.assert_allclose(th2, th - step)
    np.testing.assert_allclose(m2, m_ref)
    np.testing.assert_allclose(v2, v_ref)


def test_adam_elementwise_with_per_entry_counts():
    theta, grad = np.ones((2, 3)), np.full((2, 3), 2.0)
    t = np.array([[1.0, 2.0, 3.0]])
    th, m, v = optim.adam_step(theta, grad, np.zeros((2, 3)), np.zeros((2, 3)), t, 0.01)
    for k in range(3):  # each column equals a scalar-t call
        ref, _, _ = optim.adam_step(theta[:, k], grad[:, k], np.zeros(2), np.zeros(2),
                                    t[0, k], 0.01)
        np.testing.assert_allclose(th[:, k], ref)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adam_in_place_equals_the_expression_bit_for_bit(seed, dtype):
    """Above IN_PLACE_SIZE entries Adam computes into buffers: the same rounding."""
    rng = np.random.default_rng(seed)
    shape = (optim.IN_PLACE_SIZE // 4 + 3, 5)
    theta, grad, m = (rng.standard_normal(shape).astype(dtype) for _ in range(3))
    v = rng.uniform(0, 2, shape).astype(dtype)
    for t, lr in ((7, 0.01), (rng.integers(1, 9, shape).astype(dtype), 0.3),
                  (3, rng.uniform(0.01, 0.1, (shape[0], 1)))):   # per-row step sizes
        got = optim.adam_step(theta, grad, m, v, t, lr, 0.8, 0.99, 1e-6)
        tt = np.asarray(t, dtype=np.result_type(theta, 1.0))
        m_ref = 0.8 * m + (1.0 - 0.8) * grad
        v_ref = 0.99 * v + (1.0 - 0.99) * grad * grad
        th_ref = theta - lr * (m_ref / (1.0 - 0.8 ** tt)) / (
            np.sqrt(np.maximum(v_ref / (1.0 - 0.99 ** tt), 0.0)) + 1e-6)
        for a, b in zip(got, (th_ref, m_ref, v_ref), strict=True):
            assert a.dtype == b.dtype and np.array_equal(a, b)
    assert np.array_equal(m, m) and not np.shares_memory(got[1], m)   # inputs untouched


def test_optimizer_wrapper_keeps_state_per_key():
    opt = optim.Optimizer("adam", lr=0.1)
    a = opt.update("w", np.zeros(2), np.ones(2))
    b = opt.update("b", np.zeros(1), -np.ones(1))
    np.testing.assert_allclose(a, [-0.1, -0.1], rtol=1e-6)
    np.testing.assert_allclose(b, [0.1], rtol=1e-6)
    with pytest.raises(ConfigError, match="unknown optimizer 'rmsprop'"):
        optim.Optimizer("rmsprop")
    with pytest.raises(ConfigError, match="lr"):
        optim.Optimizer("sgd", lr=0.0)


@pytest.mark.parametrize("name", sorted(CONSTRAINTS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_out_gives_the_same_values_and_identity_is_the_identity(name, seed):
    rng = np.random.default_rng(seed)
    c = rng.normal(scale=0.05, size=(5, 7))
    c[0, :3] = [0.0, EPS, -EPS]            # kinks
    c[1, :2] = [np.nan, np.inf]            # non-finite values behave as without out
    con = get_constraint(name)
    for f in (con.g, con.dg):
        out = np.full_like(c, 7.0)
        assert f(c, EPS, out=out) is out
        np.testing.assert_array_equal(out, f(c, EPS))
    if con.identity:
        np.testing.assert_array_equal(con.g(c, EPS), c)
        np.testing.assert_array_equal(con.dg(c, EPS), np.ones_like(c))
