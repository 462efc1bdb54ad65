"""Fault tests of the runs side (issue 13): seeds, divergence, saturation, signals."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runs.config import derive_seeds, load_config
from runs.data.datasets import load_dataset
from runs.sweeps.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[2]
LEARN = """experiment = "lp"
n_seeds = 2
seed = 3
[data]
name = "{data}"
[network]
builder = "layered"
sizes = {sizes}
[schedule]
epochs = 1
"""


@pytest.mark.parametrize("seed", [*derive_seeds(0, 2), 2**32, 2**63 - 1])
@pytest.mark.parametrize("name", ["moons", "wine", "digits"])
def test_any_seed_loads_every_dataset_reproducibly(name, seed):
    a, b = load_dataset(name, seed=seed), load_dataset(name, seed=seed)
    assert (a.X_train == b.X_train).all() and (a.y_test == b.y_test).all()


def test_seeds_a_multiple_of_2_to_the_32_apart_give_different_splits():
    a, b = load_dataset("moons", seed=1), load_dataset("moons", seed=1 + 2**32)
    assert (a.X_train != b.X_train).any()


@pytest.mark.parametrize(("data", "sizes"), [("moons", [2, 4, 1]), ("wine", [13, 4, 3])])
def test_learning_runs_with_derived_seeds_finish(tmp_path, data, sizes):
    (tmp_path / "c.toml").write_text(LEARN.format(data=data, sizes=sizes))
    cfg = load_config(tmp_path / "c.toml")
    assert all(s >= 2**32 for s in cfg.seeds)  # derived seeds are 63-bit
    s = run_sweep(cfg, tmp_path / "out", executor="sequential", progress=False)
    assert (s.n_ok, s.failed) == (2, [])


def _children(pid: int) -> set[int]:
    out = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.add(int(d))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc")
def test_sigterm_to_the_cli_stops_its_workers_and_keeps_results(tmp_path):
    from tests.runs.sweeps.test_sweep import numbers_config

    cfg = numbers_config(tmp_path, scales=(1.0, 2.0, 3.0), sleep=0.0)
    text = Path(cfg.source).read_text().replace("sleep = 0.0", "sleep = 60.0")
    text = text.replace("[sweep]", '[sweep]\n"rule.sleep" = [0.0, 60.0]')
    Path(cfg.source).write_text(text.replace("sleep = 60.0\n", "", 1))
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "runs.cli", "sweep", cfg.source, "--out",
                             str(out), "--workers", "2", "--quiet"], cwd=ROOT,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while len(list((out / "runs").glob("*.json"))) < 3:  # quick runs done, slow ones held
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        kids = _children(proc.pid)
        assert kids  # the pool's workers (and the resource tracker)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 130
        assert "Traceback" not in proc.stderr.read()
        deadline = time.monotonic() + 15
        while any(_alive(k) for k in kids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [k for k in kids if _alive(k)]
        assert len(list((out / "runs").glob("*.json"))) >= 3
        assert not (out / ".lock").exists()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stderr.close()


def test_a_failed_record_keeps_the_rows_up_to_the_divergence(tmp_path):
    import json

    from runs.config import validate_config

    raw = {"experiment": "bp", "seeds": [0], "data": {"name": "xor"},
           "network": {"builder": "layered", "sizes": [2, 4, 1], "activation": "tanh",
                       "output_activation": "sigmoid"},
           "rule": {"eta": 1e6}, "schedule": {"epochs": 30, "eval_every": 10}}
    s = run_sweep(validate_config(raw, "sat.toml"), tmp_path, executor="sequential",
                  progress=False)
    rec = json.loads((tmp_path / "runs" / f"{s.failed[0]}.json").read_text())
    assert "saturated" in rec["error"] or "no longer finite" in rec["error"]
    assert [r["epoch"] for r in rec["rows"]][:1] == [0] and len(rec["rows"]) >= 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_saturated_network_fails_instead_of_finishing_ok(seed):
    from agents.errors import DivergenceError
    from networks.builders import layered
    from runs.methods import train

    with pytest.raises(DivergenceError, match="saturated") as info:
        train("bp", layered([2, 4, 1], activation="sigmoid", seed=seed), load_dataset("xor"),
              {"eta": 1e6}, schedule={"epochs": 20})
    assert info.value.rows[0]["epoch"] == 0


@pytest.mark.parametrize("seed", [0, 1])
def test_a_healthy_run_is_not_called_saturated(seed):
    from networks.builders import layered
    from runs.methods import train

    r = train("bp", layered([2, 4, 1], activation="sigmoid", seed=seed), load_dataset("xor"),
              {"eta": 0.5}, schedule={"epochs": 20})
    assert len(r.history) >= 2
