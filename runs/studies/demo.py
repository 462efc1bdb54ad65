"""``localprop demo``: the main job on a small built-in task (no download).

Trains the BP baseline (exact gradients), Lagrangian local propagation (LP), backprop
diffusion and feedback alignment on the two-moons task, each on a feedforward and on a
cyclic network with the same initial weights and split; prints a comparison table
(accuracy, cosine of the rule's update to the BPTT gradient over the same window, time)
and writes its plots to a folder it names.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from agents.diffusion import DiffusionParams
from agents.feedback_alignment import FAParams
from networks.builders import layered, layered_recurrent, scale_to_contractive
from networks.compile import compile_graph
from runs.data.datasets import load_dataset
from runs.methods import Entry, Schedule, compare
from runs.methods.bp import matching_bp
from runs.studies.input_speed import fidelity_sweep, raster, smallest_hold
from runs.studies.lp_table import COMPARE_LP
from runs.viz import plots

#: The demo's methods (small enough to run in well under a minute on 2 cores): BP and LP
#: with the LP table's settings at η_w = 0.02 for 300 epochs, LP keeping every neuron's
#: cycle gain at most 0.9 (a local projection, no-op on the feedforward network; without
#: it the cyclic network's recurrent weights grow until LP collapses), diffusion and
#: feedback alignment with examples held T = 8 steps for 30 epochs.
LP_PARAMS = replace(COMPARE_LP, eta_w=0.02, cycle_gain=0.9)
LP_SCHEDULE = Schedule(epochs=300, eval_every=10)
METHODS = (
    Entry("bp", matching_bp(LP_PARAMS), LP_SCHEDULE, label="BP (exact gradient)"),
    Entry("lp", LP_PARAMS, LP_SCHEDULE, label="LP (local)"),
    Entry("diffusion", DiffusionParams(eta=0.1),
          Schedule(epochs=30, batch=8, eval_every=1, T=8), label="diffusion (T=8)"),
    Entry("fa", FAParams(eta=0.1),
          Schedule(epochs=30, batch=8, eval_every=1, T=8), label="feedback align. (T=8)"),
)


def demo_networks(n_in: int, n_out: int, seed: int = 0) -> dict:
    """The two networks: a feedforward MLP and a cyclic net with self/lateral edges."""
    ff = layered([n_in, 16, n_out], "tanh", output_activation="sigmoid", seed=seed)
    cyc = layered_recurrent([n_in, 16, n_out], "tanh", output_activation="sigmoid",
                            seed=seed, self_loops=True, lateral=0.3)
    return {"feedforward": ff, "cyclic": scale_to_contractive(cyc, gain=0.9)}


def run_demo(out_dir="localprop-demo", *, seed: int = 0, quiet: bool = False) -> list[dict]:
    """Train the three methods on both networks, print the table, write the plots.

    Returns:
        One row per (network, method): train/test accuracy, cosine, seconds.
    """
    say = (lambda *a: None) if quiet else print
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ds = load_dataset("moons", seed=seed, n_samples=200)
    say(f"task: two moons, {ds.inputs('train').shape[1]} train / "
        f"{ds.inputs('test').shape[1]} test examples (seed {seed})")
    rows, curves, lams = [], {}, {}
    for net_name, G in demo_networks(ds.n_inputs, ds.n_outputs, seed).items():
        net = compile_graph(G)
        say(f"{net_name} network: {net.n_nodes} neurons, {net.n_edges} synapses, "
            f"{'acyclic' if net.is_dag else 'cyclic'}")
        result = compare(METHODS, net, ds, [seed], fidelity=True)
        rows += [{"network": net_name, **r} for r in result.rows]
        curves[net_name] = pd.DataFrame(
            [{"method": name, "seed": s, **row}
             for (s, name), res in result.results.items() for row in res.history])
        lam = np.abs(result.results[seed, "LP (local)"].lam).mean(axis=1)
        lam[net.is_input] = np.nan
        lams[net_name] = (G, lam)
    _print_table(rows, say)
    say("writing plots...")
    for net_name, table in curves.items():
        plots.save_figure(plots.plot_learning_curves(
            table, metric="test_acc", x="epoch", hue="method",
            title=f"test accuracy during training, {net_name} network"),
            out / f"learning_{net_name}.png")
    for net_name, fig in lambda_figures(lams).items():
        plots.save_figure(fig, out / f"lambda_{net_name}.png")
    table = fidelity_sweep([1, 2, 4], [0, 1, 2], [1, 2, 4, 8, 16, 32, 64], n_examples=16)
    table.to_csv(out / "fidelity.csv", index=False)
    plots.save_figure(plots.plot_fidelity(table), out / "fidelity.png")
    raster(4, 12, out / "raster.png")
    best = smallest_hold(table)
    say("diffusion fidelity vs input speed: smallest hold time T with cosine >= 0.99: "
        + ", ".join(f"depth {d}: {t}" for d, t in best.items()))
    written = sorted(p.name for p in out.glob("*.png"))
    say(f"plots written to {out.resolve()}/: {', '.join(written)}")
    return rows


def lambda_figures(lams: dict) -> dict:
    """The networks coloured by their multipliers, all on one colour scale.

    Args:
        lams: ``{network name: (graph, mean |λ| per node in graph order (N,))}``.

    Returns:
        ``{network name: Figure}``.
    """
    vmin, vmax = plots.shared_limits(*(lam for _, lam in lams.values()))
    return {name: plots.plot_graph(G, lam, label="mean |λ| over training examples",
                                   vmin=vmin, vmax=vmax,
                                   title=f"{name} net after LP training: multipliers λ")
            for name, (G, lam) in lams.items()}


def _print_table(rows, say) -> None:
    say("")
    say(f"{'network':<12} {'method':<22} {'train acc':>9} {'test acc':>9} "
        f"{'cos(update, BPTT grad)':>23} {'time':>7}")
    for r in rows:
        say(f"{r['network']:<12} {r['method']:<22} {100 * r['train_acc']:>8.1f}% "
            f"{100 * r['test_acc']:>8.1f}% {r['cosine']:>23.4f} {r['seconds']:>6.2f}s")
    say("cosine: to the exact gradient of what the network computed over the same window, "
        "by backprop\nthrough time (BPTT) at the trained weights. BP: its gradient (on the "
        "cyclic network recurrent\nbackprop at the fixed point) vs BPTT of the settled "
        "forward pass, 1 up to the settling tolerance.\nLP: its ∂L/∂w at the final state "
        "vs BPTT of the forward predictor, each input held from rest\nuntil the network "
        "settles (1000 steps if it never does), last step scored; on a DAG this is BP.\n"
        "Diffusion and feedback alignment: the update accumulated with weights frozen over "
        "a stream holding\neach example T steps vs BPTT of that stream's loss over the same "
        "steps.")
    say("")
