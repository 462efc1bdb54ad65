"""Input streams for delayed networks: examples held T steps, smooth sinusoids.

A *stream* is a sequence of frames: inputs ``u`` of shape (S, n_in, B) and targets ``y``
of shape (S, n_out, B), B parallel streams on the engine's batch axis. Frame s (s = 1..S)
pairs the input shown at step s with *its own* target (the
:class:`agents.diffusion.Presenter` delays it by each output's latency).
"""

from dataclasses import dataclass

import numpy as np

from agents.diffusion import Presenter
from agents.errors import ConfigError, DataError
from networks.compile import CompiledNetwork
from networks.engines import make_engine
from networks.oracles import forward_pass


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


def presenter(net, rule, params, *, batch: int, engine: str = "vector", dtype="float64",
              record=(), latency=None, warn: bool = True, rng=0) -> Presenter:
    """An engine running ``rule`` on ``batch`` parallel streams, fed by a Presenter.

    Args:
        net: a graph or compiled network.
        rule: the rule (forward and backward waves, e.g. backprop diffusion).
        params: the rule's params object (or a mapping of its fields).
        batch: B, the parallel streams.
        engine: ``"vector"`` or ``"agent"``.
        dtype: float dtype of the engine's state.
        record: variables the engine records every step.
        latency: output latencies (default: shortest path delays).
        warn: warn about outputs whose input paths have different delays.
        rng: the engine's seed or Generator (random initial state, e.g. feedback
            alignment's feedback weights, is drawn from it).

    Returns:
        The :class:`agents.diffusion.Presenter` (its engine is ``.engine``).
    """
    eng = make_engine(engine, net, rule, params, batch=batch, dtype=dtype, record=list(record),
                      rng=rng)
    return Presenter(eng, latency, warn=warn)
