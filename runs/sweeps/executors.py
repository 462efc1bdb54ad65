"""The executors a sweep runs on: sequential, a spawn-based process pool, Dask."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os

from agents.errors import ConfigError

EXECUTORS = (None, "process", "sequential", "dask")


def _one_blas_thread() -> None:
    """Process-pool initializer: one BLAS thread per worker (as Dask workers do)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(1)


def make_executor(kind, workers, dask_address):
    """Return ``(executor, window, remake, close)`` for an executor name or instance."""
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
        client = Client(dask_address or cluster)
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
