"""Losses: the gradient written into a given array equals the one returned without it."""

import numpy as np
import pytest

from agents.losses import LOSSES, add_loss_grad, set_loss_grad


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


class _Nrn:
    """What the loss helpers read of the neurons: output rows, targets, the mask."""

    def __init__(self, rng, n, batch, rows, all_targets):
        self.outputs, self.target = rows, rng.uniform(size=(n, batch))
        self.has_target = np.zeros((n, 1), dtype=bool)
        self.has_target[rows] = True if all_targets else rng.random((4, 1)) < 0.5
        if all_targets is not None:   # (None: an engine that does not say)
            self.all_targets = bool(all_targets)
        self._scratch = {}

    def out(self, name, like):
        return self._scratch.setdefault(name, np.empty_like(like))


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("rows", [slice(2, 6), np.array([0, 3, 4, 7])])
@pytest.mark.parametrize("all_targets", [True, False, None])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_set_loss_grad_equals_zero_then_add(name, rows, all_targets, seed):
    """``set_loss_grad`` (one masked ufunc where it can) = ``fill(0)`` + ``add_loss_grad``;
    rows without a target or not outputs get 0."""
    rng = np.random.default_rng(seed)
    nrn = _Nrn(rng, 8, 3, rows, all_targets)
    x = rng.uniform(0.01, 0.99, size=(8, 3))
    expected = np.zeros_like(x)
    add_loss_grad(expected, x, nrn, name)
    dx = np.full_like(x, np.nan)
    assert set_loss_grad(dx, x, nrn, name) is dx
    np.testing.assert_array_equal(dx, expected)
    off = ~nrn.has_target[:, 0]
    np.testing.assert_array_equal(dx[off], 0.0)
    on = np.flatnonzero(~off)
    np.testing.assert_array_equal(dx[on], LOSSES[name].grad(x[on], nrn.target[on]))
