"""Rule 3: feedback alignment (Lillicrap et al. 2016) on time-delayed neurons.

Backprop diffusion (:mod:`agents.diffusion`) with one change: the backward wave is
weighted by fixed random feedback weights ``B`` instead of the forward weights ``W``::

    a_i(t) = Σ_j w_ij x_j(t − d_ij) + b_i          x_i(t) = σ(a_i(t))   (inputs: x = u)
    e_i(t) = [i ∈ O, target present] ∂V(x_i(t), y_i)/∂x_i
    δ_i(t) = σ'(a_i(t)) (e_i(t) + Σ_h B_hi δ_h(t − d_hi))                  (inputs: δ = 0)
    w_ij  ← w_ij − η · Σ_κ δ_iκ(t) x_jκ(t − d_ij) / B,    b_i ← b_i − η Σ_κ δ_iκ(t) / B

(the last ``B`` is the batch size when ``average=True``). The node and edge update
functions, the state and the parameters of diffusion are reused unchanged; only the
backward channel names another edge variable, ``feedback`` (B_hi, owned like w_hi by the
postsynaptic neuron h, which sends ``B_hi δ_h`` to its parent i). ``feedback`` is drawn
once from the engine's seeded Generator and never updated, so no weight is transported
and the rule is exactly as local as diffusion. With ``B = W`` (``feedback="weight"`` and
frozen weights) it is backprop diffusion, hence the BP gradient once the waves have
settled on a DAG under held input; with random B the update is not the gradient, but the
forward weights come to *align* with B during learning.

Feedback weights (:class:`FAParams`), drawn per edge (i → h) in canonical edge order,
with ``fan_in(h)`` the in-degree of the postsynaptic neuron h (like the builders' forward
weights, so that B and W have the same scale at initialisation):

* ``"normal"`` (default): ``B_hi ~ N(0, feedback_scale² / fan_in(h))``;
* ``"uniform"``: ``B_hi ~ U(−r, r)``, ``r = feedback_scale · sqrt(3 / fan_in(h))`` (the
  same variance);
* ``"weight"``: ``B = W`` at construction (no draw; fixed afterwards): the exactness
  check, or FA started from the initial weights.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from agents.diffusion import DIFFUSION, DiffusionParams
from agents.errors import ConfigError
from agents.rule import InitContext, Rule, Stage, StateVar

FEEDBACK_INITS = ("normal", "uniform", "weight")


@dataclass(frozen=True)
class FAParams(DiffusionParams):
    """Parameters of feedback alignment: those of :class:`DiffusionParams` plus B's law.

    Attributes:
        eta, loss, average: as for backprop diffusion.
        feedback: how B is initialised: ``"normal"``, ``"uniform"`` or ``"weight"``
            (module docstring).
        feedback_scale: B's standard deviation times sqrt(fan-in) (> 0; unused by
            ``"weight"``).
    """

    feedback: str = "normal"
    feedback_scale: float = 1.0

    rule_label: ClassVar[str] = "feedback-alignment"

    def __post_init__(self):
        super().__post_init__()
        if self.feedback not in FEEDBACK_INITS:
            raise ConfigError(f"feedback-alignment parameter 'feedback' must be one of "
                              f"{list(FEEDBACK_INITS)}, got {self.feedback!r}")
        scale = self.feedback_scale
        if isinstance(scale, bool | np.bool_) or not isinstance(scale, numbers.Real) \
                or not (math.isfinite(scale) and scale > 0):
            raise ConfigError(f"feedback-alignment parameter 'feedback_scale' must be a "
                              f"finite number > 0, got {scale!r}")


def feedback_init(rng: np.random.Generator, shape: tuple, ctx: InitContext) -> np.ndarray:
    """Initial feedback weights B, shape (E,) in canonical edge order (module docstring)."""
    p = ctx.params
    if p.feedback == "weight":
        return ctx.weight.copy()
    std = p.feedback_scale / np.sqrt(ctx.fan_in)
    if p.feedback == "normal":
        return std * rng.standard_normal(shape)
    return math.sqrt(3.0) * std * rng.uniform(-1.0, 1.0, shape)


def _with_feedback_channel(stage: Stage) -> Stage:
    """Diffusion's stage with its backward channel weighted by ``feedback``."""
    channels = tuple(replace(ch, weight="feedback") if ch.direction == "backward" else ch
                     for ch in stage.channels)
    return replace(stage, channels=channels)


FEEDBACK_ALIGNMENT = Rule(
    name="fa",
    node_vars=DIFFUSION.node_vars,
    edge_vars=(*DIFFUSION.edge_vars,
               StateVar("feedback", feedback_init, batched=False,
                        doc="B_hi: fixed random feedback weight of edge (i, h), owned by h")),
    stages=tuple(_with_feedback_channel(stage) for stage in DIFFUSION.stages),
    params=FAParams,
    finite_implied=DIFFUSION.finite_implied,
)
