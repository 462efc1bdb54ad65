"""Backprop diffusion on cyclic graphs, measured against BPTT over the same window.

Protocol (one row of the table per seed × spectral radius × hold time T):

* **network**: :func:`networks.builders.random_digraph` (``n_nodes`` neurons, 3 inputs,
  2 identity outputs, tanh hidden neurons, ``3 · n_nodes`` edges, delays drawn from
  ``delays``), whose weighted adjacency among the non-input neurons is rescaled to the
  wanted **spectral radius** ρ (:func:`scale_to_radius`; edges out of the inputs are left
  as drawn). With tanh (σ' ≤ 1) ρ is the network's linear gain around 0.
* **stream**: random examples (u ~ N(0, 1), targets ~ N(0, 0.5²)) each held for T steps,
  on ``batch`` independent streams; the window has the same length (``steps``, default
  256) for every T, from a zero initial state.
* **diffusion**: :data:`agents.DIFFUSION` in the vector engine with η = 0 (weights frozen),
  targets delayed by each output's forward latency (:class:`agents.diffusion.Presenter`);
  the accumulated update ``(dw_sum, db_sum) = Σ_t Σ_κ (δ_i(t) x_j(t − d), δ_i(t))``.
* **reference**: :func:`networks.oracles.bptt_gradient` of the same network, streams,
  latencies and window: the exact gradient of what the network actually computed.
* **fidelity**: :func:`networks.oracles.cosine_to_bptt` (weights and biases together).

Also recorded: ``norm_ratio`` = ‖diffusion update‖ / ‖BPTT gradient‖ and ``motion`` =
the largest |x(t) − x(t − 1)| of a non-input neuron at the last step of a hold (≈ 0 when
the forward state settles within each hold; ≥ 1e-2 means it has not — e.g. oscillation).

Findings (``python -m runs.studies.cycles --out DIR``: 5 seeds, 20 neurons, delays 1–3,
window 256 steps, batch 4; "all" = cosine over all weights and biases, "hidden" = over
the hidden neurons' in-weights and biases only):

* **Where it holds**: contractive gains (ρ ≤ 0.9) with inputs held long compared with
  the network's settling time. The cosine rises with T: at T = 32 it is ≥ 0.98 (all) and
  ≥ 0.94 (hidden) on every seed, at T = 64 ≥ 0.998 and ≥ 0.996, with norm ratio ≈ 1. The
  forward state settles within each hold, and both the summed diffusion update and BPTT
  approach T × the Almeida–Pineda gradient of each example.
* **Where it breaks (1), fast inputs**: for T ≤ 2 the hidden-parameter cosine is about
  0.4–0.6 on average at every gain, and negative (down to −0.27) on some seeds.
  Diffusion's backward wave runs forward in time: it pairs δ_i(t) with x_j(t − d) of a
  later example than the one whose error it carries, whereas BPTT routes each error back
  to the inputs that caused it. The all-parameter cosine hides this at small gains
  (≈ 0.97 at ρ = 0.5, T = 1) because the output neurons' in-weights, whose error
  diffusion gets right at once, dominate the vector: read the hidden panel.
* **Where it breaks (2), gain ≥ 1**: holding longer no longer helps. At T = 64 the mean
  cosine is 0.93 / 0.80 / 0.75 (all) and 0.87 / 0.75 / 0.70 (hidden) for ρ = 1.0 / 1.1 /
  1.2, with single seeds as low as 0.04 (all) and −0.21 (hidden). In 4 of 5 seeds at
  ρ = 1.0 and all seeds at ρ ≥ 1.1 the tanh network never settles under held input
  (``motion`` > 1e-2 at the end of a 64-step hold): there is no fixed point for the
  backward wave to converge to, while BPTT differentiates the orbit actually run.
  Diffusion never diverged in these runs (tanh saturation bounds σ').
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from agents.diffusion import DIFFUSION, Presenter
from agents.errors import ConfigError, DivergenceError, GraphError
from networks.builders import random_digraph, recurrent_block
from networks.compile import CompiledNetwork, compile_graph
from networks.engines import make_engine
from networks.oracles import bptt_gradient, cosine, cosine_to_bptt

HOLDS = (1, 2, 4, 8, 16, 32, 64)
RADII = (0.5, 0.7, 0.9, 1.0, 1.1, 1.2)


def spectral_radius(G: nx.DiGraph) -> float:
    """Largest |eigenvalue| of the weighted adjacency among the non-input neurons."""
    _, W = recurrent_block(G)
    return float(np.max(np.abs(np.linalg.eigvals(W)))) if W.size else 0.0


def scale_to_radius(G: nx.DiGraph, radius: float) -> nx.DiGraph:
    """Return a copy of ``G`` whose non-input adjacency has spectral radius ``radius``.

    Every edge between two non-input neurons is multiplied by one factor; edges out of
    the inputs are unchanged.

    Raises:
        GraphError: if the non-input block has no cycle (spectral radius 0) or the radius
            is not a finite number > 0.
    """
    if not (isinstance(radius, int | float) and 0 < radius < np.inf):
        raise GraphError(f"radius must be a finite number > 0, got {radius!r}")
    rho = spectral_radius(G)
    if rho < 1e-12:
        raise GraphError("the graph has no cycle among its non-input neurons (spectral "
                         "radius 0); it cannot be scaled to a radius")
    H = G.copy()
    inner = {v for v, r in H.nodes(data="role") if r != "input"}
    for j, _, d in H.edges(data=True):
        if j in inner:
            d["weight"] = float(d["weight"] * radius / rho)
    return H


def cyclic_network(seed: int, radius: float, *, n_nodes: int = 20,
                   delays=(1, 3)) -> CompiledNetwork:
    """The study's random cyclic network (see the module docstring)."""
    G = random_digraph(n_nodes, 3 * n_nodes, n_inputs=3, n_outputs=2, seed=seed,
                       activation="tanh", output_activation="identity", bias_scale=0.1,
                       delays=delays)
    return compile_graph(scale_to_radius(G, radius))


