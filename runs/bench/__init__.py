"""Benchmarks (``python -m runs.bench``, ``make bench``): see :mod:`runs.bench.suite`."""

from runs.bench.suite import ALL, main, run

__all__ = ["ALL", "main", "run"]
