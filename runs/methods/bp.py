"""The BP baseline method: exact gradients, the same elementwise optimisers as LP.

Gradients come from :func:`networks.oracles.exact_gradient` (BP on DAGs, recurrent
backprop on cyclic graphs); the optimisers are those of :mod:`agents.optim`. Like LP with
``reduce="mean"``, the data gradient is averaged over the (mini-)batch and weight decay
adds ``μ w``. One optimiser step per (mini-)batch. Metric: ``grad_norm``, the norm of the
last step's gradient (weights and biases).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from agents.errors import ConfigError
from agents.losses import get_loss
from agents.optim import Optimizer, check_optimizer
from networks.oracles import exact_gradient, settled_bptt_gradient
from runs.methods.base import (
    SHARED_SCHEDULE,
    WEIGHT_ETA,
    WEIGHT_OPTIMIZER,
    Method,
    Schedule,
    TrainResult,
    batches,
    register,
)
from runs.methods.metrics import cosine


@dataclass(frozen=True)
class BPParams:
    """Parameters of the BP baseline.

    Defaults: the weight optimiser and step size every method shares
    (:data:`runs.methods.base.WEIGHT_OPTIMIZER`, :data:`~runs.methods.base.WEIGHT_ETA`).

    Attributes:
        optimizer: ``"sgd"`` or ``"adam"`` (:data:`agents.optim.OPTIMIZERS`).
        eta: step size (> 0).
        beta1, beta2, adam_eps: Adam constants.
        mu: weight decay μ (>= 0).
        loss: per-output loss (:data:`agents.losses.LOSSES`).
    """

    optimizer: str = WEIGHT_OPTIMIZER
    eta: float = WEIGHT_ETA
    beta1: float = 0.9
    beta2: float = 0.999
    adam_eps: float = 1e-8
    mu: float = 0.0
    loss: str = "squared"

    def __post_init__(self):
        check_optimizer(self.optimizer)
        get_loss(self.loss)
        for name in ("eta", "beta1", "beta2", "adam_eps", "mu"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ConfigError(f"BP parameter {name!r} must be a finite number, got {v!r}")
        if not self.eta > 0 or self.mu < 0 or not self.adam_eps > 0:
            raise ConfigError(f"BP parameters need eta > 0, mu >= 0 and adam_eps > 0, got "
                              f"eta={self.eta}, mu={self.mu}, adam_eps={self.adam_eps}")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ConfigError(f"BP parameters beta1, beta2 must be in [0, 1), got "
                              f"{self.beta1}, {self.beta2}")


def matching_bp(params) -> BPParams:
    """The BP baseline for a method that updates its weights with an optimiser.

    Same optimiser and constants, step size ``eta_w``, weight decay and loss as
    ``params`` (e.g. :class:`agents.lp.LPParams`).

    Raises:
        ConfigError: if ``params`` has no ``optimizer`` and ``eta_w``.
    """
    if not all(hasattr(params, k) for k in ("optimizer", "eta_w")):
        raise ConfigError(f"no matching BP baseline for {type(params).__name__}: it has no "
                          "'optimizer' and 'eta_w'")
    return BPParams(optimizer=params.optimizer, eta=params.eta_w, beta1=params.beta1,
                    beta2=params.beta2, adam_eps=params.adam_eps, mu=params.mu,
                    loss=params.loss)


class ExactLearner:
    """BP's adapter: one optimiser step on the exact (mini-)batch gradient."""

    watched = ()
    engine = None

    def __init__(self, net, dataset, params: BPParams, schedule: Schedule, *,
                 engine: str, dtype, seed: int, with_cosine: bool):
        self.net, self.params, self.dtype, self.steps = net, params, dtype, 0
        self.batch = schedule.batch
        self.opt = Optimizer(params.optimizer, params.eta, params.beta1, params.beta2,
                             params.adam_eps)
        self.U, self.Y = dataset.inputs("train"), dataset.targets("train")
        self.w, self.b = net.weight.astype(dtype), net.bias.astype(dtype)
        self.grad_norm = float("nan")

    def epoch(self, rng: np.random.Generator) -> None:
        """One step per (mini-)batch (see :func:`runs.methods.base.batches`)."""
        p, U, Y = self.params, self.U, self.Y
        for idx in batches(U.shape[1], self.batch, rng):
            gr = exact_gradient(self.net, U[:, idx], Y[:, idx], p.loss, self.w, self.b)
            dw = (gr.dw / len(idx) + p.mu * self.w).astype(self.dtype)
            db = (gr.db / len(idx)).astype(self.dtype)
            self.grad_norm = float(np.sqrt(np.sum(dw ** 2) + np.sum(db ** 2)))
            self.w = self.opt.update("weight", self.w, dw).astype(self.dtype)
            self.b = self.opt.update("bias", self.b, db).astype(self.dtype)
            self.steps += 1

    def parameters(self) -> tuple[np.ndarray, np.ndarray]:
        """Current ``(weight, bias)``."""
        return self.w.copy(), self.b.copy()

    def metrics(self) -> dict:
        """``{"grad_norm"}``."""
        return {"grad_norm": self.grad_norm}

    def state(self) -> dict:
        """No per-example state."""
        return {}


def _exact(result: TrainResult, dataset, seed: int) -> float:
    """Cosine of BP's gradient to BPTT of the forward predictor, at the trained weights.

    Both plus ``μ w``, summed over the training set. 1 on a DAG (BP is that gradient); on
    a cyclic graph recurrent backprop at the fixed point vs BPTT over the window the
    dynamics take to settle (1 up to the settling tolerance).
    """
    U, Y, p = dataset.inputs("train"), dataset.targets("train"), result.params
    bp = exact_gradient(result.net, U, Y, p.loss, result.weight, result.bias).dw
    ref = settled_bptt_gradient(result.net, U, Y, p.loss, result.weight, result.bias).dw
    return cosine(bp + p.mu * result.weight, ref + p.mu * result.weight)


#: The BP baseline: the shared weight optimiser, step size and schedule.
BP_METHOD = register(Method(
    name="bp", params=BPParams, learner=ExactLearner, presentation="exact",
    defaults=BPParams(), schedule=SHARED_SCHEDULE, fidelity=_exact))
