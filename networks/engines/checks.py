"""Checks of the arguments an engine receives, done before anything is allocated.

Every failure is a one-line :class:`~agents.errors.LocalpropError` naming the argument
and the value (and the neuron, edge or example it belongs to).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from agents.errors import ConfigError, DataError, GraphError, did_you_mean
from agents.rule import Rule
from networks.compile import CompiledNetwork
from networks.limits import check_limit


def short(x: object) -> str:
    """``repr(x)``, cut to 60 characters (values quoted in messages)."""
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def resolve_rule(rule: Rule | str) -> Rule:
    """Return ``rule``, or the rule of :data:`agents.RULES` named ``rule``.

    Raises:
        ConfigError: for an unknown name (with a did-you-mean) or anything else.
    """
    if isinstance(rule, Rule):
        return rule
    from agents import RULES

    if isinstance(rule, str):
        if rule in RULES:
            return RULES[rule]
        raise ConfigError(f"unknown rule {rule!r}{did_you_mean(rule, RULES)}")
    raise ConfigError(f"rule must be a Rule or the name of one of {sorted(RULES)}; got "
                      f"{type(rule).__name__} {short(rule)}")


def real_array(value: Any, what: str,
               where: Callable[[tuple], str] = lambda idx: f" at index {list(idx)}"
               ) -> np.ndarray:
    """Return ``value`` as a new float64 array, or raise a one-line DataError naming ``what``.

    Refuses None, text, mappings, complex numbers, ragged nesting and numbers no float can
    hold (``where(index)`` names the position of such a number).
    """
    if value is None:
        raise DataError(f"{what} is None; expected an array of numbers")
    if isinstance(value, str | bytes | Mapping | set):
        raise DataError(f"{what} is {type(value).__name__} {short(value)}; expected an "
                        f"array of numbers")
    try:
        raw = np.asarray(value)
    except (ValueError, TypeError) as e:
        raise DataError(f"{what} is not a rectangular array of numbers "
                        f"({str(e).splitlines()[0][:80]})") from None
    if raw.dtype.kind == "c":
        raise DataError(f"{what} holds complex numbers; expected real numbers")
    if raw.dtype.kind in "USVMm":
        first = raw.flat[0].item() if raw.size else ""
        raise DataError(f"{what} holds {raw.dtype.kind in 'US' and 'text' or raw.dtype} "
                        f"(e.g. {short(first)}); expected numbers")
    try:
        with np.errstate(all="ignore"):
            return raw.astype(np.float64)
    except (TypeError, ValueError, OverflowError):
        for idx in np.ndindex(raw.shape):
            try:
                float(raw[idx])
            except (TypeError, ValueError, OverflowError):
                raise DataError(f"{what} has {short(raw[idx])}{where(idx)}, not a number a "
                                f"float can hold") from None
        raise


def check_memory(net: CompiledNetwork, rule: Rule, batch: int, dtype: np.dtype) -> None:
    """Refuse, before allocating, an engine whose state exceeds the limit ``max_state_mb``.

    Counts node variables (N × B or N × 1), delay buffers (D × N × B per delayed channel
    source), one message slot per edge, channel and example, and the edge variables.
    """
    n, e, depth = net.n_nodes, net.n_edges, net.max_delay
    values = sum(n * (batch if v.batched else 1) for v in rule.all_node_vars)
    values += len(rule.delayed_sources) * depth * n * batch
    values += sum(len(stage.channels) for stage in rule.stages) * e * batch
    values += len(rule.all_edge_vars) * e
    mib = -(-values * dtype.itemsize // 2**20)
    check_limit("max_state_mb", mib,
                f"an engine for rule {rule.name!r} with {n} neurons, {e} edges, batch "
                f"{batch} and delays up to {depth} needs about {mib} MiB of state",
                ConfigError)


def check_graph_fits_dtype(net: CompiledNetwork, dtype: np.dtype) -> None:
    """Refuse weights and biases that an engine of ``dtype`` would turn into ±inf."""
    top = np.finfo(dtype).max
    with np.errstate(over="ignore"):
        bad_w = np.flatnonzero(np.isinf(net.weight.astype(dtype)))
        bad_b = np.flatnonzero(np.isinf(net.bias.astype(dtype)))
    if len(bad_w):
        k = bad_w[0]
        edge = (net.node_ids[net.src[k]], net.node_ids[net.tgt[k]])
        raise GraphError(f"edge {edge!r} has weight {net.weight[k]:g}, which overflows "
                         f"{dtype} (largest {top:.4g}); use dtype=float64")
    if len(bad_b):
        raise GraphError(f"node {net.node_ids[bad_b[0]]!r} has bias {net.bias[bad_b[0]]:g}, "
                         f"which overflows {dtype} (largest {top:.4g}); use dtype=float64")


def fit_dtype(values: np.ndarray, dtype: np.dtype, what: str,
              where: Callable[[tuple], str]) -> np.ndarray:
    """Return float64 ``values`` cast to ``dtype``; refuse non-finite values and overflow.

    Args:
        values: the user's values as float64.
        dtype: the engine's dtype.
        what: names the argument (``"input u"``).
        where: maps an index of ``values`` to text naming the neuron/edge/example.
    """
    if not np.all(np.isfinite(values)):
        idx = tuple(np.argwhere(~np.isfinite(values))[0])
        raise DataError(f"{what} has a non-finite value {values[idx]}{where(idx)}")
    if values.dtype == dtype:
        return values
    with np.errstate(over="ignore"):
        cast = values.astype(dtype)
    if not np.all(np.isfinite(cast)):
        idx = tuple(np.argwhere(~np.isfinite(cast))[0])
        raise DataError(f"{what} value {values[idx]:g}{where(idx)} overflows {dtype} "
                        f"(largest {np.finfo(dtype).max:.4g}); rescale it or use "
                        f"dtype=float64")
    return cast
