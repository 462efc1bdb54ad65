"""Limits that protect the machine, checked before anything large is allocated.

A graph with ten million neurons, a delay of a billion steps or a batch of a hundred
million examples is almost always a typo; left alone it ends in a ``MemoryError`` (or
the out-of-memory killer) minutes later. Builders, graph validation, the graph loader and
the engines check these limits first and raise an error that names the limit and how to
raise it:

=================  ===========  ==============================================
limit              default      what it bounds
=================  ===========  ==============================================
``max_nodes``      1,000,000    neurons in one network (inputs included)
``max_edges``      10,000,000   synapses in one network (and candidate edges a
                                builder draws from)
``max_delay``      100,000      the delay of one edge (delay buffers hold that
                                many past values per neuron)
``max_state_mb``   4,096        approximate size in MiB of an engine's state
                                (variables, delay buffers, messages)
=================  ===========  ==============================================

Raise a limit for one process with the environment variable ``LOCALPROP_<NAME>`` (e.g.
``LOCALPROP_MAX_DELAY=1000000``), or in code with :func:`set_limits` (process-wide) or
the :func:`raised_limits` context manager. A value set in code wins over the environment.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from agents.errors import ConfigError, LocalpropError

DEFAULTS: dict[str, int] = {
    "max_nodes": 1_000_000,
    "max_edges": 10_000_000,
    "max_delay": 100_000,
    "max_state_mb": 4096,
}
_overrides: dict[str, int] = {}


def _env_name(name: str) -> str:
    return f"LOCALPROP_{name.upper()}"


def _check_name_value(name: str, value) -> int:
    if name not in DEFAULTS:
        from agents.errors import did_you_mean

        raise ConfigError(f"unknown limit {name!r}{did_you_mean(name, DEFAULTS)}")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"limit {name} must be an integer >= 1, got {value!r}")
    return value


def get_limit(name: str) -> int:
    """Return the current value of limit ``name`` (code setting, else environment, else default).

    Raises:
        ConfigError: for an unknown limit or an environment value that is not an integer >= 1.
    """
    _check_name_value(name, 1)
    if name in _overrides:
        return _overrides[name]
    raw = os.environ.get(_env_name(name))
    if raw is None or raw.strip() == "":
        return DEFAULTS[name]
    try:
        value = int(raw.strip().replace("_", ""))
    except ValueError:
        value = None
    if value is None or value < 1:
        raise ConfigError(f"environment variable {_env_name(name)}={raw!r} must be an "
                          f"integer >= 1")
    return value


def set_limits(**limits: int | None) -> dict[str, int | None]:
    """Set limits for this process (``None`` restores the environment/default value).

    Args:
        **limits: ``max_nodes``, ``max_edges``, ``max_delay``, ``max_state_mb``.

    Returns:
        The previous code settings of the named limits (None where there was none), which
        can be passed back to :func:`set_limits` to undo the change.
    """
    for name, value in limits.items():
        if value is not None:
            _check_name_value(name, value)
        else:
            _check_name_value(name, 1)
    previous = {name: _overrides.get(name) for name in limits}
    for name, value in limits.items():
        if value is None:
            _overrides.pop(name, None)
        else:
            _overrides[name] = value
    return previous


@contextmanager
def raised_limits(**limits: int) -> Iterator[None]:
    """Change limits inside a ``with`` block only (see :func:`set_limits`)."""
    previous = set_limits(**limits)
    try:
        yield
    finally:
        set_limits(**previous)


def check_limit(name: str, value: int, what: str,
                error: type[LocalpropError] = ConfigError) -> None:
    """Raise ``error`` if ``value`` exceeds limit ``name``; the message says how to raise it.

    Args:
        name: the limit (a key of :data:`DEFAULTS`).
        value: the size about to be allocated.
        what: names the culprit, e.g. ``"ring(n=100000000) has 100000002 nodes"``.
        error: the error class to raise.
    """
    limit = get_limit(name)
    if value > limit:
        raise error(f"{what}, above the limit {name}={limit} that protects this machine's "
                    f"memory; if you mean it, raise the limit with the environment variable "
                    f"{_env_name(name)} or networks.limits.set_limits({name}=...)")
