"""Temporal tasks that need recurrence, generated from an explicit seed (nothing downloaded).

Every task returns a :class:`TaskStream`: B independent streams that an engine (or
:func:`networks.oracles.bptt_gradient`) consumes one step at a time —

* ``u`` (T, n_in, B): the input of step s is ``u[s - 1]``;
* ``y`` (T, n_out, B): the target *belonging to the input of step s* (frame convention of
  :class:`agents.diffusion.Presenter`: output o is scored on it at step s + τ_o, τ_o its
  forward latency);
* ``mask`` (T, n_out, B) bool: which frames are scored (False where the target is not
  defined yet, e.g. before the first pulse of a flip-flop channel).

Tasks:

* :func:`flip_flop` — n-bit flip-flop (Sussillo & Barak 2013): each input channel carries
  rare ±1 pulses (0 otherwise); the matching output must hold the sign of the last pulse
  on its channel indefinitely. Memory of unbounded length: a feedforward net with path
  delays ≤ L only sees the last L inputs and fails whenever the last pulse is older.
* :func:`delayed_recall` — output the input of k steps ago (random ±1 bits). With output
  latency τ the response to frame s comes at step s + τ and must reproduce u(s − k), an
  input k + τ steps old; a feedforward net whose longest input-to-output path delay is
  L < k + τ cannot see it, so choose k beyond L (k > L always suffices).
* :func:`periodic` — ``mode="generate"``: a single trigger pulse, then the output must
  produce ``sin(2π (s − s₀) / P)`` forever; a feedforward net falls silent L steps after
  the pulse, a cyclic one can oscillate. ``mode="predict"``: the input is a sine with a
  random phase and the target the same sine ``horizon`` steps ahead — this one does
  **not** need recurrence (a sine obeys a two-term linear recurrence, so a feedforward net
  with two distinct path delays can extrapolate it); it is offered as a control.

Scores (:func:`evaluate`): mean squared error over scored entries for every task, and for
the ±1 tasks (flip-flop, recall) the accuracy of the output's sign.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from agents.errors import ConfigError, DataError

MAX_VALUES = 50_000_000  # T · channels · B per array, checked before allocating


@dataclass(frozen=True)
class TaskStream:
    """B streams of one task.

    Attributes:
        name: task name (a key of :data:`TASKS`).
        u: inputs, shape (T, n_in, B).
        y: targets in frame convention, shape (T, n_out, B).
        mask: scored frames, bool (T, n_out, B).
        signed: targets are ±1 (sign accuracy is meaningful).
        params: the generator's arguments (seed included), for the record.
    """

    name: str
    u: np.ndarray
    y: np.ndarray
    mask: np.ndarray
    signed: bool
    params: dict

    @property
    def steps(self) -> int:
        """T, the number of steps."""
        return self.u.shape[0]


def _int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ConfigError(f"task parameter {name!r} must be an integer >= {minimum}, "
                          f"got {value!r}")
    return int(value)


def _real(name: str, value, lo: float, hi: float, *, open_lo: bool = True) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) \
        and math.isfinite(value) and (value > lo if open_lo else value >= lo) and value <= hi
    if not ok:
        raise ConfigError(f"task parameter {name!r} must be a number in "
                          f"{'(' if open_lo else '['}{lo:g}, {hi:g}], got {value!r}")
    return float(value)


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ConfigError(f"task parameter 'seed' must be an integer or a "
                          f"numpy.random.Generator, got {seed!r}")
    return np.random.default_rng(int(seed))


def _check_size(steps: int, channels: int, batch: int) -> None:
    if steps * channels * batch > MAX_VALUES:
        raise DataError(f"a task of {steps} steps × {channels} channels × {batch} streams "
                        f"has {steps * channels * batch:,} values (limit {MAX_VALUES:,})")


def flip_flop(steps: int, *, n_bits: int = 3, batch: int = 1, p_pulse: float = 0.05,
              seed) -> TaskStream:
    """The n-bit flip-flop.

    At every step each channel independently carries a pulse with probability
    ``p_pulse``, of random sign (±1); otherwise 0. Target of channel c at step s: the sign
    of the last pulse on c at a step ≤ s (the pulse's own step included); not scored
    before the channel's first pulse.

    Args:
        steps: T >= 1.
        n_bits: channels (inputs = outputs = n_bits).
        batch: B independent streams.
        p_pulse: pulse probability per channel and step, in (0, 1].
        seed: int or ``numpy.random.Generator``.

    Returns:
        The :class:`TaskStream` (``signed=True``).

    """
    steps, n_bits = _int("steps", steps, 1), _int("n_bits", n_bits, 1)
    batch = _int("batch", batch, 1)
    p_pulse = _real("p_pulse", p_pulse, 0.0, 1.0)
    _check_size(steps, n_bits, batch)
    rng = _rng(seed)
    pulse = rng.random((steps, n_bits, batch)) < p_pulse
    sign = rng.choice([-1.0, 1.0], size=(steps, n_bits, batch))
    u = np.where(pulse, sign, 0.0)
    # index of the last pulse at or before each step (−1: none yet), then gather its sign
    idx = np.where(pulse, np.arange(steps)[:, None, None], -1)
    last = np.maximum.accumulate(idx, axis=0)
    mask = last >= 0
    y = np.where(mask, np.take_along_axis(u, np.maximum(last, 0), axis=0), 0.0)
    return TaskStream("flip_flop", u, y, mask, True,
                      {"steps": steps, "n_bits": n_bits, "batch": batch,
                       "p_pulse": p_pulse, "seed": seed})


def delayed_recall(steps: int, *, lag: int, n_channels: int = 1, batch: int = 1,
                   seed) -> TaskStream:
    """Recall the input of ``lag`` steps ago.

    Inputs are independent random ±1 bits; the target of frame s is ``u(s − lag)`` and is
    scored for s > lag.

    Args:
        steps: T >= 1.
        lag: k >= 1; pick it beyond the longest input-to-output path delay of a
            feedforward control so that memory is needed.
        n_channels: channels (inputs = outputs).
        batch: B independent streams.
        seed: int or ``numpy.random.Generator``.

    Returns:
        The :class:`TaskStream` (``signed=True``).

    """
    steps, lag = _int("steps", steps, 1), _int("lag", lag, 1)
    n_channels, batch = _int("n_channels", n_channels, 1), _int("batch", batch, 1)
    _check_size(steps, n_channels, batch)
    rng = _rng(seed)
    u = rng.choice([-1.0, 1.0], size=(steps, n_channels, batch))
    y = np.zeros_like(u)
    y[lag:] = u[:steps - lag]
    mask = np.zeros(u.shape, dtype=bool)
    mask[lag:] = True
    return TaskStream("delayed_recall", u, y, mask, True,
                      {"steps": steps, "lag": lag, "n_channels": n_channels,
                       "batch": batch, "seed": seed})


def periodic(steps: int, *, period: float = 16.0, mode: str = "generate", batch: int = 1,
             horizon: int = 1, amplitude: float = 0.8, seed) -> TaskStream:
    """A sine of period P to generate (after a trigger) or to predict.

    ``generate``: one input channel, 0 except a single 1 at a random step s₀ ∈ [1, P] of
    each stream; the target of frame s is ``A sin(2π (s − s₀) / P)``, scored for s >= s₀.
    ``predict``: the input is ``A sin(2π s / P + φ)`` (φ random per stream) and the target
    of frame s is the input of frame s + horizon; every frame is scored.

    Args:
        steps: T >= 1.
        period: P > 2 (steps per cycle; need not be an integer).
        mode: ``"generate"`` or ``"predict"``.
        batch: B independent streams.
        horizon: (predict) steps ahead, >= 1.
        amplitude: A in (0, 1] (inside the range of a tanh output).
        seed: int or ``numpy.random.Generator``.

    Returns:
        The :class:`TaskStream` (``signed=False``).

    """
    steps, batch = _int("steps", steps, 1), _int("batch", batch, 1)
    horizon = _int("horizon", horizon, 1)
    period = _real("period", period, 2.0, 1e9)
    amplitude = _real("amplitude", amplitude, 0.0, 1.0)
    if mode not in ("generate", "predict"):
        raise ConfigError(f"task parameter 'mode' must be 'generate' or 'predict', "
                          f"got {mode!r}")
    _check_size(steps, 1, batch)
    rng = _rng(seed)
    s = np.arange(1, steps + 1)[:, None]  # (T, 1)
    if mode == "generate":
        s0 = rng.integers(1, int(math.ceil(period)) + 1, size=batch)[None, :]  # (1, B)
        u = (s == s0).astype(np.float64)
        y = np.where(s >= s0, amplitude * np.sin(2 * np.pi * (s - s0) / period), 0.0)
        mask = np.broadcast_to(s >= s0, y.shape)
    else:
        phi = rng.uniform(0.0, 2 * np.pi, size=batch)[None, :]
        u = amplitude * np.sin(2 * np.pi * s / period + phi)
        y = amplitude * np.sin(2 * np.pi * (s + horizon) / period + phi)
        mask = np.ones(y.shape, dtype=bool)
    return TaskStream("periodic", u[:, None, :], y[:, None, :], mask[:, None, :].copy(),
                      False, {"steps": steps, "period": period, "mode": mode,
                              "batch": batch, "horizon": horizon, "amplitude": amplitude,
                              "seed": seed})


TASKS = {"flip_flop": flip_flop, "delayed_recall": delayed_recall, "periodic": periodic}


def make_task(name: str, steps: int, **params) -> TaskStream:
    """Generate the task called ``name`` (a key of :data:`TASKS`) with ``params``."""
    if name not in TASKS:
        raise ConfigError(f"unknown task {name!r}; choose one of {sorted(TASKS)}")
    return TASKS[name](steps, **params)


def evaluate(task: TaskStream, out) -> dict[str, float]:
    """Score outputs aligned with the task's frames.

    Args:
        task: the task stream.
        out: the network's response to each frame, shape (T, n_out, B): ``out[s - 1]`` is
            the output read at step s + τ_o (align by the latency before calling).

    Returns:
        ``{"mse": mean squared error over scored entries, "accuracy": fraction of scored
        entries whose sign matches (±1 tasks; NaN otherwise), "scored": count}``.

    """
    out = np.asarray(out, dtype=np.float64)
    if out.shape != task.y.shape:
        raise DataError(f"outputs have shape {out.shape}; the task's targets have "
                        f"{task.y.shape} (steps, outputs, streams)")
    n = int(task.mask.sum())
    if n == 0:
        return {"mse": float("nan"), "accuracy": float("nan"), "scored": 0}
    err = (out - task.y)[task.mask]
    acc = float(np.mean(np.sign(out[task.mask]) == task.y[task.mask])) if task.signed \
        else float("nan")
    return {"mse": float(np.mean(err * err)), "accuracy": acc, "scored": n}
