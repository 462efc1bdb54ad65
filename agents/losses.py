"""Per-output-neuron losses V(x_o, y_o) and their derivatives ∂V/∂x_o (broadcasting).

``squared``: V = ½ (x − y)²; ``bce``: binary cross-entropy of a sigmoid output,
V = −y log x − (1 − y) log(1 − x), computed with x clipped away from 0 and 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from agents.errors import ConfigError

_EPS = 1e-12


@dataclass(frozen=True)
class Loss:
    """A per-output loss V(x, y) with its derivative dV/dx.

    ``grad(x, y, out=None)`` writes into ``out`` (shaped like x) when it is given.
    """

    name: str
    value: Callable[[np.ndarray, np.ndarray], np.ndarray]
    grad: Callable[..., np.ndarray]
    #: ``grad`` when it is a ufunc (derived): callers may then pass it ``where=`` and
    #: write the masked gradient in one call
    grad_ufunc: np.ufunc | None = field(init=False)

    def __post_init__(self):
        ufunc = self.grad if isinstance(self.grad, np.ufunc) else None
        object.__setattr__(self, "grad_ufunc", ufunc)


def _bce_value(x, y):
    x = np.clip(x, _EPS, 1.0 - _EPS)
    return -(y * np.log(x) + (1.0 - y) * np.log1p(-x))


def _bce_grad(x, y, out=None):
    x = np.clip(x, _EPS, 1.0 - _EPS)
    return np.divide(x - y, x * (1.0 - x), out=out)


LOSSES: dict[str, Loss] = {
    "squared": Loss("squared", lambda x, y: 0.5 * (x - y) ** 2, np.subtract),
    "bce": Loss("bce", _bce_value, _bce_grad),
}


def get_loss(name: str) -> Loss:
    """Return the loss called ``name`` or raise a :class:`ConfigError` naming it."""
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}") from None


def add_loss_grad(dx, x, nrn, loss: str) -> None:
    """``dx += ∂V(x, y)/∂x`` on the output rows that have a target, in place. (n, B)."""
    rows = nrn.outputs  # a slice (or an index array) of the neurons' rows
    if isinstance(rows, slice):
        if rows.start == rows.stop:
            return
        xr = x[rows]
        grad = LOSSES[loss].grad(xr, nrn.target[rows], out=nrn.out("loss_grad", xr))
        part = dx[rows]
        np.add(part, grad, out=part, where=nrn.has_target[rows])
    elif len(rows):
        grad = get_loss(loss).grad(x[rows], nrn.target[rows])
        dx[rows] += np.where(nrn.has_target[rows], grad, 0.0)


def set_loss_grad(dx, x, nrn, loss: str):
    """``dx ← ∂V(x, y)/∂x`` on the output rows that have a target, 0 elsewhere; (n, B).

    The values of ``dx.fill(0)`` then :func:`add_loss_grad`, in fewer calls where the
    gradient is one ufunc (written straight into ``dx`` under the target mask).
    Returns ``dx``.
    """
    dx.fill(0.0)
    rows, ufunc = nrn.outputs, LOSSES[loss].grad_ufunc
    if ufunc is None or not isinstance(rows, slice):
        add_loss_grad(dx, x, nrn, loss)
    elif getattr(nrn, "all_targets", False):   # (an engine said so: no mask needed)
        ufunc(x[rows], nrn.target[rows], out=dx[rows])
    elif rows.start != rows.stop:
        ufunc(x[rows], nrn.target[rows], out=dx[rows], where=nrn.has_target[rows])
    return dx
