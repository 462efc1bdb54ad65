"""Experiments reproducing a study: gradient fidelity vs input speed."""

from __future__ import annotations

from dataclasses import dataclass

from agents.errors import ConfigError
from runs.experiments.registry import RunOutput, experiment
from runs.methods import METHODS
from runs.studies.input_speed import fidelity_run

STREAMS = ("held", "sine")


@dataclass(frozen=True)
class FidelityParams:
    """One cell of the fidelity-vs-input-speed table (T comes from ``schedule.T``).

    Attributes:
        depth: weight layers of the tanh net (>= 1).
        width: hidden neurons per layer (>= 1).
        n_examples: examples per stream (held) or periods (sine).
        batch: parallel streams.
        stream: ``"held"`` (examples held T steps) or ``"sine"`` (sinusoids of period T).
    """

    depth: int = 2
    width: int = 8
    n_examples: int = 32
    batch: int = 4
    stream: str = "held"

    def __post_init__(self):
        for name in ("depth", "width", "n_examples", "batch"):
            if getattr(self, name) < 1:
                raise ConfigError(f"fidelity parameter {name!r} must be >= 1, "
                                  f"got {getattr(self, name)!r}")
        if self.stream not in STREAMS:
            raise ConfigError(f"fidelity parameter 'stream' must be one of {list(STREAMS)}, "
                              f"got {self.stream!r}")


def _clamped() -> tuple[str, ...]:
    return tuple(n for n, m in METHODS.items() if m.presentation == "clamped")


@experiment("fidelity", params=FidelityParams, rules=_clamped,
            keys=("engine", "dtype", "rule", "schedule.T"))
def fidelity(cfg: dict, seed: int) -> RunOutput:
    """One (depth, T, seed) cell of gradient fidelity vs input speed.

    See :func:`runs.studies.input_speed.fidelity_run`; sweep ``rule.depth`` and
    ``schedule.T`` (default 8). ``[rule] name`` picks the clamped method measured.
    """
    p = FidelityParams(**{k: v for k, v in cfg["rule"].items() if k != "name"})
    T = cfg["schedule"].get("T", 8)
    r = fidelity_run(p.depth, seed, T, stream=p.stream, width=p.width,
                     n_examples=p.n_examples, batch=p.batch, engine=cfg["engine"],
                     dtype=cfg["dtype"], method=cfg["rule"]["name"])
    row = {"step": int(r.get("steps", 0)), "depth": p.depth, "T": T,
           "cosine": float(r["cosine"]), "cosine_all": float(r["cosine_all"])}
    return RunOutput(rows=[row], summary={k: v for k, v in row.items() if k != "step"})
