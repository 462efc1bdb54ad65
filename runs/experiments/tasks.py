"""The temporal-task experiment: a cyclic net and its feedforward control on one task.

``experiment = "recurrence"`` runs :func:`runs.studies.recurrence.recurrence_study` for
one task and one seed: BPTT (the exact baseline), BPTT on the readout only, and backprop
diffusion for each η, on the cyclic network and on the feedforward control with the
same neurons, feedforward edges and delays. LP does not apply to these tasks (its
constraints describe one static state per example; see the study's module docstring).
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.errors import ConfigError
from runs.experiments.registry import RunOutput, experiment
from runs.studies.recurrence import METHODS, TASK_SETUPS, recurrence_study


@dataclass(frozen=True)
class RecurrenceParams:
    """``[rule]`` of the recurrence experiment.

    Attributes:
        task: one of :data:`runs.studies.recurrence.TASK_SETUPS`.
        hidden: hidden neurons of both networks (>= 1).
        iters: BPTT Adam steps (>= 1).
        methods: any of ``"bptt"``, ``"bptt_readout"``, ``"diffusion"``.
        etas: diffusion's step sizes (> 0), one diffusion run each.
        diffusion_steps: steps of diffusion's training stream (>= 1).
        clip: BPTT's largest gradient norm (> 0; ``inf`` trains unclipped; why
            clipping is the default: :mod:`runs.studies.recurrence`).
    """

    task: str = "flip_flop"
    hidden: int = 24
    iters: int = 1500
    methods: tuple[str, ...] = METHODS
    etas: tuple[float, ...] = (0.001, 0.003, 0.01)
    diffusion_steps: int = 20_000
    clip: float = 0.5

    def __post_init__(self):
        if self.task not in TASK_SETUPS:
            raise ConfigError(f"recurrence parameter 'task' must be one of "
                              f"{list(TASK_SETUPS)}, got {self.task!r}")
        for name in ("hidden", "iters", "diffusion_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"recurrence parameter {name!r} must be an integer >= 1, "
                                  f"got {value!r}")
        bad = [m for m in self.methods if m not in METHODS]
        if bad or not self.methods:
            raise ConfigError(f"recurrence parameter 'methods' must be a non-empty list of "
                              f"{list(METHODS)}, got {list(self.methods)!r}")
        if not self.etas or any(not isinstance(e, int | float) or isinstance(e, bool)
                                or not e > 0 for e in self.etas):
            raise ConfigError(f"recurrence parameter 'etas' must be a non-empty list of "
                              f"numbers > 0, got {list(self.etas)!r}")
        if isinstance(self.clip, bool) or not isinstance(self.clip, int | float) \
                or not self.clip > 0:
            raise ConfigError(f"recurrence parameter 'clip' must be a number > 0 (inf: no "
                              f"clipping), got {self.clip!r}")


@experiment("recurrence", params=RecurrenceParams, keys=("rule",),
            headline=("cyclic_bptt_accuracy", "feedforward_bptt_accuracy",
                      "cyclic_bptt_mse", "feedforward_bptt_mse"))
def recurrence(cfg: dict, seed: int) -> RunOutput:
    """One task, one seed: test MSE and sign accuracy per network, method and η.

    Rows: one per (network, method, η) with ``step`` 0. Summary:
    ``<network>_<method>[_eta<η>]_<mse|accuracy>`` for each row.
    """
    rule = {k: v for k, v in cfg["rule"].items() if k != "name"}
    p = RecurrenceParams(**{k: tuple(v) if isinstance(v, list) else v
                            for k, v in rule.items()})
    table = recurrence_study([p.task], [seed], hidden=p.hidden, iters=p.iters,
                             methods=p.methods, etas=p.etas,
                             diffusion_steps=p.diffusion_steps, clip=p.clip)
    rows, summary = [], {}
    for r in table.to_dict("records"):
        name = f"{r['network']}_{r['method']}"
        if r["method"] == "diffusion":
            name += f"_eta{r['eta']:g}"
        rows.append({"step": 0, "network": r["network"], "method": r["method"],
                     "eta": r["eta"], "mse": r["mse"], "accuracy": r["accuracy"],
                     "mse_zero": r["mse_zero"]})
        summary[f"{name}_mse"] = float(r["mse"])
        summary[f"{name}_accuracy"] = float(r["accuracy"])
    return RunOutput(rows=rows, summary=summary)


__all__ = ["RecurrenceParams", "recurrence"]
