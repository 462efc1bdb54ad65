"""The method layer: one training loop and one compare for every method; params objects."""

from dataclasses import replace

import numpy as np
import pytest

from agents.diffusion import DIFFUSION, DiffusionParams
from agents.errors import ConfigError
from agents.lp import LPParams
from networks.builders import layered
from networks.compile import compile_graph
from runs.data.datasets import load_dataset
from runs.methods import METHODS, Entry, Schedule, compare, get_method, train
from runs.methods.bp import BPParams, matching_bp
from runs.methods.clamped import clamped_method
from runs.methods.lp import LPMethodParams

LP_P = LPMethodParams(rho=1.0, eta_w=0.3, eta_x=0.2, eta_lam=0.2, x_init="forward")
SHORT = Schedule(epochs=6, eval_every=3)


@pytest.fixture(scope="module")
def moons():
    return load_dataset("moons", seed=1, n_samples=40)


@pytest.fixture(scope="module")
def net(moons):
    return compile_graph(layered([2, 5, 1], "tanh", "sigmoid", seed=2))


def test_every_method_trains_through_the_one_loop(net, moons):
    for name in ("lp", "bp", "diffusion"):
        method = get_method(name)
        params = method.make_params({"eta": 0.2} if name in ("bp", "diffusion") else LP_P)
        res = train(name, net, moons, params, schedule={"epochs": 4, "eval_every": 2})
        assert [r["epoch"] for r in res.history] == [0, 2, 4], name
        assert res.method == name and res.params == params
        assert res.weight.shape == (net.n_edges,) and res.bias.shape == (net.n_nodes,)
        assert not np.allclose(res.weight, net.weight), name  # it learned something
        assert {"step", "epoch", "loss", "train_acc", "test_acc"} <= set(res.final)
        assert res.final["step"] > res.history[1]["step"] > 0


def test_eval_every_counts_epochs_for_every_method(net, moons):
    """One unit: rows at epochs 0, 3, 6 whatever the method's steps per epoch."""
    rows = {}
    for name, params, sched in (
            ("lp", LP_P, {"batch": 10}), ("bp", BPParams(), {"batch": 10}),
            ("diffusion", DiffusionParams(eta=0.1), {"batch": 4, "T": 3})):
        res = train(name, net, moons, params, schedule={"epochs": 6, "eval_every": 3, **sched})
        rows[name] = [r["epoch"] for r in res.history]
        steps = [r["step"] for r in res.history]
        assert steps[1] * 2 == steps[2], name  # same number of steps each epoch
    assert rows == {"lp": [0, 3, 6], "bp": [0, 3, 6], "diffusion": [0, 3, 6]}


def test_params_objects_mappings_and_errors():
    lp = get_method("lp")
    assert lp.make_params(None) == lp.defaults
    assert lp.make_params({"rho": 2.0}) == replace(lp.defaults, rho=2.0)
    # the rule's own params object is accepted and completed with the method's options
    p = lp.make_params(LPParams(rho=0.5))
    assert isinstance(p, LPMethodParams) and p.rho == 0.5
    assert p.x_init == lp.defaults.x_init == "forward"
    assert lp.make_params(LP_P) == LP_P
    with pytest.raises(ConfigError, match="unknown parameter 'rh' for method 'lp'; did you "
                                          "mean 'rho'"):
        lp.make_params({"rh": 1.0})
    with pytest.raises(ConfigError, match="x_init"):
        lp.make_params({"x_init": "nope"})
    with pytest.raises(ConfigError, match="'T' is not used by method 'bp'"):
        get_method("bp").make_schedule({"T": 3})
    assert get_method("diffusion").make_schedule(Schedule(epochs=2)).T == 8  # its default
    assert matching_bp(LP_P) == BPParams(optimizer="sgd", eta=0.3, loss="squared")
    with pytest.raises(ConfigError, match="no matching BP baseline"):
        matching_bp(DiffusionParams())


def test_compare_trains_each_method_from_the_same_start(net, moons):
    res = compare([Entry("lp", LP_P, SHORT), Entry("bp", matching_bp(LP_P), SHORT)],
                  net, moons, [0, 3], fidelity=True)
    assert [(r["seed"], r["method"]) for r in res.rows] == [
        (0, "lp"), (0, "bp"), (3, "lp"), (3, "bp")]
    for r in res.rows:
        t = res.results[r["seed"], r["method"]]
        np.testing.assert_array_equal(t.net.weight, net.weight)  # the same initial weights
        assert r["test_acc"] == t.final["test_acc"] and r["seconds"] > 0
    assert all(r["cosine"] == pytest.approx(1.0, abs=1e-12) for r in res.rows
               if r["method"] == "bp")  # DAG: BP is the BPTT gradient of the settled pass
    lp_cos = [r["cosine"] for r in res.rows if r["method"] == "lp"]
    assert all(0.5 < c <= 1.0 for c in lp_cos)
    diffs = res.diff("lp", "bp")
    s0 = res.summary(0, baseline="bp")
    assert s0["diff"] == pytest.approx(diffs[0])
    assert s0["diff"] == pytest.approx(100 * (s0["lp_test_acc"] - s0["bp_test_acc"]))
    assert {"lp_train_acc", "bp_seconds", "lp_cosine"} <= set(s0)


