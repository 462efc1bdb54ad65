"""K training runs of one network shape as one ensemble, each equal to its single run.

:func:`train_ensemble` trains K runs of a ``settled`` method (LP) — K networks of one
shape (:class:`networks.ensemble.Ensemble`: e.g. the seeds and the numeric parameter
points of a sweep), each with its own dataset split, parameters and seed — in one
vectorised engine with a member axis. The loop is :func:`runs.methods.loop.train`'s: every
member keeps its own :class:`~runs.methods.loop.RunLog` (its example order from its seed,
its evaluations, divergence and collapse checks), and only the engine steps are shared.
So each member's history, weights and per-example state equal those of
``train(method, nets[k], datasets[k], params[k], seed=seeds[k], ...)`` to rounding
(≤ 1e-12 in float64: the batched products may sum in another order).

The per-example state of every member's training set is kept as one array of shape
(K, n_train, V, n_act) (example-major: the V carried variables of the active neurons;
an input's rows are its data), and a mini-batch is swapped in and out with one gather
and one scatter of whole rows (each member visits its own examples: indices (K, B)).
Only the V variables a step carries over (:func:`runs.methods.carried.carried_vars`) are
kept and swapped.

A member whose run stops (collapse, divergence found at an evaluation, saturation) stops
with the error its single run raises, while the others go on. An error of the shared
engine (a state that became non-finite) cannot be pinned on one member's single run:
the members still running are then returned as not done (None), for the caller to train
alone, as are all members when the ensemble cannot be built (shapes or parameters that
cannot share one, see :class:`~networks.ensemble.Ensemble`).
"""

from __future__ import annotations

import numpy as np

from agents.errors import ConfigError, DataError, DivergenceError
from agents.lp import lp_rule
from networks.ensemble import Ensemble, chunks
from runs.methods.base import Schedule, TrainResult, batches
from runs.methods.carried import carried_vars
from runs.methods.evaluate import forward_state
from runs.methods.loop import RunLog, epoch_tick, prepare
from runs.methods.lp import SettledLearner, lp_metrics

#: node values (members × neurons × batch) one ensemble holds per variable at most
MAX_STATE = 1 << 16


