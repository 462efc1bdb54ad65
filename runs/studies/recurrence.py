"""What the cycles are for: temporal tasks a cyclic net learns (BPTT) and a DAG cannot.

For each task of :mod:`runs.data.tasks` and each seed, two networks with the same neurons
and the same feedforward edges and delays are trained with Adam on the exact BPTT
gradient (:func:`networks.oracles.bptt_gradient`) by
:func:`~runs.studies.recurrence_training.train_bptt`:

* **cyclic**: :func:`networks.builders.layered_recurrent` ``[n_in, hidden, n_out]`` with a
  self-loop on every hidden neuron and all lateral hidden-to-hidden edges (delay 1);
* **feedforward**: :func:`networks.builders.layered` with the same sizes, seed and delays
  (the same feedforward weights at initialisation): the control.

Training: each iteration draws fresh task streams (``train_steps`` × ``batch``), scores
output o on frame s at step s + τ_o (τ_o = forward latency, 2 here) and takes one Adam
step on all weights and biases, the gradient (per scored entry) rescaled to norm
``clip`` = 0.5 when longer (Pascanu et al. 2013). Testing: a fresh, longer stream from a
separate seed, run from a zero state, scored by :func:`runs.data.tasks.evaluate` (MSE;
sign accuracy for ±1 tasks); ``mse_zero`` is the MSE of always answering 0.

**Diffusion** (:func:`~runs.studies.recurrence_training.train_diffusion`): the same nets
trained online by :data:`agents.DIFFUSION` (plain steps every time step, 20 000 steps ×
16 streams, η in {0.001, 0.003, 0.01}). **LP does not apply**: its constraints
``x = σ(W x + b)`` are one static state per example, with no time or delays: no memory
of earlier inputs.

**Reservoir control** (``bptt_readout``): BPTT on the readout only (output neurons'
in-weights and biases); recurrent weights keep their random values.

Measured (``python -m runs.studies.recurrence --out DIR``: 3 seeds, 24 hidden neurons;
BPTT 1500 Adam steps at lr 0.01, clip 0.5; test streams of 400 steps × 8; accuracy =
sign accuracy, chance 0.5; "MSE of 0" = always answering 0; ranges are min–max over
seeds; the diffusion rows were
measured before BPTT's clipping was added, which they do not use):

============== =========== ================ ============== ============ =========
task           network     method           test MSE       accuracy     MSE of 0
============== =========== ================ ============== ============ =========
flip-flop (3)  cyclic      BPTT             ≤ 2.6e-5       1.00 – 1.00  1.00
flip-flop (3)  cyclic      BPTT readout     0.74 – 0.82    0.61 – 0.67  1.00
flip-flop (3)  cyclic      diffusion η=1e-3 0.86 – 0.95    0.57 – 0.64  1.00
flip-flop (3)  feedforward any              0.94 – 0.97    0.49 – 0.57  1.00
recall, lag 4  cyclic      BPTT             ≤ 7.7e-6       1.00 – 1.00  1.00
recall, lag 4  cyclic      BPTT readout     0.02 – 0.14    0.99 – 1.00  1.00
recall, lag 4  cyclic      diffusion (any)  0.68 – 1.21    0.51 – 0.75  1.00
recall, lag 4  feedforward any              1.00 – 1.01    0.49 – 0.51  1.00
sine, P = 12   cyclic      BPTT             ≤ 1.1e-6       —            0.32
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
* BPTT needs the clipping: once a net holds a memory its gradient norm spikes 10–100×
  now and then, and an unclipped step can undo what it learnt. Unclipped, 7 of 30
  flip-flop runs (seeds 0–9 × three OpenBLAS kernels, whose rounding alone decided
  which) ended at 0.62–0.95 and 3 of 20 sine runs at the zero output; with clip 0.5 all
  50 flip-flop runs (seeds 0–19) reach 1.00 and all 40 sine runs oscillate (clip 1 or
  2: flip-flop 30 of 30, sine 9 of 10).
* BPTT step size matters for generation: at lr 0.03 the cyclic net stays at the
  zero-output solution of the sine task (seeds 0–2); at lr ≤ 0.02 it learns to oscillate.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from agents.diffusion import output_latency
from agents.errors import ConfigError, DivergenceError
from networks.builders import layered, layered_recurrent
from networks.compile import CompiledNetwork, compile_graph
from runs.data.tasks import evaluate, make_task
from runs.studies.recurrence_training import aligned_outputs, train_bptt, train_diffusion

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


def _score(net, test, w, b) -> dict:
    tau = output_latency(net, warn=False)
    score = evaluate(test, aligned_outputs(net, test, w, b, tau))
    return {"mse": score["mse"], "accuracy": score["accuracy"],
            "mse_zero": evaluate(test, np.zeros_like(test.y))["mse"],
            "scored": score["scored"]}


def recurrence_study(tasks=tuple(TASK_SETUPS), seeds=range(3), *, hidden: int = 24,
                     methods=METHODS, iters: int = 1500, lr: float = 0.01,
                     train_steps: int = 80, batch: int = 16, clip: float | None = 0.5,
                     etas=(0.001, 0.003, 0.01),
                     diffusion_steps: int = 20_000, test_steps: int = 400) -> pd.DataFrame:
    """Train the cyclic net and the feedforward control on each task, several seeds.

    Args:
        tasks: names in :data:`TASK_SETUPS`.
        seeds: network and training seeds (test streams use seed 10 000 + seed).
        hidden: hidden neurons.
        methods: any of ``"bptt"``
            (:func:`~runs.studies.recurrence_training.train_bptt`), ``"bptt_readout"``
            (the same, readout only) and ``"diffusion"``
            (:func:`~runs.studies.recurrence_training.train_diffusion`, once per η in
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
    p.add_argument("--clip", type=float, default=0.5, help="BPTT gradient norm cap")
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
