"""Backprop diffusion experiments: input streams, target presentation, fidelity, training.

A *stream* is a sequence of frames: inputs ``u`` of shape (S, n_in, B) and targets ``y``
of shape (S, n_out, B), B parallel streams on the engine's batch axis. Frame s (s = 1..S)
pairs the input shown at step s with *its own* target; the
:class:`agents.diffusion.Presenter` delays the target of output o by the output's forward
latency τ_o: at step s output o sees ``y_o(s − τ_o)`` and has no target while
``s − τ_o < 1``.

Fidelity (:func:`measure_fidelity`): with frozen weights (η = 0) the run accumulates the
diffusion update ``U_ij = Σ_s Σ_κ δ_iκ(s) x_jκ(s − d_ij)``; the reference is the exact
gradient (oracle: BP on DAGs, recurrent backprop at the fixed point otherwise) summed over
the frames whose targets reached the outputs during the run, ``R = Σ_{s ≤ S − τ_max}
Σ_κ ∇_w E(u_κ(s), y_κ(s))`` with τ_max the largest output latency — for a stream holding
each example for T steps, about T times the sum of the examples' gradients. Fidelity is
``cosine(U, R)``. (The last τ_max frames are left out of R because their targets were
never presented; U, run over all S steps, contains no error signal about them.)
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import numpy as np

from agents.diffusion import DIFFUSION, Presenter
from agents.errors import ConfigError, DataError
from networks.builders import layered
from networks.compile import CompiledNetwork, compile_graph
from networks.engines import as_compiled, make_engine
from networks.oracles import exact_gradient, forward_pass
from runs.bp import TrainResult, evaluate, train_bp
from runs.datasets import DATASETS, load_dataset
from runs.metrics import cosine


@dataclass(frozen=True)
class Stream:
    """A sequence of frames for B parallel streams.

    Attributes:
        u: inputs, shape (S, n_in, B).
        y: targets of the frames' own inputs, shape (S, n_out, B).
        example: index of the example shown in each frame, shape (S, B), or None.
    """

    u: np.ndarray
    y: np.ndarray
    example: np.ndarray | None = None

    @property
    def steps(self) -> int:
        """S, the number of frames."""
        return len(self.u)


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def example_order(n: int, n_examples: int, batch: int, rng: np.random.Generator
                  ) -> np.ndarray:
    """Example indices (n_examples, batch): each column runs through random permutations."""
    reps = -(-n_examples // n)
    cols = [np.concatenate([rng.permutation(n) for _ in range(reps)])[:n_examples]
            for _ in range(batch)]
    return np.stack(cols, axis=1)


def held_stream(X, targets, T: int, *, n_examples: int | None = None, batch: int = 1, seed=0,
                order: np.ndarray | None = None) -> Stream:
    """Present examples one by one, each held for T steps.

    Args:
        X: examples, shape (n, n_in).
        targets: their targets, shape (n_out, n).
        T: hold time >= 1 (steps per example).
        n_examples: examples per stream (needed unless ``order`` is given).
        batch: B, parallel streams (each its own random order).
        seed: seed of the example order.
        order: explicit example indices (n_examples, B) instead of a random order
            (then ``n_examples``, ``batch`` and ``seed`` are ignored).

    Returns:
        A :class:`Stream` of ``n_examples * T`` frames.
    """
    X, targets = np.asarray(X, dtype=np.float64), np.asarray(targets, dtype=np.float64)
    T, batch = _positive_int("T", T), _positive_int("batch", batch)
    if X.ndim != 2 or targets.ndim != 2 or targets.shape[1] != len(X):
        raise DataError(f"X must be (n, n_in) and targets (n_out, n); got {X.shape} and "
                        f"{targets.shape}")
    if order is None:
        order = example_order(len(X), _positive_int("n_examples", n_examples), batch,
                              np.random.default_rng(seed))
    order = np.asarray(order)
    if order.ndim != 2 or order.dtype.kind not in "iu" or order.min() < 0 \
            or order.max() >= len(X):
        raise DataError(f"order must be integer example indices (n_examples, B) in "
                        f"0..{len(X) - 1}, got shape {order.shape}")
    example = np.repeat(order, T, axis=0)  # (S, B)
    return Stream(u=X[example].transpose(0, 2, 1), y=targets[:, example].transpose(1, 0, 2),
                  example=example)


def sinusoid_stream(n_in: int, n_out: int, period: float, steps: int, *, batch: int = 1,
                    seed=0, amplitude: float = 1.0, teacher: CompiledNetwork | None = None
                    ) -> Stream:
    """Smooth regression streams: ``u_i(t) = A sin(2π t / P + φ_i)``, random phases φ.

    Targets are the outputs of ``teacher`` (a network with n_in inputs and n_out outputs)
    on the current input, or, without a teacher, sinusoids ``½ sin(2π t / P + ψ_o)``.

    Args:
        n_in: number of inputs.
        n_out: number of outputs.
        period: P > 0 in steps (larger is slower).
        steps: S, number of frames.
        batch: B, parallel streams (independent phases).
        seed: seed of the phases.
        amplitude: A.
        teacher: optional target network.

    Returns:
        A :class:`Stream` (``example`` is None).
    """
    if not period > 0:
        raise ConfigError(f"period must be > 0, got {period!r}")
    rng = np.random.default_rng(seed)
    batch = _positive_int("batch", batch)
    t = np.arange(1, _positive_int("steps", steps) + 1)[:, None, None]
    phase = 2 * np.pi * t / period
    u = amplitude * np.sin(phase + rng.uniform(0, 2 * np.pi, (n_in, batch)))
    if teacher is None:
        y = 0.5 * np.sin(phase + rng.uniform(0, 2 * np.pi, (n_out, batch)))
    else:
        _, x = forward_pass(teacher, u.transpose(1, 0, 2).reshape(n_in, -1))
        y = x[teacher.output_idx].reshape(n_out, steps, batch).transpose(1, 0, 2)
    return Stream(u=u, y=y)


@dataclass(frozen=True)
class Fidelity:
    """Result of :func:`measure_fidelity` (edge arrays (E,), node arrays (N,)).

    Attributes:
        cosine: cosine(update, reference) over the weights.
        cosine_all: the same over weights and biases.
        update, reference: accumulated diffusion update U and oracle gradient R of w.
        bias_update, bias_reference: the same for the biases.
        steps: number of frames.
    """

    cosine: float
    cosine_all: float
    update: np.ndarray
    reference: np.ndarray
    bias_update: np.ndarray
    bias_reference: np.ndarray
    steps: int


def reference_gradient(net: CompiledNetwork, stream: Stream, loss: str = "squared",
                       weight=None, bias=None, *, frames: int | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Oracle gradient summed over frames: ``(Σ dw (E,), Σ db (N,))``.

    Args:
        net: the compiled network.
        stream: the frames.
        loss: ``"squared"`` or ``"bce"``.
        weight: optional weight override (E,).
        bias: optional bias override (N,).
        frames: sum over the first ``frames`` frames only (default all).

    Identical frames are computed once and weighted by their count.
    """
    S = stream.steps if frames is None else frames
    _, n_in, B = stream.u.shape
    both = np.concatenate([stream.u[:S], stream.y[:S]], axis=1)
    cols = both.transpose(1, 0, 2).reshape(-1, S * B)
    uniq, counts = np.unique(cols, axis=1, return_counts=True)
    g = exact_gradient(net, uniq[:n_in], uniq[n_in:], loss, weight, bias)
    c = counts.astype(np.float64)
    dw = np.einsum("eb,eb,b->e", g.delta[net.tgt], g.x[net.src], c)
    return dw, g.delta @ c