class EnsembleSettledLearner:
    """The settled learner (:class:`runs.methods.lp.SettledLearner`) of K members at once.

    Args:
        nets: K compiled networks of one shape.
        datasets: K datasets with equally many training examples.
        params: K LP method params objects (``cycle_gain`` must be None).
        schedule: the schedule shared by every member.
        dtype: the dtype of all state.
    """

    watched = SettledLearner.watched

    def __init__(self, nets, datasets, params, schedule: Schedule, *, dtype):
        if any(p.cycle_gain is not None for p in params):
            raise ConfigError("cycle_gain: an ensemble does not clip cycle gains; train "
                              "these runs alone")
        self.nets, self.datasets, self.params = nets, datasets, params
        self.K, self.steps, self._parameters = len(nets), 0, None
        self.U = np.stack([d.inputs("train") for d in datasets]).astype(dtype)  # (K, n_in, n)
        self.Y = np.stack([d.targets("train") for d in datasets])
        n = self.U.shape[2]
        self.batch = None if schedule.batch is None or schedule.batch >= n else schedule.batch
        self.ens = Ensemble(nets, lp_rule(params[0].two_round), params,
                            batch=n if self.batch is None else self.batch, dtype=dtype)
        net = nets[0]
        self.active = np.flatnonzero(~net.is_input)
        x0, (weight, bias) = [], self.parameters()
        for k, (m, p) in enumerate(zip(nets, params, strict=True)):
            x = np.zeros((m.n_nodes, n), dtype=dtype)
            x[m.input_idx] = self.U[k]
            if p.x_init == "forward":
                x = forward_state(m, self.U[k], weight[k], bias[k]).astype(dtype)
            x0.append(x)
        rule = lp_rule(params[0].two_round)
        self.carried = tuple(dict.fromkeys(v for p in dict.fromkeys(params)
                                           for v in carried_vars(rule, p)))
        x0 = np.stack(x0)
        if self.batch is None:   # full batch: the state lives in the engine
            for var in self.carried:
                self.ens.set_state(var, x0 if var == "x" else 0.0)
            self.store = None
        elif not np.isfinite(x0).all():   # the store is trusted as finite
            raise DivergenceError("the initial forward pass is not finite; lower the "
                                  "initial weights")
        else:                    # (K, n, V, n_act): each member's examples, example-major
            self.store = np.zeros((self.K, n, len(self.carried), len(self.active)), dtype)
            self.store[:, :, self.carried.index("x")] = \
                x0[:, self.active].transpose(0, 2, 1)
            self._member = np.arange(self.K)[:, None]

    def epoch(self, rngs) -> None:
        """One engine step per (mini-)batch; member k's batches drawn from ``rngs[k]``."""
        eng, n = self.ens.engine, self.U.shape[2]
        if self.batch is None:
            for _ in batches(n, None, rngs[0]):
                self.ens.advance(self.U, self.Y)
                self.steps += 1
            return
        member = self._member
        for idx in zip(*[batches(n, self.batch, r) for r in rngs], strict=True):
            idx = np.stack(idx)                                      # (K, B)
            rows = self.store[member, idx]                           # (K, B, V, n_act)
            for v, var in enumerate(self.carried):   # the engine's own values (or x0)
                eng.set_active_rows(var, rows[:, :, v].transpose(0, 2, 1), checked=True)
            self.ens.advance(self.U[member, :, idx].transpose(0, 2, 1),
                             self.Y[member, :, idx].transpose(0, 2, 1))
            for v, var in enumerate(self.carried):
                rows[:, :, v] = eng.active_rows(var).transpose(0, 2, 1)
            self.store[member, idx] = rows
            self.steps += 1

    def state(self, k: int) -> dict:
        """Member k's ``{"x": (N, n_train), "lam": (N, n_train)}`` (canonical order)."""
        if self.store is None:
            return {"x": self.ens.state("x")[k], "lam": self.ens.state("lam")[k]}
        net = self.nets[k]
        x = np.zeros((net.n_nodes, self.U.shape[2]), dtype=self.U.dtype)
        lam = np.zeros_like(x)
        x[net.input_idx] = self.U[k]
        x[self.active] = self.store[k, :, self.carried.index("x")].T
        lam[self.active] = self.store[k, :, self.carried.index("lam")].T
        return {"x": x, "lam": lam}

    def parameters(self) -> tuple[np.ndarray, np.ndarray]:
        """Every member's ``(weight (K, E), bias (K, N))`` now, read once per step count.

        The members' evaluations between two steps share one read of the engine.
        """
        if self._parameters is None or self._parameters[0] != self.steps:
            self._parameters = (self.steps, self.ens.state("weight"), self.ens.state("bias"))
        return self._parameters[1:]

    def member(self, k: int, with_cosine: bool) -> MemberLearner:
        """Member k seen as a single run's learner (for its :class:`RunLog`)."""
        return MemberLearner(self, k, with_cosine)


class MemberLearner:
    """One member of an :class:`EnsembleSettledLearner`, with a learner's interface."""

    watched = SettledLearner.watched

    def __init__(self, group: EnsembleSettledLearner, k: int, with_cosine: bool):
        self.group, self.k, self.with_cosine = group, k, with_cosine
        self.engine = group.ens.member(k)

    @property
    def steps(self) -> int:
        """Engine steps so far (every member steps together)."""
        return self.group.steps

    def parameters(self) -> tuple[np.ndarray, np.ndarray]:
        """Current ``(weight, bias)`` of the member (copies)."""
        weight, bias = self.group.parameters()
        return weight[self.k].copy(), bias[self.k].copy()

    def state(self) -> dict:
        """The member's x and λ (see :meth:`EnsembleSettledLearner.state`)."""
        return self.group.state(self.k)

    def metrics(self) -> dict:
        """:func:`runs.methods.lp.lp_metrics` of the member's state."""
        g, s = self.group, self.state()
        return lp_metrics(g.nets[self.k], s["x"], s["lam"], *self.parameters(),
                          g.datasets[self.k], g.params[self.k], with_cosine=self.with_cosine)


