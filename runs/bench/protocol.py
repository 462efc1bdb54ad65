"""The timing protocol every benchmark of the suite uses.

* **CPU time** (``time.process_time``) under **one BLAS thread** (the suite runs
  inside :func:`networks.threads.limit_threads`), so a second process on the machine
  slows a figure down by cache sharing only, not by stealing a core from a timed loop.
* **Interleaved rounds**: each round times every contender once, round-robin (the
  order rotates from round to round), so a slow phase of the machine hits all of them.
* **A ratio per round** against the baseline timed in that same round; the figures
  reported are the min and the median of those ratios over the rounds (and of the
  per-call times).

:func:`machine_info` says what the figures were measured on: CPU model and cores, the
BLAS library and the kernel it runs (threadpoolctl), the thread settings.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

#: Environment variables that change BLAS threading or kernel choice.
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


@dataclass(frozen=True)
class Timing:
    """Per-call CPU seconds of every contender in every round, and ratios to a baseline.

    Attributes:
        seconds: ``{name: array (rounds,)}`` CPU seconds per call.
        baseline: the name the ratios are taken against.
    """

    seconds: Mapping[str, np.ndarray]
    baseline: str

    def ratios(self, name: str) -> np.ndarray:
        """Per-round ratio ``time(name) / time(baseline)``, shape (rounds,)."""
        return self.seconds[name] / self.seconds[self.baseline]

    def ratio(self, name: str) -> tuple[float, float]:
        """(min, median) over rounds of the per-round ratio to the baseline."""
        r = self.ratios(name)
        return float(r.min()), float(np.median(r))

    def best(self, name: str) -> float:
        """Minimum per-call seconds of ``name`` over rounds."""
        return float(self.seconds[name].min())

    def median(self, name: str) -> float:
        """Median per-call seconds of ``name`` over rounds."""
        return float(np.median(self.seconds[name]))

    def fmt_ratio(self, name: str) -> str:
        """``"min–median×"`` of the ratio of ``name`` to the baseline."""
        lo, med = self.ratio(name)
        return f"{lo:.2f}–{med:.2f}x"


def _calls_for(fn: Callable[[], object], target: float) -> int:
    """How many calls of ``fn`` take about ``target`` CPU seconds (at least 1)."""
    fn()  # warm up (allocations, caches, lazy plans)
    calls, elapsed = 1, 0.0
    while True:
        start = time.process_time()
        for _ in range(calls):
            fn()
        elapsed = time.process_time() - start
        if elapsed >= target / 4 or calls >= 1 << 20:
            break
        calls *= 4
    return max(1, round(calls * target / max(elapsed, 1e-9)))


def interleaved(contenders: Mapping[str, Callable[[], object]], baseline: str, *,
                rounds: int = 7, seconds_per_call: float = 0.05) -> Timing:
    """Time every contender once per round, round-robin, in CPU time.

    Args:
        contenders: ``{name: fn}``, each ``fn()`` one unit of work (e.g. one step).
        baseline: the contender the ratios are taken against.
        rounds: number of rounds (ratios are per round).
        seconds_per_call: CPU seconds each contender runs for in one round (repeat
            count calibrated once before the rounds).

    Returns:
        The :class:`Timing` of all contenders.
    """
    if baseline not in contenders:
        raise KeyError(f"baseline {baseline!r} is not among the contenders")
    names = list(contenders)
    reps = {n: _calls_for(contenders[n], seconds_per_call) for n in names}
    out = {n: np.empty(rounds) for n in names}
    for r in range(rounds):
        k = r % len(names)
        for n in names[k:] + names[:k]:   # rotate the order: no contender always first
            fn, m = contenders[n], reps[n]
            start = time.process_time()
            for _ in range(m):
                fn()
            out[n][r] = (time.process_time() - start) / m
    return Timing(out, baseline)


def cpu_model() -> str:
    """The CPU model name (``/proc/cpuinfo``), or the platform's processor string."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict:
    """CPU, cores, Python/numpy versions, BLAS libraries and kernels, thread settings."""
    from threadpoolctl import threadpool_info

    blas = [{"library": i.get("internal_api"), "version": i.get("version"),
             "kernel": i.get("architecture"), "threads": i.get("num_threads"),
             "file": os.path.basename(i.get("filepath", ""))}
            for i in threadpool_info()]
    return {"cpu": cpu_model(), "cores": os.cpu_count(),
            "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else None,
            "python": platform.python_version(), "numpy": np.__version__,
            "blas": blas, "env": {k: os.environ.get(k) for k in THREAD_ENV},
            "load": os.getloadavg() if hasattr(os, "getloadavg") else None}


def format_machine(info: Mapping) -> list[str]:
    """Lines describing :func:`machine_info` for the suite's header."""
    lines = [f"machine: {info['cpu']}, {info['cores']} cores "
             f"({info['affinity']} usable), Python {info['python']}, numpy {info['numpy']}"]
    for b in info["blas"]:
        lines.append(f"BLAS: {b['library']} {b['version']} ({b['file']}), kernel "
                     f"{b['kernel']}, {b['threads']} thread(s) while timing")
    env = ", ".join(f"{k}={v}" for k, v in info["env"].items() if v is not None)
    lines.append(f"thread/kernel environment: {env or 'none set'}")
    if info["env"].get("OPENBLAS_CORETYPE"):
        lines.append("note: OPENBLAS_CORETYPE forces the BLAS kernel above; unset it together "
                     "with OPENBLAS_L2_SIZE for that command to time numpy's own choice")
    if info["load"] is not None:
        lines.append("load average at start: " + " ".join(f"{x:.2f}" for x in info["load"]))
    lines.append("protocol: CPU time (process_time), one BLAS thread, interleaved rounds; "
                 "ratios per round, reported as min–median")
    return lines
