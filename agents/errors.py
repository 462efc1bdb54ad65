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


class CollapseError(DivergenceError):
    """A run whose accuracy or constraints collapsed after it had learned (names the cause).

    Attributes:
        rows: the evaluation history up to the collapse (kept by the sweep's record).
    """

    def __init__(self, message: str, rows=None):
        super().__init__(message)
        self.rows = list(rows or [])


class LocalpropWarning(UserWarning):
    """Something legal but probably unintended (e.g. paths of different delays)."""


def did_you_mean(word: object, choices, listing: bool = True) -> str:
    """Return a hint for an unknown name: ``"; did you mean 'x'?"`` or the known names.

    Args:
        word: the name the user gave (anything; only strings get a suggestion).
        choices: the known names.
        listing: when no name is close, list the known names instead (else return "").

    Returns:
        A message tail starting with ``"; "``, or ``""``.
    """
    import difflib

    names = sorted(str(c) for c in choices)
    if isinstance(word, str):
        close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
        if not close:  # case slips: 'ReLU' for 'relu', 'Input' for 'input'
            close = [c for c in names if c.lower() == word.lower()]
        if close:
            return f"; did you mean {close[0]!r}?"
    return f"; choose one of {names}" if listing else ""