def measure_fidelity(net, stream: Stream, *, loss: str = "squared", latency=None,
                     engine: str = "vector", warn: bool = True) -> Fidelity:
    """Run ``stream`` with frozen weights and compare the accumulated update with BP.

    Args:
        net: a graph or compiled network.
        stream: the frames (B = the engine's batch).
        loss: ``"squared"`` or ``"bce"``.
        latency: output latencies (default: shortest path delays).
        engine: ``"vector"`` or ``"agent"``.
        warn: warn about ambiguous latencies.

    Returns:
        A :class:`Fidelity` (see the module docstring for the definitions).
    """
    net = as_compiled(net)
    eng = make_engine(engine, net, DIFFUSION, {"eta": 0.0, "loss": loss},
                      batch=stream.u.shape[2])
    presenter = Presenter(eng, latency, warn=warn)
    presenter.run(stream.u, stream.y)
    dw, db = eng.state("dw_sum"), eng.state("db_sum")
    frames = max(stream.steps - int(presenter.latency.max(initial=0)), 1)
    ref_w, ref_b = reference_gradient(net, stream, loss, frames=frames)
    return Fidelity(cosine=cosine(dw, ref_w),
                    cosine_all=cosine(np.concatenate([dw, db]), np.concatenate([ref_w, ref_b])),
                    update=dw, reference=ref_w, bias_update=db, bias_reference=ref_b,
                    steps=stream.steps)


def trained_fidelity(net: CompiledNetwork, weight, bias, data, T: int, *,
                     loss: str = "squared", seed=0) -> float:
    """Cosine of the diffusion update to the exact gradient at given (trained) weights.

    Weights frozen; 4 streams of 32 training examples each, every example held T steps.
    """
    from runs.support import graph_with_params

    trained = compile_graph(graph_with_params(net, weight, bias))
    stream = held_stream(data.inputs("train").T, data.targets("train"), T, n_examples=32,
                         batch=4, seed=seed)
    return measure_fidelity(trained, stream, loss=loss, warn=False).cosine


