r"""The rule interface: declared state, message channels and local update functions.

A learning rule is data plus pure functions, nothing engine-specific:

* **State** is declared: :class:`StateVar` entries give each per-neuron variable (name,
  initial value, whether it has an example axis, dtype) and each per-edge variable. Every
  rule also gets the built-ins ``bias`` (per neuron, no example axis) and ``weight``
  (per in-edge); both are owned by the postsynaptic neuron. An initial value is a number
  or a function drawing it from the engine's seeded ``numpy.random.Generator``
  (:data:`InitFn`, e.g. fixed random feedback weights).
* **Messages** travel on :class:`Channel`\\ s, one value per edge. A *forward* channel
  carries the presynaptic neuron's variable to each child; the receiver sees the weighted
  sum ``Σ_j w_ij m_j`` (it owns ``w_ij``). A *backward* channel carries the postsynaptic
  neuron's variable to each parent, weighted by the sender (which owns ``w_hi``); the
  receiver sees ``Σ_h w_hi m_h``. The per-edge variable that weights a channel is
  ``weight`` unless the channel names another edge variable (``Channel.weight``). A
  *delayed* channel delivers the value the sender had ``d`` steps ago (``d`` = the edge
  delay, read from the sender's delay buffer); an undelayed channel delivers the value
  the sender holds now.
* A step is a sequence of :class:`Stage`\\ s; each stage is one synchronous round: every
  neuron sends on the stage's channels, then every neuron runs ``node_update`` on its own
  state and its inbox, then (optionally) every neuron runs ``edge_update`` on its
  in-edges, given per-edge *Hebbian* products ``Σ_κ post_iκ · pre_jκ`` of one of its own
  (already updated) variables and the value that arrived on a forward channel.

Input neurons are clamped: their ``output_var`` is set to the input u(t) at the start of
each step, they run no node update, and their other variables keep their initial value.

Update functions are written once with numpy broadcasting. Node arrays have the neuron
axis first: shape ``(n, B)`` for a variable with an example axis and ``(n, 1)`` without,
where the agent engine calls them with ``n = 1`` for one neuron and the vectorised engine
with ``n = N``. Edge arrays have shape ``(k,)`` (one neuron's in-edges, or all edges).
Functions return a dict of the variables they change.

**Who may write where.** An update function never writes into the ``state`` or ``edge``
arrays it is given (they are the engine's: another round of the step may still read
them). It may write into the ``inbox`` and ``hebb`` arrays (fresh each call, the
update's to use) and into arrays it gets from ``neurons.out(name, like)``: a writable
array shaped like ``like`` whose content is undefined. For ``name`` a node variable, it
is the place where that variable's new value is meant to go (the vectorised engine keeps
two arrays per variable and swaps them: no allocation per step; one, written in place,
for a variable the rule never reads before writing it: see ``Stage.reads``); any other name gives a
scratch array private to that name, overwritten by the next call. Whatever array an
update returns, the engine stores its values (copying them when it is not the variable's
``out`` array), so returning a scratch or inbox array is safe.

**Linear edge updates.** A stage whose edge update is, for some parameters, linear in
its Hebbian products (``v ← (1 − decay) v + coef · hebb``, as for plain SGD) may say so
with ``edge_linear``; the vectorised engine then folds the update into the product's
matrix multiplication (no per-edge temporary), the agent engine runs ``edge_update``.
Write ``edge_update`` with :func:`apply_linear` so that both compute the same formula.

**Finiteness witnesses.** ``Rule.finite_implied`` lets an engine skip checking a
variable written in a step when a non-finite value in it necessarily makes another
variable written in the same step non-finite (or when its update can never produce a
non-finite value from finite state); each entry is argued where the rule is defined.

Glossary (symbols of docs/math/notation.md): ``x`` output x, ``a`` activation a, ``bias`` b,
``weight`` w, ``lam`` λ, ``delta`` δ, ``g`` reaction g, ``s`` = g σ'(a).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, Protocol

import numpy as np

from agents.errors import ConfigError

Array = np.ndarray


@dataclass(frozen=True)
class InitContext:
    """What an initialisation function may use besides the Generator.

    Attributes:
        params: the rule's parameter object.
        weight: the initial weights w in canonical edge order, shape (E,).
        fan_in: per edge variable, the in-degree of each edge's postsynaptic neuron,
            shape (E,); per node variable, each neuron's in-degree, shape (N,).
    """

    params: Any
    weight: Array
    fan_in: Array


#: ``init(rng, shape, ctx) -> array of that shape``: random initial values drawn from the
#: engine's Generator ``rng``; ``shape`` is (E,) for an edge variable (canonical edge
#: order) and (N, B) — (N, 1) without example axis — for a node variable (canonical node
#: order). Engines call it once, at construction, for each such variable in declaration
#: order (node variables first), so equal seeds give equal values in every engine.
InitFn = Callable[[np.random.Generator, tuple, InitContext], Array]


@dataclass(frozen=True)
class StateVar:
    """Declaration of one per-neuron or per-edge state variable.

    Attributes:
        name: variable name (as seen by update functions and recordings).
        init: initial value (also the value of the delay buffer before t = 1): a number,
            or an :data:`InitFn` drawing the values from the engine's Generator.
        batched: per-neuron variables only: True for one value per example
            (shape (B,) per neuron), False for one value per neuron (shape (1,)).
        doc: one line saying what it is (its symbol in docs/math/notation.md).
    """

    name: str
    init: float | InitFn = 0.0
    batched: bool = True
    doc: str = ""


@dataclass(frozen=True)
class Channel:
    """A message sent along every edge in one direction.

    Attributes:
        name: the inbox key under which the receiver sees the weighted sum.
        source: the sender's node variable that is sent.
        direction: ``"forward"`` (pre → post) or ``"backward"`` (post → pre).
        delayed: True: the value of ``d`` steps ago (edge delay d); False: current value.
        weight: the edge variable that weights the messages (owned by the postsynaptic
            neuron of the edge): ``Σ_j weight_ij m_j`` forward, ``Σ_h weight_hi m_h``
            backward. Default ``"weight"`` (w); e.g. feedback alignment weights its
            backward channel by fixed random feedback weights.
    """

    name: str
    source: str
    direction: Literal["forward", "backward"]
    delayed: bool = True
    weight: str = "weight"


class Neurons(Protocol):
    """What an update function knows about the neuron(s) it updates (no one else's state).

    Attributes:
        act: the activation σ with ``f(a)`` and ``df(a, x)``.
        is_input, is_output: role masks, shape (n, 1).
        target: the target y aligned to the neurons, shape (n, B) (zero for non-outputs).
        has_target: True where an output has a target this step, shape (n, 1).
        t: the step number (1 for the first step).
        batch: B, the number of examples processed in parallel.
    """

    act: Any
    is_input: Array
    is_output: Array
    target: Array
    has_target: Array
    t: int
    batch: int

    def out(self, name: str, like: Array) -> Array:
        """A writable array shaped like ``like`` (module doc: who may write where)."""


NodeUpdate = Callable[[Mapping[str, Array], Mapping[str, Array], Neurons, Any], dict]
EdgeUpdate = Callable[[Mapping[str, Array], Mapping[str, Array], Neurons, Any], dict]
#: ``(params, batch) -> {edge var: (hebb name, coef, decay)}`` or None (not linear)
EdgeLinear = Callable[[Any, int], Mapping[str, tuple[str, float, float]] | None]


def apply_linear(edge: Mapping[str, Array], hebb: Mapping[str, Array],
                 linear: Mapping[str, tuple[str, float, float]]) -> dict:
    """The values of a linear edge update: ``v ← (1 − decay) v + coef · hebb[h]``.

    ``decay = 1`` does not read the old value (so a non-finite old value is forgotten).
    The vectorised engine computes the same formula with BLAS (``gemm``/``axpy``).

    Args:
        edge: the edge variables, shape (k,) each.
        hebb: the Hebbian products, shape (k,) each.
        linear: ``{edge var: (hebb name, coef, decay)}``.
    """
    out = {}
    for name, (h, coef, decay) in linear.items():
        value = coef * hebb[h]
        if decay != 1.0:
            value += edge[name] if decay == 0.0 else (1.0 - decay) * edge[name]
        out[name] = value
    return out


_COLUMNS: dict[tuple, Array] = {}


def batch_sum(values: Array, coef: float, out: Array) -> Array:
    """``out ← coef · Σ_κ values[:, κ]``, shape (n, 1), by one matrix-vector product.

    A product with a column of ``coef`` (made once per batch size, coefficient and
    dtype) costs a third of ``np.add.reduce(values, axis=1)`` on small arrays and folds
    the scaling in; the sum is rounded as a BLAS dot product (the same in both engines
    up to the order of summation).

    Args:
        values: shape (n, B).
        coef: the factor (a number, or per-row values broadcasting to (n, 1)).
        out: C-contiguous, shape (n, 1), ``values``' dtype.
    """
    if coef.__class__ is not float and not isinstance(coef, numbers.Real):
        # e.g. one value per neuron (n, 1) (a float, the usual case, skips the ABC check)
        np.dot(values, _column(values.shape[1], 1.0, values.dtype), out=out)
        out *= coef
        return out
    return np.dot(values, _column(values.shape[1], coef, values.dtype), out=out)


def _column(batch: int, coef: float, dtype) -> Array:
    """A read-only column (batch, 1) of ``coef``, made once (see :func:`batch_sum`)."""
    key = (batch, coef, dtype.str)
    column = _COLUMNS.get(key)
    if column is None:
        if len(_COLUMNS) >= 64:
            _COLUMNS.clear()
        column = _COLUMNS[key] = np.full((batch, 1), coef, dtype=dtype)
        column.flags.writeable = False
    return column


@dataclass(frozen=True)
class Stage:
    """One synchronous message round.

    Attributes:
        channels: messages sent at the start of the round.
        node_update: ``(state, inbox, neurons, params) -> {var: new value}``.
        edge_update: ``(edge_state, hebb, neurons, params) -> {var: new value}`` or None;
            ``neurons`` describes the postsynaptic neuron(s) owning the edges.
        hebb: ``{name: (post_var, forward_channel)}``: per-edge products given to
            ``edge_update``, ``hebb[name]_ij = Σ_κ post_var_iκ · m_jκ`` where ``m_j`` is
            what arrived from j on ``forward_channel`` this step (a forward channel of
            this stage or of an earlier stage of the same step).
        edge_linear: ``(params, batch) -> {edge var: (hebb name, coef, decay)}`` when
            ``edge_update`` is exactly :func:`apply_linear` of that mapping for these
            parameters (it must then change no other variable), None otherwise
            (module doc); None: never linear.
        reads: the node variables ``node_update`` reads from ``state``, or None (the
            default): any. When given, the vectorised engine passes ``node_update`` a
            mapping of only these (reading another raises ``ConfigError``), and a
            variable that no stage of the rule reads, sends on a channel or uses in a
            Hebbian product keeps one array instead of two: its ``out`` array is then
            its current array, overwritten in place.
    """

    channels: tuple[Channel, ...]
    node_update: NodeUpdate
    edge_update: EdgeUpdate | None = None
    hebb: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    edge_linear: EdgeLinear | None = None
    reads: frozenset[str] | None = None


@dataclass(frozen=True)
class NoParams:
    """Parameters of a rule that has none."""


@dataclass(frozen=True)
class Rule:
    """A local rule: declared state, stages, and its parameter type.

    Attributes:
        name: short name (used in configs).
        node_vars: per-neuron state (``bias`` is added by the engines).
        edge_vars: per-edge state (``weight`` is added by the engines).
        stages: the rounds of one step, in order.
        output_var: the variable clamped to the input u on input neurons.
        params: dataclass type of the rule's parameters.
        finite_implied: ``{var: witness}``: whenever a step's update writes a
            non-finite value into ``var`` it also writes one into ``witness`` (node or
            edge variable), or, with witness None, it never writes a non-finite value
            into ``var`` when the state it reads is finite. An engine may then check
            ``witness`` instead of ``var`` (module doc); each entry must be argued.
    """

    name: str
    node_vars: tuple[StateVar, ...]
    edge_vars: tuple[StateVar, ...]
    stages: tuple[Stage, ...]
    output_var: str = "x"
    params: type = NoParams
    finite_implied: Mapping[str, str | None] = field(default_factory=dict)

    def __post_init__(self):
        names = [v.name for v in self.node_vars]
        edge_names = [v.name for v in self.all_edge_vars]
        for var in (*self.node_vars, *self.edge_vars):
            if not callable(var.init) and (isinstance(var.init, bool)
                                           or not isinstance(var.init, numbers.Real)):
                raise ConfigError(f"rule {self.name!r}: initial value of {var.name!r} must "
                                  f"be a number or a function (rng, shape, ctx), got "
                                  f"{var.init!r}")
        channels = [ch.name for stage in self.stages for ch in stage.channels]
        if len(set(channels)) != len(channels):
            raise ConfigError(f"rule {self.name!r}: channel names must be unique, got {channels}")
        forward: set[str] = set()
        all_names = [v.name for v in self.all_node_vars]
        for stage in self.stages:
            forward |= {ch.name for ch in stage.channels if ch.direction == "forward"}
            unknown = sorted(set(stage.reads or ()) - set(all_names))
            if unknown:
                raise ConfigError(f"rule {self.name!r}: a stage reads unknown node "
                                  f"variable(s) {unknown}; node variables are {all_names}")
            for name, (post, chan) in stage.hebb.items():
                if chan not in forward or post not in names:
                    raise ConfigError(
                        f"rule {self.name!r}: hebb {name!r} needs a node variable and a "
                        f"forward channel of this or an earlier stage, got ({post!r}, {chan!r})"
                    )
            for ch in stage.channels:
                if ch.source not in names:
                    raise ConfigError(
                        f"rule {self.name!r}: channel {ch.name!r} sends unknown variable "
                        f"{ch.source!r}; node variables are {names}"
                    )
                if ch.direction not in ("forward", "backward"):
                    raise ConfigError(
                        f"rule {self.name!r}: channel {ch.name!r} has direction "
                        f"{ch.direction!r}; use 'forward' or 'backward'"
                    )
                if ch.weight not in edge_names:
                    raise ConfigError(
                        f"rule {self.name!r}: channel {ch.name!r} is weighted by unknown "
                        f"edge variable {ch.weight!r}; edge variables are {edge_names}"
                    )
        if self.output_var not in names:
            raise ConfigError(f"rule {self.name!r}: output_var {self.output_var!r} undeclared")
        every = {v.name for v in self.all_node_vars} | set(edge_names)
        for var, witness in self.finite_implied.items():
            if var not in every or (witness is not None and witness not in every):
                raise ConfigError(f"rule {self.name!r}: finite_implied entry {var!r} -> "
                                  f"{witness!r} names an undeclared variable")

    @property
    def all_node_vars(self) -> tuple[StateVar, ...]:
        """Declared node variables plus the built-in ``bias``."""
        return (*self.node_vars, StateVar("bias", 0.0, batched=False, doc="b"))

    @property
    def all_edge_vars(self) -> tuple[StateVar, ...]:
        """Declared edge variables plus the built-in ``weight``."""
        return (StateVar("weight", 0.0, batched=False, doc="w"), *self.edge_vars)

    @property
    def delayed_sources(self) -> dict[str, str]:
        """Variables that need a delay buffer: ``{var: direction}``."""
        out: dict[str, str] = {}
        for stage in self.stages:
            for ch in stage.channels:
                if ch.delayed:
                    out[ch.source] = ch.direction
        return out

    def make_params(self, params: Any = None, **overrides) -> Any:
        """Build this rule's parameter object, rejecting unknown keys.

        Args:
            params: an instance of ``self.params``, a mapping of its fields, or None.
            **overrides: field values that replace those of ``params``.

        Raises:
            ConfigError: naming an unknown parameter key.
        """
        if isinstance(params, self.params):
            base = {f.name: getattr(params, f.name) for f in fields(self.params)}
        else:
            base = dict(params or {})
        base.update(overrides)
        known = {f.name for f in fields(self.params)}
        for key in base:
            if key not in known:
                raise ConfigError(
                    f"unknown parameter {key!r} for rule {self.name!r}; "
                    f"known parameters: {sorted(known) or 'none'}"
                )
        return self.params(**base)
