"""What a method is: a rule plus an adapter, its parameters, its defaults; the registry.

A **method** trains a network on a dataset. It is a rule of :mod:`agents` (or, for the BP
baseline, the exact gradient) plus a small adapter, the *learner*, that says how the
training examples are presented to it:

* ``settled`` (LP): a (mini-)batch of examples is clamped on the batch axis, one engine
  step per batch; the per-example state (x, λ) of every training example is kept
  between visits;
* ``clamped`` (backprop diffusion and any rule with forward and backward waves): each
  example is held on the inputs for ``T`` steps, on ``batch`` parallel streams, and the
  weights learn at every step;
* ``exact`` (BP baseline): one optimiser step on the exact gradient per (mini-)batch.

Every method is trained by the one loop :func:`runs.methods.loop.train`, evaluated by
:func:`runs.methods.evaluate.evaluate` and compared by :func:`runs.methods.compare.compare`.
Its parameters travel as one params object (a frozen dataclass: the rule's parameters,
plus the adapter's own options); its default parameters and schedule are fields of its
:class:`Method` (the one place to change them). Register a method with :func:`register`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any, Protocol

import numpy as np

from agents.errors import ConfigError


def _positive(name: str, value, *, none_ok: bool = False) -> None:
    if value is None and none_ok:
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(f"schedule key {name!r} must be a positive integer"
                          f"{' or None' if none_ok else ''}, got {value!r}")


@dataclass(frozen=True)
class Schedule:
    """How long, and in what portions, a method sees the training set.

    Attributes:
        epochs: passes over the training set (>= 1).
        batch: examples per update (``settled``/``exact``: mini-batch size, None = the
            whole training set) or parallel streams (``clamped``).
        eval_every: evaluate every this many epochs (and at epoch 0 and the last one).
        T: steps each example is held on the inputs (``clamped`` methods only).
    """

    epochs: int = 100
    batch: int | None = None
    eval_every: int = 10
    T: int | None = None

    def __post_init__(self):
        _positive("epochs", self.epochs)
        _positive("eval_every", self.eval_every)
        _positive("batch", self.batch, none_ok=True)
        _positive("T", self.T, none_ok=True)


#: The defaults shared by every method that learns its weights with an optimiser (LP and
#: BP), so that methods called with no arguments compare like for like: the weight
#: optimiser and its step size (Adam's constants are the optimiser's defaults) and the
#: schedule. The initial weights are the network's own: :func:`runs.methods.compare`
#: trains every method from the same network. Change them here, nowhere else.
WEIGHT_OPTIMIZER = "adam"
WEIGHT_ETA = 1e-2
SHARED_SCHEDULE = Schedule(epochs=1000, batch=None, eval_every=100)


@dataclass
class TrainResult:
    """What :func:`runs.methods.loop.train` returns.

    Attributes:
        history: tidy rows, one per evaluation: ``step`` (the method's updates or engine
            steps so far), ``epoch``, the evaluation metrics and the method's own.
        weight: final weights, shape (E,) canonical order.
        bias: final biases, shape (N,).
        net: the compiled network trained (its own arrays hold the *initial* parameters).
        method: the method's name.
        params: the params object used.
        schedule: the schedule used.
        engine: the engine (None for the exact-gradient baseline).
        state: the method's per-example state, e.g. ``{"x": (N, n_train), "lam": ...}``.
    """

    history: list[dict]
    weight: np.ndarray
    bias: np.ndarray
    net: Any
    method: str = ""
    params: Any = None
    schedule: Schedule | None = None
    engine: Any = None
    state: dict = field(default_factory=dict)

    @property
    def final(self) -> dict:
        """The last history row."""
        return self.history[-1]

    @property
    def x(self) -> np.ndarray | None:
        """The per-example outputs x kept by the method (LP), or None."""
        return self.state.get("x")

    @property
    def lam(self) -> np.ndarray | None:
        """The per-example multipliers λ kept by the method (LP), or None."""
        return self.state.get("lam")


class Learner(Protocol):
    """The adapter of a method, made for one training run by :attr:`Method.learner`.

    Attributes:
        steps: updates (or engine steps) done so far.
        engine: the engine running the rule, or None.
        watched: metrics that must stay finite (else the run diverged).
    """

    steps: int
    engine: Any
    watched: tuple[str, ...]

    def epoch(self, rng: np.random.Generator) -> None:
        """Present every training example once."""

    def parameters(self) -> tuple[np.ndarray, np.ndarray]:
        """Current ``(weight (E,), bias (N,))``."""

    def metrics(self) -> dict:
        """The method's own metrics at an evaluation (besides loss and accuracies)."""

    def state(self) -> dict:
        """The method's per-example state, by variable name."""


