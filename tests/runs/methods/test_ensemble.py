"""Training K runs as one ensemble: each member equals its single run (train), or stops
with the error its single run raises; what an ensemble cannot do is handed back (None)."""

import numpy as np
import pytest

from agents.errors import DivergenceError
from networks.builders import layered
from networks.compile import compile_graph
from runs.data.datasets import load_dataset
from runs.methods import train
from runs.methods.ensemble import train_ensemble

TOL = 1e-12


def _problems(seeds, sizes=(13, 10, 3)):
    nets = [compile_graph(layered(list(sizes), "sigmoid", seed=s)) for s in seeds]
    return nets, [load_dataset("wine", seed=s) for s in seeds]


def _single(net, ds, params, schedule, seed, dtype="float64"):
    try:
        return train("lp", net, ds, params, schedule=schedule, seed=seed, dtype=dtype)
    except DivergenceError as e:
        return e


def _assert_same(member, single, tol=TOL):
    if isinstance(single, Exception):
        assert type(member) is type(single) and str(member) == str(single)
        assert len(member.rows) == len(single.rows)
        return
    assert len(member.history) == len(single.history)
    for a, b in zip(member.history, single.history, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_allclose(a[key], b[key], rtol=0, atol=tol, err_msg=key)
    for name in ("weight", "bias", "x", "lam"):
        np.testing.assert_allclose(getattr(member, name), getattr(single, name), rtol=0,
                                   atol=tol, err_msg=name)


@pytest.mark.parametrize("batch", [8, None])
@pytest.mark.parametrize("seeds", [[0, 1, 2, 3], [4, 17, 23]])
def test_members_equal_single_runs(seeds, batch):
    nets, data = _problems(seeds)
    params = [{"eta_w": 0.01 * (1 + k % 2), "rho": 0.5 + 0.25 * k} for k in range(len(seeds))]
    schedule = {"epochs": 5, "batch": batch, "eval_every": 2}
    out = train_ensemble("lp", nets, data, params, schedule=schedule, seeds=seeds)
    for k, s in enumerate(seeds):
        _assert_same(out[k], _single(nets[k], data[k], params[k], schedule, s))


@pytest.mark.parametrize(("two_round", "state_optimizer"), [(True, "sgd"), (False, "adam"),
                                                          (True, "adam")])
def test_lp_variants_sum_reduction_and_float32_members(two_round, state_optimizer):
    seeds = [2, 3]
    nets, data = _problems(seeds)
    params = [{"two_round": two_round, "state_optimizer": state_optimizer, "reduce": "sum",
               "eta_w": 1e-3 * (k + 1), "x_init": "zero"} for k in range(2)]
    schedule = {"epochs": 3, "batch": 16, "eval_every": 1}
    out = train_ensemble("lp", nets, data, params, schedule=schedule, seeds=seeds,
                         dtype="float32")
    for k, s in enumerate(seeds):
        single = _single(nets[k], data[k], params[k], schedule, s, dtype="float32")
        assert out[k].weight.dtype == np.float32
        _assert_same(out[k], single, tol=1e-5)


def test_a_member_that_stops_fails_as_alone_while_the_others_go_on():
    seeds = [0, 1, 2]
    nets, data = _problems(seeds, (13, 12, 3))
    params = [{"eta_w": 0.01}, {"eta_w": 1000.0}, {"eta_w": 0.02}]  # member 1 saturates
    schedule = {"epochs": 10, "batch": 16, "eval_every": 1}
    out = train_ensemble("lp", nets, data, params, schedule=schedule, seeds=seeds)
    assert isinstance(out[1], DivergenceError) and "saturated" in str(out[1])
    for k, s in enumerate(seeds):
        _assert_same(out[k], _single(nets[k], data[k], params[k], schedule, s))


def test_what_an_ensemble_cannot_do_is_handed_back():
    nets, data = _problems([0, 1])
    other = compile_graph(layered([13, 11, 3], "sigmoid", seed=2))
    schedule = {"epochs": 2, "batch": 16}
    assert train_ensemble("lp", [nets[0], other], data, None, schedule=schedule,
                          seeds=[0, 1]) == [None, None]          # shapes differ
    switch = [{"mu": 0.0, "optimizer": "sgd"}, {"mu": 1e-3, "optimizer": "sgd"}]
    assert train_ensemble("lp", nets, data, switch, schedule=schedule,
                          seeds=[0, 1]) == [None, None]          # μ is a switch of the rule
    assert train_ensemble("bp", nets, data, None, schedule=schedule,
                          seeds=[0, 1]) == [None, None]          # not a settled method


def test_members_are_split_into_ensembles_that_fit_the_state_budget(monkeypatch):
    from runs.methods import ensemble

    seeds = [0, 1, 2, 3, 4]
    nets, data = _problems(seeds)
    n = data[0].inputs("train").shape[1]
    assert ensemble.members_per_ensemble(26, n) == ensemble.MAX_STATE // (26 * n)
    monkeypatch.setattr(ensemble, "MAX_STATE", 2 * 26 * n)      # two members per ensemble
    schedule = {"epochs": 2, "eval_every": 1}
    out = train_ensemble("lp", nets, data, None, schedule=schedule, seeds=seeds)
    assert out[4] is None                                       # alone: trained elsewhere
    for k in range(4):
        _assert_same(out[k], _single(nets[k], data[k], None, schedule, seeds[k]))
