"""Results on disk: atomic writes, run records, the combined tidy tables."""

import json
import math
import os

import numpy as np
import pandas as pd
import pytest

from runs.sweeps import results
from runs.sweeps.results import (
    atomic_write_json,
    atomic_write_text,
    clean_tmp,
    load_snapshots,
    read_results,
    read_run,
    results_frame,
    write_combined,
    write_snapshots,
)


def record(run_id, status="ok", seed=1, params=None, rows=None, **extra):
    return {"run_id": run_id, "status": status, "seed": seed,
            "params": params if params is not None else {"rule.eta": 0.1},
            "rows": rows if rows is not None else [], "summary": {}, **extra}


def test_atomic_write_replaces_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "a.txt"
    atomic_write_text(path, "one")
    atomic_write_text(path, "two")
    assert path.read_text() == "two" and os.listdir(tmp_path) == ["a.txt"]


def test_failed_atomic_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "a.txt"
    atomic_write_text(path, "old")

    def crash(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(results.os, "replace", crash)
    with pytest.raises(OSError, match="disk on fire"):
        atomic_write_text(path, "new")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["a.txt"]


def test_clean_tmp_removes_only_temporary_files(tmp_path):
    (tmp_path / ".r1.json.x1.tmp").write_text("{")
    (tmp_path / "r1.json").write_text("{}")
    assert clean_tmp(tmp_path) == 1 and os.listdir(tmp_path) == ["r1.json"]


def test_json_is_strict_and_numpy_aware(tmp_path):
    path = tmp_path / "r.json"
    atomic_write_json(path, {"a": np.float32(1.5), "b": np.arange(3), "c": math.nan,
                             "d": [np.inf, np.int64(2)], "e": np.bool_(True)})
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert read_run(path) == {"a": 1.5, "b": [0, 1, 2], "c": None, "d": [None, 2], "e": True}
    with pytest.raises(TypeError, match="not JSON serialisable"):
        atomic_write_json(path, {"x": object()})
    assert read_run(path)["a"] == 1.5  # the failed write left the old file


def test_results_frame_is_tidy():
    recs = [record("r1", rows=[{"step": 1, "loss": 0.5}, {"step": 2, "loss": 0.25}]),
            record("r2", "failed", seed=2, params={"rule.eta": 0.2, "network.sizes": [2, 1]})]
    df = results_frame(recs)
    assert list(df.columns) == ["run_id", "seed", "status", "rule.eta", "network.sizes",
                                "step", "loss"]
    assert df["run_id"].tolist() == ["r1", "r1", "r2"]
    assert df["step"].tolist()[:2] == [1.0, 2.0] and math.isnan(df["step"].iloc[2])
    assert df["network.sizes"].iloc[2] == "[2, 1]"  # list values as JSON text
    assert math.isnan(df["loss"].iloc[2])


def test_combined_csv_from_run_files_in_manifest_order(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    for k, rid in enumerate(["zz", "aa"]):
        atomic_write_json(runs / f"{rid}.json", record(rid, seed=k, rows=[
            {"step": s, "value": float(k * 10 + s)} for s in (1, 2)]))
    (runs / "bad.json").write_text('{"run_id": ')  # not a record: ignored
    atomic_write_json(tmp_path / "manifest.json", {"runs": [{"run_id": "zz"},
                                                            {"run_id": "aa"}]})
    path = write_combined(tmp_path)
    df = pd.read_csv(path)
    assert df["run_id"].tolist() == ["zz", "zz", "aa", "aa"]
    assert df["value"].tolist() == [1.0, 2.0, 11.0, 12.0]
    pd.testing.assert_frame_equal(df, read_results(tmp_path), check_dtype=False)
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert summary["run_id"].tolist() == ["zz", "aa"] and "duration_s" in summary
    assert not list(tmp_path.rglob("*.tmp"))


def test_snapshots_round_trip(tmp_path):
    (tmp_path / "runs").mkdir()
    x = np.arange(12.0).reshape(3, 4)
    write_snapshots(tmp_path / "runs" / "r1.npz", {"x": x, "lam": -x})
    snaps = load_snapshots(tmp_path, "r1")
    np.testing.assert_array_equal(snaps["x"], x)
    np.testing.assert_array_equal(snaps["lam"], -x)
    assert load_snapshots(tmp_path, "nope") == {}
    assert json.loads(json.dumps(sorted(snaps))) == ["lam", "x"]
