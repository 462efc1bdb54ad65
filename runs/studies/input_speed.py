"""Experiment: gradient fidelity of backprop diffusion vs input speed (docs/math/diffusion.md).

For layered tanh nets of several depths (depth = number of weight layers; hidden layers
of ``width`` neurons, identity outputs, all delays 1) and several seeds, random examples
are presented one by one, each held for T steps (or, with ``--stream sine``, sinusoids
of period T), with frozen weights. The cosine between the accumulated diffusion update
and the BPTT gradient of the same stream over the same steps (on these layered nets the
summed BP gradient of the scored frames; :func:`runs.methods.fidelity.measure_fidelity`)
is tabulated and plotted against T; the smallest T reaching 0.99 is reported per depth.

Usage::

    python -m runs.studies.input_speed --depths 1 2 4 8 --seeds 0 1 2 --out results/fidelity
    python -m runs.studies.input_speed --quick --out /tmp/fid
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from agents.errors import ConfigError
from networks.builders import layered
from networks.compile import compile_graph
from networks.engines import ENGINES
from runs.data.streams import held_stream, sinusoid_stream
from runs.methods import get_method
from runs.methods.fidelity import measure_fidelity, record_waves
from runs.viz.plots import plot_fidelity, plot_raster, save_figure

DEFAULT_T = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)


def fidelity_net(depth: int, seed: int, *, width: int = 8, n_in: int = 4, n_out: int = 2):
    """The compiled layered net of the experiment: ``[n_in] + [width]*(depth-1) + [n_out]``."""
    sizes = [n_in] + [width] * (depth - 1) + [n_out]
    return compile_graph(layered(sizes, "tanh", "identity", seed=seed, bias_scale=0.1))


def fidelity_run(depth: int, seed: int, T: int, *, stream: str = "held", width: int = 8,
                 n_in: int = 4, n_out: int = 2, n_data: int = 64, n_examples: int = 32,
                 batch: int = 4, engine: str = "vector", dtype: str = "float64",
                 method: str = "diffusion") -> dict:
    """One cell of the table: the fidelity of one net, seed and speed.

    Data: ``n_data`` examples with inputs N(0, 1) and targets N(0, 1), each stream shows
    ``n_examples`` of them (held streams); sine streams run ``n_examples * T`` steps.
    ``method`` names a ``clamped`` method (:mod:`runs.methods.clamped`) whose rule is
    measured with its default parameters (η = 0).

    Returns:
        ``{"depth", "seed", "T", "cosine", "cosine_all", "steps"}``.
    """
    net = fidelity_net(depth, seed, width=width, n_in=n_in, n_out=n_out)
    rng = np.random.default_rng([seed, 1])
    if stream == "held":
        X, Y = rng.normal(size=(n_data, n_in)), rng.normal(size=(n_out, n_data))
        frames = held_stream(X, Y, T, n_examples=n_examples, batch=batch, seed=rng)
    elif stream == "sine":
        frames = sinusoid_stream(n_in, n_out, T, n_examples * T, batch=batch, seed=rng)
    else:
        raise ConfigError(f"stream must be 'held' or 'sine', got {stream!r}")
    rule = get_method(method).rule
    f = measure_fidelity(net, frames, rule=rule, engine=engine, dtype=dtype)
    return {"depth": depth, "seed": seed, "T": T, "cosine": f.cosine,
            "cosine_all": f.cosine_all, "steps": f.steps}


def fidelity_sweep(depths, seeds, Ts, *, progress: bool = False, **kw) -> pd.DataFrame:
    """The full table: one :func:`fidelity_run` per (depth, seed, T).

    Returns:
        DataFrame with columns depth, seed, T, cosine, cosine_all, steps.
    """
    rows = []
    for depth in depths:
        for seed in seeds:
            for T in Ts:
                rows.append(fidelity_run(depth, seed, T, **kw))
                if progress:
                    r = rows[-1]
                    print(f"depth {depth} seed {seed} T {T}: cosine {r['cosine']:.5f}",
                          file=sys.stderr)
    return pd.DataFrame(rows)


def smallest_hold(table: pd.DataFrame, threshold: float = 0.99) -> dict:
    """Smallest T whose mean cosine over seeds reaches ``threshold``, per depth.

    Args:
        table: DataFrame with columns ``depth``, ``T``, ``cosine``.
        threshold: the cosine to reach.

    Returns:
        ``{depth: T or None}`` (None: no T of the grid reaches it).
    """
    mean = table.groupby(["depth", "T"])["cosine"].mean().reset_index()
    out = {}
    for depth, rows in mean.groupby("depth"):
        hit = rows[rows["cosine"] >= threshold].sort_values("T")
        out[int(depth)] = int(hit["T"].iloc[0]) if len(hit) else None
    return out


def raster(depth: int, T: int, path, *, seed: int = 0, n_examples: int = 6,
           mode: str = "change", **kw) -> Path:
    """Space-time raster of one run (one stream, examples held T steps) saved to ``path``."""
    net = fidelity_net(depth, seed, **kw)
    rng = np.random.default_rng([seed, 2])
    n_in, n_out = len(net.input_idx), len(net.output_idx)
    X, Y = rng.normal(size=(n_examples, n_in)), rng.normal(size=(n_out, n_examples))
    frames = held_stream(X, Y, T, order=np.arange(n_examples)[:, None])
    rec = record_waves(net, frames)
    fig = plot_raster(net, rec, mode=mode, marks=1 + T * np.arange(n_examples),
                      title=f"depth {depth}, examples held T = {T} steps")
    return save_figure(fig, path)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m runs.studies.input_speed",
                                description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--depths", type=int, nargs="+", default=[1, 2, 4, 8])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--T", type=int, nargs="+", default=list(DEFAULT_T),
                   help="hold times (or sine periods)")
    p.add_argument("--stream", choices=["held", "sine"], default="held")
    p.add_argument("--width", type=int, default=8)
    p.add_argument("--n-examples", type=int, default=32, help="examples per stream")
    p.add_argument("--batch", type=int, default=4, help="parallel streams")
    p.add_argument("--engine", choices=sorted(ENGINES), default="vector")
    p.add_argument("--threshold", type=float, default=0.99)
    p.add_argument("--quick", action="store_true",
                   help="small configuration: depths 1 2 4, seeds 0 1, T 1 2 4 8 16 32 64 128")
    p.add_argument("--raster-depth", type=int, default=4)
    p.add_argument("--raster-T", type=int, default=12)
    p.add_argument("--out", type=Path, required=True, help="output folder")
    return p


def main(argv=None) -> int:
    """Run the sweep; write fidelity.csv, fidelity.png, smallest_T.csv and raster.png."""
    args = _parser().parse_args(argv)
    if args.quick:
        args.depths, args.seeds = [1, 2, 4], [0, 1]
        args.T, args.n_examples = [1, 2, 4, 8, 16, 32, 64, 128], 16
    table = fidelity_sweep(args.depths, args.seeds, args.T, stream=args.stream,
                           width=args.width, n_examples=args.n_examples, batch=args.batch,
                           engine=args.engine, progress=True)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "fidelity.csv", index=False)
    xlabel = "hold time T (steps per example)" if args.stream == "held" else "period P"
    save_figure(plot_fidelity(table, threshold=args.threshold, xlabel=xlabel),
                args.out / "fidelity.png")
    best = smallest_hold(table, args.threshold)
    pd.DataFrame({"depth": list(best), "smallest_T": list(best.values())}).to_csv(
        args.out / "smallest_T.csv", index=False)
    raster(args.raster_depth, args.raster_T, args.out / "raster.png", width=args.width)
    pivot = table.pivot_table(index="T", columns="depth", values="cosine", aggfunc="mean")
    with pd.option_context("display.float_format", "{:.4f}".format):
        print("mean cosine over seeds (rows: T, columns: depth)")
        print(pivot.to_string())
    print(f"smallest T reaching cosine {args.threshold:g} (mean over seeds):")
    for depth, T in best.items():
        print(f"  depth {depth}: {T if T is not None else 'not reached'}")
    print(f"wrote {args.out / 'fidelity.csv'}, fidelity.png, smallest_T.csv, raster.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
