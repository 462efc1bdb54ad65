"""The two engines executing any rule: the Mesa agent engine and the vectorised engine."""

from __future__ import annotations

import inspect

from agents.errors import ConfigError, did_you_mean
from networks.engines.agent import AgentEngine
from networks.engines.base import EngineBase, as_compiled
from networks.engines.initial import engine_rng
from networks.engines.vector import VectorEngine

ENGINES = {"agent": AgentEngine, "vector": VectorEngine}


def make_engine(kind: str, net, rule, params=None, **kwargs) -> EngineBase:
    """Build the engine called ``kind`` ("agent" or "vector"); see :class:`EngineBase`.

    ``rule`` may be a :class:`~agents.rule.Rule` or the name of one in ``agents.RULES``.
    An unknown ``kind`` or keyword raises a :class:`ConfigError` with a did-you-mean.
    """
    try:
        cls = ENGINES[kind]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown engine {kind!r}{did_you_mean(kind, ENGINES)}") from None
    known = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self",)]
    for key in kwargs:
        if key not in known:
            raise ConfigError(f"unknown keyword {key!r} for the {kind} engine"
                              f"{did_you_mean(key, known, False)} (it takes {known[3:]})")
    return cls(net, rule, params, **kwargs)


__all__ = ["ENGINES", "AgentEngine", "EngineBase", "VectorEngine", "as_compiled", "engine_rng",
           "make_engine"]
