"""Helpers of the rule interface (agents.rule) that rules compute with."""

import numpy as np
import pytest

from agents.rule import batch_sum


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (9, 32), (103, 5)])
def test_batch_sum_is_the_scaled_row_sum(seed, dtype, shape):
    rng = np.random.default_rng(seed)
    values = rng.normal(size=shape).astype(dtype)
    coef = float(rng.uniform(-2, 2))
    out = np.full((shape[0], 1), np.nan, dtype=dtype)
    got = batch_sum(values, coef, out)
    assert got is out
    expected = coef * values.astype(np.float64).sum(axis=1, keepdims=True)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(out, expected, rtol=tol, atol=tol * np.abs(values).sum())
    # per-row coefficients (one value per neuron, as an ensemble's parameters)
    rows = rng.uniform(-1, 1, size=(shape[0], 1))
    batch_sum(values, rows.astype(dtype), out)
    np.testing.assert_allclose(out, rows * values.astype(np.float64).sum(axis=1,
                                                                        keepdims=True),
                               rtol=tol, atol=tol * np.abs(values).sum())


def test_batch_sum_propagates_non_finite_values():
    values = np.array([[1.0, np.nan, 2.0], [1.0, 2.0, 3.0], [np.inf, 0.0, 1.0]])
    out = batch_sum(values, 0.5, np.empty((3, 1)))
    assert np.isnan(out[0, 0]) and out[1, 0] == 3.0 and np.isinf(out[2, 0])
