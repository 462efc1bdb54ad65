"""The executors a sweep runs on (sequential, a spawn-based process pool, Dask).

Also what each worker runs: :func:`execute`, one run spec to a run record.
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import importlib
import multiprocessing
import os
import time
import traceback

from agents.errors import ConfigError
from networks.threads import cap_threads
from runs.sweeps import results

EXECUTORS = (None, "process", "sequential", "dask")


def _one_blas_thread() -> None:
    """Process-pool initializer: one BLAS thread per worker, or $LOCALPROP_BLAS_THREADS."""
    cap_threads()


DASK_TIMEOUT_S = 5.0  # connecting to a Dask scheduler


def check_workers(workers) -> None:
    """``workers`` is None (all cores) or an int >= 1; else a ConfigError naming it."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ConfigError(f"workers must be an integer >= 1 (or None for all cores), got "
                          f"{workers!r}")


def abort(ex) -> None:
    """Stop the worker processes of a process pool now (on Ctrl-C or SIGTERM)."""
    for proc in list((getattr(ex, "_processes", None) or {}).values()):
        proc.terminate()


def make_executor(kind, workers, dask_address):
    """Return ``(executor, window, remake, close)`` for an executor name or instance."""
    check_workers(workers)
    if isinstance(kind, cf.Executor):
        n = getattr(kind, "_max_workers", None) or os.cpu_count() or 1
        return kind, 2 * n, None, lambda: None
    if kind == "sequential":
        return _Sequential(), 1, None, lambda: None
    if kind in (None, "process"):
        n = workers or os.cpu_count() or 1

        def make():
            return cf.ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"),
                                          initializer=_one_blas_thread)
        return make(), 2 * n, make, None
    if kind == "dask":
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ConfigError("the Dask executor needs dask.distributed: "
                              "pip install localprop[dask]") from None
        cluster = None
        if dask_address is None:
            cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1,
                                   threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None)
        try:
            client = Client(dask_address or cluster, timeout=DASK_TIMEOUT_S)
        except (OSError, TimeoutError) as e:
            if cluster is not None:
                cluster.close()
            raise ConfigError(f"cannot reach the Dask scheduler at {dask_address!r} within "
                              f"{DASK_TIMEOUT_S:g} s ({type(e).__name__}); check the address "
                              f"and that the scheduler runs") from None
        n = max(1, sum(client.nthreads().values()))

        def close():
            client.close()
            if cluster is not None:
                cluster.close()
        return client.get_executor(pure=False), 2 * n, None, close


class _Sequential(cf.Executor):
    """Runs each task at submission, in this process."""

    def submit(self, fn, /, *args, **kwargs):
        fut = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as e:  # noqa: BLE001 - delivered through the future
            fut.set_exception(e)
        return fut


def make_record(spec, status: str, **extra) -> dict:
    """A run record of ``spec`` (a RunSpec) with ``status``; ``extra`` sets fields."""
    rec = {"run_id": spec.run_id, "status": status, "seed": spec.seed, "params": spec.params,
           "config": spec.config, "summary": {}, "rows": [], "error": None,
           "traceback": None, "duration_s": 0.0, "versions": results.versions()}
    rec.update(extra)
    return rec


def _ok(spec, out, seconds: float, **extra) -> tuple[str, dict]:
    rec = make_record(spec, "ok", summary=out.summary, rows=out.rows,
                      artifacts=[str(a) for a in out.artifacts], duration_s=seconds, **extra)
    return results.to_json(rec), dict(out.snapshots)


def failed_record(spec, err: BaseException, seconds: float = 0.0,
                  **extra) -> tuple[str, dict]:
    """The record of a failed run: ``(JSON text, no snapshots)`` naming ``err``."""
    rec = make_record(spec, "failed", error=f"{type(err).__name__}: {err}",
                      traceback="".join(traceback.format_exception(err)),
                      rows=list(getattr(err, "rows", [])), duration_s=seconds, **extra)
    return results.to_json(rec), {}


def _import_plugins(spec) -> None:
    for mod in spec.config.get("plugins", []):
        importlib.import_module(mod)


def execute(spec) -> tuple[str, dict]:
    """Run one spec (in a worker): import plugins, run the experiment, catch any error.

    Returns:
        ``(record as JSON text, snapshots)``; a failed run has status "failed", the error
        as ``"Type: message"`` and the traceback, and no snapshots.
    """
    from runs.experiments import get_experiment

    start = time.perf_counter()
    try:
        _import_plugins(spec)
        out = get_experiment(spec.config["experiment"]).fn(copy.deepcopy(spec.config),
                                                           spec.seed)
        return _ok(spec, out, time.perf_counter() - start)
    except Exception as e:  # noqa: BLE001 - any error of a run is recorded, not raised
        return failed_record(spec, e, time.perf_counter() - start)


def execute_unit(specs) -> list[tuple[str, dict]]:
    """Run a unit of a sweep (in a worker): one run, or several as one ensemble.

    The experiment's ``ensemble`` runner trains the runs of a unit of several together;
    each gets the record its single run gets, with ``duration_s`` its share of the
    unit's time and ``ensemble`` the number of members. A run the ensemble did not do
    (the runner said so, or failed as a whole) is run alone by :func:`execute`.

    Returns:
        ``(record as JSON text, snapshots)`` per spec, in order.
    """
    from runs.experiments import get_experiment

    if len(specs) == 1:
        return [execute(specs[0])]
    start = time.perf_counter()
    try:
        _import_plugins(specs[0])
        outs = get_experiment(specs[0].config["experiment"]).ensemble(
            [copy.deepcopy(s.config) for s in specs], [s.seed for s in specs])
    except Exception:  # noqa: BLE001 - no ensemble: each run alone, with its own errors
        outs = [None] * len(specs)
    done = sum(o is not None for o in outs)
    share = (time.perf_counter() - start) / max(done, 1)
    return [execute(s) if o is None else
            failed_record(s, o, share, ensemble=done) if isinstance(o, BaseException) else
            _ok(s, o, share, ensemble=done)
            for s, o in zip(specs, outs, strict=True)]