def train_ensemble(method, nets, datasets, params, *, schedule=None, dtype: str = "float64",
                   seeds, with_cosine: bool = True,
                   stop_on_collapse: bool = True) -> list[TrainResult | Exception | None]:
    """Train K runs of one shape together (module doc); arguments as :func:`train`'s, K each.

    Args:
        method: a ``settled`` method (name or :class:`~runs.methods.base.Method`).
        nets: K networks of one shape (graphs or compiled).
        datasets: K datasets (equally many training examples).
        params: K params (objects, mappings or None, as :func:`train` takes them), or
            None (the method's defaults for all).
        schedule: one schedule for every member.
        dtype: ``"float64"`` or ``"float32"``.
        seeds: K seeds of the members' example orders.
        with_cosine: as for :func:`train`.
        stop_on_collapse: as for :func:`train`.

    Members are trained in ensembles of :func:`members_per_ensemble` at most, one after
    another (a large state per member leaves the cache); one left alone is not trained.

    Returns:
        Per member: its :class:`TrainResult`, the exception its single run raises (a
        DivergenceError carries ``rows``, the history so far), or None: not trained here
        (alone in its ensemble, the ensemble could not be built, or its engine stopped),
        train it alone.
    """
    K = len(nets)
    params = [None] * K if params is None else params
    if not (len(datasets) == len(params) == len(seeds) == K):
        raise ConfigError(f"train_ensemble: {K} networks but {len(datasets)} datasets, "
                          f"{len(params)} params and {len(seeds)} seeds")
    try:
        runs = [prepare(method, n, d, p, schedule)
                for n, d, p in zip(nets, datasets, params, strict=True)]
        method = runs[0][0]
        if method.presentation != "settled" or method.rule is None:
            raise ConfigError(f"method {method.name!r} is not trained by ensembles")
        if len({d.inputs("train").shape[1] for d in datasets}) > 1:
            raise DataError("ensemble members have training sets of different sizes")
    except Exception:  # noqa: BLE001 - no ensemble: every member is trained alone
        return [None] * K
    n, batch = datasets[0].inputs("train").shape[1], runs[0][3].batch
    size = members_per_ensemble(runs[0][1].n_nodes, n if batch is None else min(batch, n))
    out: list = [None] * K
    for part in chunks(K, size):
        if len(part) > 1:
            out[part.start:part.stop] = _train_group(
                method, [runs[k] for k in part], [datasets[k] for k in part],
                [seeds[k] for k in part], np.dtype(dtype), with_cosine, stop_on_collapse)
    return out


def members_per_ensemble(n_nodes: int, batch: int) -> int:
    """How many members one ensemble takes: K·N·B node values at most :data:`MAX_STATE`.

    Past that, each of the step's elementwise passes over a node variable leaves the
    cache and a member's step costs more than a single engine's (13-100-3, batch 133: 8
    members ran at 0.74x a single run's speed, 4 at 1.3x; batch 16: 32 at 3.8x).
    """
    return max(1, MAX_STATE // max(1, n_nodes * batch))


def _train_group(method, runs, datasets, seeds, dtype, with_cosine, stop_on_collapse):
    """:func:`train_ensemble` for members that fit one ensemble (``runs``: prepared)."""
    K = len(runs)
    try:
        group = EnsembleSettledLearner([r[1] for r in runs], datasets, [r[2] for r in runs],
                                       runs[0][3], dtype=dtype)
    except Exception:  # noqa: BLE001 - no ensemble: every member is trained alone
        return [None] * K
    logs = [RunLog(method, runs[k][1], datasets[k], runs[k][2], runs[k][3],
                   group.member(k, with_cosine), seeds[k], stop_on_collapse)
            for k in range(K)]
    out: list = [None] * K

    def check(k: int, epoch: int) -> bool:
        try:
            logs[k].record(epoch) if epoch == 0 else logs[k].after_epoch(epoch)
        except Exception as e:  # noqa: BLE001 - the member's run stops as it would alone
            if isinstance(e, DivergenceError):
                e.rows = logs[k].history
            out[k] = e
            return False
        return True

    tick, epochs = epoch_tick(), runs[0][3].epochs
    active = [k for k in range(K) if check(k, 0)]
    for epoch in range(1, epochs + 1):
        if not active:
            break
        try:
            group.epoch([logs[k].rng for k in range(K)])
        except Exception:  # noqa: BLE001 - the shared engine stopped: the rest run alone
            return out
        active = [k for k in active if check(k, epoch)]
        if tick is not None:
            tick(epoch, epochs)
    for k in active:
        out[k] = logs[k].result()
    return out
