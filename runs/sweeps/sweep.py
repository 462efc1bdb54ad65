"""Sweeps: the product of a config's sweep lists × seeds, run on any Executor, resumable.

:func:`expand` turns a :class:`~runs.config.Config` into :class:`RunSpec` s;
:func:`run_sweep` runs those without a finished record on a
:class:`concurrent.futures.Executor` — ``"sequential"`` (in this process), ``"process"``
(default: a spawn-based process pool), ``"dask"`` (a Dask cluster at ``dask_address``, or
a local one on 127.0.0.1 created for the sweep; needs ``pip install localprop[dask]``) or
any Executor instance. The parent process writes each record the moment its run finishes
(see :mod:`runs.sweeps.results` for the layout), so a killed sweep re-run with the same
``out_dir`` resumes: finished runs are skipped (failed ones too, unless
``retry_failed``), leftover temporary files are deleted. An exception in a run becomes a
"failed" record (error, traceback, config) and the sweep goes on; a worker process that
dies takes down the pool: the runs it held are retried alone in a new pool, and a run that
kills the pool on its own is recorded as failed.
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import hashlib
import importlib
import itertools
import json
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from agents.errors import ConfigError
from runs.config import Config, apply_point
from runs.sweeps import results
from runs.sweeps.executors import EXECUTORS, make_executor

NOT_HASHED = ("name", "plugins", "base_dir")  # cosmetic keys: renaming keeps the run ids


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep.

    Attributes:
        run_id: 12 hex digits of the SHA-256 of the canonical JSON of ``config`` without
            :data:`NOT_HASHED` keys (so: stable across machines and re-runs).
        seed: the run's seed (also ``config["seed"]``).
        params: the sweep point, ``{"section.key": value}``.
        config: the fully resolved run config given to the experiment.
    """

    run_id: str
    seed: int
    params: dict
    config: dict


@dataclass
class SweepSummary:
    """What :func:`run_sweep` did.

    Attributes:
        out_dir: the sweep directory.
        n_runs: runs in the sweep.
        n_skipped: runs already finished before this call (not re-run).
        n_ok, n_failed: runs finished by this call, by status.
        failed: run ids of every failed run recorded in ``out_dir`` for this sweep.
        duration_s: wall time of this call.
        results_path: the combined table ``results.csv``.
    """

    out_dir: Path
    n_runs: int
    n_skipped: int = 0
    n_ok: int = 0
    n_failed: int = 0
    failed: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    results_path: Path | None = None


