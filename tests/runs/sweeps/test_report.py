"""``localprop plot``: seed-aggregated curves, legends off the data, titles, log axes."""

import re

import pytest

from runs.cli import main
from runs.config import validate_config
from runs.sweeps.report import plot_results, report_figures
from runs.sweeps.sweep import run_sweep
from tests.runs.viz.figtools import draw, legend_texts

FORWARD = {
    "experiment": "forward", "n_seeds": 3,
    "network": {"builder": "random_digraph", "n_nodes": 20, "n_edges": 80, "n_inputs": 3,
                "n_outputs": 2, "delays": [1, 3], "contractive_gain": 0.8},
    "schedule": {"steps": 150}, "record": {"every": 5},
    "sweep": {"network.n_nodes": [20, 24, 28, 32]},
}

COMPARE = {
    "experiment": "compare", "seeds": [0, 1],
    "data": {"name": "moons", "n_samples": 40},
    "network": {"builder": "layered", "sizes": [2, 4, 1], "activation": "tanh",
                "output_activation": "sigmoid"},
    "rule": {"eta_w": 0.05},
    "schedule": {"epochs": 4, "eval_every": 1},
    "sweep": {"network.sizes": [[2, 4, 1], [2, 6, 1]]},
}

LP = {
    "experiment": "lp", "seeds": [0, 1],
    "data": {"name": "moons", "n_samples": 40},
    "network": {"builder": "layered_recurrent", "sizes": [2, 5, 1], "activation": "tanh",
                "output_activation": "sigmoid", "self_loops": True, "lateral": 0.3,
                "contractive_gain": 0.9},
    "rule": {"constraint": "lin", "eta_w": 0.02},
    "schedule": {"epochs": 2, "eval_every": 1},
    "record": {"snapshots": True},
}


def _sweep(raw, tmp_path_factory, name):
    out = tmp_path_factory.mktemp(name)
    cfg = validate_config(raw, f"{name}.toml", out)
    summary = run_sweep(cfg, out / "res", executor="sequential", progress=False)
    assert summary.failed == []
    return out / "res"


@pytest.fixture(scope="module")
def forward_dir(tmp_path_factory):
    return _sweep(FORWARD, tmp_path_factory, "forward")


def _data_lines(fig):
    return [ln for ln in fig.axes[0].get_lines() if len(ln.get_xdata()) > 2]


def test_forward_sweep_is_one_line_per_parameter_point(forward_dir):
    figs = report_figures(forward_dir)
    assert set(figs) == {"dist_fixed_point", "mean_abs_x"}
    fig = figs["dist_fixed_point"]
    assert len(_data_lines(fig)) == 4  # 4 points x 3 seeds -> 4 means, not 12 runs
    texts = legend_texts(fig)
    assert "n_nodes=20 (3 seeds)" in texts
    assert not any("seed=" in t or re.search(r"\d{6,}", t) for t in texts)
    assert any("±1 std over 3 seeds" in t for t in texts)


def test_forward_titles_and_log_axis_for_convergence(forward_dir):
    figs = report_figures(forward_dir)
    fig = figs["dist_fixed_point"]
    ax = fig.axes[0]
    title = ax.get_title()
    assert "training" not in title and "forward dynamics" in title
    assert ax.get_yscale() == "log"  # 1e-1 ... 1e-14
    assert ax.get_xlabel() == "time step t" and "fixed point" in ax.get_ylabel()
    assert figs["mean_abs_x"].axes[0].get_yscale() == "linear"


def test_legend_is_below_the_data_not_over_it(forward_dir):
    fig = report_figures(forward_dir)["dist_fixed_point"]
    renderer = draw(fig)
    assert fig.axes[0].get_legend() is None and len(fig.legends) == 1
    leg = fig.legends[0].get_window_extent(renderer)
    box = fig.axes[0].get_window_extent(renderer)
    assert not leg.overlaps(box) and leg.y1 <= box.y0


def test_compare_colours_methods_and_styles_architectures(tmp_path_factory):
    figs = report_figures(_sweep(COMPARE, tmp_path_factory, "compare"))
    fig = figs["test_acc"]
    lines = _data_lines(fig)
    assert len(lines) == 4  # (lp, bp) x 2 architectures, seeds averaged
    assert len({ln.get_color() for ln in lines}) == 2
    assert len({str(ln.get_linestyle()) for ln in lines}) == 2
    assert "during training" in fig.axes[0].get_title()
    assert fig.axes[0].get_ylabel() == "test accuracy"
    texts = legend_texts(fig)
    assert "lp (2 seeds)" in texts and "bp (2 seeds)" in texts
    assert "swept: sizes=[2, 6, 1]" in texts


def test_support_maps_use_the_fraction_scale(tmp_path_factory):
    res = _sweep(LP, tmp_path_factory, "lp")
    figs = report_figures(res)
    support = [f for name, f in figs.items() if name.startswith("graph_support_")]
    lam = [f for name, f in figs.items() if name.startswith("graph_lam_")]
    assert len(support) == len(lam) == 2
    for fig in support:
        assert fig.axes[0].collections[-1].get_clim() == (0.0, 1.0)
        assert re.search(r"run [12] of 2", fig.axes[0].get_title())
        assert not re.search(r"\d{6,}", fig.axes[0].get_title())
    assert lam[0].axes[0].collections[-1].get_clim() == lam[1].axes[0].collections[-1].get_clim()
    paths = plot_results(res, res / "p")
    assert sorted(p.name for p in paths) == sorted(f"{n}.png" for n in figs)


def test_cli_plot_writes_the_files(forward_dir, tmp_path, capsys):
    assert main(["plot", str(forward_dir), "--out", str(tmp_path / "p")]) == 0
    assert (tmp_path / "p" / "dist_fixed_point.png").stat().st_size > 5000
    assert "dist_fixed_point.png" in capsys.readouterr().out