def held_examples(net: CompiledNetwork, hold: int, n_examples: int, batch: int,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random examples each held for ``hold`` steps: u (S, n_in, B), y (S, n_out, B)."""
    n_in, n_out = len(net.input_idx), len(net.output_idx)
    u = rng.normal(size=(n_examples, n_in, batch))
    y = 0.5 * rng.normal(size=(n_examples, n_out, batch))
    return np.repeat(u, hold, axis=0), np.repeat(y, hold, axis=0)


def diffusion_update(net: CompiledNetwork, u: np.ndarray, y: np.ndarray, latency
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frozen-weight diffusion over the stream: (dw_sum (E,), db_sum (N,), x (S, N, B))."""
    eng = make_engine("vector", net, DIFFUSION, {"eta": 0.0}, batch=u.shape[2],
                      record=["x"])
    Presenter(eng, latency).run(u, y)
    return eng.state("dw_sum"), eng.state("db_sum"), eng.recording["x"]


def _hidden_part(net: CompiledNetwork, dw: np.ndarray, db: np.ndarray) -> np.ndarray:
    """Concatenated in-weights and biases of the hidden neurons, shape (k,).

    These are the parameters an output error reaches only through the backward wave.
    """
    hidden = ~net.is_input & ~net.is_output
    return np.concatenate([dw[hidden[net.tgt]], db[hidden]])


def measure(net: CompiledNetwork, hold: int, steps: int, batch: int,
            rng: np.random.Generator) -> dict:
    """One measurement: fidelity of diffusion to BPTT on one network and stream.

    The window has ``steps`` steps: ``steps // hold`` examples held ``hold`` steps each.
    """
    u, y = held_examples(net, hold, max(1, steps // hold), batch, rng)
    tau = bptt_gradient(net, u[:1], y[:1]).latency  # the default forward latencies
    g = bptt_gradient(net, u, y, latency=tau)
    try:
        dw, db, x = diffusion_update(net, u, y, tau)
    except DivergenceError:
        return {"cosine": np.nan, "cosine_hidden": np.nan, "norm_ratio": np.inf,
                "motion": np.nan, "diverged": True}
    ref = np.linalg.norm(np.concatenate([g.dw, g.db]))
    moved = np.abs(np.diff(x, axis=0))[:, ~net.is_input]
    ends = np.arange(hold - 1, len(x) - 1, hold) if hold > 1 else np.arange(0)
    return {"cosine": cosine_to_bptt(dw, db, g),
            "cosine_hidden": cosine(_hidden_part(net, dw, db), _hidden_part(net, g.dw, g.db)),
            "norm_ratio": float(np.linalg.norm(np.concatenate([dw, db])) / ref),
            "motion": float(moved[ends].max()) if len(ends) else np.nan,
            "diverged": False}


def diffusion_vs_bptt(seeds=range(5), holds=HOLDS, radii=RADII, *, n_nodes: int = 20,
                      steps: int = 256, batch: int = 4, delays=(1, 3)) -> pd.DataFrame:
    """Measure diffusion's fidelity to BPTT on random cyclic graphs.

    Args:
        seeds: graph and data seeds (the graph of seed s is the same at every radius).
        holds: hold times T (steps each example is shown).
        radii: spectral radii ρ of the non-input adjacency.
        n_nodes: neurons per graph (3 inputs and 2 outputs included).
        steps: window length, the same for every T (``steps // T`` examples per window).
        batch: independent streams per window.
        delays: edge delay int or (lo, hi).

    Returns:
        One row per (seed, radius, hold): columns ``seed, radius, hold, steps, cosine,
        cosine_hidden, norm_ratio, motion, diverged``.

    """
    for name, values in (("holds", holds), ("radii", radii), ("seeds", seeds)):
        if len(list(values)) == 0:
            raise ConfigError(f"{name} must not be empty")
    if any(not isinstance(T, int | np.integer) or T < 1 for T in holds):
        raise ConfigError(f"holds must be integers >= 1, got {list(holds)!r}")
    rows = []
    for seed in seeds:
        for radius in radii:
            net = cyclic_network(seed, radius, n_nodes=n_nodes, delays=delays)
            for hold in holds:
                rng = np.random.default_rng([seed, int(hold)])
                m = measure(net, int(hold), steps, batch, rng)
                rows.append({"seed": seed, "radius": radius, "hold": int(hold),
                             "steps": int(hold) * max(1, steps // int(hold)), **m})
    return pd.DataFrame(rows)


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Per (radius, hold): seed mean/min/max of both cosines, norm ratio, unsettled seeds."""
    g = table.groupby(["radius", "hold"])
    out = g["cosine"].agg(["mean", "std", "min", "max"]).add_prefix("cos_")
    hid = g["cosine_hidden"].agg(["mean", "min", "max"]).add_prefix("cos_hidden_")
    out = out.join(hid)
    out["norm_ratio_median"] = g["norm_ratio"].median()
    out["unsettled_seeds"] = g["motion"].agg(lambda m: int((m > 1e-2).sum()))
    out["diverged"] = g["diverged"].sum().astype(int)
    out["seeds"] = g["seed"].nunique()
    return out.reset_index()


def _band(ax, sub, x, y, label, color):
    s = sub.groupby(x)[y].agg(["mean", "min", "max"])
    ax.plot(s.index, s["mean"], marker="o", ms=3, color=color, label=label)
    ax.fill_between(s.index, s["min"], s["max"], color=color, alpha=0.1, lw=0)


_WHAT = {"cosine": "all weights and biases", "cosine_hidden": "hidden neurons' parameters"}


def plot_cycles(table: pd.DataFrame) -> Figure:
    """Cosine(diffusion, BPTT) vs hold time per radius (left), vs radius per hold (right).

    Top row: all parameters; bottom row: only the hidden neurons' in-weights and biases
    (the parameters an error reaches through the backward wave alone). Lines are seed
    means, bands the min–max over seeds. Returns a matplotlib Figure (no pyplot; the
    global backend is untouched).
    """
    fig = Figure(figsize=(12, 8), layout="constrained")
    axes = fig.subplots(2, 2, sharey=True)
    n_seeds = table["seed"].nunique()
    radii, holds = sorted(table["radius"].unique()), sorted(table["hold"].unique())
    shown = holds if len(holds) <= 4 else [holds[k] for k in
                                           np.linspace(0, len(holds) - 1, 4).round().astype(int)]
    low = float(np.nanmin(table[list(_WHAT)].to_numpy()))
    for row, (col, what) in enumerate(_WHAT.items()):
        ax1, ax2 = axes[row]
        for k, r in enumerate(radii):
            _band(ax1, table[table["radius"] == r], "hold", col, f"ρ = {r:g}", f"C{k % 10}")
        ax1.set_xscale("log", base=2)
        ax1.set_xticks(holds, [str(T) for T in holds])
        ax1.set_xlabel("hold time T (steps per example; same window length for every T)")
        ax1.set_ylabel(f"cosine to BPTT over the window\n({what})")
        ax1.set_title(f"vs input speed, per spectral radius ρ — {what}", fontsize=10)
        for k, T in enumerate(shown):
            _band(ax2, table[table["hold"] == T], "radius", col, f"T = {T}", f"C{k % 10}")
        ax2.axvline(1.0, color="0.5", lw=0.8, ls=":")
        ax2.set_xlabel("spectral radius ρ of the non-input weighted adjacency (gain)")
        ax2.set_title(f"vs network gain, for {len(shown)} hold times T — {what}", fontsize=10)
        for ax in (ax1, ax2):
            ax.axhline(1.0, color="0.6", lw=0.8)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7, ncols=2, loc="lower left")
            ax.set_ylim(min(-0.05, low - 0.05), 1.05)
    fig.suptitle("Backprop diffusion (Σ of its updates, weights frozen) vs BPTT, the exact "
                 "gradient of the same run\nrandom cyclic graphs; lines: mean, bands: "
                 f"min–max over {n_seeds} seeds")
    return fig


def main(argv=None) -> int:
    """``python -m runs.studies.cycles --out DIR``: print the table, save CSV and PNG."""
    p = argparse.ArgumentParser(prog="python -m runs.studies.cycles",
                                description="Diffusion vs BPTT on random cyclic graphs.")
    p.add_argument("--out", required=True, help="folder for cycles.csv and cycles.png")
    p.add_argument("--seeds", type=int, default=5, help="number of seeds (0 .. n-1)")
    p.add_argument("--nodes", type=int, default=20, help="neurons per graph")
    p.add_argument("--holds", type=int, nargs="+", default=list(HOLDS))
    p.add_argument("--radii", type=float, nargs="+", default=list(RADII))
    p.add_argument("--steps", type=int, default=256, help="window length (steps)")
    args = p.parse_args(argv)
    if args.seeds < 1 or args.steps < 1:
        p.error("--seeds and --steps must be >= 1")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = diffusion_vs_bptt(range(args.seeds), args.holds, args.radii, n_nodes=args.nodes,
                              steps=args.steps)
    table.to_csv(out / "cycles.csv", index=False)
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(summarize(table).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    plot_cycles(table).savefig(out / "cycles.png", dpi=120)
    print(f"wrote {out / 'cycles.csv'} and {out / 'cycles.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
