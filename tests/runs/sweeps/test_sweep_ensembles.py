"""A sweep run with ensembles writes the records it writes without them (to 1e-12)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agents.errors import ConfigError
from runs.config import load_config
from runs.sweeps.ensembles import plan_units
from runs.sweeps.results import read_results
from runs.sweeps.sweep import expand, run_sweep

TOL = 1e-12

SWEEP = """
experiment = "train"
seeds = {seeds}

[data]
name = "wine"

[network]
builder = "layered"
sizes = [13, 12, 3]
activation = "sigmoid"

[rule]
name = "lp"

[schedule]
epochs = 4
eval_every = 2
batch = {batch}

[record]
snapshots = true

[sweep]
"rule.eta_w" = [0.01, 0.03]
"""


def _config(tmp_path: Path, seeds, batch=16):
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP.format(seeds=seeds, batch=batch))
    return load_config(path)


def _records(out: Path) -> dict:
    return {p.stem: json.loads(p.read_text()) for p in (out / "runs").glob("*.json")}


def _assert_equal_records(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for run_id, ra in a.items():
        rb = b[run_id]
        assert ra["status"] == rb["status"] == "ok", (ra["error"], rb["error"])
        assert len(ra["rows"]) == len(rb["rows"]) > 1
        for row_a, row_b in zip(ra["rows"], rb["rows"], strict=True):
            assert row_a.keys() == row_b.keys()
            for key, va in row_a.items():
                if key.endswith("_acc"):
                    assert va == row_b[key], key
                else:
                    np.testing.assert_allclose(va, row_b[key], rtol=0, atol=TOL, err_msg=key)
        for key, va in ra["summary"].items():
            if key != "seconds":
                np.testing.assert_allclose(va, rb["summary"][key], rtol=0, atol=TOL)


@pytest.mark.parametrize(("seeds", "batch"), [([0, 1, 2, 3], 16), ([5, 9, 11], 200)])
def test_sweep_with_ensembles_equals_sweep_without(tmp_path, seeds, batch):
    cfg = _config(tmp_path, seeds, batch)
    specs = expand(cfg)
    units = plan_units(specs, "auto", size=3, workers=2)
    assert len(units) == -(-len(specs) // 3) and max(map(len, units)) <= 3
    assert sorted(s.run_id for u in units for s in u) == sorted(s.run_id for s in specs)
    on = run_sweep(cfg, tmp_path / "on", executor="sequential", progress=False,
                   ensembles="on", ensemble_size=3)
    off = run_sweep(cfg, tmp_path / "off", executor="sequential", progress=False,
                    ensembles="off")
    assert on.n_ok == off.n_ok == len(specs) and not on.failed
    rec_on, rec_off = _records(tmp_path / "on"), _records(tmp_path / "off")
    _assert_equal_records(rec_on, rec_off)
    assert all(r.get("ensemble", 1) > 1 for r in rec_on.values())
    assert not any("ensemble" in r for r in rec_off.values())
    for run_id in rec_on:   # snapshots: x, λ, weights, support of each member's own run
        with np.load(tmp_path / "on" / "runs" / f"{run_id}.npz") as a, \
                np.load(tmp_path / "off" / "runs" / f"{run_id}.npz") as b:
            for name in a.files:
                np.testing.assert_allclose(a[name], b[name], rtol=0, atol=TOL)
    pd.testing.assert_frame_equal(read_results(tmp_path / "on"),
                                  read_results(tmp_path / "off"), rtol=0, atol=TOL)


def test_resume_after_ensembles_keeps_runs_and_adds_the_new_ones(tmp_path):
    run_sweep(_config(tmp_path, [0, 1]), tmp_path / "out", executor="sequential",
              progress=False)
    more = run_sweep(_config(tmp_path, [0, 1, 2]), tmp_path / "out", executor="sequential",
                     progress=False)
    assert more.n_skipped == 4 and more.n_ok == 2
    ref = run_sweep(_config(tmp_path, [0, 1, 2]), tmp_path / "ref", executor="sequential",
                    progress=False, ensembles="off")
    assert ref.n_ok == 6
    _assert_equal_records(_records(tmp_path / "out"), _records(tmp_path / "ref"))


def test_ensembles_option_is_checked_and_on_refuses_runs_that_cannot(tmp_path):
    cfg = _config(tmp_path, [0, 1])
    with pytest.raises(ConfigError, match="'ensembles' must be one of"):
        run_sweep(cfg, tmp_path / "a", executor="sequential", ensembles="yes")
    with pytest.raises(ConfigError, match="'ensemble_size' must be an integer"):
        run_sweep(cfg, tmp_path / "a", executor="sequential", ensemble_size=0)
    path = tmp_path / "agent.toml"
    path.write_text('engine = "agent"\n' + SWEEP.format(seeds=[0, 1], batch=16))
    agent = load_config(path)
    with pytest.raises(ConfigError, match=r"ensembles = 'on'.*engine 'agent'"):
        run_sweep(agent, tmp_path / "b", executor="sequential", ensembles="on")
    assert not (tmp_path / "b").exists()
    assert all(len(u) == 1 for u in plan_units(expand(agent), "auto", workers=2))
    assert all(len(u) == 1 for u in plan_units(expand(cfg), "off"))


def test_runs_whose_shapes_differ_fall_back_to_single_runs(tmp_path):
    """random_dag draws its edges from the seed: grouped, refused by the ensemble, run alone."""
    text = SWEEP.format(seeds=[0, 1, 2], batch=16).replace(
        'builder = "layered"\nsizes = [13, 12, 3]',
        'builder = "random_dag"\nn_nodes = 30\nn_edges = 80\nn_inputs = 13\nn_outputs = 3')
    path = tmp_path / "dag.toml"
    path.write_text(text)
    cfg = load_config(path)
    assert max(map(len, plan_units(expand(cfg), "auto"))) > 1    # grouped by the keys ...
    on = run_sweep(cfg, tmp_path / "on", executor="sequential", progress=False)
    off = run_sweep(cfg, tmp_path / "off", executor="sequential", progress=False,
                    ensembles="off")
    rec_on = _records(tmp_path / "on")
    assert on.n_ok == off.n_ok == 6
    assert not any("ensemble" in r for r in rec_on.values())      # ... but run alone
    _assert_equal_records(rec_on, _records(tmp_path / "off"))


def test_cli_ensembles_option(tmp_path, capsys):
    from runs.cli import main

    path = tmp_path / "agent.toml"
    path.write_text('engine = "agent"\n' + SWEEP.format(seeds=[0, 1], batch=16))
    assert main(["sweep", str(path), "--sequential", "--quiet", "--ensembles", "on",
                 "--out", str(tmp_path / "a")]) == 2
    assert "ensembles = 'on'" in capsys.readouterr().err
    _config(tmp_path, [0, 1])
    assert main(["run", str(tmp_path / "sweep.toml"), "--quiet", "--ensembles", "off",
                 "--out", str(tmp_path / "off")]) == 0
    assert not any("ensemble" in r for r in _records(tmp_path / "off").values())
