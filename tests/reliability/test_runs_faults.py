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


def test_an_unreachable_dask_scheduler_fails_fast_with_one_line(tmp_path, capsys):
    pytest.importorskip("distributed")
    from runs.cli import main

    (tmp_path / "c.toml").write_text('experiment = "forward"\n[network]\nbuilder = "ring"\n'
                                     'n = 3\n[schedule]\nsteps = 2\n')
    start = time.monotonic()
    code = main(["sweep", str(tmp_path / "c.toml"), "--out", str(tmp_path / "out"),
                 "--dask", "tcp://127.0.0.1:1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "tcp://127.0.0.1:1" in err and err.count("\n") == 1
    assert time.monotonic() - start < 20  # the client's own default waits 30 s and more


def test_a_read_only_results_folder_is_one_line(tmp_path, capsys, monkeypatch):
    from pathlib import Path as P

    from runs.cli import main

    (tmp_path / "c.toml").write_text('experiment = "forward"\n[network]\nbuilder = "ring"\n'
                                     'n = 3\n[schedule]\nsteps = 2\n')
    real = P.mkdir

    def read_only(self, *a, **k):
        if "ro" in self.parts:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *a, **k)

    monkeypatch.setattr(P, "mkdir", read_only)  # root ignores chmod: simulate the refusal
    code = main(["run", str(tmp_path / "c.toml"), "--out", str(tmp_path / "ro"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "Permission denied" in err and "ro" in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_a_stray_json_in_runs_does_not_break_resume_or_tables(tmp_path, capsys):
    from runs.cli import main

    (tmp_path / "c.toml").write_text('experiment = "forward"\nn_seeds = 2\n[network]\n'
                                     'builder = "ring"\nn = 3\n[schedule]\nsteps = 2\n')
    argv = ["run", str(tmp_path / "c.toml"), "--out", str(tmp_path / "out"), "--quiet"]
    assert main(argv) == 0
    (tmp_path / "out" / "runs" / "notes.json").write_text("{}")
    with pytest.warns(UserWarning, match="notes.json"):
        assert main(argv) == 0
    import pandas as pd

    assert len(pd.read_csv(tmp_path / "out" / "summary.csv")) == 2


def test_a_huge_ring_is_refused_at_validation_before_allocating():
    import networks.builders

    if not Path(networks.builders.__file__).with_name("limits.py").exists():
        pytest.skip("the network-side node limits are not in this tree")
    from agents.errors import ConfigError
    from runs.config import validate_config

    with pytest.raises(ConfigError, match="network.*limit") as info:
        validate_config({"experiment": "forward",
                         "network": {"builder": "ring", "n": 100_000_000}}, "big.toml")
    assert "\n" not in str(info.value)


def test_a_dataset_built_from_lists_is_converted():
    from runs.data.datasets import Dataset

    ds = Dataset("lists", [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]], [[0.5, 0.5]],
                 [0, 1, 1, 0], [1], 2)
    assert ds.X_train.shape == (4, 2) and ds.inputs("test").shape == (2, 1)
    assert ds.targets("train").shape == (1, 4) and ds.y_train.dtype.kind == "i"
