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
kills the pool on its own is recorded as failed. Runs of one network shape run as
ensembles (option ``ensembles``, :mod:`runs.sweeps.ensembles`).
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import hashlib
import itertools
import json
import time
from collections import deque
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from agents.errors import ConfigError
from runs.config import Config, apply_point
from runs.methods.loop import epoch_progress
from runs.sweeps import records, results
from runs.sweeps.ensembles import DEFAULT_SIZE, check_mode, plan_units
from runs.sweeps.executors import (
    EXECUTORS,
    abort,
    check_workers,
    execute_unit,
    failed_record,
    make_executor,
)
from runs.sweeps.folder import (
    NOT_HASHED,
    claim_folder,
    fingerprint,
    graph_digest,
    release_folder,
)


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


def run_id_of(config: dict, graph: str | None = None) -> str:
    """The run id of a resolved run config (see :class:`RunSpec`).

    ``graph``: the digest of the graph file the config reads (``network.file``), so that
    replacing the file's contents gives new run ids (no stale results are reused).
    """
    hashed = {k: v for k, v in config.items() if k not in NOT_HASHED}
    if graph is not None:
        hashed["graph_sha256"] = graph
    canon = json.dumps(hashed, sort_keys=True, separators=(",", ":"))
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
    specs, digests = [], {}
    for combo in itertools.product(*sweep.values()):
        point = dict(zip(sweep, combo, strict=True))
        for seed in config.seeds:
            cfg = copy.deepcopy(apply_point(base, point))
            cfg["seed"] = seed
            file = cfg.get("network", {}).get("file")
            if file not in digests:
                digests[file] = graph_digest(cfg)
            specs.append(RunSpec(run_id_of(cfg, digests[file]), seed, copy.deepcopy(point), cfg))
    if len({s.run_id for s in specs}) < len(specs):
        raise ConfigError(f"the sweep of {config.source} contains identical runs")
    return specs


