"""Backprop diffusion experiments: streams, fidelity vs input speed, training, plots."""

import numpy as np
import pandas as pd
import pytest

from agents.errors import ConfigError, ConvergenceError, DataError
from networks.builders import layered, layered_recurrent
from networks.compile import compile_graph
from networks.contraction import cycle_gains
from networks.oracles import cosine, exact_gradient
from runs.data.streams import held_stream, sinusoid_stream
from runs.methods.fidelity import measure_fidelity, record_waves, reference_gradient
from runs.studies.input_speed import fidelity_net, fidelity_sweep, main, smallest_hold
from runs.viz.plots import plot_fidelity, plot_raster, save_figure


# ----------------------------------------------------------------------------- streams
def test_held_stream_holds_each_example_T_steps():
    X = np.arange(10.0).reshape(5, 2)
    Y = np.arange(5.0)[None, :] * 10
    s = held_stream(X, Y, 3, n_examples=7, batch=2, seed=0)
    assert s.u.shape == (21, 2, 2) and s.y.shape == (21, 1, 2) and s.example.shape == (21, 2)
    for b in range(2):
        ex = s.example[:, b].reshape(7, 3)
        assert np.all(ex == ex[:, :1])                       # held T steps
        assert sorted(ex[:5, 0]) == list(range(5))           # a permutation first
        np.testing.assert_array_equal(s.u[:, :, b], X[s.example[:, b]])
        np.testing.assert_array_equal(s.y[:, 0, b], 10 * s.example[:, b])
    one = held_stream(X, Y, 1, n_examples=5, seed=0)
    assert one.u.shape == (5, 2, 1)
    with pytest.raises(ConfigError, match="T must be"):
        held_stream(X, Y, 0, n_examples=5)
    with pytest.raises(DataError, match="targets"):
        held_stream(X, Y.T, 2, n_examples=5)


def test_sinusoid_stream_is_periodic_and_can_use_a_teacher():
    s = sinusoid_stream(3, 2, 8, 40, batch=2, seed=1)
    assert s.u.shape == (40, 3, 2) and s.y.shape == (40, 2, 2)
    np.testing.assert_allclose(s.u[8:], s.u[:-8], atol=1e-12)
    teacher = compile_graph(layered([3, 4, 2], seed=0))
    t = sinusoid_stream(3, 2, 10, 12, batch=2, seed=1, teacher=teacher)
    from networks.oracles import forward_pass
    np.testing.assert_allclose(t.y[5], forward_pass(teacher, t.u[5])[1][teacher.output_idx])
    with pytest.raises(ConfigError, match="period"):
        sinusoid_stream(3, 2, 0, 10)


def bp_over_frames(net, stream, frames, loss="squared"):
    """The former reference: the BP oracle summed over the first ``frames`` frames."""
    S, n_in, B = stream.u.shape
    u = stream.u[:frames].transpose(1, 0, 2).reshape(n_in, frames * B)
    y = stream.y[:frames].transpose(1, 0, 2).reshape(stream.y.shape[1], frames * B)
    g = exact_gradient(net, u, y, loss)
    return g.dw, g.db


