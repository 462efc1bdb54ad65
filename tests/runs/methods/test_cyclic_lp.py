"""Cyclic LP learns on every seed (cycle gain clipped); a collapse stops the run by name."""

import json
import tomllib
from dataclasses import replace

import numpy as np
import pytest

from agents.errors import CollapseError, ConfigError
from networks.builders import layered, layered_recurrent
from networks.compile import compile_graph
from networks.contraction import cycle_edges, cycle_gains
from runs.config import validate_config
from runs.config.schema import derive_seeds
from runs.data.datasets import load_dataset
from runs.experiments import get_experiment
from runs.methods import train
from runs.methods.lp import LPMethodParams
from runs.sweeps import results
from runs.sweeps.sweep import run_sweep
from tests.runs.methods.test_collapse import CYCLIC, OLD_RULE, cyclic_run_config


def learns_or_names_its_collapse(seed: int) -> dict:
    """Run ``cyclic_lp.toml`` (as shipped) on one seed; a collapse fails with its message."""
    cfg = cyclic_run_config(seed)
    assert cfg["rule"]["cycle_gain"] == 0.9
    try:
        out = get_experiment("lp").fn(cfg, seed)
    except CollapseError as e:
        pytest.fail(f"seed {seed}: the collapse detector fired: {e}")
    return out.summary


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_cyclic_lp_config_learns_on_five_seeds(seed):
    s = learns_or_names_its_collapse(seed)
    assert s["test_acc"] >= 0.9 and s["train_acc"] >= 0.9


@pytest.mark.slow
@pytest.mark.parametrize("seed", derive_seeds(0, 5))
def test_cyclic_lp_config_learns_on_five_derived_seeds(seed):
    s = learns_or_names_its_collapse(seed)
    assert s["test_acc"] >= 0.9 and s["train_acc"] >= 0.9


@pytest.mark.parametrize("seed", [1, pytest.param(7, marks=pytest.mark.slow)])
def test_old_settings_collapse_and_the_loop_stops_them_naming_the_cause(seed):
    """Regression: without the cycle-gain bound these seeds collapse (measured)."""
    cfg = cyclic_run_config(seed, OLD_RULE)
    with pytest.raises(CollapseError, match="train accuracy collapsed") as err:
        get_experiment("lp").fn(cfg, seed)
    msg = str(err.value)
    assert msg.startswith(f"lp run (seed {seed}) stopped: step ")
    assert "left the network's forward fixed point" in msg
    rows = err.value.rows
    assert len(rows) >= 4 and rows[-1]["epoch"] < 300  # stopped before the end
    assert max(r["train_acc"] for r in rows) - rows[-1]["train_acc"] >= 0.25


def test_a_collapsed_run_is_recorded_failed_with_its_rows(tmp_path):
    raw = tomllib.loads(CYCLIC.read_text(encoding="utf-8"))
    raw |= {"rule": OLD_RULE, "seeds": [1], "record": {"snapshots": False}}
    summary = run_sweep(validate_config(raw, str(CYCLIC), CYCLIC.parent), tmp_path,
                        executor="sequential", progress=False)
    assert summary.n_failed == 1 and summary.n_ok == 0
    (rec,) = results.read_runs(tmp_path)
    assert rec["status"] == "failed" and rec["error"].startswith("CollapseError: lp run")
    assert len(rec["rows"]) >= 4 and "train_acc" in rec["rows"][-1]
    frame = results.read_results(tmp_path)
    assert len(frame) == len(rec["rows"]) and set(frame["status"]) == {"failed"}
    json.dumps(rec)


@pytest.mark.parametrize("gain", [0, -0.5, 1.0, 1.5, True, "0.9", float("nan")])
def test_bad_cycle_gain_is_refused(gain):
    with pytest.raises(ConfigError, match="'cycle_gain'"):
        LPMethodParams(cycle_gain=gain)
    raw = tomllib.loads(CYCLIC.read_text(encoding="utf-8"))
    raw["rule"]["cycle_gain"] = gain
    with pytest.raises(ConfigError, match="cycle_gain"):
        validate_config(raw, str(CYCLIC), CYCLIC.parent)


@pytest.fixture(scope="module")
def moons():
    return load_dataset("moons", n_samples=80, seed=0)


@pytest.mark.parametrize("seed", [0, 3])
def test_cycle_gain_holds_at_start_and_after_every_step(moons, seed):
    G = layered_recurrent([2, 6, 1], "tanh", "sigmoid", self_loops=True, lateral=0.5,
                          seed=seed)
    net = compile_graph(G)
    net.weight[:] *= 4.0  # start far outside the bound
    assert cycle_gains(net).max() > 1.5
    params = LPMethodParams(constraint="lin", rho=1.0, eta_w=0.05, cycle_gain=0.6)
    for epochs in (1, 7):
        res = train("lp", net, moons, params, schedule={"epochs": epochs, "eval_every": 1},
                    stop_on_collapse=False)
        assert cycle_gains(net, res.weight).max() <= 0.6 + 1e-12
    off = train("lp", net, moons, LPMethodParams(constraint="lin", rho=1.0, eta_w=0.05),
                schedule={"epochs": 1}, stop_on_collapse=False)
    assert cycle_gains(net, off.weight).max() > 1.5
    # weights frozen: the projection at the start changes only in-cycle in-weights
    frozen = train("lp", net, moons, replace(params, eta_w=0.0), schedule={"epochs": 1},
                   stop_on_collapse=False)
    changed = frozen.weight != net.weight
    assert changed.any() and not changed[~cycle_edges(net)].any()


def test_cycle_gain_is_a_no_op_on_a_dag(moons):
    net = compile_graph(layered([2, 6, 1], "tanh", "sigmoid", seed=1))
    kw = {"constraint": "lin", "rho": 1.0, "eta_w": 0.05}
    a = train("lp", net, moons, LPMethodParams(**kw), schedule={"epochs": 20})
    b = train("lp", net, moons, LPMethodParams(**kw, cycle_gain=0.1), schedule={"epochs": 20})
    assert np.array_equal(a.weight, b.weight) and a.history == b.history
