"""Results folders cannot mix, go stale or escape (fault tests of issue 13, items 2, 3, 5, 12)."""

import json
import os
import stat
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from agents.errors import ConfigError, DataError
from runs.config import load_config
from runs.sweeps import results
from runs.sweeps.folder import LOCK
from runs.sweeps.sweep import expand, run_sweep
from tests.runs.sweeps.test_sweep import numbers_config

FWD = """experiment = "forward"
seeds = {seeds}
[network]
file = "g.json"
[schedule]
steps = 5
"""


def _run(cfg, out, **kw):
    return run_sweep(cfg, out, executor="sequential", progress=False, **kw)


def test_same_sweep_resumes_and_more_seeds_add(tmp_path):
    cfg = numbers_config(tmp_path, scales=(1.0, 2.0))
    assert _run(cfg, tmp_path / "out").n_ok == 4
    again = _run(cfg, tmp_path / "out")
    assert (again.n_skipped, again.n_ok) == (4, 0)
    text = (tmp_path / "numbers.toml").read_text().replace("n_seeds = 2", "n_seeds = 3")
    (tmp_path / "numbers.toml").write_text(text.replace("[1.0, 2.0]", "[1.0, 2.0, 5.0]"))
    grown = _run(load_config(tmp_path / "numbers.toml"), tmp_path / "out")
    assert (grown.n_skipped, grown.n_ok) == (4, 5)
    assert len(pd.read_csv(tmp_path / "out" / "summary.csv")) == 9


def test_another_sweep_is_refused_and_force_starts_over(tmp_path):
    _run(numbers_config(tmp_path, scales=(1.0, 2.0)), tmp_path / "out")
    text = (tmp_path / "numbers.toml").read_text().replace("steps = 3", "steps = 4")
    (tmp_path / "numbers.toml").write_text(text)
    other = load_config(tmp_path / "numbers.toml")
    with pytest.raises(ConfigError, match="out holds another sweep.*--force") as info:
        _run(other, tmp_path / "out")
    assert "\n" not in str(info.value)
    s = _run(other, tmp_path / "out", force=True)
    assert (s.n_skipped, s.n_ok) == (0, 4)
    assert len(list((tmp_path / "out" / "runs").glob("*.json"))) == 4


def test_tables_hold_the_manifest_runs_only_and_foreign_files_are_skipped(tmp_path):
    cfg = numbers_config(tmp_path, scales=(1.0,))
    _run(cfg, tmp_path / "out")
    runs = tmp_path / "out" / "runs"
    (runs / "notes.json").write_text("{}")
    rec = json.loads(next(runs.glob("*.json")).read_text())
    (runs / "0123456789ab.json").write_text(json.dumps({**rec, "run_id": "0123456789ab"}))
    with pytest.warns(UserWarning, match="notes.json"):
        s = _run(cfg, tmp_path / "out")
    assert s.n_skipped == 2
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert sorted(summary["run_id"]) == sorted(x.run_id for x in expand(cfg))


def test_replacing_the_graph_file_gives_new_run_ids(tmp_path):
    from networks.builders import ring
    from networks.graphio import save_graph

    save_graph(ring(4, seed=0), tmp_path / "g.json")
    (tmp_path / "f.toml").write_text(FWD.format(seeds=[0]))
    first = expand(load_config(tmp_path / "f.toml"))
    _run(load_config(tmp_path / "f.toml"), tmp_path / "out")
    save_graph(ring(5, seed=0), tmp_path / "g.json")
    second = expand(load_config(tmp_path / "f.toml"))
    assert first[0].run_id != second[0].run_id
    with pytest.raises(ConfigError, match="holds another sweep"):
        _run(load_config(tmp_path / "f.toml"), tmp_path / "out")


def test_a_live_lock_refuses_and_a_dead_one_is_taken_over(tmp_path):
    cfg = numbers_config(tmp_path, scales=(1.0,))
    out = tmp_path / "out"
    out.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        import socket

        (out / LOCK).write_text(f"{sleeper.pid} {socket.gethostname()}\n")
        with pytest.raises(ConfigError, match=f"in use by a running sweep.*{sleeper.pid}"):
            _run(cfg, out)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert _run(cfg, out).n_ok == 2  # the lock of a dead process is taken over
    assert not (out / LOCK).exists()


def test_clean_up_leaves_in_flight_files_of_live_processes(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        live = tmp_path / f".r.json.{sleeper.pid}.abc.tmp"
        dead = tmp_path / ".r.json.999999999.abc.tmp"
        live.write_text("{")
        dead.write_text("{")
        assert results.clean_tmp(tmp_path) == 1
        assert live.exists() and not dead.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.parametrize("name", ["../../escaped", "", "a/b/c", ".", "..", ".hidden"])
def test_config_name_must_be_a_plain_folder_name(tmp_path, name):
    (tmp_path / "c.toml").write_text(f'name = "{name}"\nexperiment = "forward"\n'
                                     '[network]\nbuilder = "ring"\nn = 3\n')
    with pytest.raises(ConfigError, match="key 'name'.*plain folder name"):
        load_config(tmp_path / "c.toml")


def test_crafted_run_ids_cannot_reach_outside_the_folder(tmp_path):
    cfg = numbers_config(tmp_path, scales=(1.0,))
    _run(cfg, tmp_path / "out")
    runs = tmp_path / "out" / "runs"
    path = next(runs.glob("*.json"))
    rec = json.loads(path.read_text())
    path.write_text(json.dumps({**rec, "run_id": "../../evil"}))
    with pytest.warns(UserWarning, match="not a plain name"):
        assert all(r["run_id"] != "../../evil" for r in results.read_runs(tmp_path / "out"))
    with pytest.raises(DataError, match="not a plain name"):
        results.load_snapshots(tmp_path / "out", "../../evil")


def test_snapshots_with_object_arrays_are_refused(tmp_path):
    (tmp_path / "runs").mkdir()
    np.savez(tmp_path / "runs" / "r1.npz", x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DataError, match="r1.npz cannot be read") as info:
        results.load_snapshots(tmp_path, "r1")
    assert "\n" not in str(info.value)


def test_written_files_respect_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        results.atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644


def test_out_naming_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        _run(numbers_config(tmp_path, scales=(1.0,)), tmp_path / "f")
