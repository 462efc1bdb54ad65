"""Losses: the gradient written into a given array equals the one returned without it."""

import numpy as np
import pytest

from agents.losses import LOSSES


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grad_into_out_equals_grad(name, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0.01, 0.99, size=(4, 6)), rng.uniform(size=(4, 6))
    loss = LOSSES[name]
    expected = loss.grad(x, y)
    out = np.full_like(x, np.nan)
    assert loss.grad(x, y, out=out) is out
    np.testing.assert_array_equal(out, expected)
    # the gradient is dV/dx: central differences of V
    h = 1e-6
    numeric = (loss.value(x + h, y) - loss.value(x - h, y)) / (2 * h)
    np.testing.assert_allclose(expected, numeric, rtol=1e-5, atol=1e-7)
