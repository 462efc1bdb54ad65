"""The network plot: edge kinds in a legend, nested arcs, visible self-loops, shared scale."""

import networkx as nx
import numpy as np
import pytest
from matplotlib.patches import FancyArrowPatch

from networks.builders import layered_recurrent
from runs.studies.demo import lambda_figures
from runs.viz.plots import edge_kind, plot_graph, shared_limits
from tests.runs.viz.figtools import legend_texts


def _all_kinds() -> nx.DiGraph:
    G = nx.DiGraph()
    for n, layer in [("a", 0), ("b", 0), ("h1", 1), ("h2", 1), ("h3", 1), ("o", 2)]:
        G.add_node(n, layer=layer)
    G.add_edges_from([("a", "h1"), ("b", "h2"), ("a", "h3"), ("h1", "o"), ("h2", "o"),
                      ("h3", "o"), ("h1", "h3"), ("h3", "h1"), ("h2", "h3"),  # lateral
                      ("o", "h2"),  # feedback
                      ("h1", "h1"), ("h2", "h2")])  # self-loops
    return G


def _colour(fig):
    return fig.axes[0].collections[-1]  # the valued nodes


def test_edge_kinds():
    G = _all_kinds()
    assert edge_kind(G, "a", "h1") == "feedforward"
    assert edge_kind(G, "h1", "h3") == "lateral"
    assert edge_kind(G, "o", "h2") == "feedback"
    assert edge_kind(G, "h1", "h1") == "self-loop"
    assert edge_kind(nx.DiGraph([(1, 2)]), 1, 2) == "edge"


def test_legend_names_every_edge_kind_and_self_loops_are_drawn():
    G = _all_kinds()
    vals = {n: np.nan if n in "ab" else k / 6 for k, n in enumerate(G.nodes)}
    fig = plot_graph(G, vals, label="mean |λ|")
    texts = legend_texts(fig)
    for kind, n in [("feedforward", 6), ("lateral", 3), ("feedback", 1), ("self-loop", 2)]:
        assert f"{kind} ({n})" in texts
    assert "no value (input)" in texts
    ax = fig.axes[0]
    loops = [ln for ln in ax.get_lines() if ln.get_gid() == "self-loop"]
    assert len(loops) == 1 and len(loops[0].get_xdata()) == 2
    assert loops[0].get_markersize() >= 8 and loops[0].get_alpha() >= 0.8
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == G.number_of_edges() - 2  # every non-loop edge drawn


def test_lateral_arcs_share_one_curvature():
    G = layered_recurrent([2, 8, 1], "tanh", seed=1, lateral=0.5, self_loops=True)
    n_lateral = sum(edge_kind(G, j, i) == "lateral" for j, i in G.edges)
    assert n_lateral > 5
    fig = plot_graph(G, np.linspace(0, 1, G.number_of_nodes()))
    rads = {}
    for p in fig.axes[0].patches:
        if isinstance(p, FancyArrowPatch):
            rads.setdefault(tuple(np.round(p.get_edgecolor()[:3], 3)), set()).add(
                p.get_connectionstyle().rad)
    lateral = [r for r in rads.values() if r != {0.0}]
    assert len(lateral) == 1 and len(lateral[0]) == 1 and lateral[0] != {0.0}
    assert len(fig.axes[0].get_lines()) == 1  # the self-loop rings


@pytest.mark.parametrize("value", [1.0, 0.25])
def test_constant_values_get_a_scale_from_zero(value):
    G = _all_kinds()
    fig = plot_graph(G, np.full(G.number_of_nodes(), value), label="support fraction")
    assert _colour(fig).get_clim() == (0.0, value)
    fixed = plot_graph(G, np.full(G.number_of_nodes(), 1.0), vmin=0.0, vmax=1.0)
    assert _colour(fixed).get_clim() == (0.0, 1.0)


def test_shared_colour_scale_for_compared_networks():
    G1 = _all_kinds()
    G2 = layered_recurrent([2, 5, 1], "tanh", seed=0, lateral=0.4)
    lam1 = np.array([np.nan, np.nan, 0.01, 0.02, 0.03, 0.04])
    lam2 = np.r_[np.nan, np.nan, np.linspace(0.1, 0.9, G2.number_of_nodes() - 2)]
    assert shared_limits(lam1, lam2) == pytest.approx((0.01, 0.9))
    figs = lambda_figures({"a": (G1, lam1), "b": (G2, lam2)})
    clims = {name: _colour(fig).get_clim() for name, fig in figs.items()}
    assert clims["a"] == clims["b"] == pytest.approx((0.01, 0.9))
    assert _colour(plot_graph(G1, lam1)).get_clim() == pytest.approx((0.01, 0.04))


def test_values_of_the_wrong_length_are_refused():
    with pytest.raises(ValueError, match="one number per node"):
        plot_graph(_all_kinds(), [1.0, 2.0])
