"""Neuron activation functions σ and their derivatives, written for broadcasting.

Every function takes the activation ``a`` (any shape) and, for the derivative, also the
output ``x = σ(a)`` so that the cheap closed forms (``1 - x²`` for tanh, ``x(1 - x)`` for
the sigmoid) are used. :class:`ActivationMap` applies a per-neuron choice of σ to an
array whose first axis runs over neurons, so one rule function serves a single agent
(one activation) and a whole array of neurons (mixed activations).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from agents.errors import GraphError


def _sigmoid(a, out=None):
    # 0.5 (1 + tanh(a/2)) never overflows, unlike 1 / (1 + exp(-a)); four passes and no
    # temporary (a temporary of a large array costs more than a pass: page faults)
    out = np.multiply(a, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def _dsigmoid(a, x, out=None):
    out = np.subtract(1.0, x, out=out)
    out *= x
    return out


def _dtanh(a, x, out=None):
    out = np.multiply(x, x, out=out)
    return np.subtract(1.0, out, out=out)


def _drelu(a, x, out=None):
    if out is None:
        return (a > 0).astype(np.result_type(a))
    return np.greater(a, 0.0, out=out)


def ones(like, out=None):
    """An array of ones shaped like ``like`` (into ``out`` when given): constant slopes."""
    if out is None:
        return np.ones_like(like)
    out.fill(1.0)
    return out


def _didentity(a, x, out=None):
    return ones(a, out)


@dataclass(frozen=True)
class Activation:
    """One activation function σ with its derivative σ'(a) given ``x = σ(a)``.

    ``f(a, out=None)`` and ``df(a, x, out=None)`` write into ``out`` when it is given (an
    array of ``a``'s shape; it may be ``a`` itself for ``f``, ``a`` or ``x`` for ``df``)
    and return it; otherwise they return a new array.
    """

    name: str
    f: Callable[..., np.ndarray]
    df: Callable[..., np.ndarray]


ACTIVATIONS: dict[str, Activation] = {
    # (the ufunc itself, not a wrapper: a call on one neuron's (1, B) array costs a third
    # less without the Python frame)
    "tanh": Activation("tanh", np.tanh, _dtanh),
    "sigmoid": Activation("sigmoid", _sigmoid, _dsigmoid),
    "relu": Activation("relu", lambda a, out=None: np.maximum(a, 0.0, out=out), _drelu),
    "identity": Activation("identity", lambda a, out=None: np.multiply(a, 1.0, out=out),
                           _didentity),
}


def get_activation(name: str) -> Activation:
    """Return the activation called ``name`` or raise a :class:`GraphError` naming it."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise GraphError(
            f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}"
        ) from None


class ActivationMap:
    """Per-neuron activations applied to arrays whose axis 0 runs over neurons.

    Neurons sharing an activation are grouped (as a slice when they are contiguous), so
    a layered net with one activation per layer costs one call per layer.

    Args:
        names: activation name of each neuron, length N.
    """

    def __init__(self, names: Sequence[str]):
        names = list(names)
        self.names = names
        self.groups: list[tuple[slice | np.ndarray, Activation]] = []
        #: the single activation if every neuron uses the same one, else None
        self.uniform: Activation | None = None
        if not names:
            return
        # Split into runs of equal names; merge non-contiguous runs into index arrays.
        runs: dict[str, list[tuple[int, int]]] = {}
        start = 0
        for k in range(1, len(names) + 1):
            if k == len(names) or names[k] != names[start]:
                runs.setdefault(names[start], []).append((start, k))
                start = k
        for name, spans in runs.items():
            act = get_activation(name)
            if len(spans) == 1:
                idx = slice(*spans[0])
            else:
                idx = np.concatenate([np.arange(s, e) for s, e in spans])
            self.groups.append((idx, act))
        if len(self.groups) == 1:
            self.uniform = self.groups[0][1]

    def f(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """σ(a) for ``a`` of shape (N, ...), into ``out`` if given (which may be ``a``)."""
        if (act := self.uniform) is not None:
            return act.f(a, out=out)
        if out is None:
            out = np.empty_like(a)
        for idx, act in self.groups:  # an index array reads a copy: ``out`` may be ``a``
            if isinstance(idx, slice):
                act.f(a[idx], out=out[idx])
            else:
                out[idx] = act.f(a[idx])
        return out

    def df(self, a: np.ndarray, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """σ'(a) for ``a`` and ``x = σ(a)`` of shape (N, ...), into ``out`` if given."""
        if (act := self.uniform) is not None:
            return act.df(a, x, out=out)
        if out is None:
            out = np.empty_like(a)
        for idx, act in self.groups:
            if isinstance(idx, slice):
                act.df(a[idx], x[idx], out=out[idx])
            else:
                out[idx] = act.df(a[idx], x[idx])
        return out
