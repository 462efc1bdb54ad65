"""Sweep results on disk: atomic writes, run records, the combined tidy tables.

Layout of a sweep directory ``out_dir``::

    manifest.json         config, resolved runs (run id, seed, params), versions, times
    runs/<run_id>.json    one record per finished run (see below), written atomically
    runs/<run_id>.npz     optional per-neuron snapshots, written before the json
    results.csv           combined tidy table: run_id, seed, status, params..., step, metrics
    summary.csv           one row per run: run_id, seed, status, params..., duration_s,
                          error, summary values

A run record is a JSON object with keys ``run_id``, ``status`` ("ok" | "failed"),
``seed``, ``params`` ({"section.key": value}), ``config`` (the resolved run config),
``summary``, ``rows`` (list of {"step": ..., metric: ...}), ``error``, ``traceback``,
``duration_s``, ``versions``, and ``ensemble`` for a run trained in an ensemble (the
number of its members, :mod:`runs.sweeps.ensembles`; its ``duration_s`` is then its share
of the ensemble's time). Its presence means the run is complete: every file is written
to a temporary file in the same directory, flushed, fsync'ed and moved into place with
``os.replace``.
"""

from __future__ import annotations

import functools
import importlib.metadata
import io
import json
import math
import os
import platform
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from agents.errors import DataError
from runs.sweeps.records import TMP_SUFFIX, check_run_id, read_record, read_run, record_paths
from runs.sweeps.records import clean_tmp as clean_tmp  # re-exported
from runs.sweeps.records import finished_runs as finished_runs  # re-exported


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same dir + fsync + replace).

    A crash leaves either the old file or the new one, plus at most a hidden
    ``.<name>.*.tmp`` file that :func:`clean_tmp` removes.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.",
                               suffix=TMP_SUFFIX)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600: honour the umask instead
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _jsonable(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"value {x!r} of type {type(x).__name__} is not JSON serialisable")


def _clean_floats(x):
    """Replace NaN/inf by None (strict JSON), recursively."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean_floats(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean_floats(v) for v in x]
    return x


def to_json(obj) -> str:
    """Strict JSON text of ``obj`` (numpy scalars/arrays converted, NaN/inf → null)."""
    plain = json.loads(json.dumps(obj, default=_jsonable))
    return json.dumps(_clean_floats(plain), indent=1, allow_nan=False) + "\n"


def atomic_write_json(path, obj) -> None:
    """Write ``obj`` as strict JSON to ``path`` atomically."""
    atomic_write_text(path, to_json(obj))


def write_snapshots(path, snapshots: dict[str, np.ndarray]) -> None:
    """Write arrays to an ``.npz`` file atomically."""
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in snapshots.items()})
    atomic_write_bytes(path, buf.getvalue())


@functools.cache
def versions() -> dict[str, str]:
    """Versions of Python and of the packages a result depends on (those installed)."""
    out = {"python": platform.python_version()}
    for pkg in ("localprop", "numpy", "scipy", "networkx", "mesa", "pandas", "dask",
                "distributed"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def write_manifest(out_dir, manifest: dict) -> None:
    """Write ``manifest.json`` atomically, adding versions and times (UTC).

    ``created`` is kept from an existing manifest; ``updated`` is now.
    """
    path = Path(out_dir) / "manifest.json"
    now = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        created = read_run(path).get("created", now)
    except (OSError, ValueError, AttributeError):
        created = now
    atomic_write_json(path, {**manifest, "versions": versions(), "created": created,
                             "updated": now})


def read_runs(out_dir) -> list[dict]:
    """Read the run records of a sweep directory, in the order of its manifest.

    Only the manifest's runs are read (without a manifest: every ``runs/*.json``);
    missing ones (not finished) are left out, files that are not run records are skipped
    with a warning naming the file (see :func:`read_record`).
    """
    return [rec for p in record_paths(out_dir) if (rec := read_record(p)) is not None]


def _param_value(v):
    return json.dumps(v) if isinstance(v, list | dict) else v


def results_frame(records: list[dict]) -> pd.DataFrame:
    """The combined tidy table of run records.

    Returns:
        One row per (run, recorded step) with columns ``run_id``, ``seed``, ``status``,
        the parameter columns ("section.key"; list values as JSON text), ``step`` and the
        metrics. A run without rows (failed, or summary only) gives one row with
        ``step`` NaN.
    """
    params = list(dict.fromkeys(k for r in records for k in r.get("params", {})))
    rows = []
    for r in records:
        head = {"run_id": r["run_id"], "seed": r["seed"], "status": r["status"]}
        head.update({k: _param_value(r.get("params", {}).get(k)) for k in params})
        for row in r.get("rows") or [{"step": None}]:
            rows.append({**head, **row})
    cols = ["run_id", "seed", "status", *params, "step"]
    df = pd.DataFrame(rows, columns=list(dict.fromkeys(
        cols + [k for row in rows for k in row])))
    return df.astype({"step": "float64"}) if df["step"].isna().any() else df


def summary_frame(records: list[dict]) -> pd.DataFrame:
    """One row per run: run_id, seed, status, params, duration_s, error, summary values."""
    params = list(dict.fromkeys(k for r in records for k in r.get("params", {})))
    rows = [{"run_id": r["run_id"], "seed": r["seed"], "status": r["status"],
             **{k: _param_value(r.get("params", {}).get(k)) for k in params},
             "duration_s": r.get("duration_s"), "error": r.get("error"),
             **{k: v for k, v in (r.get("summary") or {}).items()
                if not isinstance(v, list | dict)}} for r in records]
    return pd.DataFrame(rows)


def read_results(out_dir) -> pd.DataFrame:
    """The combined tidy table of a sweep directory, built from its run records."""
    return results_frame(read_runs(out_dir))


def write_combined(out_dir) -> Path:
    """Write ``results.csv`` and ``summary.csv`` (atomically) from the run records.

    Returns:
        The path of ``results.csv``.
    """
    out_dir = Path(out_dir)
    records = read_runs(out_dir)
    path = out_dir / "results.csv"
    atomic_write_text(path, results_frame(records).to_csv(index=False))
    atomic_write_text(out_dir / "summary.csv", summary_frame(records).to_csv(index=False))
    return path


def load_snapshots(out_dir, run_id: str) -> dict[str, np.ndarray]:
    """The per-neuron snapshots of one run (empty if it saved none)."""
    path = Path(out_dir) / "runs" / f"{check_run_id(run_id, Path(out_dir))}.npz"
    if not path.exists():
        return {}
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError) as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f"snapshot file {path} cannot be read ({why}); it was not written by "
                        f"localprop or is damaged: delete it and re-run") from None
