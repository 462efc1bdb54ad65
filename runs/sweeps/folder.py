"""A results folder belongs to one sweep: its fingerprint, its lock.

The manifest of a sweep folder stores a **fingerprint**: the SHA-256 of the config without
what only names it (``name``, ``plugins``) and without what a sweep may grow (the seeds,
the values of the swept keys — the swept keys themselves count), plus the contents of
every graph file the config reads (``network.file``). Re-running a config on a folder:

* same fingerprint: the same sweep — finished runs are skipped, new seeds or new points
  are added (the manifest lists the old runs and the new ones);
* another fingerprint (or run records without a manifest): refused with a one-line
  :class:`~agents.errors.ConfigError` naming the folder, unless ``force``, which deletes
  the folder's results (manifest, tables, run records, snapshots; nothing else) first.

A lock file ``.lock`` (the PID and host of the sweep process) stops a second live sweep
on the same folder; a lock left by a dead process on this host is taken over.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from pathlib import Path

from agents.errors import ConfigError
from runs.config import apply_point
from runs.sweeps import records

NOT_HASHED = ("name", "plugins", "base_dir")  # cosmetic keys: renaming keeps the run ids
GROWS = ("sweep", "seed", "seeds", "n_seeds")  # a sweep may add seeds and points
LOCK = ".lock"
RESULT_FILES = ("manifest.json", "results.csv", "summary.csv")


def _graph_path(file: str, base_dir) -> Path:
    path = Path(file)
    return path if path.is_absolute() else Path(base_dir) / path


def file_digest(path: Path) -> str:
    """SHA-256 (hex) of a graph file's bytes; a ConfigError naming it if unreadable."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as e:
        raise ConfigError(f"key 'network.file': cannot read graph file {str(path)!r}: "
                          f"{e.strerror or e}") from None


def graph_digest(cfg: dict) -> str | None:
    """Digest of the graph file a resolved run config reads (None: it reads none)."""
    net = cfg.get("network") or {}
    if "file" not in net:
        return None
    return file_digest(_graph_path(net["file"], cfg.get("base_dir", ".")))


def fingerprint(config) -> str:
    """The fingerprint of a sweep (see the module docstring), 16 hex digits."""
    sweep = config["sweep"]
    data = {k: v for k, v in config.data.items() if k not in (*NOT_HASHED, *GROWS)}
    data = apply_point(data, dict.fromkeys(sweep, "<swept>"))
    files = sweep.get("network.file") or [(config.data.get("network") or {}).get("file")]
    graphs = sorted(file_digest(_graph_path(f, config.base_dir)) for f in files if f)
    canon = json.dumps({"config": data, "swept": sorted(sweep), "graphs": graphs},
                       sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()[:16]


def _lock_owner(path: Path) -> tuple[int | None, str | None]:
    try:
        pid, host = path.read_text(encoding="utf-8").split()
        return int(pid), host
    except (OSError, ValueError):
        return None, None


def _lock(out_dir: Path) -> None:
    path, me = out_dir / LOCK, f"{os.getpid()} {socket.gethostname()}\n"
    tmp = out_dir / f".lock.{os.getpid()}.0.tmp"
    tmp.write_text(me, encoding="utf-8")
    try:
        try:
            os.link(tmp, path)  # atomic: fails if a lock exists
            return
        except FileExistsError:
            pass
        pid, host = _lock_owner(path)
        here = host == socket.gethostname()
        stale = (here and pid is not None and pid != os.getpid()
                 and not records.pid_alive(pid)) or (
            pid is None and time.time() - path.stat().st_mtime > 10)
        if not stale:
            who = f"process {pid} on {host}" if pid is not None else "another process"
            raise ConfigError(f"results folder {out_dir} is in use by a running sweep ({who}, "
                              f"lock file {path}); wait for it to finish, or delete the "
                              f"lock file if that process is gone")
        os.replace(tmp, path)  # take over the lock of a dead process
        if path.read_text(encoding="utf-8") != me:
            raise ConfigError(f"results folder {out_dir}: another sweep took over the stale "
                              f"lock {path} at the same time; try again")
    finally:
        tmp.unlink(missing_ok=True)


def release_folder(out_dir) -> None:
    """Delete the folder's lock if this process holds it."""
    path = Path(out_dir) / LOCK
    pid, host = _lock_owner(path)
    if pid == os.getpid() and host == socket.gethostname():
        path.unlink(missing_ok=True)


def _wipe(out_dir: Path) -> None:
    for name in RESULT_FILES:
        (out_dir / name).unlink(missing_ok=True)
    for pattern in ("*.json", "*.npz"):
        for p in (out_dir / "runs").glob(pattern):
            p.unlink()


def claim_folder(out_dir, config, *, force: bool = False) -> list[dict]:
    """Make ``out_dir`` this sweep's folder and lock it; return the runs it already lists.

    Raises:
        ConfigError: ``out_dir`` is a file or cannot be written, holds another sweep (and
            not ``force``), or is locked by a live sweep.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"results folder {out_dir} is a file, not a folder; choose another "
                          f"--out")
    try:
        (out_dir / "runs").mkdir(parents=True, exist_ok=True)
        _lock(out_dir)
    except OSError as e:
        raise ConfigError(f"cannot write to results folder {out_dir}: "
                          f"{e.strerror or e}") from None
    try:
        return _check_owner(out_dir, config, force)
    except BaseException:
        release_folder(out_dir)
        raise


def _check_owner(out_dir: Path, config, force: bool) -> list[dict]:
    path = out_dir / "manifest.json"
    try:
        manifest = records.read_run(path)
    except FileNotFoundError:
        manifest = None
    except (OSError, ValueError):
        manifest = {}
    if manifest is None:
        if any((out_dir / "runs").glob("*.json")) and not force:
            raise ConfigError(f"results folder {out_dir} holds run records but no "
                              f"manifest.json (not a sweep folder); use --force to start "
                              f"over there or choose another --out")
        if force:
            _wipe(out_dir)
        return []
    fp = fingerprint(config)
    if not isinstance(manifest, dict) or manifest.get("fingerprint") != fp:
        if not force:
            other = manifest.get("source") if isinstance(manifest, dict) else None
            raise ConfigError(f"results folder {out_dir} holds another sweep"
                              f"{f' (of {other})' if other else ''}: the config or its graph "
                              f"file differs; use --force to start over there (deleting "
                              f"its results) or choose another --out")
        _wipe(out_dir)
        return []
    runs = manifest.get("runs") or []
    return [r for r in runs if isinstance(r, dict)
            and records.check_run_id(r.get("run_id"), path)]
