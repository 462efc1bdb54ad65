"""Methods: a rule plus an adapter; one training loop, one evaluation, one compare.

``train(method, net, dataset, params, schedule=...)`` trains with any registered method
(:data:`METHODS`: ``"lp"``, ``"bp"``, ``"diffusion"``); ``compare(methods, graph,
dataset, seeds)`` trains several on the same networks, initial weights and splits.
See :mod:`runs.methods.base` for what a method is.
"""

from runs.methods import bp, clamped, lp  # noqa: F401  (they register their methods)
from runs.methods.base import METHODS, Method, Schedule, TrainResult, get_method, register
from runs.methods.compare import Comparison, Entry, compare
from runs.methods.loop import train

__all__ = ["METHODS", "Comparison", "Entry", "Method", "Schedule", "TrainResult", "compare",
           "get_method", "register", "train"]
