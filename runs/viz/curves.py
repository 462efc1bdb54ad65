"""Curves over seeds: learning curves and gradient fidelity vs input speed.

Both take a tidy table (one row per run and recorded point, a seed column) and draw,
per group, the mean over seeds with a shaded band of ±1 standard deviation; the legend
says how many seeds each line averages and what the band is. Axes whose values span
decades are logarithmic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from runs.viz.style import (
    LINESTYLES,
    colors,
    metric_label,
    new_figure,
    spans_decades,
)

#: Curves with at most this many recorded points show them as markers.
MARKED = 40


def seed_stats(table: pd.DataFrame, keys: list[str], x: str, y: str,
               seed: str = "seed") -> pd.DataFrame:
    """Mean, std and seed count of ``y`` per ``keys`` and ``x`` (NaN values dropped).

    Returns:
        DataFrame with columns ``keys``, ``x``, ``mean``, ``std`` (0 for one seed), ``n``.
    """
    rows = table.dropna(subset=[x, y])
    stats = (rows.groupby([*keys, x], dropna=False)
             .agg(mean=(y, "mean"), std=(y, "std"), n=(seed, "nunique")).reset_index())
    stats["std"] = stats["std"].fillna(0.0)
    return stats


def _seeds_text(n: int) -> str:
    return f"{n} seed" + ("" if n == 1 else "s")


def _band_handle(n_max: int) -> Patch:
    return Patch(color="grey", alpha=0.25,
                 label=f"shaded: ±1 std over {_seeds_text(n_max)}" if n_max > 1
                 else "one seed: no band")


def _auto_xscale(ax, stats: pd.DataFrame, keys: list[str], x: str) -> None:
    """Log x when the curves' lengths differ tenfold (the shortest would be squashed)."""
    ends = stats.groupby(keys, dropna=False)[x].max() if keys else stats[x].agg(["max"])
    ends = ends[ends > 0]
    if len(ends) and ends.max() / ends.min() >= 10:
        if (stats[x] <= 0).any():
            positive = stats.loc[stats[x] > 0, x]
            ax.set_xscale("symlog", linthresh=float(positive.min()) if len(positive) else 1.0)
        else:
            ax.set_xscale("log")


def _draw_band(ax, xs, mean, std, n, color, log_y: bool) -> None:
    if n < 2:
        return
    lo, hi = mean - std, mean + std
    if log_y:
        lo = np.maximum(lo, mean / 10)
    ax.fill_between(xs, lo, hi, color=color, alpha=0.2, lw=0)


