"""Sweeps: same results on every executor, failures recorded, resume after SIGKILL.

This module doubles as the plugin that registers the test experiments: configs list
``plugins = ["tests.runs.test_sweep"]``, so worker processes (spawn pools, Dask workers)
import it before running and find ``numbers`` in the registry.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agents.errors import ConfigError
from runs.config import dataclass_validator, load_config
from runs.experiments import RunOutput, experiment
from runs.sweeps.results import load_snapshots, read_results, read_run
from runs.sweeps.sweep import expand, run_sweep

ROOT = Path(__file__).resolve().parents[3]
PLUGIN = "tests.runs.sweeps.test_sweep"


@dataclass(frozen=True)
class NumParams:
    scale: float = 1.0
    fail_scale: float = -1.0  # raise ValueError when scale == fail_scale
    exit_scale: float = -1.0  # kill the worker process when scale == exit_scale
    sleep: float = 0.0


@experiment("numbers", params_validator=dataclass_validator(NumParams))
def numbers(cfg, seed):
    """Cheap and deterministic: numbers from the seed and the params."""
    p = NumParams(**{k: v for k, v in cfg["rule"].items() if k != "name"})
    time.sleep(p.sleep)
    if p.scale == p.fail_scale:
        raise ValueError(f"forced failure at scale {p.scale}")
    if p.scale == p.exit_scale:
        os._exit(3)
    v = np.random.default_rng(seed).standard_normal(4) * p.scale
    steps = cfg["schedule"]["steps"]
    rows = [{"step": t, "value": float(v.sum() * t), "norm": float(np.linalg.norm(v) / t)}
            for t in range(1, steps + 1)]
    snaps = {"x": np.outer(np.arange(steps), v)} if cfg["record"]["snapshots"] else {}
    return RunOutput(rows=rows, summary={"total": float(v.sum())}, snapshots=snaps)


NUMBERS = f"""
experiment = "numbers"
plugins = ["{PLUGIN}"]
seed = 11
n_seeds = 2
[schedule]
steps = 3
[record]
snapshots = true
[rule]
sleep = {{sleep}}
fail_scale = {{fail}}
exit_scale = {{exit}}
[sweep]
"rule.scale" = {{scales}}
"""

FORWARD = """
experiment = "forward"
seed = 5
n_seeds = 2
[network]
builder = "ring"
n = 4
weight_scale = 0.8
[schedule]
steps = 40
[record]
every = 4
snapshots = true
[sweep]
"network.n" = [3, 6]
engine = ["vector", "agent"]
"""


def numbers_config(tmp_path, scales=(1.0, 2.0, 3.0, 4.0), fail=-1.0, exit=-1.0, sleep=0.0):
    path = tmp_path / "numbers.toml"
    path.write_text(NUMBERS.format(scales=list(scales), fail=fail, exit=exit, sleep=sleep))
    return load_config(path)


def forward_config(tmp_path):
    path = tmp_path / "forward.toml"
    path.write_text(FORWARD)
    return load_config(path)


def outcome(out_dir):
    """Everything a sweep computed, by run id (no timings)."""
    recs = {r["run_id"]: r for r in map(read_run, (Path(out_dir) / "runs").glob("*.json"))}
    snaps = {k: load_snapshots(out_dir, k) for k in recs}
    return ({k: (r["status"], r["seed"], r["params"], r["rows"], r["summary"], r["error"])
             for k, r in recs.items()}, snaps, (Path(out_dir) / "results.csv").read_bytes())


def assert_same(a, b):
    assert a[0] == b[0] and a[2] == b[2]
    assert a[1].keys() == b[1].keys()
    for k in a[1]:
        assert a[1][k].keys() == b[1][k].keys()
        for name in a[1][k]:
            np.testing.assert_array_equal(a[1][k][name], b[1][k][name])


def assert_complete(out_dir, specs, steps):
    """Every run exactly once, every file complete, no temporary files."""
    runs = Path(out_dir) / "runs"
    ids = sorted(s.run_id for s in specs)
    assert sorted(p.stem for p in runs.glob("*.json")) == ids
    assert sorted(p.stem for p in runs.glob("*.npz")) == ids
    for k in ids:
        assert read_run(runs / f"{k}.json")["status"] == "ok"
        assert load_snapshots(out_dir, k)["x"].shape == (steps, 4)
    assert not list(Path(out_dir).rglob("*.tmp"))
    df = pd.read_csv(Path(out_dir) / "results.csv")
    assert df.groupby("run_id").size().to_dict() == dict.fromkeys(ids, steps)
    assert not df.duplicated(["run_id", "step"]).any()


def test_forward_sweep_same_results_sequential_process_dask(tmp_path):
    distributed = pytest.importorskip("distributed")
    cfg = forward_config(tmp_path)
    assert len(expand(cfg)) == 8
    seq = run_sweep(cfg, tmp_path / "seq", executor="sequential", progress=False)
    assert (seq.n_ok, seq.n_failed, seq.n_skipped) == (8, 0, 0)
    proc = run_sweep(cfg, tmp_path / "proc", executor="process", workers=2, progress=False)
    assert proc.n_ok == 8
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        dask = run_sweep(cfg, tmp_path / "dask", executor="dask",
                         dask_address=cluster.scheduler_address, progress=False)
    assert dask.n_ok == 8
    ref = outcome(tmp_path / "seq")
    assert_same(ref, outcome(tmp_path / "proc"))
    assert_same(ref, outcome(tmp_path / "dask"))
    df = read_results(tmp_path / "seq")
    assert list(df.columns) == ["run_id", "seed", "status", "network.n", "engine", "step",
                                "mean_abs_x", "dist_fixed_point"]
    assert len(df) == 8 * 10 and set(df["step"]) == set(range(4, 41, 4))
    last = df[df["step"] == 40]
    assert (last["dist_fixed_point"] < 1e-3).all()  # ring with gain 0.8 converges
    by_engine = last.pivot_table(index=["seed", "network.n"], columns="engine",
                                 values="mean_abs_x")
    np.testing.assert_allclose(by_engine["agent"], by_engine["vector"], rtol=1e-10)


def test_failed_runs_are_recorded_and_the_sweep_goes_on(tmp_path):
    cfg = numbers_config(tmp_path, fail=2.0)
    s = run_sweep(cfg, tmp_path / "out", executor="sequential", progress=False)
    assert (s.n_ok, s.n_failed) == (6, 2) and len(s.failed) == 2
    for k in s.failed:
        rec = read_run(tmp_path / "out" / "runs" / f"{k}.json")
        assert rec["status"] == "failed" and rec["rows"] == []
        assert rec["error"] == "ValueError: forced failure at scale 2.0"
        assert "forced failure" in rec["traceback"] and rec["params"] == {"rule.scale": 2.0}
        assert rec["config"]["rule"]["scale"] == 2.0 and rec["config"]["seed"] == rec["seed"]
    df = pd.read_csv(tmp_path / "out" / "results.csv")
    failed = df[df["status"] == "failed"]
    assert len(failed) == 2 and failed["step"].isna().all()
    assert len(df) == 6 * 3 + 2
    again = run_sweep(cfg, tmp_path / "out", executor="sequential", progress=False)
    assert (again.n_skipped, again.n_ok, again.n_failed) == (8, 0, 0)
    retry = run_sweep(cfg, tmp_path / "out", executor="sequential", retry_failed=True,
                      progress=False)
    assert (retry.n_skipped, retry.n_failed) == (6, 2)
    with ThreadPoolExecutor(2) as pool:  # any Executor instance works (and is not shut down)
        run_sweep(cfg, tmp_path / "threads", executor=pool, progress=False)
        assert pool.submit(int, "3").result() == 3
    assert_same(outcome(tmp_path / "out"), outcome(tmp_path / "threads"))
    with pytest.raises(ConfigError, match="unknown executor 'threads'"):
        run_sweep(cfg, tmp_path / "nothing", executor="threads")
    assert not (tmp_path / "nothing").exists()


def test_same_results_with_failures_on_process_pool_and_own_dask_cluster(tmp_path):
    pytest.importorskip("distributed")
    cfg = numbers_config(tmp_path, fail=3.0)
    run_sweep(cfg, tmp_path / "seq", executor="sequential", progress=False)
    run_sweep(cfg, tmp_path / "proc", executor="process", workers=2, progress=False)
    run_sweep(cfg, tmp_path / "dask", executor="dask", workers=2, progress=False)
    ref = outcome(tmp_path / "seq")
    assert sum(v[0] == "failed" for v in ref[0].values()) == 2
    assert_same(ref, outcome(tmp_path / "proc"))
    assert_same(ref, outcome(tmp_path / "dask"))


def test_a_run_killing_its_worker_is_recorded_and_the_others_finish(tmp_path):
    cfg = numbers_config(tmp_path, scales=(1.0, 2.0, 3.0), exit=2.0)
    s = run_sweep(cfg, tmp_path / "out", executor="process", workers=2, progress=False)
    assert (s.n_ok, s.n_failed) == (4, 2)
    for k in s.failed:
        rec = read_run(tmp_path / "out" / "runs" / f"{k}.json")
        assert "BrokenProcessPool" in rec["error"] and rec["params"] == {"rule.scale": 2.0}


SCRIPT = ("import sys; from runs.config import load_config; "
          "from runs.sweeps.sweep import run_sweep; "
          "run_sweep(load_config(sys.argv[1]), sys.argv[2], executor=sys.argv[3], workers=2, "
          "progress=False)")


def test_killed_sweep_resumes_with_every_run_exactly_once(tmp_path):
    cfg = numbers_config(tmp_path, scales=[float(k) for k in range(1, 13)], sleep=0.03)
    specs, out = expand(cfg), tmp_path / "out"
    n = len(specs)  # 24 runs
    targets = sorted(random.Random(2024).sample(range(1, n - 6), 3))
    for executor, target in zip(("sequential", "process", "sequential"), targets, strict=True):
        runs = out / "runs"
        before = len(list(runs.glob("*.json"))) if runs.exists() else 0
        target = max(target, before + 1)
        proc = subprocess.Popen([sys.executable, "-c", SCRIPT, cfg.source, str(out), executor],
                                cwd=ROOT, start_new_session=True)
        deadline = time.monotonic() + 30
        while len(list(runs.glob("*.json"))) < target and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.002)
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its worker processes
        assert proc.wait() == -signal.SIGKILL  # killed midway, not finished or crashed
        done = [read_run(p) for p in runs.glob("*.json")]  # every record parses
        assert before < len(done) < n, (before, len(done), n)
    s = run_sweep(cfg, out, executor="sequential", progress=False)
    assert s.n_skipped + s.n_ok == n and s.n_failed == 0
    assert_complete(out, specs, steps=3)
    assert json.loads((out / "manifest.json").read_text())["seeds"] == list(cfg.seeds)


def test_resume_skips_finished_runs(tmp_path):
    cfg = numbers_config(tmp_path)
    first = run_sweep(cfg, tmp_path / "out", executor="sequential", progress=False)
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "out" / "runs").iterdir()}
    (tmp_path / "out" / "runs" / ".junk.json.abc.tmp").write_text("{")  # left by a kill
    again = run_sweep(cfg, tmp_path / "out", executor="sequential", progress=False)
    assert (first.n_ok, again.n_skipped, again.n_ok) == (8, 8, 0)
    assert not (tmp_path / "out" / "runs" / ".junk.json.abc.tmp").exists()
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "out" / "runs").iterdir()} == stamps
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["master_seed"] == 11 and len(manifest["runs"]) == 8
    assert {"python", "numpy", "mesa", "networkx", "localprop"} <= manifest["versions"].keys()


def test_forward_experiment_from_a_graph_file(tmp_path, monkeypatch):
    from agents.errors import ConvergenceError
    from networks import oracles
    from networks.builders import layered_recurrent
    from networks.graphio import save_graph
    from runs.experiments.forward import forward

    save_graph(layered_recurrent([2, 5, 1], seed=1, feedback=0.5), tmp_path / "g.json")
    (tmp_path / "f.toml").write_text(
        'experiment = "forward"\nengine = "agent"\ndtype = "float32"\n[network]\n'
        'file = "g.json"\ncontractive_gain = 0.5\n[schedule]\nsteps = 30\n'
        '[record]\nvars = ["x", "a"]\nevery = 10\nsnapshots = true\n')
    spec = expand(load_config(tmp_path / "f.toml"))[0]
    out = forward(spec.config, spec.seed)
    assert [r["step"] for r in out.rows] == [10, 20, 30]
    assert out.snapshots["x"].shape == out.snapshots["a"].shape == (3, 8)
    assert out.snapshots["x"].dtype == np.float32
    assert out.summary["fixed_point_found"] and out.rows[-1]["dist_fixed_point"] < 1e-5
    assert out.summary["n_nodes"] == 8 and not out.summary["is_dag"]

    def no_fixed_point(*args, **kwargs):
        raise ConvergenceError("does not settle")

    monkeypatch.setattr(oracles, "fixed_point", no_fixed_point)
    out = forward(spec.config, spec.seed)
    assert not out.summary["fixed_point_found"]
    assert all(np.isnan(r["dist_fixed_point"]) for r in out.rows)
