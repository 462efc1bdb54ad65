"""The one training loop: any method, any network, any dataset."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from agents.errors import CollapseError, DivergenceError
from networks.engines.base import as_compiled
from networks.threads import configured_threads, limit_threads
from runs.methods.base import Method, Schedule, TrainResult, get_method
from runs.methods.collapse import detect_collapse
from runs.methods.evaluate import evaluate, saturated

_EPOCH_CALLBACK: ContextVar = ContextVar("epoch_callback", default=None)


@contextmanager
def epoch_progress(callback):
    """Call ``callback(epoch, epochs)`` after every epoch of every :func:`train` in the block.

    The CLI uses it to show per-epoch progress of long single runs (sequential sweeps).
    """
    token = _EPOCH_CALLBACK.set(callback)
    try:
        yield
    finally:
        _EPOCH_CALLBACK.reset(token)


def train(method: str | Method, net, dataset, params=None, *,
          schedule: Schedule | dict | None = None, engine: str = "vector",
          dtype: str = "float64", seed: int = 0, with_cosine: bool = True,
          stop_on_collapse: bool = True, blas_threads: int | None = None) -> TrainResult:
    """Train ``net`` on ``dataset`` with a method.

    Every epoch presents each training example once (how: the method's presentation,
    :mod:`runs.methods.base`). The run is evaluated at epoch 0, every
    ``schedule.eval_every`` epochs and at the last epoch: the forward-pass predictor's
    loss and accuracies (:func:`runs.methods.evaluate.evaluate`) plus the method's own
    metrics. After each evaluation the history is checked by
    :func:`runs.methods.collapse.detect_collapse` (train accuracies only): a run that
    collapsed is stopped with a :class:`agents.errors.CollapseError` naming the cause
    (its ``rows`` are the history so far), not reported as finished.

    Args:
        method: a registered method name (``"lp"``, ``"bp"``, ``"diffusion"`` ...) or a
            :class:`Method`.
        net: a network graph or compiled network (its weights are the initial ones).
        dataset: a :class:`runs.data.datasets.Dataset`.
        params: the method's params object, a mapping of its fields, or None (defaults).
        schedule: a :class:`Schedule`, a mapping of its fields, or None (the method's).
        engine: ``"vector"`` or ``"agent"`` (methods that run a rule).
        dtype: ``"float64"`` or ``"float32"``: the dtype of all state of the run.
        seed: seed of the example order.
        with_cosine: compute the method's gradient-fidelity metric at each evaluation
            (LP's ``cos_bptt``: one exact gradient per evaluation).
        stop_on_collapse: stop a collapsed run (above); False only records it.
        blas_threads: BLAS threads while training (restored afterwards); None:
            ``$LOCALPROP_BLAS_THREADS`` if set, else 1 — several runs side by side, or a
            run next to other work, then never oversubscribe the cores (a small net's
            step with one thread per core can run tens of times slower when another
            process holds a core). Give more for large nets on an idle machine.

    Returns:
        A :class:`TrainResult`.

    Raises:
        ConfigError: for bad parameters, schedule, engine, dtype or ``blas_threads``.
        DataError: if the network does not fit the data.
        DivergenceError: when the state or a watched metric stops being finite.
        CollapseError: when the run collapsed (``stop_on_collapse``).
    """
    threads = configured_threads(1) if blas_threads is None else blas_threads
    with limit_threads(threads):
        return _train(method, net, dataset, params, schedule, engine, dtype, seed,
                      with_cosine, stop_on_collapse)


def _train(method, net, dataset, params, schedule, engine, dtype, seed, with_cosine,
           stop_on_collapse) -> TrainResult:
    method, net, params, schedule = prepare(method, net, dataset, params, schedule)
    learner = method.learner(net, dataset, params, schedule, engine=engine,
                             dtype=np.dtype(dtype), seed=seed, with_cosine=with_cosine)
    log = RunLog(method, net, dataset, params, schedule, learner, seed, stop_on_collapse)
    tick = _EPOCH_CALLBACK.get()
    try:
        log.record(0)
        for epoch in range(1, schedule.epochs + 1):
            learner.epoch(log.rng)
            log.after_epoch(epoch)
            if tick is not None:
                tick(epoch, schedule.epochs)
    except DivergenceError as e:
        e.rows = log.history  # the evaluations up to the divergence, kept in the run record
        raise
    return log.result()


def epoch_tick():
    """The callback of the enclosing :func:`epoch_progress` block, or None."""
    return _EPOCH_CALLBACK.get()


def prepare(method, net, dataset, params, schedule) -> tuple[Method, object, object, Schedule]:
    """A run's method, compiled network, params object and schedule, checked (as train)."""
    method = get_method(method)
    params = method.make_params(params)
    schedule = method.make_schedule(schedule)
    net = as_compiled(net)
    dataset.check_fits(net)
    return method, net, params, schedule


class RunLog:
    """The bookkeeping of one run of :func:`train`: its evaluations, checks and result.

    Shared by :func:`train` and the ensemble trainer (:mod:`runs.methods.ensemble`), whose
    members each keep one: ``rng`` orders the run's examples, :meth:`record` evaluates
    (raising as :func:`train` documents), :meth:`after_epoch` evaluates when due.
    """

    def __init__(self, method: Method, net, dataset, params, schedule: Schedule, learner,
                 seed: int, stop_on_collapse: bool = True):
        self.method, self.net, self.dataset, self.params = method, net, dataset, params
        self.schedule, self.learner, self.seed = schedule, learner, seed
        self.stop_on_collapse = stop_on_collapse
        self.rng = np.random.default_rng(seed)
        self.history: list[dict] = []
        self.n_train = dataset.inputs("train").shape[1]

    def record(self, epoch: int) -> None:
        """Evaluate now and check the run (diverged, saturated, collapsed)."""
        net, learner, params = self.net, self.learner, self.params
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # checked below
            row = {"step": learner.steps, "epoch": epoch,
                   **evaluate(net, *learner.parameters(), self.dataset, params.loss),
                   **learner.metrics()}
        for key in ("loss", *learner.watched):
            if not np.isfinite(row[key]):
                raise_divergence(net, learner.steps, key, learner.state())
        self.history.append(row)
        if epoch and row["train_acc"] < 1.0 and saturated(
                net, self.dataset.inputs("train"), *learner.parameters()):
            raise DivergenceError(
                f"step {learner.steps}: every neuron is saturated (σ'(a) ≈ 0 on every "
                f"training example), so the network can no longer learn (loss "
                f"{row['loss']:.3g}, train accuracy {row['train_acc']:.3g}); lower the step "
                f"sizes")
        cause = detect_collapse(self.history, n_examples=self.n_train) \
            if self.stop_on_collapse else None
        if cause:
            raise CollapseError(f"{self.method.name} run (seed {self.seed}) stopped: {cause}",
                                self.history)

    def after_epoch(self, epoch: int) -> None:
        """Evaluate after ``epoch`` if it is an evaluation epoch (or the last one)."""
        if epoch % self.schedule.eval_every == 0 or epoch == self.schedule.epochs:
            self.record(epoch)

    def result(self) -> TrainResult:
        """The finished run."""
        weight, bias = self.learner.parameters()
        return TrainResult(self.history, weight, bias, self.net, method=self.method.name,
                           params=self.params, schedule=self.schedule,
                           engine=self.learner.engine, state=self.learner.state())


def raise_divergence(net, step: int, metric: str, state: dict) -> None:
    """Stop a run whose metric overflowed, naming the step and the most extreme neuron."""
    if not state:
        raise DivergenceError(f"step {step}: the {metric} is no longer finite; lower the "
                              "step size")
    name, values = max(state.items(), key=lambda kv: np.nanmax(np.abs(kv[1])))
    with np.errstate(invalid="ignore"):
        i = int(np.nanargmax(np.abs(values).max(axis=1)))
    raise DivergenceError(
        f"step {step}: the {metric} is no longer finite; the largest state is variable "
        f"{name!r} of neuron {net.node_ids[i]!r} ({np.abs(values[i]).max():.3g}); lower the "
        "step sizes or ρ")