def plot_learning_curves(table, *, metric: str = "test_acc", x: str = "epoch",
                         hue: str = "method", style: str | None = None,
                         seed: str = "seed", title: str | None = None,
                         xscale: str | None = None, yscale: str | None = None) -> Figure:
    """Learning curves: mean of ``metric`` over seeds against ``x``, ±1 std band.

    One colour per value of ``hue`` (e.g. the method), one line style per value of
    ``style`` (e.g. the architecture); the legend (below the axes) gives each line's
    seed count and explains the band.

    Args:
        table: tidy DataFrame (or list of row dicts) with columns ``x``, ``metric``,
            ``seed``, ``hue`` and ``style`` (when given).
        metric: the column plotted (e.g. ``test_acc``, ``loss``).
        x: the column on the x axis, one unit for every curve (``epoch`` or ``step``).
        hue: column giving the colour (None: one colour).
        style: column giving the line style (None: solid lines).
        seed: the seed column averaged over.
        title: figure title (default: ``"<metric> during training"``).
        xscale: ``"linear"``, ``"log"`` or ``"symlog"``; default: symlog where the
            curves' lengths differ tenfold, so the shortest is not squashed into a
            tenth of the axis, else linear.
        yscale: ``"linear"`` or ``"log"``; default: log where the means span decades.

    Returns:
        The figure.
    """
    table = pd.DataFrame(table)
    for col in (x, metric, seed, hue, style):
        if col is not None and col not in table.columns:
            raise KeyError(f"column {col!r} missing from the learning-curve table "
                           f"(has {sorted(table.columns)})")
    keys = [k for k in (hue, style) if k is not None]
    stats = seed_stats(table, keys, x, metric, seed)
    # colours and styles follow the whole table, so that every metric of one table
    # draws a method in the same colour, even where it lacks that metric
    all_hues = list(dict.fromkeys(table[hue])) if hue else [None]
    all_styles = list(dict.fromkeys(table[style])) if style else [None]
    color_of = dict(zip(all_hues, colors(len(all_hues)), strict=True))
    style_of = {s: LINESTYLES[k % len(LINESTYLES)] for k, s in enumerate(all_styles)}
    hues = [h for h in all_hues if not hue or (stats[hue] == h).any()]
    styles = [s for s in all_styles if not style or (stats[style] == s).any()]
    log_y = yscale == "log" or (yscale is None and spans_decades(stats["mean"]))
    fig = new_figure(6.4, 4.6)
    ax = fig.add_subplot()
    handles = []
    for group, rows in (stats.groupby(keys, sort=False, dropna=False) if keys
                        else [((), stats)]):
        group = group if isinstance(group, tuple) else (group,)
        h = group[0] if hue else None
        s = group[keys.index(style)] if style else None
        rows = rows.sort_values(x)
        n = int(rows["n"].max())
        name = " — ".join(str(g) for g in group) or metric_label(metric)
        line, = ax.plot(rows[x], rows["mean"], color=color_of[h], ls=style_of[s], lw=1.6,
                        marker="o" if len(rows) <= MARKED else None, ms=2.5,
                        label=f"{name} ({_seeds_text(n)})")
        if not style:
            handles.append(line)
        _draw_band(ax, rows[x].to_numpy(), rows["mean"].to_numpy(), rows["std"].to_numpy(),
                   n, line.get_color(), log_y)
    if style:  # factored legend: colours = hue values, styles = variants
        n_of = stats.groupby(hue, sort=False)["n"].max() if hue else {}
        handles += [Line2D([], [], color=color_of[h], lw=2,
                           label=f"{h} ({_seeds_text(int(n_of[h]))})") for h in hues if hue]
        handles += [Line2D([], [], color="k", ls=style_of[s], lw=1.4, label=f"{style}: {s}")
                    for s in styles]
    handles.append(_band_handle(int(stats["n"].max()) if len(stats) else 0))
    ax.set_yscale("log" if log_y else (yscale or "linear"))
    if xscale:
        ax.set_xscale(xscale)
    else:
        _auto_xscale(ax, stats, keys, x)
    ax.set_xlabel(metric_label(x))
    ax.set_ylabel(metric_label(metric))
    ax.grid(alpha=0.3, which="both" if log_y else "major")
    ax.set_title(title or f"{metric_label(metric)} during training")
    fig.legend(handles=handles, loc="outside lower center", fontsize=8,
               ncols=min(3, len(handles)), frameon=False)
    return fig


def plot_fidelity(table, *, threshold: float = 0.99, x: str = "T",
                  xlabel: str = "hold time T (steps per example)",
                  title: str | None = None) -> Figure:
    """Gradient fidelity of backprop diffusion: cosine against ``x``, one line per depth.

    Lines are the mean over seeds, bands ±1 std (both named in the legend); a dashed
    line marks ``threshold``. The x axis is logarithmic (base 2) when ``x`` spans a
    decade or more.

    Args:
        table: DataFrame with columns ``depth``, ``seed``, ``x`` and ``cosine``.
        threshold: cosine level to mark.
        x: name of the speed column (``"T"`` or a period).
        xlabel: x axis label.
        title: figure title (default: what is plotted against what).

    Returns:
        The figure.
    """
    stats = seed_stats(pd.DataFrame(table), ["depth"], x, "cosine")
    fig = new_figure(6.4, 4.6)
    ax = fig.add_subplot()
    depths = list(dict.fromkeys(sorted(stats["depth"])))
    handles = []
    for depth, color in zip(depths, colors(len(depths)), strict=True):
        rows = stats[stats["depth"] == depth].sort_values(x)
        n = int(rows["n"].max())
        line, = ax.plot(rows[x], rows["mean"], marker="o", ms=3, color=color,
                        label=f"depth {depth} ({_seeds_text(n)})")
        handles.append(line)
        if n > 1:
            ax.fill_between(rows[x], rows["mean"] - rows["std"],
                            np.minimum(rows["mean"] + rows["std"], 1.0), color=color,
                            alpha=0.2, lw=0)
    handles.append(ax.axhline(threshold, color="grey", ls="--", lw=1,
                              label=f"cosine = {threshold:g}"))
    handles.append(_band_handle(int(stats["n"].max()) if len(stats) else 0))
    if spans_decades(stats[x]):
        ax.set_xscale("log", base=2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("cosine(diffusion update, BPTT gradient\nover the same window)")
    short = xlabel.split(" (")[0]
    ax.set_title(title or f"Backprop diffusion: gradient fidelity vs {short}")
    ax.grid(alpha=0.3)
    fig.legend(handles=handles, loc="outside lower center", fontsize=8,
               ncols=min(3, len(handles)), frameon=False)
    return fig
