"""The backprop baseline trainer: oracle gradients, the same optimisers as LP.

Trains the same compiled network (same initial weights) on the same dataset split as
:func:`runs.methods.lp.train_lp`, with exact gradients from :func:`networks.oracles.
exact_gradient` (BP on DAGs, recurrent backprop on cyclic graphs) and the elementwise
optimisers of :mod:`agents.optim`. Like LP with ``reduce="mean"``, the data gradient is
averaged over the (mini-)batch and weight decay adds ``μ w``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.errors import ConfigError
from agents.losses import get_loss
from agents.optim import Optimizer
from networks.engines.base import as_compiled
from networks.oracles import exact_gradient
from runs.methods.evaluate import evaluate


@dataclass
class TrainResult:
    """What a trainer returns.

    Attributes:
        history: tidy rows (one dict per evaluation: ``step``, ``epoch``, metrics).
        weight: final weights, shape (E,) canonical order.
        bias: final biases, shape (N,).
        net: the compiled network trained (its own arrays hold the *initial* parameters).
    """

    history: list[dict]
    weight: np.ndarray
    bias: np.ndarray
    net: object

    @property
    def final(self) -> dict:
        """The last history row."""
        return self.history[-1]


def batches(n: int, batch_size: int | None, rng: np.random.Generator) -> list[np.ndarray]:
    """Example indices of one epoch, each array sorted.

    Full batch: all of them. Mini-batches: a seeded permutation cut into ``n //
    batch_size`` batches of exactly ``batch_size`` (the rest is dropped this epoch; every
    epoch draws a new permutation).
    """
    if batch_size is None or batch_size >= n:
        return [np.arange(n)]
    perm = rng.permutation(n)
    return [np.sort(perm[k * batch_size:(k + 1) * batch_size])
            for k in range(n // batch_size)]


def check_schedule(epochs: int, batch_size: int | None, eval_every: int) -> None:
    """Raise a :class:`ConfigError` naming a bad ``epochs``/``batch_size``/``eval_every``."""
    for name, value in (("epochs", epochs), ("eval_every", eval_every)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    if batch_size is not None and (isinstance(batch_size, bool)
                                   or not isinstance(batch_size, int) or batch_size < 1):
        raise ConfigError(f"batch_size must be a positive integer or None, got {batch_size!r}")


def train_bp(net, dataset, *, optimizer: str = "adam", lr: float = 1e-2, beta1: float = 0.9,
             beta2: float = 0.999, adam_eps: float = 1e-8, mu: float = 0.0,
             loss: str = "squared", epochs: int = 100, batch_size: int | None = None,
             seed: int = 0, eval_every: int = 10) -> TrainResult:
    """Train with exact gradients (the BP baseline).

    Args:
        net: a network graph or compiled network (its weights are the initial ones).
        dataset: a :class:`runs.data.datasets.Dataset`.
        optimizer: ``"sgd"`` or ``"adam"``.
        lr: step size.
        beta1: Adam first-moment decay.
        beta2: Adam second-moment decay.
        adam_eps: Adam denominator guard.
        mu: weight decay μ.
        loss: ``"squared"`` or ``"bce"``.
        epochs: passes over the training set (full batch: one step per epoch).
        batch_size: mini-batch size or None for full batch.
        seed: seed of the mini-batch order.
        eval_every: evaluate every this many steps (and at the end).

    Returns:
        A :class:`TrainResult`; history rows hold ``step, epoch, loss, train_acc,
        test_acc, grad_norm``.
    """
    check_schedule(epochs, batch_size, eval_every)
    get_loss(loss)
    net = as_compiled(net)
    dataset.check_fits(net)
    opt = Optimizer(optimizer, lr, beta1, beta2, adam_eps)
    rng = np.random.default_rng(seed)
    U, Y = dataset.inputs("train"), dataset.targets("train")
    w, b = net.weight.copy(), net.bias.copy()
    history, step, grad_norm = [], 0, float("nan")

    def record(epoch):
        history.append({"step": step, "epoch": epoch, **evaluate(net, w, b, dataset, loss),
                        "grad_norm": grad_norm})

    record(0)
    for epoch in range(1, epochs + 1):
        for idx in batches(U.shape[1], batch_size, rng):
            gr = exact_gradient(net, U[:, idx], Y[:, idx], loss, w, b)
            dw = gr.dw / len(idx) + mu * w
            db = gr.db / len(idx)
            grad_norm = float(np.sqrt(np.sum(dw ** 2) + np.sum(db ** 2)))
            w = opt.update("weight", w, dw)
            b = opt.update("bias", b, db)
            step += 1
            if step % eval_every == 0:
                record(epoch)
    if history[-1]["step"] != step:
        record(epochs)
    return TrainResult(history, w, b, net)
