"""The one exception hierarchy of localprop.

Every error a user can cause derives from :class:`LocalpropError`, so scripts and the
CLI can catch one type. Messages name the culprit (node, edge, key, value, file).
"""

from __future__ import annotations


class LocalpropError(Exception):
    """Base class of every error raised by localprop for bad input or failed runs."""


class GraphError(LocalpropError, ValueError):
    """An invalid network graph or graph file (names the node or edge at fault)."""


class DataError(LocalpropError, ValueError):
    """Data that does not fit the network (shape, NaN, labels out of range...)."""


class ConfigError(LocalpropError, ValueError):
    """An invalid experiment configuration (unknown key, wrong type, bad value)."""


class ConvergenceError(LocalpropError, RuntimeError):
    """An iteration (e.g. a forward fixed point) that did not converge."""


class DivergenceError(LocalpropError, FloatingPointError):
    """A run whose state became NaN or infinite (names step, neuron and variable)."""


class LocalpropWarning(UserWarning):
    """Something legal but probably unintended (e.g. paths of different delays)."""
