"""Divergence stops with a named error (and a sweep goes on); runs are deterministic."""

import json

import numpy as np
import pandas as pd
import pytest

from agents import LP
from agents.errors import DivergenceError
from networks.builders import layered
from networks.engines import make_engine
from runs.config import validate_config
from runs.sweeps.sweep import run_sweep

LEARN = {"experiment": "lp", "seeds": [0, 1],
         "data": {"name": "xor"},
         "network": {"builder": "layered", "sizes": [2, 4, 1], "activation": "tanh",
                     "output_activation": "sigmoid"},
         "rule": {"rho": 1.0, "eta_w": 0.1, "eta_x": 0.2, "eta_lam": 0.2},
         "schedule": {"epochs": 30, "eval_every": 10}}


@pytest.mark.parametrize("engine", ["agent", "vector"])
def test_diverging_lp_names_step_neuron_and_variable(engine):
    eng = make_engine(engine, layered([2, 3, 1], seed=0, weight_scale=3.0), LP,
                      {"eta_w": 1e3, "eta_x": 1e3, "eta_lam": 1e3, "rho": 1e3}, batch=4)
    u, y = np.random.default_rng(0).normal(size=(2, 4)), np.ones((1, 4))
    with pytest.raises(DivergenceError, match=r"step \d+: (edge )?variable '\w+' of "
                                              r"(neuron \d+|edge \(\d+, \d+\))"):
        eng.run(u, y, steps=200)


def test_a_diverging_run_is_recorded_failed_and_the_sweep_goes_on(tmp_path):
    # η_λ = 1e12 overflows to inf within the 30 epochs (1e4 now only reaches ~1e48)
    raw = LEARN | {"sweep": {"rule.eta_lam": [0.2, 1e12]}}
    summary = run_sweep(validate_config(raw, "div.toml"), tmp_path, executor="sequential",
                        progress=False)
    assert summary.n_runs == 4 and len(summary.failed) == 2
    for rid in summary.failed:
        rec = json.loads((tmp_path / "runs" / f"{rid}.json").read_text())
        assert rec["status"] == "failed" and rec["params"]["rule.eta_lam"] == 1e12
        assert "DivergenceError: step" in rec["error"]
        assert rec["config"]["rule"]["eta_lam"] == 1e12
        assert rec["rows"][0]["epoch"] == 0  # the history up to the divergence is kept
    table = pd.read_csv(summary.results_path)
    assert set(table[table.status == "ok"]["rule.eta_lam"]) == {0.2}


def _final_rows(tmp_path, raw, name):
    summary = run_sweep(validate_config(raw, f"{name}.toml"), tmp_path / name,
                        executor="sequential", progress=False)
    assert not summary.failed
    return pd.read_csv(summary.results_path).drop(columns=["run_id"])


@pytest.mark.parametrize("experiment", ["lp", "diffusion", "bp"])
def test_same_config_and_seed_give_identical_results(tmp_path, experiment):
    raw = LEARN | {"experiment": experiment}
    if experiment == "diffusion":
        raw = raw | {"rule": {"eta": 0.5}, "schedule": {"T": 4, "epochs": 5, "batch": 4}}
    if experiment == "bp":
        raw = raw | {"rule": {"eta": 0.05}}
    first, second = _final_rows(tmp_path, raw, "a"), _final_rows(tmp_path, raw, "b")
    pd.testing.assert_frame_equal(first.drop(columns=["seconds"], errors="ignore"),
                                  second.drop(columns=["seconds"], errors="ignore"))
    assert first["seed"].nunique() == 2


@pytest.mark.parametrize("experiment", ["lp", "diffusion"])
def test_results_agree_across_engines(tmp_path, experiment):
    raw = LEARN | {"experiment": experiment}
    if experiment == "diffusion":
        raw = raw | {"rule": {"eta": 0.5}, "schedule": {"T": 4, "epochs": 5, "batch": 4}}
    vec = _final_rows(tmp_path, raw | {"engine": "vector"}, "vec")
    agt = _final_rows(tmp_path, raw | {"engine": "agent"}, "agt")
    metrics = [c for c in vec.columns if c in ("loss", "lagrangian", "train_acc",
                                                "mean_abs_lam", "max_violation", "test_acc")]
    assert metrics
    np.testing.assert_allclose(agt[metrics].to_numpy(float), vec[metrics].to_numpy(float),
                               rtol=1e-10, atol=1e-12)
