"""What the cycles are for: temporal tasks a cyclic net learns (BPTT) and a DAG cannot.

For each task of :mod:`runs.data.tasks` and each seed, two networks with the same neurons
and the same feedforward edges and delays are trained with Adam on the exact BPTT
gradient (:func:`networks.oracles.bptt_gradient`):

* **cyclic**: :func:`networks.builders.layered_recurrent` ``[n_in, hidden, n_out]`` with a
  self-loop on every hidden neuron and all lateral hidden-to-hidden edges (delay 1);
* **feedforward**: :func:`networks.builders.layered` with the same sizes, seed and delays
  (the same feedforward weights at initialisation): the control.

Training: each iteration draws fresh task streams (``train_steps`` × ``batch``), scores
output o on frame s at step s + τ_o (τ_o = forward latency, 2 here) and takes one Adam
step on all weights and biases. Testing: a fresh, longer stream from a separate seed,
run from a zero state, scored by :func:`runs.data.tasks.evaluate` (MSE; sign accuracy
for ±1 tasks); ``mse_zero`` is the MSE of always answering 0.

**Diffusion** (:func:`train_diffusion`): the same nets trained online by
:data:`agents.DIFFUSION` (plain steps every time step, 20 000 steps × 16 streams, η in
{0.001, 0.003, 0.01}). **LP does not apply**: its constraints ``x = σ(W x + b)`` are one
static state per example, with no time or delays: no memory of earlier inputs.

**Reservoir control** (``bptt_readout``): BPTT on the readout only (output neurons'
in-weights and biases); recurrent weights keep their random values.

Measured (``python -m runs.studies.recurrence --out DIR``: 3 seeds, 24 hidden neurons;
BPTT 1500 Adam steps at lr 0.01; test streams of 400 steps × 8; accuracy = sign
accuracy, chance 0.5; "MSE of 0" = always answering 0; ranges are min–max over seeds):

============== =========== ================ ============== ============ =========
task           network     method           test MSE       accuracy     MSE of 0
============== =========== ================ ============== ============ =========
flip-flop (3)  cyclic      BPTT             ≤ 5e-4         1.00 – 1.00  1.00
flip-flop (3)  cyclic      BPTT readout     0.74 – 0.82    0.61 – 0.67  1.00
flip-flop (3)  cyclic      diffusion η=1e-3 0.86 – 0.95    0.57 – 0.64  1.00
flip-flop (3)  feedforward any              0.94 – 0.97    0.49 – 0.57  1.00
recall, lag 4  cyclic      BPTT             ≤ 1.1e-5       1.00 – 1.00  1.00
recall, lag 4  cyclic      BPTT readout     0.02 – 0.16    0.99 – 1.00  1.00
recall, lag 4  cyclic      diffusion (any)  0.68 – 1.21    0.51 – 0.75  1.00
recall, lag 4  feedforward any              1.00 – 1.01    0.49 – 0.51  1.00
sine, P = 12   cyclic      BPTT             ≤ 4.3e-5       —            0.32
sine, P = 12   cyclic      BPTT readout     0.31 – 0.32    —            0.32
sine, P = 12   cyclic      diffusion (any)  0.32 – 0.32    —            0.32
sine, P = 12   feedforward any              0.32 – 0.32    —            0.32
============== =========== ================ ============== ============ =========

(diffusion η ∈ {1e-3, 3e-3, 1e-2}; on the flip-flop η = 1e-3 was best, larger η worse.)

Findings:

* The tasks need the cycles: with the exact gradient every cyclic run solves its task on
  every seed; the feedforward control, whatever the method, never beats answering 0 (it
  cannot see past its longest path delay, 2 steps).
* They need *learnt* recurrence to different degrees: a random recurrent net with a
  trained readout already recalls at lag 4 (its fading memory lasts long enough), but
  holds a flip-flop bit only partly (≤ 0.67) and does not generate the sine.
* Backprop diffusion solves none of them. On the flip-flop it reaches about the reservoir
  level (0.57–0.64 vs 0.61–0.67); on recall it stays *below* the reservoir control
  (≤ 0.75 vs ≥ 0.99), so its updates do worse than leaving the recurrent weights alone
  and fitting the readout exactly; it never learns to generate the sine. Its backward
  wave runs forward in time and cannot route an error back to the input several steps
  earlier that caused it (see :mod:`runs.studies.cycles`: fidelity is low when inputs
  change every step).
* BPTT step size matters for generation: at lr 0.02–0.03 the cyclic net stayed at the
  zero-output solution of the sine task (seed 0), at lr 0.01 it learns to oscillate.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from agents.diffusion import DIFFUSION, output_latency
from agents.errors import ConfigError, DivergenceError
from agents.optim import Optimizer
from networks.builders import layered, layered_recurrent
from networks.compile import CompiledNetwork, compile_graph
from networks.engines import make_engine
from networks.oracles import bptt_gradient, trajectory
from runs.data.tasks import TaskStream, evaluate, make_task

METHODS = ("bptt", "bptt_readout", "diffusion")

#: task name → (generator parameters, n_in, n_out)
TASK_SETUPS = {
    "flip_flop": ({"n_bits": 3, "p_pulse": 0.05}, 3, 3),
    "delayed_recall": ({"lag": 4}, 1, 1),
    "periodic": ({"period": 12.0, "mode": "generate"}, 1, 1),
}


def network_pair(n_in: int, n_out: int, hidden: int, seed: int, *,
                 recurrent_scale: float = 0.9) -> dict[str, CompiledNetwork]:
    """The cyclic network and its feedforward control (same neurons, edges, delays)."""
    sizes = [n_in, hidden, n_out]
    cyc = layered_recurrent(sizes, "tanh", "tanh", seed=seed, lateral=1.0,
                            recurrent_scale=recurrent_scale, bias_scale=0.1)
    ff = layered(sizes, "tanh", "tanh", seed=seed, bias_scale=0.1)
    return {"cyclic": compile_graph(cyc), "feedforward": compile_graph(ff)}


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
               readout_only: bool = False, clip: float | None = 1.0
               ) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Train all weights and biases (or only the readout) with Adam on the BPTT gradient.

    Each iteration's gradient (per scored entry, trained parameters only) is rescaled to
    norm ``clip`` when it is longer (Pascanu et al. 2013): BPTT gradients of a net that
    holds a memory spike by 10–100× when its attractors shift, and one unclipped spike
    can undo a learnt flip-flop (see the module docstring).

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


def _score(net, test, w, b) -> dict:
    tau = output_latency(net, warn=False)
    score = evaluate(test, aligned_outputs(net, test, w, b, tau))
    return {"mse": score["mse"], "accuracy": score["accuracy"],
            "mse_zero": evaluate(test, np.zeros_like(test.y))["mse"],
            "scored": score["scored"]}


def recurrence_study(tasks=tuple(TASK_SETUPS), seeds=range(3), *, hidden: int = 24,
                     methods=METHODS, iters: int = 1500, lr: float = 0.01,
                     train_steps: int = 80, batch: int = 16, clip: float | None = 1.0,
                     etas=(0.001, 0.003, 0.01),
                     diffusion_steps: int = 20_000, test_steps: int = 400) -> pd.DataFrame:
    """Train the cyclic net and the feedforward control on each task, several seeds.

    Args:
        tasks: names in :data:`TASK_SETUPS`.
        seeds: network and training seeds (test streams use seed 10 000 + seed).
        hidden: hidden neurons.
        methods: any of ``"bptt"`` (:func:`train_bptt`), ``"bptt_readout"`` (the same,
            readout only) and ``"diffusion"`` (:func:`train_diffusion`, once per η in
            ``etas``).
        iters: BPTT Adam steps.
        lr: BPTT Adam step size.
        train_steps: steps per BPTT training stream.
        batch: streams per BPTT step, and diffusion's batch.
        clip: BPTT's largest gradient norm (None: no clipping).
        etas: diffusion step sizes.
        diffusion_steps: steps of the diffusion training stream.
        test_steps: steps of the test streams (8 streams).

    Returns:
        One row per (task, seed, network, method, η): ``task, seed, network, method, eta,
        mse, accuracy, mse_zero, scored, diverged``.

    """
    unknown = [t for t in tasks if t not in TASK_SETUPS]
    if unknown:
        raise ConfigError(f"unknown task(s) {unknown!r}; choose from {sorted(TASK_SETUPS)}")
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ConfigError(f"methods must be a non-empty subset of {list(METHODS)}, "
                          f"got {list(methods)!r}")
    rows = []
    for task in tasks:
        params, n_in, n_out = TASK_SETUPS[task]
        for seed in seeds:
            test = make_task(task, test_steps, batch=8, seed=10_000 + seed, **params)
            for kind, net in network_pair(n_in, n_out, hidden, seed).items():
                runs = [(m, np.nan) for m in ("bptt", "bptt_readout") if m in methods]
                runs += [("diffusion", eta) for eta in etas] if "diffusion" in methods else []
                for method, eta in runs:
                    row = {"task": task, "seed": seed, "network": kind, "method": method,
                           "eta": eta}
                    try:
                        if method != "diffusion":
                            w, b, _ = train_bptt(net, task, params, seed=seed, iters=iters,
                                                 lr=lr, train_steps=train_steps, batch=batch,
                                                 readout_only=method == "bptt_readout",
                                                 clip=clip)
                        else:
                            w, b = train_diffusion(net, task, params, seed=seed, eta=eta,
                                                   steps=diffusion_steps, batch=batch)
                        rows.append({**row, **_score(net, test, w, b), "diverged": False})
                    except DivergenceError:
                        rows.append({**row, "mse": np.nan, "accuracy": np.nan,
                                     "mse_zero": np.nan, "scored": 0, "diverged": True})
    return pd.DataFrame(rows)


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, min and max of the test MSE and accuracy over seeds, per task and network."""
    g = table.groupby(["task", "network", "method", "eta"], dropna=False)
    out = g[["mse", "accuracy"]].agg(["mean", "min", "max"])
    out.columns = [f"{a}_{b}" for a, b in out.columns]
    out["mse_zero"] = g["mse_zero"].mean()
    out["diverged"] = g["diverged"].sum().astype(int)
    out["seeds"] = g["seed"].nunique()
    return out.reset_index()


