"""The engines' Generator and the initial state both engines start from.

Both engines build their state from :func:`initial_state`, one set of arrays in canonical
order, so that random initial values (:data:`agents.rule.InitFn`) are drawn once, in one
order, and are identical in the agent and the vectorised engine for the same seed.
"""

from __future__ import annotations

import numpy as np

from agents.errors import ConfigError
from agents.rule import InitContext, Rule, StateVar
from networks.compile import CompiledNetwork

#: spawn key of the engines' streams: an engine seeded s draws from a stream independent
#: of ``numpy.random.default_rng(s)``, which the network builders use
ENGINE_STREAM = (0x656E67,)


def engine_rng(rng) -> np.random.Generator:
    """The Generator of an engine made with ``rng=``.

    A Generator is used as it is. An integer seed ``s`` (or None: fresh entropy) gives
    ``default_rng(SeedSequence(s, spawn_key=ENGINE_STREAM))``, a stream independent of
    ``default_rng(s)``: a network built with seed s and an engine seeded s do not draw
    the same numbers (random feedback weights would otherwise copy the forward weights).

    Raises:
        ConfigError: for anything else, or a negative seed.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, bool) or not (rng is None or isinstance(rng, int | np.integer)):
        raise ConfigError(f"rng must be an integer seed or a numpy.random.Generator, "
                          f"got {rng!r}")
    try:
        return np.random.default_rng(np.random.SeedSequence(rng, spawn_key=ENGINE_STREAM))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"rng: invalid seed {rng!r} ({exc})") from None


def initial_state(net: CompiledNetwork, rule: Rule, params, rng: np.random.Generator,
                  n_batch: int, dtype) -> dict[str, np.ndarray]:
    """Initial value of every variable of ``rule`` in canonical order.

    Random initial values are drawn from ``rng`` here: node variables first, then edge
    variables, each in declaration order. ``bias`` and ``weight`` come from the network.

    Args:
        net: the compiled network (N nodes, E edges).
        rule: the rule whose variables are initialised.
        params: the rule's parameter object (given to init functions).
        rng: the engine's Generator.
        n_batch: B, the width of variables with an example axis.
        dtype: float dtype of the state.

    Returns:
        ``{node var: (N, B) or (N, 1)}`` and ``{edge var: (E,)}``; a constant initial
        value is a read-only broadcast array (no memory): engines copy what they write.

    Raises:
        ConfigError: an init function returned the wrong shape or a non-finite value.
    """
    in_degree = np.diff(net.in_ptr)
    ctx = {"params": params, "rule": rule.name, "weight": net.weight, "dtype": dtype}
    values: dict[str, np.ndarray] = {}
    for var in rule.all_node_vars:
        shape = (net.n_nodes, n_batch if var.batched else 1)
        values[var.name] = _values(var, shape, rng, in_degree, **ctx)
    for var in rule.all_edge_vars:
        values[var.name] = _values(var, (net.n_edges,), rng, in_degree[net.tgt], **ctx)
    values["bias"] = net.bias.astype(dtype)[:, None]
    values["weight"] = net.weight.astype(dtype)
    return values


def _values(var: StateVar, shape: tuple, rng, fan_in, *, params, rule, weight,
            dtype) -> np.ndarray:
    if not callable(var.init):  # a read-only constant that takes no memory
        return np.broadcast_to(np.asarray(var.init, dtype=dtype), shape)
    ctx = InitContext(params=params, weight=weight.copy(), fan_in=fan_in)
    value = np.asarray(var.init(rng, shape, ctx), dtype=dtype)
    if value.shape != shape:
        raise ConfigError(f"rule {rule!r}: initial value function of {var.name!r} returned "
                          f"shape {value.shape}, expected {shape}")
    if not np.all(np.isfinite(value)):
        raise ConfigError(f"rule {rule!r}: initial value function of {var.name!r} returned "
                          f"a non-finite value")
    return value