def record_waves(net, stream: Stream, *, loss: str = "squared", latency=None,
                 engine: str = "vector", warn: bool = True) -> dict[str, np.ndarray]:
    """Run ``stream`` with frozen weights, recording the waves for a raster plot.

    Returns:
        ``{"x": (S, N, B), "delta": (S, N, B), "e": (S, N, B)}``.
    """
    net = as_compiled(net)
    eng = make_engine(engine, net, DIFFUSION, {"eta": 0.0, "loss": loss},
                      batch=stream.u.shape[2], record=["x", "delta", "e"])
    Presenter(eng, latency, warn=warn).run(stream.u, stream.y)
    return eng.recording


def train(net, data, *, T: int, eta: float, epochs: int, batch: int = 8,
          loss: str = "squared", latency=None, engine: str = "vector", seed=0,
          eval_every: int = 1, warn: bool = True) -> TrainResult:
    """Train with backprop diffusion on a dataset, each example held for T steps.

    Every epoch presents each training example once, spread over ``batch`` parallel
    streams (random order; an uneven split is padded with random repeats), as one
    continuous stream across epochs. Weights change at every step by ``η / B · Σ_κ δ x``
    (:mod:`agents.diffusion`). Metrics use the forward-pass predictor with the current
    weights (:func:`runs.bp.evaluate`, as for the BP baseline).

    Args:
        net: a graph or compiled network (its weights are the initial ones).
        data: a :class:`runs.datasets.Dataset`.
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
        A :class:`runs.bp.TrainResult`; history rows hold ``step, epoch, loss,
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


def compare_bp(name: str, seeds, hidden=(16,), *, T: int = 8, eta: float = 0.05,
               epochs: int = 100, batch: int = 8, bp_lr: float = 0.05,
               loss: str = "bce", activation: str = "tanh") -> list[dict]:
    """Diffusion vs BP test accuracy on the same network, initial weights and split.

    For each seed: ``load_dataset(name, seed=seed)``, ``layered([d, *hidden, n_out],
    activation, "sigmoid", seed=seed)``; diffusion trains with :func:`train`; BP with
    :func:`runs.bp.train_bp` (plain gradient steps of ``bp_lr`` on mini-batches of
    ``batch``, mean gradient, same loss and number of epochs).

    Returns:
        Rows ``{dataset, seed, diff_train_acc, diff_test_acc, bp_train_acc, bp_test_acc,
        gap}`` with ``gap`` = diffusion − BP test accuracy in points.
    """
    rows = []
    for seed in seeds:
        ds = load_dataset(name, seed=seed)
        net = compile_graph(layered([ds.n_inputs, *hidden, ds.n_outputs], activation,
                                    "sigmoid", seed=seed))
        d = train(net, ds, T=T, eta=eta, epochs=epochs, batch=batch, loss=loss, seed=seed,
                  eval_every=epochs).final
        bp = train_bp(net, ds, optimizer="sgd", lr=bp_lr, loss=loss, epochs=epochs,
                      batch_size=batch, seed=seed, eval_every=10**9).final
        rows.append({"dataset": name, "seed": seed, "diff_train_acc": d["train_acc"],
                     "diff_test_acc": d["test_acc"], "bp_train_acc": bp["train_acc"],
                     "bp_test_acc": bp["test_acc"],
                     "gap": 100 * (d["test_acc"] - bp["test_acc"])})
    return rows


def main(argv=None) -> int:
    """``python -m runs.diffusion --dataset wine --seeds 0 1 2``: diffusion vs BP."""
    p = argparse.ArgumentParser(prog="python -m runs.diffusion", description=main.__doc__)
    p.add_argument("--dataset", default="wine", choices=list(DATASETS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--hidden", type=int, nargs="+", default=[16])
    p.add_argument("--T", type=int, default=8)
    p.add_argument("--eta", type=float, default=0.05)
    p.add_argument("--bp-lr", type=float, default=0.05)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--loss", default="bce", choices=["squared", "bce"])
    p.add_argument("--activation", default="tanh", help="hidden activation")
    a = p.parse_args(argv)
    rows = compare_bp(a.dataset, a.seeds, tuple(a.hidden), T=a.T, eta=a.eta,
                      epochs=a.epochs, batch=a.batch, bp_lr=a.bp_lr, loss=a.loss,
                      activation=a.activation)
    print("dataset seed  diffusion train/test   BP train/test   gap (pts)")
    for r in rows:
        print(f"{r['dataset']:<7} {r['seed']:>4}  {100 * r['diff_train_acc']:7.2f} "
              f"{100 * r['diff_test_acc']:7.2f}   {100 * r['bp_train_acc']:7.2f} "
              f"{100 * r['bp_test_acc']:7.2f}   {r['gap']:+7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
