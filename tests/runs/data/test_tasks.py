"""Temporal task streams: their definitions, reproducibility, scoring and bad parameters."""

import numpy as np
import pytest

from agents.errors import ConfigError, DataError
from runs.data import tasks
from runs.data.tasks import delayed_recall, evaluate, flip_flop, make_task, periodic


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flip_flop_holds_the_last_pulse_per_channel(seed):
    t = flip_flop(400, n_bits=3, batch=4, p_pulse=0.05, seed=seed)
    assert t.u.shape == t.y.shape == t.mask.shape == (400, 3, 4)
    assert set(np.unique(t.u)) <= {-1.0, 0.0, 1.0}
    rate = np.mean(t.u != 0)
    assert 0.03 < rate < 0.07
    for c in range(3):
        for k in range(4):
            held, seen = 0.0, False
            for s in range(400):
                if t.u[s, c, k] != 0:
                    held, seen = t.u[s, c, k], True
                assert t.mask[s, c, k] == seen
                assert t.y[s, c, k] == (held if seen else 0.0)
    assert set(np.unique(t.y[t.mask])) == {-1.0, 1.0}


def test_streams_are_reproducible_and_seed_dependent():
    a, b = flip_flop(100, batch=2, seed=5), flip_flop(100, batch=2, seed=5)
    np.testing.assert_array_equal(a.u, b.u)
    assert not np.array_equal(a.u, flip_flop(100, batch=2, seed=6).u)
    g = np.random.default_rng(3)
    r = delayed_recall(50, lag=4, seed=g)
    assert not np.array_equal(r.u, delayed_recall(50, lag=4, seed=g).u)  # generator advances


@pytest.mark.parametrize("lag", [1, 5, 12])
def test_delayed_recall_targets_the_input_lag_steps_ago(lag):
    t = delayed_recall(60, lag=lag, n_channels=2, batch=3, seed=lag)
    assert set(np.unique(t.u)) == {-1.0, 1.0}
    np.testing.assert_array_equal(t.y[lag:], t.u[:-lag])
    assert not t.mask[:lag].any() and t.mask[lag:].all()
    assert not np.array_equal(t.y[lag:], t.u[lag:])


@pytest.mark.parametrize("period", [8, 12.5])
def test_periodic_generate_follows_a_trigger(period):
    t = periodic(100, period=period, batch=5, seed=1)
    assert t.u.shape == (100, 1, 5)
    assert (t.u.sum(axis=0) == 1).all()  # one trigger per stream
    s0 = np.argmax(t.u[:, 0], axis=0)  # 0-based step of the trigger
    assert (s0 < np.ceil(period)).all()
    for k in range(5):
        m = t.mask[:, 0, k]
        assert not m[:s0[k]].any() and m[s0[k]:].all()
        s = np.arange(100) - s0[k]
        np.testing.assert_allclose(t.y[s0[k]:, 0, k], 0.8 * np.sin(2 * np.pi * s[s0[k]:]
                                                                       / period), atol=1e-12)
    assert not t.signed


def test_periodic_predict_targets_the_future_input():
    t = periodic(80, period=10, mode="predict", horizon=3, batch=2, seed=0)
    np.testing.assert_allclose(t.y[:-3], t.u[3:], atol=1e-12)
    assert t.mask.all()
    assert not np.allclose(t.u[:, 0, 0], t.u[:, 0, 1])  # random phases


def test_evaluate_scores_only_masked_frames():
    t = flip_flop(200, batch=2, seed=0)
    perfect = evaluate(t, t.y)
    assert perfect == {"mse": 0.0, "accuracy": 1.0, "scored": int(t.mask.sum())}
    flipped = evaluate(t, -t.y)
    assert flipped["accuracy"] == 0.0 and flipped["mse"] == pytest.approx(4.0)
    junk = np.where(t.mask, t.y, 99.0)  # unscored frames do not count
    assert evaluate(t, junk)["mse"] == 0.0
    p = periodic(50, seed=0)
    assert np.isnan(evaluate(p, p.y)["accuracy"])
    with pytest.raises(DataError, match="shape"):
        evaluate(t, t.y[:-1])


@pytest.mark.parametrize(("call", "name"), [
    (lambda: flip_flop(0, seed=0), "steps"),
    (lambda: flip_flop(10, p_pulse=0.0, seed=0), "p_pulse"),
    (lambda: flip_flop(10, n_bits=True, seed=0), "n_bits"),
    (lambda: flip_flop(10, seed=1.5), "seed"),
    (lambda: delayed_recall(10, lag=0, seed=0), "lag"),
    (lambda: periodic(10, period=2, seed=0), "period"),
    (lambda: periodic(10, mode="chaos", seed=0), "mode"),
    (lambda: periodic(10, amplitude=1.5, seed=0), "amplitude"),
    (lambda: make_task("parity", 10, seed=0), "parity"),
])
def test_bad_parameters_are_named(call, name):
    with pytest.raises(ConfigError, match=name):
        call()


def test_size_is_checked_before_allocating(monkeypatch):
    monkeypatch.setattr(tasks, "MAX_VALUES", 1000)
    with pytest.raises(DataError, match="limit"):
        flip_flop(1000, n_bits=3, batch=1, seed=0)
    assert make_task("delayed_recall", 100, lag=2, seed=0).steps == 100
