"""Files of a results folder read back: run records, the manifest's run ids, temp files.

A run id names files (``runs/<run_id>.json`` / ``.npz``), so every id read from a file is
checked to be a plain file stem; a file of ``runs/`` that is not a run record of the
folder is skipped with a warning naming it.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

from agents.errors import DataError

TMP_SUFFIX = ".tmp"
RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a plain file stem: no "/", "..", nothing hidden


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tmp_owner(p: Path) -> int | None:
    parts = p.name.split(".")  # "", name..., pid, random, "tmp"
    return int(parts[-3]) if len(parts) >= 4 and parts[-3].isdigit() else None


def clean_tmp(directory) -> int:
    """Delete temporary files left by an interrupted atomic write; return how many.

    A temporary file names the process writing it; one of a live other process (an
    in-flight write) is left alone.
    """
    n = 0
    for p in Path(directory).glob(f".*{TMP_SUFFIX}"):
        owner = _tmp_owner(p)
        if owner is not None and owner != os.getpid() and pid_alive(owner):
            continue
        p.unlink(missing_ok=True)
        n += 1
    return n


def read_run(path) -> dict:
    """Read one JSON file of a results folder (a run record or the manifest)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def check_run_id(run_id, where) -> str:
    """Return ``run_id`` if it is a plain file stem, else raise a DataError naming ``where``.

    Run ids read from files name other files (``runs/<run_id>.npz``): a crafted id must
    not reach outside the folder.
    """
    if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id):
        raise DataError(f"{where}: run id {run_id!r} is not a plain name (letters, digits, "
                        f"'_', '-'); the file was not written by localprop")
    return run_id


def read_record(path) -> dict | None:
    """A valid run record at ``path``, or None (with a warning naming the file) if not.

    Valid: a JSON object whose ``run_id`` is the file's stem and has a ``status``, a
    ``seed`` and ``params``. A missing or half-written file gives None silently.
    """
    path = Path(path)
    try:
        rec = read_run(path)
    except (OSError, ValueError):
        return None
    try:
        if not isinstance(rec, dict) or check_run_id(rec.get("run_id"), path) != path.stem \
                or rec.get("status") not in ("ok", "failed") or "seed" not in rec \
                or not isinstance(rec.get("params", {}), dict):
            raise DataError(f"{path} is not a run record of this folder")
    except DataError as e:
        warnings.warn(f"skipping {path}: {e}", stacklevel=2)
        return None
    return rec


def manifest_run_ids(out_dir) -> list[str] | None:
    """The run ids listed by ``manifest.json`` (None without a readable manifest)."""
    path = Path(out_dir) / "manifest.json"
    try:
        manifest = read_run(path)
        ids = [r["run_id"] for r in manifest["runs"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return [check_run_id(i, path) for i in ids]


def record_paths(out_dir) -> list[Path]:
    """The record files of the manifest's runs (without a manifest: every runs/*.json)."""
    runs = Path(out_dir) / "runs"
    ids = manifest_run_ids(out_dir)
    if ids is None:
        return sorted(runs.glob("*.json"))
    return [runs / f"{i}.json" for i in ids]


def finished_runs(out_dir, retry_failed: bool = False) -> set[str]:
    """Ids of the runs with a complete record: "ok", and "failed" unless ``retry_failed``.

    Files of ``runs/`` that are not run records are skipped with a warning.
    """
    done = set()
    for p in sorted((Path(out_dir) / "runs").glob("*.json")):
        rec = read_record(p)
        if rec is not None and (rec["status"] == "ok" or not retry_failed):
            done.add(p.stem)
    return done