def test_compare_builds_network_and_data_per_seed():
    seen = []

    def graph(seed):
        seen.append(seed)
        return layered([2, 3, 1], "tanh", "sigmoid", seed=seed)

    res = compare(["bp"], graph, lambda s: load_dataset("moons", seed=s, n_samples=40),
                  [4, 5])
    assert seen == [4, 5]
    w4, w5 = (res.results[s, "bp"].net.weight for s in (4, 5))
    assert not np.allclose(w4, w5)


def test_a_clamped_method_is_one_registration(net, moons):
    """Any rule with forward/backward waves plugs in as a method with one call (what
    feedback alignment needs): here backprop diffusion under another name."""
    try:
        clamped_method("diffusion-again", DIFFUSION, DiffusionParams)
        p, sched = DiffusionParams(eta=0.2), Schedule(epochs=3, batch=4, eval_every=1, T=3)
        a = train("diffusion-again", net, moons, p, schedule=sched, seed=2)
        b = train("diffusion", net, moons, p, schedule=sched, seed=2)
        np.testing.assert_array_equal(a.weight, b.weight)
        assert a.history == b.history
        cos = get_method("diffusion-again").fidelity(a, moons, 0)
        assert cos == get_method("diffusion").fidelity(b, moons, 0) and 0.5 < cos <= 1.0
    finally:
        METHODS.pop("diffusion-again", None)


def test_diffusion_average_is_honoured(net, moons):
    """Defect: ``average`` was validated, then dropped (true and false gave equal losses)."""
    sched = Schedule(epochs=2, batch=4, eval_every=1, T=3)
    runs = {avg: train("diffusion", net, moons, DiffusionParams(eta=0.05, average=avg),
                       schedule=sched) for avg in (True, False)}
    assert runs[True].final["loss"] != runs[False].final["loss"]
    # summed over the 4 streams: the same run as averaging with a 4 times larger η
    four = train("diffusion", net, moons, DiffusionParams(eta=0.2, average=True),
                 schedule=sched)
    np.testing.assert_allclose(runs[False].weight, four.weight, rtol=1e-12)


@pytest.mark.parametrize("name", ["lp", "bp", "diffusion"])
def test_float32_runs_in_float32(net, moons, name):
    """Defect: dtype was ignored by learning runs (float32 rows were float64 runs)."""
    params = LP_P if name == "lp" else {"eta": 0.1}
    sched = {"epochs": 3, "eval_every": 3}
    r64, r32 = (train(name, net, moons, params, schedule=sched, dtype=d)
                for d in ("float64", "float32"))
    assert r32.weight.dtype == np.float32 and r64.weight.dtype == np.float64
    if r32.engine is not None:
        assert r32.engine.dtype == np.float32
        assert r32.engine.state("bias").dtype == np.float32
    assert not np.array_equal(r32.weight.astype(np.float64), r64.weight)
    np.testing.assert_allclose(r32.weight, r64.weight, rtol=1e-3, atol=1e-4)


def test_clamped_schedules_get_streams_and_T_from_the_method():
    diff = get_method("diffusion")
    s = diff.make_schedule(Schedule(epochs=2, batch=None))
    assert (s.epochs, s.batch, s.T) == (2, diff.schedule.batch, diff.schedule.T)
    assert diff.make_schedule({"batch": 3}).batch == 3
    assert get_method("lp").make_schedule(Schedule(epochs=2)).batch is None  # full batch
    with pytest.raises(ConfigError, match="'T' is not used by method 'lp'"):
        get_method("lp").make_schedule(Schedule(T=3))


def test_epoch_progress_sees_every_epoch_of_a_run():
    from runs.methods.loop import epoch_progress

    ds = load_dataset("xor", seed=0)
    seen = []
    with epoch_progress(lambda epoch, total: seen.append((epoch, total))):
        train("bp", layered([2, 4, 1], "tanh", output_activation="sigmoid", seed=1), ds,
              schedule={"epochs": 7, "eval_every": 3})
    assert seen == [(e, 7) for e in range(1, 8)]
    train("bp", layered([2, 4, 1], seed=1), ds, schedule={"epochs": 2})  # outside: no calls
    assert len(seen) == 7


@pytest.mark.parametrize("given, env, expected", [(None, None, 1), (None, "2", 2), (2, "1", 2)])
def test_train_caps_blas_threads_while_training_and_restores_them(net, moons, monkeypatch,
                                                                  given, env, expected):
    from threadpoolctl import threadpool_limits

    from networks.threads import ENV_VAR, blas_threads
    from runs.methods.loop import epoch_progress

    if env is None:
        monkeypatch.delenv(ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(ENV_VAR, env)
    seen = []
    with threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        with epoch_progress(lambda epoch, epochs: seen.append(blas_threads())):
            train("bp", net, moons, {"eta": 0.2}, schedule={"epochs": 2, "eval_every": 1},
                  blas_threads=given)
        assert seen == [expected, expected]
        assert blas_threads() == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_train_refuses_a_bad_blas_thread_count(net, moons, bad):
    with pytest.raises(ConfigError, match="BLAS threads"):
        train("bp", net, moons, {"eta": 0.2}, schedule={"epochs": 1}, blas_threads=bad)
