"""Rule 2: backprop diffusion on time-delayed neurons (docs/math/diffusion.md).

One stage per step, two delayed channels: the forward wave of outputs ``x`` and the
backward wave of error signals ``δ``, both travelling one edge per ``d`` steps::

    a_i(t) = Σ_j w_ij x_j(t − d_ij) + b_i          x_i(t) = σ(a_i(t))   (inputs: x = u)
    e_i(t) = [i ∈ O, target present] ∂V(x_i(t), y_i)/∂x_i
    δ_i(t) = σ'(a_i(t)) (e_i(t) + Σ_h w_hi δ_h(t − d_hi))                  (inputs: δ = 0)
    w_ij  ← w_ij − η · dw_ij(t) / B,   dw_ij(t) = Σ_κ δ_iκ(t) x_jκ(t − d_ij)
    b_i   ← b_i − η · Σ_κ δ_iκ(t) / B

``B`` is the batch size when ``average=True`` (default; the step size does not depend on
the batch) and 1 otherwise. ``dw`` is summed over the batch like the oracles' gradients.
The target ``y_i`` seen by output i at step t is whatever the engine is given; the
:class:`Presenter` gives output o the target of step ``t − τ_o``, τ_o the output's
forward latency (:func:`output_latency`), and no target while ``t − τ_o < 1``.

Measurement without learning: with ``eta = 0`` the weights stay frozen and every synapse
accumulates its own update in ``dw_sum`` (``Σ_t dw(t)``), every neuron ``db_sum``
(``Σ_t Σ_κ δ(t)``). Reset them with ``engine.set_state("dw_sum", 0.0)``.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections import deque
from dataclasses import dataclass
from typing import ClassVar

import networkx as nx
import numpy as np

from agents.errors import ConfigError, GraphError, LocalpropWarning
from agents.losses import LOSSES, set_loss_grad
from agents.rule import Channel, Rule, Stage, StateVar, apply_linear, batch_sum


@dataclass(frozen=True)
class DiffusionParams:
    """Parameters of backprop diffusion.

    Attributes:
        eta: learning rate η >= 0 (0 freezes the weights: measurement mode).
        loss: per-output loss V, ``"squared"`` or ``"bce"`` (:mod:`agents.losses`).
        average: divide the batch-summed update by the batch size B.
    """

    eta: float = 0.0
    loss: str = "squared"
    average: bool = True

    #: the rule named in error messages (subclasses for other rules override it)
    rule_label: ClassVar[str] = "diffusion"

    def __post_init__(self):
        if isinstance(self.eta, bool | np.bool_) or not isinstance(self.eta, numbers.Real) \
                or not (math.isfinite(self.eta) and self.eta >= 0):
            raise ConfigError(f"{self.rule_label} parameter 'eta' must be a finite number "
                              f">= 0, got {self.eta!r}")
        if self.loss not in LOSSES:
            raise ConfigError(f"{self.rule_label} parameter 'loss' must be one of "
                              f"{sorted(LOSSES)}, got {self.loss!r}")
        if not isinstance(self.average, bool | np.bool_):
            raise ConfigError(f"{self.rule_label} parameter 'average' must be a bool, "
                              f"got {self.average!r}")


def diffusion_node_update(state, inbox, nrn, p):
    """Forward value, output error and backward signal of neuron(s); shapes (n, B).

    ``inbox["net"] = Σ_j w_ij x_j(t − d_ij)``, ``inbox["back"] = Σ_h w_hi δ_h(t − d_hi)``
    (the update's own arrays: ``back`` is overwritten). Input neurons run no update.
    """
    net, act = inbox["net"], nrn.act
    a = np.add(net, state["bias"], out=nrn.out("a", net))
    x = act.f(a, out=nrn.out("x", a))
    e = set_loss_grad(nrn.out("e", x), x, nrn, p.loss)
    back = np.add(e, inbox["back"], out=inbox["back"])
    delta = act.df(a, x, out=nrn.out("delta", x))
    delta *= back
    db_sum = state["db_sum"]
    # Σ_κ δ (one example: δ itself)
    db = delta if delta.shape[1] == 1 else batch_sum(delta, 1.0, nrn.out("db", db_sum))
    new = {"a": a, "x": x, "e": e, "delta": delta}
    if p.eta:
        scale = p.eta / nrn.batch if p.average else p.eta
        bias = state["bias"]
        b_new = np.multiply(db, -scale, out=nrn.out("bias", bias))
        new["bias"] = np.add(b_new, bias, out=b_new)
    new["db_sum"] = np.add(db_sum, db, out=nrn.out("db_sum", db_sum))
    return new


def diffusion_edge_linear(p, batch: int) -> dict:
    """The edge update, linear in the product ``dw`` (rule interface ``edge_linear``).

    ``dw`` is the product, ``dw_sum`` accumulates it, ``w ← w − η dw (/B)``.
    """
    linear = {"dw": ("dw", 1.0, 1.0), "dw_sum": ("dw", 1.0, 0.0)}
    if p.eta:
        linear["weight"] = ("dw", -(p.eta / batch if p.average else p.eta), 0.0)
    return linear


def diffusion_edge_update(edge, hebb, nrn, p):
    """``dw = Σ_κ δ_i(t) x_j(t − d_ij)``; accumulate it; ``w ← w − η dw (/B)``; shape (k,)."""
    return apply_linear(edge, hebb, diffusion_edge_linear(p, nrn.batch))


#: Variables an engine need not check for finiteness (``Rule.finite_implied``; IEEE
#: arithmetic propagates NaN/inf through sums and products, 0 · inf is NaN): x = σ(a) is
#: finite for finite a (every σ), so x non-finite ⇒ a non-finite; e ⇒ e + back ⇒ δ =
#: σ'(a) (e + back) (σ' is finite or NaN); δ ⇒ Σ_κ δ ⇒ db_sum; dw ⇒ dw_sum = dw_sum + dw.
FINITE_IMPLIED = {"x": "a", "e": "delta", "delta": "db_sum", "dw": "dw_sum"}


DIFFUSION = Rule(
    name="diffusion",
    node_vars=(
        StateVar("x", 0.0, doc="output x_i(t)"),
        StateVar("a", 0.0, doc="activation a_i(t)"),
        StateVar("e", 0.0, doc="output error e_i(t) = ∂V/∂x_i (0 off outputs)"),
        StateVar("delta", 0.0, doc="backward signal δ_i(t)"),
        StateVar("db_sum", 0.0, batched=False, doc="Σ_t Σ_κ δ_iκ(t) (bias update)"),
    ),
    edge_vars=(
        StateVar("dw", 0.0, batched=False, doc="Σ_κ δ_i(t) x_j(t − d_ij) this step"),
        StateVar("dw_sum", 0.0, batched=False, doc="Σ_t dw(t) since the last reset"),
    ),
    stages=(
        Stage(
            channels=(Channel("net", "x", "forward", delayed=True),
                      Channel("back", "delta", "backward", delayed=True)),
            node_update=diffusion_node_update,
            edge_update=diffusion_edge_update,
            hebb={"dw": ("delta", "net")},
            edge_linear=diffusion_edge_linear,
        ),
    ),
    params=DiffusionParams,
    finite_implied=FINITE_IMPLIED,
)


def _path_delays(G: nx.DiGraph, inputs) -> tuple[dict, dict]:
    """Shortest and (on a DAG) longest input-to-node path delays, for reachable nodes."""
    short = nx.multi_source_dijkstra_path_length(G, set(inputs), weight="delay")
    long: dict = {}
    if nx.is_directed_acyclic_graph(G):
        for v in nx.topological_sort(G):
            if v in inputs:
                long[v] = 0
                continue
            parents = [long[j] + G.edges[j, v]["delay"] for j in G.predecessors(v) if j in long]
            if parents:
                long[v] = max(parents)
    return short, long


def output_latency(net, latency=None, *, warn: bool = True) -> np.ndarray:
    """Forward latency τ_o of every output: the delay between an input and its effect.

    The default τ_o is the shortest input-to-o path delay (sum of edge delays). On a DAG
    whose paths to an output have different total delays the output mixes inputs of
    several times; a :class:`LocalpropWarning` names it (unless its latency is given).
    On a cyclic graph paths of every length reach an output downstream of a cycle, so
    no warning is given: the latency only matters for inputs that vary slowly.

    Args:
        net: a :class:`~networks.compile.CompiledNetwork`.
        latency: None (default for all outputs), an int (all outputs), a sequence of
            ``n_out`` ints (rows of ``net.output_idx``) or ``{output node id: int}``
            (defaults for the others).
        warn: emit the warning for ambiguous defaults.

    Returns:
        τ, int array of shape (n_out,), in the order of ``net.output_idx``.

    Raises:
        GraphError: if an output is not reachable from any input (and has no latency).
        ConfigError: for a latency that is not an integer >= 0 or names no output.
    """
    outputs = [net.node_ids[k] for k in net.output_idx]
    given: dict = {}
    if isinstance(latency, dict):
        unknown = [o for o in latency if o not in outputs]
        if unknown:
            raise ConfigError(f"latency given for {unknown!r}, which are not outputs; "
                              f"outputs are {outputs!r}")
        given = dict(latency)
    elif latency is not None:
        values = np.broadcast_to(np.asarray(latency, dtype=object), (len(outputs),))
        given = dict(zip(outputs, values.tolist(), strict=True))
    for o, tau in given.items():
        if isinstance(tau, bool) or not isinstance(tau, int | np.integer) or tau < 0:
            raise ConfigError(f"latency of output {o!r} must be an integer >= 0, got {tau!r}")
    short, long = _path_delays(net.graph, [net.node_ids[k] for k in net.input_idx])
    out = np.empty(len(outputs), dtype=np.int64)
    for r, o in enumerate(outputs):
        if o in given:
            out[r] = given[o]
            continue
        if o not in short:
            raise GraphError(f"output {o!r} is not reachable from any input; give its "
                             f"latency explicitly")
        out[r] = short[o]
        if warn and o in long and long[o] != short[o]:
            warnings.warn(f"paths from the inputs to output {o!r} have different delays "
                          f"({short[o]} to {long[o]}); its target is presented with the "
                          f"shortest ({short[o]}); pass latency= to choose another",
                          LocalpropWarning, stacklevel=2)
    return out


class Presenter:
    """Feeds frames to an engine, giving output o the target of τ_o frames earlier.

    Frame s pairs the input of step s with *its own* target; at step s output o sees
    ``y_o(s − τ_o)`` and has no target (``has_target`` false) while ``s − τ_o < 1``.
    The clock is the presenter's: frames before it started count as absent.

    Args:
        engine: an engine running a rule (batched: frames (n, B); ``batch=None``: (n,)).
        latency: τ per output (see :func:`agents.diffusion.output_latency`).
        warn: warn for outputs whose input paths have different delays.
    """

    def __init__(self, engine, latency=None, *, warn: bool = True):
        self.engine = engine
        self.latency = output_latency(engine.net, latency, warn=warn)
        self._history: deque = deque(maxlen=int(self.latency.max(initial=0)) + 1)

    def step(self, u, y) -> None:
        """Advance one step with input ``u`` and the target ``y`` belonging to ``u``."""
        y = np.asarray(y, dtype=np.float64)
        self._history.append(y)
        shifted, mask = np.zeros_like(y), np.zeros(len(self.latency), dtype=bool)
        for r, tau in enumerate(self.latency):
            if len(self._history) > tau:
                shifted[r] = self._history[-1 - tau][r]
                mask[r] = True
        self.engine.advance(u, shifted, mask)

    def run(self, inputs, targets, on_step=None) -> None:
        """Present frames: inputs (S, n_in, B), their targets (S, n_out, B).

        ``on_step(s, engine)`` is called after frame s (1-based) if given.
        """
        for s in range(len(inputs)):
            self.step(inputs[s], targets[s])
            if on_step is not None:
                on_step(s + 1, self.engine)
