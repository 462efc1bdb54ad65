"""Training a network on a temporal task: BPTT (Adam, clipped) and online diffusion.

Used by :mod:`runs.studies.recurrence` (the study, its measurements and why BPTT's
gradient is clipped). Outputs are aligned with the frame convention of
:mod:`runs.data.tasks`: output o answers frame s at step s + τ_o.
"""

from __future__ import annotations

import numpy as np

from agents.diffusion import DIFFUSION, output_latency
from agents.errors import ConfigError, DivergenceError
from agents.optim import Optimizer
from networks.compile import CompiledNetwork
from networks.engines import make_engine
from networks.oracles import bptt_gradient, trajectory
from runs.data.tasks import TaskStream, make_task


def aligned_outputs(net: CompiledNetwork, task: TaskStream, weight, bias,
                    latency: np.ndarray) -> np.ndarray:
    """Response to each frame, (T, n_out, B): output o at s + τ_o, from a zero state."""
    T, n_in, B = task.u.shape
    pad = int(latency.max(initial=0))
    u = np.concatenate([task.u, np.zeros((pad, n_in, B))])
    _, x = trajectory(net, u, weight, bias)
    xo = x[:, net.output_idx]
    return np.stack([xo[tau:tau + T, r] for r, tau in enumerate(latency)], axis=1)


def train_bptt(net: CompiledNetwork, task: str, task_params: dict, *, seed: int,
               iters: int = 1500, lr: float = 0.01, train_steps: int = 80, batch: int = 16,
               readout_only: bool = False, clip: float | None = 0.5
               ) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Train all weights and biases (or only the readout) with Adam on the BPTT gradient.

    Each iteration's gradient (per scored entry, trained parameters only) is rescaled to
    norm ``clip`` when longer (why: the findings of :mod:`runs.studies.recurrence`).

    Args:
        net: the network (its weights are the initial point; it is not modified).
        task: a task name of :data:`runs.data.tasks.TASKS`.
        task_params: the task generator's parameters (without steps, batch, seed).
        seed: seed of the training streams.
        iters: Adam steps (one fresh batch of streams each).
        lr: Adam step size.
        train_steps: steps per training stream.
        batch: streams per step.
        readout_only: train only the output neurons' in-weights and biases (a reservoir
            control: the recurrent weights stay random).
        clip: largest gradient norm (> 0), or None for no clipping.

    Returns:
        ``(weight (E,), bias (N,), loss per iteration)``; the loss is per scored entry.

    Raises:
        DivergenceError: if the parameters or the loss become non-finite.

    """
    if iters < 1:
        raise ConfigError(f"iters must be >= 1, got {iters!r}")
    if clip is not None and not clip > 0:
        raise ConfigError(f"clip must be > 0 or None, got {clip!r}")
    rng = np.random.default_rng(seed)
    opt = Optimizer("adam", lr=lr)
    w, b = net.weight.copy(), net.bias.copy()
    fixed_w = ~net.is_output[net.tgt] if readout_only else np.zeros(net.n_edges, bool)
    fixed_b = ~net.is_output if readout_only else net.is_input
    curve = []
    for k in range(iters):
        s = make_task(task, train_steps, batch=batch, seed=rng, **task_params)
        g = bptt_gradient(net, s.u, s.y, "squared", w, b, mask=s.mask)
        n = max(1, int(g.scored.sum()))
        if not (np.isfinite(g.loss) and np.all(np.isfinite(g.dw))):
            raise DivergenceError(f"BPTT training of {task!r} diverged at iteration {k}")
        curve.append(g.loss / n)
        dw, db = np.where(fixed_w, 0.0, g.dw / n), np.where(fixed_b, 0.0, g.db / n)
        norm = np.sqrt(dw @ dw + db @ db)
        if clip is not None and norm > clip:
            dw, db = dw * (clip / norm), db * (clip / norm)
        w = np.where(fixed_w, w, opt.update("weight", w, dw))
        b = np.where(fixed_b, b, opt.update("bias", b, db))
    return w, b, curve


def train_diffusion(net: CompiledNetwork, task: str, task_params: dict, *, seed: int,
                    eta: float = 0.01, steps: int = 20_000, batch: int = 16
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Train online with backprop diffusion (η > 0) on one continuous stream per column.

    The vector engine runs :data:`agents.DIFFUSION` over ``steps`` steps of the task;
    output o gets the target of frame t − τ_o at step t. The engine's target mask is one
    flag per output, so a frame counts only when it is scored on every stream (this
    drops only the first few frames: before the first flip-flop pulse, the first ``lag``
    recall frames, before a sine's trigger).

    Returns:
        ``(weight (E,), bias (N,))`` after training.

    Raises:
        DivergenceError: if the rule's state becomes non-finite.

    """
    stream = make_task(task, steps, batch=batch, seed=np.random.default_rng(seed),
                       **task_params)
    eng = make_engine("vector", net, DIFFUSION, {"eta": eta}, batch=batch)
    tau = output_latency(net, warn=False)
    rows = np.arange(len(tau))
    for t in range(steps):
        frame = t - tau  # 0-based frame index each output is scored on at this step
        ok = frame >= 0
        f = np.maximum(frame, 0)
        y = stream.y[f, rows]  # (n_out, B)
        scored = ok & stream.mask[f, rows].all(axis=1)
        eng.advance(stream.u[t], y, scored)
    return eng.state("weight"), eng.state("bias")
