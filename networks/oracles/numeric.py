"""Finite differences, the numerical check of every oracle."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def finite_difference(fn: Callable[[np.ndarray], float], theta, eps: float = 1e-6
                      ) -> np.ndarray:
    """Central differences ``(fn(θ + ε e_k) − fn(θ − ε e_k)) / 2ε`` of a scalar function.

    Args:
        fn: scalar function of a flat float vector.
        theta: the point, any shape (flattened for ``fn``).
        eps: the step.

    Returns:
        The numerical gradient, same shape as ``theta``.

    """
    theta = np.asarray(theta, dtype=np.float64)
    flat = theta.ravel().copy()
    g = np.empty_like(flat)
    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + eps
        fp = fn(flat.copy())
        flat[k] = old - eps
        fm = fn(flat.copy())
        flat[k] = old
        g[k] = (fp - fm) / (2.0 * eps)
    return g.reshape(theta.shape)