def run_sweep(config: Config, out_dir, *, executor=None, workers: int | None = None,
              dask_address: str | None = None, retry_failed: bool = False,
              progress: bool = True, force: bool = False, ensembles: str = "auto",
              ensemble_size: int = DEFAULT_SIZE) -> SweepSummary:
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
        force: start over in a folder that holds another sweep (its results are deleted).
        ensembles: ``"auto"``, ``"on"`` or ``"off"`` (:mod:`runs.sweeps.ensembles`).
        ensemble_size: members per ensemble at most.

    A results folder belongs to one sweep (see :mod:`runs.sweeps.folder`): a re-run of
    the same sweep resumes, one with more seeds or points adds its new runs, another
    sweep is refused (unless ``force``); a lock file refuses a second live sweep.

    Returns:
        A :class:`SweepSummary`.

    Raises:
        ConfigError: the folder cannot be used (a file, not writable, another sweep's,
            in use by a live sweep); a bad option; ``ensembles="on"`` in vain.
    """
    if not isinstance(executor, cf.Executor) and executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r}; use one of {EXECUTORS[1:]} or a "
                          f"concurrent.futures.Executor")
    check_workers(workers)
    check_mode(ensembles, ensemble_size)
    start = time.perf_counter()
    out_dir = Path(out_dir)
    specs = expand(config)
    plan_units(specs, ensembles, ensemble_size)  # refuses "on" where it cannot be, now
    previous = claim_folder(out_dir, config, force=force)
    try:
        return _run_claimed(config, out_dir, specs, previous, executor, workers,
                            dask_address, retry_failed, progress, start,
                            (ensembles, ensemble_size))
    finally:
        release_folder(out_dir)


def _run_claimed(config, out_dir, specs, previous, executor, workers, dask_address,
                 retry_failed, progress, start, ensembles) -> SweepSummary:
    from tqdm import tqdm

    runs_dir = out_dir / "runs"
    records.clean_tmp(out_dir)
    records.clean_tmp(runs_dir)
    done = records.finished_runs(out_dir, retry_failed)
    todo = deque(s for s in specs if s.run_id not in done)
    summary = SweepSummary(out_dir, len(specs), n_skipped=len(specs) - len(todo))
    runs = [{"run_id": s.run_id, "seed": s.seed, "params": s.params} for s in specs]
    ids = {s.run_id for s in specs}
    runs += [r for r in previous if r["run_id"] not in ids]  # a sweep that grew keeps them
    results.write_manifest(out_dir, {
        "name": config["name"], "source": config.source, "config": config.data,
        "fingerprint": fingerprint(config),
        "master_seed": config["seed"], "seeds": list(config.seeds), "runs": runs,
        "executor": executor if isinstance(executor, str | None) else
        type(executor).__name__})
    if summary.n_skipped:
        results.write_combined(out_dir)
    bar = tqdm(total=len(specs), initial=summary.n_skipped, unit="run",
               desc=config["name"], disable=not progress)
    # a run in this process (sequential) also shows its epochs: long single runs move
    in_process = progress and (executor == "sequential" or not todo)
    epochs = tqdm(unit="epoch", desc="  epochs", leave=False, position=1,
                  disable=not in_process)

    def tick(epoch: int, total: int) -> None:
        if epoch == 1:
            epochs.reset(total=total)
        epochs.update(1)

    def save(unit_results: list[tuple[str, dict]]) -> None:
        for text, snaps in unit_results:   # (record JSON, snapshots) per run of a unit
            rec = json.loads(text)
            if snaps:
                results.write_snapshots(runs_dir / f"{rec['run_id']}.npz", snaps)
            results.atomic_write_bytes(runs_dir / f"{rec['run_id']}.json",
                                       text.encode("utf-8"))
            ok = rec["status"] == "ok"
            summary.n_ok += ok
            summary.n_failed += not ok
            bar.update(1)
            bar.set_postfix(failed=summary.n_failed, refresh=False)

    def fail(unit: list[RunSpec], err: BaseException) -> None:
        save([failed_record(spec, err) for spec in unit])

    ex, window, remake, close = make_executor(executor if todo else "sequential", workers,
                                          dask_address)
    todo = deque(plan_units(list(todo), *ensembles, workers=max(1, window // 2)))
    close = close or (lambda: ex.shutdown(wait=True, cancel_futures=True))
    suspects: deque[RunSpec] = deque()  # held by a pool that broke: rerun one at a time
    inflight: dict[cf.Future, tuple[list[RunSpec], bool]] = {}  # a unit, run alone?
    watching = ExitStack()
    watching.enter_context(epoch_progress(tick))
    try:
        while todo or suspects or inflight:
            while suspects and not inflight:
                unit = [suspects.popleft()]
                inflight[ex.submit(execute_unit, unit)] = (unit, True)
            isolating = any(alone for _, alone in inflight.values())
            while todo and not suspects and not isolating and len(inflight) < window:
                unit = todo.popleft()
                try:
                    inflight[ex.submit(execute_unit, unit)] = (unit, False)
                except cf.BrokenExecutor as e:  # broke since the last wait
                    if remake is None:
                        fail(unit, e)
                        continue
                    todo.appendleft(unit)  # an in-flight future reports the break
                    if not inflight:
                        ex.shutdown(wait=False, cancel_futures=True)
                        ex = remake()
                    break
            if not inflight:
                continue
            finished, _ = cf.wait(inflight, return_when=cf.FIRST_COMPLETED)
            broken = None
            for fut in finished:
                unit, alone = inflight.pop(fut)
                try:
                    result = fut.result()
                except cf.BrokenExecutor as e:
                    broken = e
                    if alone or remake is None:
                        fail(unit, e)  # it broke the pool on its own (or no second try)
                    else:
                        suspects.extend(unit)
                    continue
                except Exception as e:  # noqa: BLE001 - executor-level failure of a unit
                    fail(unit, e)
                    continue
                save(result)
            if broken is not None and remake is not None:
                for fut, (unit, _) in inflight.items():
                    if fut.done() and not fut.cancelled() and fut.exception() is None:
                        save(fut.result())
                    else:
                        suspects.extend(unit)
                inflight.clear()
                ex.shutdown(wait=False, cancel_futures=True)
                ex = remake()
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM through the CLI: stop the workers now
        abort(ex)
        raise
    finally:
        watching.close()
        epochs.close()
        bar.close()
        close()
    summary.results_path = results.write_combined(out_dir)
    ids = {s.run_id for s in specs}
    summary.failed = sorted(p.stem for p in runs_dir.glob("*.json") if p.stem in ids
                            and (records.read_record(p) or {}).get("status") == "failed")
    summary.duration_s = time.perf_counter() - start
    return summary
