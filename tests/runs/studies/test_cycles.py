"""Diffusion on cycles vs BPTT: scaling, the measured trend, the table, plot and entry point."""

import matplotlib
import pandas as pd
import pytest
from matplotlib.figure import Figure

from agents.errors import ConfigError, GraphError
from networks.builders import random_dag, random_digraph
from runs.studies import cycles


@pytest.mark.parametrize("radius", [0.5, 1.2])
def test_scale_to_radius_sets_the_spectral_radius(radius):
    G = random_digraph(15, 45, n_inputs=3, n_outputs=2, seed=3)
    H = cycles.scale_to_radius(G, radius)
    assert cycles.spectral_radius(H) == pytest.approx(radius, rel=1e-10)
    for j, i, w in H.edges(data="weight"):  # input edges untouched
        if G.nodes[j]["role"] == "input":
            assert w == G.edges[j, i]["weight"]
    with pytest.raises(GraphError, match="no cycle"):
        cycles.scale_to_radius(random_dag(10, 20, seed=0), 0.5)
    with pytest.raises(GraphError, match="radius"):
        cycles.scale_to_radius(G, -1.0)


def test_fidelity_rises_with_hold_time_on_contractive_cycles_not_beyond_gain_one():
    table = cycles.diffusion_vs_bptt(seeds=[0, 1, 2], holds=[1, 48], radii=[0.5, 1.2],
                                     n_nodes=14, steps=96, batch=2)
    assert len(table) == 12 and not table["diverged"].any()
    assert set(table.columns) >= {"seed", "radius", "hold", "steps", "cosine",
                                  "cosine_hidden", "norm_ratio", "motion"}
    slow = table[(table.radius == 0.5) & (table.hold == 48)]
    fast = table[(table.radius == 0.5) & (table.hold == 1)]
    assert (slow["cosine"] > 0.99).all() and (slow["cosine_hidden"] > 0.98).all()
    assert (slow["motion"] < 1e-2).all()
    assert fast["cosine_hidden"].mean() < slow["cosine_hidden"].mean() - 0.2
    hot = table[(table.radius == 1.2) & (table.hold == 48)]
    assert hot["cosine_hidden"].mean() < slow["cosine_hidden"].mean()
    s = cycles.summarize(table)
    assert len(s) == 4 and (s["seeds"] == 3).all()


def test_bad_arguments_are_named():
    with pytest.raises(ConfigError, match="holds"):
        cycles.diffusion_vs_bptt(seeds=[0], holds=[0], radii=[0.5])
    with pytest.raises(ConfigError, match="radii"):
        cycles.diffusion_vs_bptt(seeds=[0], holds=[2], radii=[])


def test_plot_and_entry_point(tmp_path, capsys):
    backend = matplotlib.get_backend()
    assert cycles.main(["--out", str(tmp_path), "--seeds", "2", "--nodes", "10",
                        "--holds", "1", "8", "--radii", "0.5", "1.1", "--steps", "32"]) == 0
    assert matplotlib.get_backend() == backend
    out = capsys.readouterr().out
    assert "cos_mean" in out and "unsettled_seeds" in out
    assert (tmp_path / "cycles.png").stat().st_size > 10_000
    table = pd.read_csv(tmp_path / "cycles.csv")
    fig = cycles.plot_cycles(table)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    for ax in fig.axes:
        assert ax.get_xlabel() and ax.get_ylabel() is not None and ax.get_legend()
    assert fig.axes[0].get_xscale() == "log"
