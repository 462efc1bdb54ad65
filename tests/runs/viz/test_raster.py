"""The space-time raster: visible layer separators, labelled colour bars, robust limits."""

import numpy as np
import pytest
from matplotlib.colors import to_rgba

from runs.data.streams import held_stream
from runs.methods.fidelity import record_waves
from runs.studies.input_speed import fidelity_net
from runs.viz.plots import plot_raster


def _luminance(c):
    r, g, b, _ = to_rgba(c)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.fixture(params=[0, 1])
def waves(request):
    net = fidelity_net(3, request.param)
    rng = np.random.default_rng(request.param)
    s = held_stream(rng.normal(size=(3, 4)), rng.normal(size=(2, 3)), 8,
                    order=np.arange(3)[:, None])
    return net, record_waves(net, s)


@pytest.mark.parametrize("mode", ["value", "change"])
def test_layer_separators_stand_out_on_the_colour_map(waves, mode):
    net, rec = waves
    fig = plot_raster(net, rec, mode=mode)
    n_levels = len(np.unique(net.layer))
    for ax in fig.axes[:2]:
        img = ax.images[0]
        seps = [ln for ln in ax.get_lines()  # horizontal lines across the axes
                if list(ln.get_xdata()) == [0, 1] and len(set(ln.get_ydata())) == 1]
        assert len(seps) == n_levels - 1
        cmap = img.get_cmap()
        background = cmap(0.5) if mode == "value" else cmap(0.0)
        assert all(abs(_luminance(ln.get_color()) - _luminance(background)) > 0.5
                   for ln in seps)


@pytest.mark.parametrize("mode", ["value", "change"])
def test_colour_bars_name_the_variable(waves, mode):
    net, rec = waves
    fig = plot_raster(net, rec, mode=mode)
    labels = [ax.images[0].colorbar.ax.get_ylabel() for ax in fig.axes[:2]]
    assert all(labels)
    assert "x" in labels[0] and "δ" in labels[1]
    if mode == "value":
        assert "dimensionless" in labels[0]
    else:
        assert "x(t) − x(t−1)" in labels[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_bright_cell_does_not_saturate_the_scale(seed):
    net = fidelity_net(2, 0)
    rng = np.random.default_rng(seed)
    S, N = 40, net.n_nodes
    rec = {"x": rng.normal(size=(S, N)), "delta": rng.normal(size=(S, N))}
    rec["x"][5, 3] = 1000.0
    rec["delta"][7, 4] = -1000.0
    fig = plot_raster(net, rec, mode="value")
    for ax in fig.axes[:2]:
        vmin, vmax = ax.images[0].get_clim()
        assert vmin == -vmax and 1.0 < vmax < 5.0  # not ±1000
        assert ax.images[0].get_cmap().name == "RdBu_r"  # diverging for signed values
        assert ax.images[0].colorbar.extend == "both"
    change = plot_raster(net, rec, mode="change")
    lo, hi = change.axes[0].images[0].get_clim()
    assert lo >= 0 and hi < 10


def test_bad_mode_is_refused(waves):
    net, rec = waves
    with pytest.raises(ValueError, match="mode"):
        plot_raster(net, rec, mode="wiggle")
