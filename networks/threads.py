"""Capping the BLAS threads of numpy/scipy (OpenBLAS, MKL, BLIS) with threadpoolctl.

Matrix products spawn one BLAS thread per core by default. When several processes share
the cores (a sweep's workers, two runs side by side, a benchmark next to other work) the
threads oversubscribe them and a small net's step can become tens of times slower. Every
entry point that runs several processes or shares cores should cap them:

* :func:`limit_threads` — a context manager for a block of work (benchmarks, tests);
* :func:`cap_threads` — for the rest of the process (a CLI command, a trainer, a process
  pool's ``initializer``);
* :func:`threads_per_worker` — the fair share of the cores for ``workers`` processes.

The count is explicit, or read from ``$LOCALPROP_BLAS_THREADS`` (:func:`configured_threads`).
"""

from __future__ import annotations

import os
from contextlib import contextmanager

from agents.errors import ConfigError

ENV_VAR = "LOCALPROP_BLAS_THREADS"


def _load_blas() -> None:
    """Load numpy's and scipy's BLAS now: threadpoolctl caps only libraries loaded."""
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401


def _check(n, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"{what} must be a positive integer, got {n!r}")
    return n


def configured_threads(default: int | None = None) -> int | None:
    """BLAS threads from ``$LOCALPROP_BLAS_THREADS`` if set, else ``default``.

    Raises:
        ConfigError: naming the variable when its value is not a positive integer.
    """
    raw = os.environ.get(ENV_VAR)
    if raw is None or raw.strip() == "":
        return default
    try:
        n = int(raw)
    except ValueError:
        raise ConfigError(f"${ENV_VAR} must be a positive integer, got {raw!r}") from None
    return _check(n, f"${ENV_VAR}")


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """The fair share of the cores for ``workers`` processes: ``max(1, cores // workers)``."""
    _check(workers, "workers")
    cores = cores if cores is not None else (len(os.sched_getaffinity(0))
                                             if hasattr(os, "sched_getaffinity")
                                             else os.cpu_count() or 1)
    return max(1, cores // workers)


@contextmanager
def limit_threads(n: int = 1):
    """Run the ``with`` block with at most ``n`` BLAS threads, then restore the previous limits.

    Yields:
        The threadpoolctl controller (``.info()`` lists the libraries and their kernels).
    """
    from threadpoolctl import threadpool_limits

    _check(n, "BLAS threads")
    _load_blas()
    with threadpool_limits(limits=n, user_api="blas") as ctl:
        yield ctl


def cap_threads(n: int | None = None) -> int:
    """Cap the BLAS threads for the rest of this process; returns the cap applied.

    Args:
        n: the cap; None: ``$LOCALPROP_BLAS_THREADS`` if set, else 1.
    """
    from threadpoolctl import threadpool_limits

    n = configured_threads(1) if n is None else _check(n, "BLAS threads")
    _load_blas()
    threadpool_limits(limits=n, user_api="blas")
    return n


def blas_threads() -> int:
    """The largest current thread count among the loaded BLAS libraries (1 if none)."""
    from threadpoolctl import threadpool_info

    counts = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
    return max(counts, default=1)