def run_id_of(config: dict) -> str:
    """The run id of a resolved run config (see :class:`RunSpec`)."""
    canon = json.dumps({k: v for k, v in config.items() if k not in NOT_HASHED},
                       sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()[:12]


def expand(config: Config) -> list[RunSpec]:
    """The runs of a config: every point of the sweep product × every seed.

    Points vary in the order of the ``[sweep]`` keys (last key fastest), seeds fastest of
    all; every point uses the same seeds. The run config is the config with the point
    applied, ``seed`` set to the run's seed, ``base_dir`` added and ``sweep``, ``seeds``,
    ``n_seeds`` removed.
    """
    sweep = config["sweep"]
    base = {k: v for k, v in config.data.items() if k not in ("sweep", "seeds", "n_seeds")}
    base["base_dir"] = str(Path(config.base_dir).resolve())
    specs = []
    for combo in itertools.product(*sweep.values()):
        point = dict(zip(sweep, combo, strict=True))
        for seed in config.seeds:
            cfg = copy.deepcopy(apply_point(base, point))
            cfg["seed"] = seed
            specs.append(RunSpec(run_id_of(cfg), seed, copy.deepcopy(point), cfg))
    if len({s.run_id for s in specs}) < len(specs):
        raise ConfigError(f"the sweep of {config.source} contains identical runs")
    return specs


def _record(spec: RunSpec, status: str, **extra) -> dict:
    rec = {"run_id": spec.run_id, "status": status, "seed": spec.seed, "params": spec.params,
           "config": spec.config, "summary": {}, "rows": [], "error": None,
           "traceback": None, "duration_s": 0.0, "versions": results.versions()}
    rec.update(extra)
    return rec


def execute(spec: RunSpec) -> tuple[str, dict]:
    """Run one spec (in a worker): import plugins, run the experiment, catch any error.

    Returns:
        ``(record as JSON text, snapshots)``; a failed run has status "failed", the error
        as ``"Type: message"``, the traceback, no snapshots and the rows the error
        carries (a collapsed training run keeps its history up to the collapse).
    """
    from runs.experiments import get_experiment

    start = time.perf_counter()
    try:
        for mod in spec.config.get("plugins", []):
            importlib.import_module(mod)
        out = get_experiment(spec.config["experiment"]).fn(copy.deepcopy(spec.config),
                                                           spec.seed)
        rec = _record(spec, "ok", summary=out.summary, rows=out.rows,
                      artifacts=[str(a) for a in out.artifacts])
        snaps = dict(out.snapshots)
        rec["duration_s"] = time.perf_counter() - start
        return results.to_json(rec), snaps
    except Exception as e:  # noqa: BLE001 - any error of a run is recorded, not raised
        rec = _record(spec, "failed", error=f"{type(e).__name__}: {e}",
                      traceback=traceback.format_exc(), rows=list(getattr(e, "rows", [])),
                      duration_s=time.perf_counter() - start)
        return results.to_json(rec), {}


def run_sweep(config: Config, out_dir, *, executor=None, workers: int | None = None,
              dask_address: str | None = None, retry_failed: bool = False,
              progress: bool = True) -> SweepSummary:
    """Run every unfinished run of ``config`` and write the results to ``out_dir``.

    Args:
        config: a validated config (:func:`runs.config.load_config`).
        out_dir: the sweep directory (created; re-use it to resume).
        executor: None or "process" (spawn-based process pool, ``workers`` processes,
            default ``os.cpu_count()``), "sequential", "dask", or an Executor instance
            (used as is, not shut down).
        workers: number of worker processes (process pool, local Dask cluster).
        dask_address: scheduler address for "dask"; None starts a local cluster.
        retry_failed: re-run runs recorded as failed.
        progress: show a tqdm progress bar.

    Returns:
        A :class:`SweepSummary`.
    """
    from tqdm import tqdm

    if not isinstance(executor, cf.Executor) and executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r}; use one of {EXECUTORS[1:]} or a "
                          f"concurrent.futures.Executor")
    start = time.perf_counter()
    out_dir = Path(out_dir)
    runs_dir = out_dir / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    results.clean_tmp(out_dir)
    results.clean_tmp(runs_dir)
    specs = expand(config)
    done = results.finished_runs(out_dir, retry_failed)
    todo = deque(s for s in specs if s.run_id not in done)
    summary = SweepSummary(out_dir, len(specs), n_skipped=len(specs) - len(todo))
    results.write_manifest(out_dir, {
        "name": config["name"], "source": config.source, "config": config.data,
        "master_seed": config["seed"], "seeds": list(config.seeds),
        "runs": [{"run_id": s.run_id, "seed": s.seed, "params": s.params} for s in specs],
        "executor": executor if isinstance(executor, str | None) else
        type(executor).__name__})
    if summary.n_skipped:
        results.write_combined(out_dir)
    bar = tqdm(total=len(specs), initial=summary.n_skipped, unit="run",
               desc=config["name"], disable=not progress)

    def save(text: str, snaps: dict) -> None:
        rec = json.loads(text)
        if snaps:
            results.write_snapshots(runs_dir / f"{rec['run_id']}.npz", snaps)
        results.atomic_write_bytes(runs_dir / f"{rec['run_id']}.json", text.encode("utf-8"))
        ok = rec["status"] == "ok"
        summary.n_ok += ok
        summary.n_failed += not ok
        bar.update(1)
        bar.set_postfix(failed=summary.n_failed, refresh=False)

    def fail(spec: RunSpec, err: BaseException) -> None:
        save(results.to_json(_record(spec, "failed", error=f"{type(err).__name__}: {err}",
                             traceback="".join(traceback.format_exception(err)))), {})

    ex, window, remake, close = make_executor(executor if todo else "sequential", workers,
                                          dask_address)
    close = close or (lambda: ex.shutdown(wait=True, cancel_futures=True))
    suspects: deque[RunSpec] = deque()  # held by a pool that broke: rerun one at a time
    inflight: dict[cf.Future, tuple[RunSpec, bool]] = {}
    try:
        while todo or suspects or inflight:
            while suspects and not inflight:
                spec = suspects.popleft()
                inflight[ex.submit(execute, spec)] = (spec, True)
            isolating = any(alone for _, alone in inflight.values())
            while todo and not suspects and not isolating and len(inflight) < window:
                spec = todo.popleft()
                try:
                    inflight[ex.submit(execute, spec)] = (spec, False)
                except cf.BrokenExecutor as e:  # broke since the last wait
                    if remake is None:
                        fail(spec, e)
                        continue
                    todo.appendleft(spec)  # an in-flight future reports the break
                    if not inflight:
                        ex.shutdown(wait=False, cancel_futures=True)
                        ex = remake()
                    break
            if not inflight:
                continue
            finished, _ = cf.wait(inflight, return_when=cf.FIRST_COMPLETED)
            broken = None
            for fut in finished:
                spec, alone = inflight.pop(fut)
                try:
                    result = fut.result()
                except cf.BrokenExecutor as e:
                    broken = e
                    if alone or remake is None:
                        fail(spec, e)  # it broke the pool on its own (or no second try)
                    else:
                        suspects.append(spec)
                    continue
                except Exception as e:  # noqa: BLE001 - executor-level failure of one run
                    fail(spec, e)
                    continue
                save(*result)
            if broken is not None and remake is not None:
                for fut, (spec, _) in inflight.items():
                    if fut.done() and not fut.cancelled() and fut.exception() is None:
                        save(*fut.result())
                    else:
                        suspects.append(spec)
                inflight.clear()
                ex.shutdown(wait=False, cancel_futures=True)
                ex = remake()
    finally:
        bar.close()
        close()
    summary.results_path = results.write_combined(out_dir)
    ids = {s.run_id for s in specs}
    summary.failed = sorted(p.stem for p in runs_dir.glob("*.json") if p.stem in ids
                            and results.read_run(p)["status"] == "failed")
    summary.duration_s = time.perf_counter() - start
    return summary
