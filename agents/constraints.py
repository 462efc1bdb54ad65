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

from agents.errors import ConfigError

Array = np.ndarray


@dataclass(frozen=True)
class Constraint:
    """A constraint function G with its derivative G'.

    Attributes:
        name: registry key.
        g: ``G(c, eps)``, elementwise, same shape as ``c``.
        dg: ``G'(c, eps)``, elementwise (sub-gradient conventions in the module doc).
        doc: the formula.
    """

    name: str
    g: Callable[[Array, float], Array]
    dg: Callable[[Array, float], Array]
    doc: str = ""


def _lin(c, eps):
    return 1.0 * c


def _dlin(c, eps):
    return np.ones_like(c)


def _lin_eps(c, eps):
    return np.maximum(c, eps) - np.maximum(-c, eps)


def _dlin_eps(c, eps):
    return (np.abs(c) > eps).astype(np.result_type(c, 1.0))


def _abs(c, eps):
    return np.abs(c)


def _dabs(c, eps):
    return np.sign(c)


def _abs_eps(c, eps):
    return np.maximum(np.abs(c) - eps, 0.0)


def _dabs_eps(c, eps):
    return np.where(np.abs(c) > eps, np.sign(c), 0.0)


def _squared(c, eps):
    return c * c


def _dsquared(c, eps):
    return 2.0 * c


CONSTRAINTS: dict[str, Constraint] = {
    "lin": Constraint("lin", _lin, _dlin, "c"),
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