@pytest.mark.parametrize(("depth", "T", "seed"), [(1, 1, 0), (2, 3, 0), (3, 2, 4), (4, 8, 1)])
def test_on_a_dag_the_bptt_reference_is_bp_over_the_scored_frames(depth, T, seed):
    net = fidelity_net(depth, seed)
    rng = np.random.default_rng(seed)
    s = held_stream(rng.normal(size=(5, 4)), rng.normal(size=(2, 5)), T, n_examples=6,
                    batch=2, seed=seed)
    dw, db = reference_gradient(net, s)
    # output latency = depth: the last `depth` frames never reach the outputs
    bw, bb = bp_over_frames(net, s, s.steps - depth)
    np.testing.assert_allclose(dw, bw, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(db, bb, rtol=1e-10, atol=1e-12)
    # so the fidelity (cosine to BPTT over the same window) is the BP-based one
    f = measure_fidelity(net, s)
    assert f.cosine == pytest.approx(cosine(f.update, bw), abs=1e-8)


def test_fidelity_on_a_cyclic_network_without_fixed_point_is_a_number():
    G = layered_recurrent([3, 6, 2], "tanh", "sigmoid", self_loops=True, lateral=0.5,
                          seed=2)
    net = compile_graph(G)
    net.weight[:] *= 6.0  # far from contractive: no stable forward fixed point
    assert cycle_gains(net).max() > 3
    with pytest.raises(ConvergenceError):
        exact_gradient(net, np.ones(3), np.zeros(2))
    rng = np.random.default_rng(2)
    s = held_stream(rng.normal(size=(6, 3)), rng.uniform(size=(2, 6)), 8, n_examples=8,
                    batch=2, seed=2)
    f = measure_fidelity(net, s, warn=False)
    assert np.isfinite(f.cosine) and -1 <= f.cosine <= 1
    assert np.isfinite(f.reference).all() and np.abs(f.reference).max() > 0


# ----------------------------------------------------------------------------- fidelity
def test_fidelity_is_the_same_in_both_engines_and_exact_for_one_layer():
    rng = np.random.default_rng(3)
    s = held_stream(rng.normal(size=(8, 4)), rng.normal(size=(2, 8)), 2, n_examples=6,
                    batch=2, seed=3)
    net = fidelity_net(2, 3)
    a, v = (measure_fidelity(net, s, engine=k) for k in ("agent", "vector"))
    np.testing.assert_allclose(a.update, v.update, rtol=1e-10)
    assert a.cosine == pytest.approx(v.cosine, rel=1e-10)
    # depth 1: the two waves never mix, even at T = 1: the update is exactly the gradient
    one = measure_fidelity(fidelity_net(1, 3), held_stream(
        rng.normal(size=(8, 4)), rng.normal(size=(2, 8)), 1, n_examples=40, batch=2))
    assert one.cosine == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(one.update, one.reference, rtol=1e-10)


@pytest.fixture(scope="module")
def small_table():
    Ts = [1, 2, 4, 8, 16, 20, 32, 40, 80]
    return fidelity_sweep([1, 2, 4], [0, 1], Ts, n_examples=12, batch=4)


def test_fidelity_rises_with_hold_time_and_drops_for_fast_inputs(small_table):
    mean = small_table.groupby(["depth", "T"])["cosine"].mean()
    for depth in (1, 2, 4):
        curve = mean[depth]
        assert curve[20 * depth] >= 0.99, (depth, curve.to_dict())
        # rises: non-decreasing once T covers the 2 × depth mixing window...
        slow = curve[curve.index >= 2 * depth]
        assert np.all(np.diff(slow.to_numpy()) > -0.005), (depth, curve.to_dict())
        # ...and the slowest input is far better than the fastest (depth >= 2)
        if depth >= 2:
            assert curve[1] < 0.9 and curve[1] < curve.max() - 0.1, (depth, curve.to_dict())
        else:
            assert curve.min() > 1 - 1e-12  # a single layer never mixes waves
    best = smallest_hold(small_table, 0.99)
    print("smallest T reaching 0.99:", best)
    assert best[1] == 1 and best[1] < best[2] < best[4] <= 80


def test_smooth_inputs_fidelity_rises_with_the_period():
    net = fidelity_net(2, 0)
    rows = [measure_fidelity(net, sinusoid_stream(4, 2, P, 8 * P, batch=2, seed=0)).cosine
            for P in (4, 16, 64)]
    assert rows[0] < rows[1] < rows[2] and rows[2] > 0.99


def test_smallest_hold_on_a_hand_table():
    t = pd.DataFrame({"depth": [1, 1, 2, 2, 2], "seed": 0, "T": [1, 2, 1, 2, 4],
                      "cosine": [0.995, 1.0, 0.5, 0.98, 0.991]})
    assert smallest_hold(t) == {1: 1, 2: 4}
    assert smallest_hold(t, 0.999) == {1: 2, 2: None}


# ----------------------------------------------------------------------------- plots
def test_plots_and_cli_write_files(tmp_path, small_table, capsys):
    p = save_figure(plot_fidelity(small_table), tmp_path / "f" / "fid.png")
    assert p.exists() and p.stat().st_size > 5000
    net = fidelity_net(3, 0)
    rng = np.random.default_rng(0)
    s = held_stream(rng.normal(size=(3, 4)), rng.normal(size=(2, 3)), 8,
                    order=np.arange(3)[:, None])
    rec = record_waves(net, s)
    assert rec["x"].shape in ((24, net.n_nodes), (24, net.n_nodes, 1))
    for mode in ("value", "change"):
        r = save_figure(plot_raster(net, rec, mode=mode, marks=[1, 9, 17], t_range=(1, 20),
                                    title="t"), tmp_path / f"raster_{mode}.png")
        assert r.exists() and r.stat().st_size > 5000
    assert main(["--depths", "1", "2", "--seeds", "0", "--T", "1", "4", "--n-examples", "4",
                 "--raster-depth", "2", "--raster-T", "4", "--out", str(tmp_path / "cli")]) == 0
    out = capsys.readouterr().out
    assert "smallest T reaching cosine 0.99" in out
    for name in ("fidelity.csv", "fidelity.png", "smallest_T.csv", "raster.png"):
        assert (tmp_path / "cli" / name).exists()
    table = pd.read_csv(tmp_path / "cli" / "fidelity.csv")
    assert list(table.columns[:4]) == ["depth", "seed", "T", "cosine"] and len(table) == 4
