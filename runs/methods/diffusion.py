"""Training with backprop diffusion: examples held T steps, the weights learn every step."""


import numpy as np

from agents.diffusion import DIFFUSION, Presenter
from networks.engines import as_compiled, make_engine
from runs.data.streams import _positive_int, held_stream
from runs.methods.bp import TrainResult
from runs.methods.evaluate import evaluate


def train(net, data, *, T: int, eta: float, epochs: int, batch: int = 8,
          loss: str = "squared", latency=None, engine: str = "vector", seed=0,
          eval_every: int = 1, warn: bool = True) -> TrainResult:
    """Train with backprop diffusion on a dataset, each example held for T steps.

    Every epoch presents each training example once, spread over ``batch`` parallel
    streams (random order; an uneven split is padded with random repeats), as one
    continuous stream across epochs. Weights change at every step by ``η / B · Σ_κ δ x``
    (:mod:`agents.diffusion`). Metrics use the forward-pass predictor with the current
    weights (:func:`runs.methods.evaluate.evaluate`, as for the BP baseline).

    Args:
        net: a graph or compiled network (its weights are the initial ones).
        data: a :class:`runs.data.datasets.Dataset`.
        T: hold time in steps.
        eta: learning rate per step.
        epochs: number of passes over the training set.
        batch: B, parallel streams.
        loss: ``"squared"`` or ``"bce"``.
        latency: output latencies (default: shortest path delays).
        engine: ``"vector"`` or ``"agent"``.
        seed: seed of the example order.
        eval_every: evaluate every this many epochs (and at the end).
        warn: warn about ambiguous latencies.

    Returns:
        A :class:`runs.methods.bp.TrainResult`; history rows hold ``step, epoch, loss,
        train_acc, test_acc``.
    """
    net = as_compiled(net)
    data.check_fits(net)
    rng = np.random.default_rng(seed)
    X, Y = data.X_train, data.targets("train")
    n = len(X)
    per_stream = -(-n // _positive_int("batch", batch))
    eng = make_engine(engine, net, DIFFUSION, {"eta": eta, "loss": loss}, batch=batch)
    presenter = Presenter(eng, latency, warn=warn)
    history = []

    def record(epoch):
        w, b = eng.state("weight"), eng.state("bias")
        history.append({"step": eng.t, "epoch": epoch, **evaluate(net, w, b, data, loss)})

    record(0)
    for epoch in range(1, _positive_int("epochs", epochs) + 1):
        perm = np.concatenate([rng.permutation(n), rng.integers(n, size=per_stream * batch - n)])
        frames = held_stream(X, Y, T, batch=batch, order=perm.reshape(batch, per_stream).T)
        presenter.run(frames.u, frames.y)
        if epoch % eval_every == 0 or epoch == epochs:
            record(epoch)
    return TrainResult(history, eng.state("weight"), eng.state("bias"), net)

