"""Methods whose examples are ``clamped`` for T steps: backprop diffusion, feedback alignment.

Every epoch presents each training example once, held on the inputs for ``T`` steps,
spread over ``batch`` parallel streams (random order; an uneven split is padded with
random repeats), as one continuous stream across epochs. Output o is given the target of
the example shown ``τ_o`` steps earlier (:class:`agents.diffusion.Presenter`). The rule
runs its forward and backward waves and updates the weights at every step.

The learner is generic over the rule: any rule with forward/backward waves whose params
have ``eta`` and ``loss`` and that accumulates its update in ``dw_sum``/``db_sum`` (for
the fidelity metric) is a method with one call of :func:`clamped_method`.
"""

from __future__ import annotations

import numpy as np

from agents.diffusion import DIFFUSION, DiffusionParams
from agents.feedback_alignment import FEEDBACK_ALIGNMENT, FAParams
from runs.data.streams import held_stream, presenter
from runs.methods.base import Method, Schedule, TrainResult, register
from runs.methods.fidelity import trained_fidelity


class ClampedLearner:
    """Examples held T steps on ``batch`` parallel streams; the rule learns every step."""

    watched = ()

    def __init__(self, rule, net, dataset, params, schedule: Schedule, *, engine: str,
                 dtype, seed: int, with_cosine: bool):
        self.X, self.Y = dataset.X_train.astype(dtype), dataset.targets("train")
        self.T, self.batch = schedule.T, schedule.batch
        self.presenter = presenter(net, rule, params, batch=self.batch, engine=engine,
                                   dtype=dtype, rng=seed)
        self.engine = self.presenter.engine

    @property
    def steps(self) -> int:
        """Engine steps so far."""
        return self.engine.t

    def epoch(self, rng: np.random.Generator) -> None:
        """Every training example once, held T steps, on ``batch`` streams."""
        n, B = len(self.X), self.batch
        per_stream = -(-n // B)
        perm = np.concatenate([rng.permutation(n), rng.integers(n, size=per_stream * B - n)])
        frames = held_stream(self.X, self.Y, self.T, batch=B,
                             order=perm.reshape(B, per_stream).T)
        self.presenter.run(frames.u, frames.y)

    def parameters(self) -> tuple[np.ndarray, np.ndarray]:
        """Current ``(weight, bias)``."""
        return self.engine.state("weight"), self.engine.state("bias")

    def metrics(self) -> dict:
        """No metric of its own (the fidelity is measured once, after training)."""
        return {}

    def state(self) -> dict:
        """No per-example state is kept between examples."""
        return {}


#: The default schedule of clamped methods: 50 epochs, 8 streams, examples held 8 steps.
CLAMPED_SCHEDULE = Schedule(epochs=50, batch=8, eval_every=1, T=8)

#: The default learning rate of clamped methods: the rules' own default is η = 0
#: (measurement mode, weights frozen); a method with no arguments learns.
CLAMPED_ETA = 0.05


def clamped_method(name: str, rule, params: type, *, defaults=None,
                   schedule: Schedule = CLAMPED_SCHEDULE) -> Method:
    """Register the method ``name``: ``rule`` presented by :class:`ClampedLearner`.

    Its fidelity is the cosine of the rule's accumulated update to the BPTT gradient at
    the trained weights (weights frozen, examples held T steps,
    :func:`runs.methods.fidelity.trained_fidelity`).
    """
    def learner(net, dataset, p, sched, **kw):
        return ClampedLearner(rule, net, dataset, p, sched, **kw)

    def fidelity(result: TrainResult, dataset, seed: int) -> float:
        return trained_fidelity(result.net, result.weight, result.bias, dataset,
                                result.schedule.T, rule=rule, params=result.params,
                                seed=seed)

    return register(Method(name=name, params=params, learner=learner,
                           presentation="clamped", defaults=defaults or params(eta=CLAMPED_ETA),
                           schedule=schedule, fidelity=fidelity, rule=rule))


#: Backprop diffusion (:mod:`agents.diffusion`), learning at η = CLAMPED_ETA by default.
DIFFUSION_METHOD = clamped_method("diffusion", DIFFUSION, DiffusionParams)

#: Feedback alignment (:mod:`agents.feedback_alignment`): diffusion's waves, with the
#: backward wave weighted by fixed random feedback weights drawn from the run's seed.
FA_METHOD = clamped_method("fa", FEEDBACK_ALIGNMENT, FAParams)