@dataclass(frozen=True)
class Method:
    """A rule plus its adapter.

    Attributes:
        name: the name configs use (``[rule] name``).
        params: the params dataclass (the rule's parameters + the adapter's options).
        learner: ``learner(net, dataset, params, schedule, *, engine, dtype, seed,
            with_cosine) -> Learner``.
        presentation: ``"settled"``, ``"clamped"`` or ``"exact"`` (module doc).
        defaults: the params used when none are given (an instance of ``params``).
        schedule: the default schedule.
        fidelity: ``fidelity(result, dataset, seed) -> float``: cosine of the method's
            update to the exact gradient at the trained weights (NaN if undefined).
        rule: the :class:`agents.rule.Rule` run, or None (exact gradients).
    """

    name: str
    params: type
    learner: Callable[..., Learner]
    presentation: str
    defaults: Any
    schedule: Schedule
    fidelity: Callable[[TrainResult, Any, int], float]
    rule: Any = None

    @property
    def uses_engine(self) -> bool:
        """Whether the method runs in an engine (``engine`` matters)."""
        return self.rule is not None

    @property
    def schedule_keys(self) -> tuple[str, ...]:
        """The :class:`Schedule` fields this method uses."""
        return ("epochs", "batch", "eval_every") + (("T",) if self.presentation == "clamped"
                                                    else ())

    def make_params(self, params: Any = None, **overrides) -> Any:
        """The params object of this method from an instance, a mapping or None (defaults).

        A mapping, or an instance of another params dataclass (e.g. the rule's own
        :class:`agents.lp.LPParams` for LP), is applied over :attr:`defaults`; an
        instance of :attr:`params` is used as is (with ``overrides``).

        Raises:
            ConfigError: naming an unknown key.
        """
        if isinstance(params, self.params):
            base = params
        elif params is None or isinstance(params, Mapping) or is_dataclass(params):
            given = ({f.name: getattr(params, f.name) for f in fields(params)}
                     if is_dataclass(params) else dict(params or {}))
            base, overrides = self.defaults, {**given, **overrides}
        else:
            raise ConfigError(f"method {self.name!r} takes {self.params.__name__} "
                              f"parameters, got {type(params).__name__}")
        known = {f.name for f in fields(self.params)}
        for key in overrides:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigError(f"unknown parameter {key!r} for method {self.name!r}"
                                  f"{hint}; known: {sorted(known)}")
        try:
            return replace(base, **overrides)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"invalid parameters for method {self.name!r}: {e}") from None

    def make_schedule(self, schedule: Schedule | Mapping | None = None) -> Schedule:
        """A :class:`Schedule`: given, or the method's defaults with a mapping applied.

        ``clamped`` methods need ``T`` and a number of streams: when None, they are the
        method's defaults.

        Raises:
            ConfigError: for a field the method does not use (``T`` outside ``clamped``)
                or a bad value.
        """
        if isinstance(schedule, Schedule):
            given = {f.name: getattr(schedule, f.name) for f in fields(Schedule)}
            if given["T"] is None:
                given.pop("T")
        else:
            given = dict(schedule or {})
        for key in given:
            if key not in self.schedule_keys:
                raise ConfigError(f"schedule key {key!r} is not used by method {self.name!r} "
                                  f"(it uses {list(self.schedule_keys)})")
        if self.presentation == "clamped":
            given = {k: v for k, v in given.items() if v is not None or k not in ("batch", "T")}
        return replace(self.schedule, **given)


def batches(n: int, batch: int | None, rng: np.random.Generator) -> list[np.ndarray]:
    """Example indices of one epoch, each array sorted.

    Full batch: all of them. Mini-batches: a seeded permutation cut into ``n // batch``
    batches of exactly ``batch`` (the rest is dropped this epoch; every epoch draws a
    new permutation).
    """
    if batch is None or batch >= n:
        return [np.arange(n)]
    perm = rng.permutation(n)
    return list(np.sort(perm[:n // batch * batch].reshape(n // batch, batch), axis=1))


#: Every method, by name (filled by the modules of :mod:`runs.methods`).
METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add ``method`` to :data:`METHODS` (under its name) and return it."""
    METHODS[method.name] = method
    return method


def get_method(method: str | Method) -> Method:
    """The registered method called ``method`` (a :class:`Method` passes through).

    Raises:
        ConfigError: for an unknown name, with a did-you-mean.
    """
    if isinstance(method, Method):
        return method
    if method not in METHODS:
        close = difflib.get_close_matches(str(method), list(METHODS), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {sorted(METHODS)}"
        raise ConfigError(f"unknown method {method!r}; {hint}")
    return METHODS[method]
