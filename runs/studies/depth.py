"""Test accuracy vs depth: BP vs LP (abs-ε, lin-ε), the LP paper's MNIST figure on digits.

Sigmoid MLPs with 1 to 10 hidden layers of 10 units on scikit-learn's bundled digits
(8×8 images, 10 classes; seeded stratified 75/25 split, standardised), for several seeds.
Per seed, the split and the initial weights are shared by the three methods: BP with its
defaults, LP with its defaults and G = abs-ε (ε = :data:`runs.studies.lp_paper.EPS`,
state steps :data:`runs.studies.lp_paper.ABS_STATE_ETA`) or G = lin-ε (same ε); the same
epochs (default: the methods' shared schedule), full batch.

Command line: ``python -m runs.studies.depth --out DIR`` writes ``depth.csv`` (one row per
depth, seed, method), ``depth.md`` (mean ± std over seeds per depth) and ``depth.png``.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from agents.errors import ConfigError
from networks.builders import layered
from runs.data.datasets import load_dataset
from runs.methods import Entry, compare
from runs.methods.base import SHARED_SCHEDULE
from runs.methods.lp import LP_DEFAULTS
from runs.studies.lp_paper import ABS_STATE_ETA, EPS

#: The contenders: BP's defaults and LP's with an ε-insensitive G.
ENTRIES = (
    Entry("bp", None, label="BP"),
    Entry("lp", replace(LP_DEFAULTS, constraint="abs-eps", eps=EPS, eta_x=ABS_STATE_ETA,
                        eta_lam=ABS_STATE_ETA), label="LP abs-ε"),
    Entry("lp", replace(LP_DEFAULTS, constraint="lin-eps", eps=EPS), label="LP lin-ε"),
)
DEPTHS = tuple(range(1, 11))
COLORS = {"BP": "tab:blue", "LP abs-ε": "tab:red", "LP lin-ε": "tab:green"}


def depth_study(depths: Sequence[int] = DEPTHS, seeds: Sequence[int] = (0, 1, 2), *,
                width: int = 10, epochs: int = SHARED_SCHEDULE.epochs,
                dataset: str = "digits",
                progress: Callable[[str], None] | None = None) -> list[dict]:
    """Train every contender at every depth and seed.

    Args:
        depths: numbers of hidden layers (>= 1).
        seeds: seeds of the split, the initial weights and the example order.
        width: units per hidden layer.
        epochs: epochs of every method (full batch).
        dataset: a built-in data set.
        progress: called with one line per (depth, seed).

    Returns:
        Rows ``{depth, seed, method, test_acc, train_acc, seconds}`` (accuracies in [0, 1]).

    Raises:
        ConfigError: for a depth or width < 1.
    """
    if not depths or min(depths) < 1 or width < 1:
        raise ConfigError(f"depth study: depths and width must be >= 1, got depths="
                          f"{list(depths)}, width={width}")
    sched = {"epochs": epochs, "eval_every": epochs}
    entries = [replace(e, schedule=sched) for e in ENTRIES]
    rows = []
    for seed in seeds:
        ds = load_dataset(dataset, seed=seed)
        for depth in depths:
            net = layered([ds.n_inputs, *[width] * depth, ds.n_outputs], "sigmoid",
                          seed=seed)
            res = compare(entries, net, ds, [seed], with_cosine=False)
            rows += [{"depth": depth, "seed": seed, "method": r["method"],
                      "test_acc": r["test_acc"], "train_acc": r["train_acc"],
                      "seconds": r["seconds"]} for r in res.rows]
            if progress:
                progress(f"depth {depth} seed {seed}: " + ", ".join(
                    f"{r['method']} {100 * r['test_acc']:.1f}" for r in res.rows))
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """Per (depth, method): test accuracy mean and std over seeds (%, ddof = 0), n."""
    out = []
    for depth, method in dict.fromkeys((r["depth"], r["method"]) for r in rows):
        acc = 100 * np.array([r["test_acc"] for r in rows
                              if (r["depth"], r["method"]) == (depth, method)])
        out.append({"depth": depth, "method": method, "test_mean": float(acc.mean()),
                    "test_std": float(acc.std()), "n_seeds": len(acc)})
    return out


def plot_depth(rows: list[dict], *, title: str = "digits, sigmoid, 10 units per layer"
               ) -> Figure:
    """Test accuracy vs depth: per method the mean over seeds and a ±1 std band."""
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    summary = summarise(rows)
    for method in dict.fromkeys(r["method"] for r in summary):
        s = [r for r in summary if r["method"] == method]
        d = np.array([r["depth"] for r in s])
        m, sd = np.array([r["test_mean"] for r in s]), np.array([r["test_std"] for r in s])
        color = COLORS.get(method)
        ax.plot(d, m, "o-", color=color, label=f"{method} (mean of {s[0]['n_seeds']} seeds)")
        ax.fill_between(d, m - sd, m + sd, color=color, alpha=0.2)
    ax.axhline(10, color="grey", ls=":", lw=1, label="chance (10 classes)")
    ax.set_xlabel("hidden layers")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_xticks(sorted({r["depth"] for r in rows}))
    ax.set_title(f"Test accuracy vs depth ({title}); band: ±1 std over seeds",
                 fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    return fig


def markdown(rows: list[dict], epochs: int) -> str:
    """Depth × method table of mean ± std test accuracy."""
    summary = summarise(rows)
    methods = list(dict.fromkeys(r["method"] for r in summary))
    seeds = sorted({r["seed"] for r in rows})
    lines = [f"# Test accuracy (%) vs depth on digits: sigmoid, 10 units per layer, "
             f"{epochs} epochs full batch, seeds {seeds} (mean ± std)", "",
             "| hidden layers | " + " | ".join(methods) + " |",
             "|---|" + "---|" * len(methods)]
    for depth in dict.fromkeys(r["depth"] for r in summary):
        cells = [next(f"{r['test_mean']:.1f} ± {r['test_std']:.1f}" for r in summary
                      if (r["depth"], r["method"]) == (depth, m)) for m in methods]
        lines.append(f"| {depth} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write(rows: list[dict], out_dir, epochs: int) -> list[Path]:
    """Write ``depth.csv``, ``depth.md`` and ``depth.png`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "depth.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (out / "depth.md").write_text(markdown(rows, epochs), encoding="utf-8")
    plot_depth(rows).savefig(out / "depth.png", dpi=120, bbox_inches="tight")
    return [out / "depth.csv", out / "depth.md", out / "depth.png"]


def main(argv=None) -> int:
    """Command line: ``python -m runs.studies.depth --out DIR``."""
    ap = argparse.ArgumentParser(prog="python -m runs.studies.depth", description=__doc__)
    ap.add_argument("--out", required=True, help="folder for depth.csv, .md and .png")
    ap.add_argument("--depths", type=int, nargs="+", default=list(DEPTHS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=SHARED_SCHEDULE.epochs)
    args = ap.parse_args(argv)
    start = time.perf_counter()
    rows = depth_study(args.depths, args.seeds, epochs=args.epochs,
                       progress=lambda line: print(line, flush=True))
    for path in write(rows, args.out, args.epochs):
        print(f"wrote {path}")
    print(markdown(rows, args.epochs), end="")
    print(f"{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
