"""Learning curves and the fidelity plot: checked on the figure objects."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection

from runs.viz.plots import plot_fidelity, plot_learning_curves
from tests.runs.viz.figtools import draw, legend_texts


def _history(method, epochs, seeds, rng, arch=None, metric="test_acc", fn=None):
    rows = []
    for s in seeds:
        for e in epochs:
            y = fn(e) if fn else 0.5 + 0.4 * (1 - np.exp(-e / max(epochs) * 4))
            rows.append({"method": method, "seed": s, "epoch": e, "arch": arch,
                         metric: y + 0.02 * rng.normal()})
    return rows


@pytest.fixture
def table():
    rng = np.random.default_rng(3)
    return pd.DataFrame(_history("BP", range(0, 301, 10), [0, 1, 2], rng)
                        + _history("LP", range(0, 301, 10), [0, 1, 2], rng)
                        + _history("diffusion", range(0, 31), [0, 1, 2], rng))


def _curves(ax):
    return [ln for ln in ax.get_lines() if len(ln.get_xdata()) > 2]


def test_one_mean_line_per_method_with_seed_counts_and_a_labelled_band(table):
    fig = plot_learning_curves(table, metric="test_acc", x="epoch", hue="method")
    ax = fig.axes[0]
    lines = _curves(ax)
    assert len(lines) == 3  # one per method, not one per run (9)
    bp = table[table["method"] == "BP"].groupby("epoch")["test_acc"].mean()
    by_label = {ln.get_label().split(" (")[0]: ln for ln in lines}
    np.testing.assert_allclose(by_label["BP"].get_ydata(), bp.to_numpy())
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 3
    texts = legend_texts(fig)
    assert {"BP (3 seeds)", "LP (3 seeds)", "diffusion (3 seeds)"} <= set(texts)
    assert any("±1 std over 3 seeds" in t for t in texts)
    assert len({ln.get_color() for ln in lines}) == 3


def test_human_labels_and_one_x_unit_that_does_not_squash_the_short_run(table):
    fig = plot_learning_curves(table, metric="test_acc", x="epoch", hue="method")
    ax = fig.axes[0]
    assert ax.get_ylabel() == "test accuracy"
    assert "epoch" in ax.get_xlabel() and ax.get_xlabel() != "epoch"
    ax.get_xlim()  # autoscale
    end = ax.transAxes.inverted().transform(ax.transData.transform((30, 0.5)))[0]
    assert end > 0.4, f"the 30-epoch run ends at {end:.0%} of the axis"
    lone = plot_learning_curves(table[table["method"] == "BP"], hue="method").axes[0]
    assert lone.get_xscale() == "linear"


def test_colour_per_method_and_line_style_per_variant():
    rng = np.random.default_rng(0)
    rows = []
    for arch in ("13-100-3", "13-30-30-30-3"):
        for method in ("lp", "bp"):
            rows += _history(method, range(0, 50, 5), [0, 1], rng, arch=arch)
    fig = plot_learning_curves(pd.DataFrame(rows), hue="method", style="arch")
    lines = _curves(fig.axes[0])
    assert len(lines) == 4
    colour = {}
    style = {}
    for ln in lines:
        method, arch = ln.get_label().split(" (")[0].split(" — ")
        colour.setdefault(method, set()).add(ln.get_color())
        style.setdefault(arch, set()).add(ln.get_linestyle())
    assert all(len(c) == 1 for c in colour.values()) and len(set.union(*colour.values())) == 2
    assert all(len(s) == 1 for s in style.values()) and len(set.union(*style.values())) == 2
    texts = legend_texts(fig)
    assert "lp (2 seeds)" in texts and "arch: 13-30-30-30-3" in texts


@pytest.mark.parametrize("seed", [0, 1])
def test_log_y_when_values_span_decades_linear_otherwise(seed):
    rng = np.random.default_rng(seed)
    rows = _history("lp", range(0, 100, 5), [0, 1, 2], rng, metric="loss",
                    fn=lambda e: 10 ** (-e / 25))
    for r in rows:
        r["loss"] = abs(r["loss"]) + 1e-6
    fig = plot_learning_curves(pd.DataFrame(rows), metric="loss")
    assert fig.axes[0].get_yscale() == "log"
    assert fig.axes[0].get_ylabel() == "training loss"
    acc = plot_learning_curves(pd.DataFrame(_history("lp", range(10), [0], rng)))
    assert acc.axes[0].get_yscale() == "linear"
    assert any("one seed" in t for t in legend_texts(acc))


def test_legend_is_outside_the_data(table):
    fig = plot_learning_curves(table, hue="method")
    renderer = draw(fig)
    ax_box = fig.axes[0].get_window_extent(renderer)
    assert fig.axes[0].get_legend() is None and len(fig.legends) == 1
    leg_box = fig.legends[0].get_window_extent(renderer)
    assert not ax_box.overlaps(leg_box)


def test_missing_column_is_named(table):
    with pytest.raises(KeyError, match="cos_bptt"):
        plot_learning_curves(table, metric="cos_bptt")


# ------------------------------------------------------------------------- fidelity
def _fidelity_table(Ts, seeds=(0, 1, 2), depths=(1, 2)):
    rng = np.random.default_rng(7)
    return pd.DataFrame([{"depth": d, "seed": s, "T": T,
                          "cosine": 1 - 0.5 * d / T * rng.uniform(0.5, 1.5)}
                         for d in depths for s in seeds for T in Ts])


def test_fidelity_title_says_what_is_plotted_and_band_is_labelled():
    table = _fidelity_table([1, 2, 4, 8, 16, 32, 64, 128])
    fig = plot_fidelity(table)
    ax = fig.axes[0]
    assert "hold time" in ax.get_title() and "input speed" not in ax.get_title()
    assert "fidelity" in ax.get_title()
    assert ax.get_xscale() == "log"
    lines = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == 8]
    assert len(lines) == 2
    mean = table[table["depth"] == 2].groupby("T")["cosine"].mean().to_numpy()
    assert np.allclose(lines[1].get_ydata(), mean)
    texts = legend_texts(fig)
    assert "depth 1 (3 seeds)" in texts and any("±1 std over 3 seeds" in t for t in texts)
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 2


def test_fidelity_x_is_linear_when_it_does_not_span_a_decade():
    fig = plot_fidelity(_fidelity_table([2, 4, 6, 8]))
    assert fig.axes[0].get_xscale() == "linear"


def test_a_method_keeps_its_colour_in_every_metric_of_a_table():
    rng = np.random.default_rng(1)
    rows = _history("bp", range(10), [0, 1], rng) + _history("lp", range(10), [0, 1], rng)
    for r in rows:
        r["cos_bptt"] = 0.9 if r["method"] == "lp" else None
    table = pd.DataFrame(rows)
    acc = {ln.get_label().split(" (")[0]: ln.get_color()
           for ln in _curves(plot_learning_curves(table).axes[0])}
    cos = _curves(plot_learning_curves(table, metric="cos_bptt").axes[0])
    assert len(cos) == 1 and cos[0].get_color() == acc["lp"] != acc["bp"]