def main(argv=None) -> int:
    """``python -m runs.studies.recurrence --out DIR``: print the tables, save a CSV."""
    p = argparse.ArgumentParser(prog="python -m runs.studies.recurrence", description=(
        "Cyclic vs feedforward nets trained with BPTT on temporal tasks."))
    p.add_argument("--out", required=True, help="folder for recurrence.csv")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--tasks", nargs="+", default=list(TASK_SETUPS))
    p.add_argument("--iters", type=int, default=1500)
    p.add_argument("--hidden", type=int, default=24)
    p.add_argument("--clip", type=float, default=1.0, help="BPTT gradient norm cap")
    p.add_argument("--methods", nargs="+", default=list(METHODS))
    p.add_argument("--etas", type=float, nargs="+", default=[0.001, 0.003, 0.01])
    args = p.parse_args(argv)
    if args.seeds < 1:
        p.error("--seeds must be >= 1")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = recurrence_study(args.tasks, range(args.seeds), hidden=args.hidden,
                             iters=args.iters, methods=args.methods, etas=args.etas,
                             clip=args.clip)
    table.to_csv(out / "recurrence.csv", index=False)
    fmt = {"float_format": lambda v: f"{v:.3g}", "index": False}
    print(table.to_string(**fmt), summarize(table).to_string(**fmt), sep="\n\n")
    print(f"wrote {out / 'recurrence.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
