"""Constraint functions G of the LP Lagrangian (docs/math/lp.md), with their derivatives G'.

Every constraint is a pair of broadcasting functions ``G(c, eps)`` and ``G'(c, eps)`` of
the residual ``c = x − σ(a)`` (any shape) and the tube half-width ``eps >= 0`` (ignored by
``lin``, ``abs`` and ``squared``). All satisfy ``G(0) = 0``.

===========  ==================================  ====================================
name         G(c)                                G'(c)
===========  ==================================  ====================================
``lin``      c                                   1
``lin-eps``  max(c, ε) − max(−c, ε)              1 if |c| > ε else 0
``abs``      |c|                                 sign(c)
``abs-eps``  max(|c| − ε, 0)                     sign(c) if |c| > ε else 0
``squared``  c²                                  2 c
===========  ==================================  ====================================

Sub-gradient conventions at the kinks (the value a local rule uses there): ``abs`` at
``c = 0`` → 0 (``np.sign(0) = 0``); the ε-variants at ``|c| = ε`` → 0, i.e. the border
of the tube counts as inside, so a constraint on or inside the tube exerts no reaction
(its neuron is not a *support* pair there). ``lin-eps`` equals ``sign(c) max(|c| − ε, 0)``
(a soft threshold); with ``eps = 0`` it equals ``lin`` except G'(0) = 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from agents.activations import ones
from agents.errors import ConfigError

Array = np.ndarray


@dataclass(frozen=True)
class Constraint:
    """A constraint function G with its derivative G'.

    Attributes:
        name: registry key.
        g: ``G(c, eps, out=None)``, elementwise, same shape as ``c``; written into
            ``out`` (an array shaped like ``c``, not ``c`` itself) when given.
        dg: ``G'(c, eps, out=None)``, elementwise (sub-gradient conventions in the module
            doc), likewise.
        doc: the formula.
        identity: G(c) = c and G'(c) = 1 everywhere: a rule may use ``c`` as G(c) and
            skip the product with G' (no pass over the data).
    """

    name: str
    g: Callable[..., Array]
    dg: Callable[..., Array]
    doc: str = ""
    identity: bool = False


def _lin(c, eps, out=None):
    return np.multiply(c, 1.0, out=out)


def _dlin(c, eps, out=None):
    return ones(c, out)


def _lin_eps(c, eps, out=None):
    out = np.maximum(c, eps, out=out)
    out -= np.maximum(-c, eps)
    return out


def _dlin_eps(c, eps, out=None):
    if out is None:
        return (np.abs(c) > eps).astype(np.result_type(c, 1.0))
    return np.greater(np.abs(c), eps, out=out)


def _abs(c, eps, out=None):
    return np.abs(c, out=out)


def _dabs(c, eps, out=None):
    return np.sign(c, out=out)


def _abs_eps(c, eps, out=None):
    out = np.abs(c, out=out)
    out -= eps
    return np.maximum(out, 0.0, out=out)


def _dabs_eps(c, eps, out=None):
    inside = ~(np.abs(c) > eps)   # (a NaN is inside, as np.where(|c| > ε, …, 0) has it)
    out = np.sign(c, out=out)
    out[inside] = 0.0
    return out


def _squared(c, eps, out=None):
    return np.multiply(c, c, out=out)


def _dsquared(c, eps, out=None):
    return np.multiply(c, 2.0, out=out)


CONSTRAINTS: dict[str, Constraint] = {
    "lin": Constraint("lin", _lin, _dlin, "c", identity=True),
    "lin-eps": Constraint("lin-eps", _lin_eps, _dlin_eps, "max(c, ε) − max(−c, ε)"),
    "abs": Constraint("abs", _abs, _dabs, "|c|"),
    "abs-eps": Constraint("abs-eps", _abs_eps, _dabs_eps, "max(|c| − ε, 0)"),
    "squared": Constraint("squared", _squared, _dsquared, "c²"),
}


def get_constraint(name: str) -> Constraint:
    """Return the constraint called ``name``.

    Raises:
        ConfigError: naming the unknown constraint and listing the known ones.
    """
    try:
        return CONSTRAINTS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown constraint {name!r}; choose one of {sorted(CONSTRAINTS)}"
        ) from None
