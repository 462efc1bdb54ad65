"""The two engines executing any rule: the Mesa agent engine and the vectorised engine."""

from __future__ import annotations

from agents.errors import ConfigError
from networks.engines.agent import AgentEngine
from networks.engines.base import EngineBase, as_compiled
from networks.engines.initial import engine_rng
from networks.engines.vector import VectorEngine

ENGINES = {"agent": AgentEngine, "vector": VectorEngine}


def make_engine(kind: str, net, rule, params=None, **kwargs) -> EngineBase:
    """Build the engine called ``kind`` ("agent" or "vector"); see :class:`EngineBase`."""
    try:
        cls = ENGINES[kind]
    except KeyError:
        raise ConfigError(f"unknown engine {kind!r}; choose one of {sorted(ENGINES)}") from None
    return cls(net, rule, params, **kwargs)


__all__ = ["ENGINES", "AgentEngine", "EngineBase", "VectorEngine", "as_compiled", "engine_rng",
           "make_engine"]
