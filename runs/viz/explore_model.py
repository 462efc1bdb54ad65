"""The explorer's model: the agent engine fed with data, a perturbed twin, live metrics.

:class:`ExplorerModel` is the :class:`mesa.Model` that the explorer page steps, pauses and
resets. Its neurons are the agents of an :class:`~networks.engines.agent.AgentEngine`
(``make_engine("agent", ...)``), held in :attr:`ExplorerModel.engine`; one explorer step
presents the current mini-batch (held for ``hold`` steps) and advances that engine by
one step. Alongside it keeps:

* a **perturbed twin** of the engine (same state, then one neuron perturbed) stepped in
  lockstep: the neurons whose state differs form the locality cone, reported with their
  hop distance from the perturbed neuron;
* a short history of the variables that rules send on their channels, so the page can
  show the message every edge carries (the forward and backward waves);
* a :class:`mesa.DataCollector` of loss and accuracy of the settled prediction and of the
  cosine between the rule's parameter update and the exact gradient
  (:mod:`networks.oracles`).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import mesa
import networkx as nx
import numpy as np

from agents import RULES
from agents.errors import ConfigError, ConvergenceError, LocalpropError
from networks.compile import CompiledNetwork, compile_graph
from networks.engines import make_engine
from networks.oracles import exact_gradient, fixed_point, forward_pass, total_loss
from runs.viz.explore_data import ExploreData

CONE_TOL = 1e-12  # a neuron is in the cone when some own state differs by more than this


@dataclass(frozen=True)
class Cone:
    """The locality cone of a perturbation after ``steps`` steps.

    Attributes:
        node: the perturbed neuron.
        steps: steps since the perturbation.
        rounds: message rounds since then (steps × stages of the rule).
        diff: per neuron, the largest |perturbed − unperturbed| over its own state, (N,).
        hops: per neuron, its undirected graph distance from ``node`` (-1: unreachable).
        reached: neurons whose state differs, bool (N,).
    """

    node: object
    steps: int
    rounds: int
    diff: np.ndarray
    hops: np.ndarray
    reached: np.ndarray

    @property
    def farthest(self) -> int:
        """The largest hop distance among the reached neurons."""
        return int(self.hops[self.reached].max(initial=0))

    def text(self) -> str:
        """One line for the page."""
        return (f"perturbed {self.node!r}: {self.steps} step(s) = {self.rounds} message "
                f"round(s) later, {int(self.reached.sum())} neuron(s) differ, farthest at "
                f"hop {self.farthest} (locality allows ≤ {self.rounds})")


def _hop_distances(net: CompiledNetwork, node) -> np.ndarray:
    dist = nx.single_source_shortest_path_length(net.graph.to_undirected(as_view=True), node)
    return np.array([dist.get(n, -1) for n in net.node_ids])


class ExplorerModel(mesa.Model):
    """The agent engine running one rule on a network, fed a built-in dataset.

    Args:
        data: network and dataset (:class:`~runs.viz.explore_data.ExploreData`).
        rule: a name in :data:`agents.RULES`.
        rule_params: the rule's parameters (a mapping of its params dataclass fields).
        batch: examples processed in parallel (the engine's batch axis).
        hold: steps each mini-batch is held before the next one is presented.
        seed: seed of the data order and of the perturbation noise.
    """

    def __init__(self, data: ExploreData, rule: str = "forward", rule_params=None,
                 batch: int = 8, hold: int = 10, seed: int = 0):
        super().__init__(rng=seed)
        if rule not in RULES:
            raise ConfigError(f"unknown rule {rule!r}; choose one of {sorted(RULES)}")
        for name, value in (("batch", batch), ("hold", hold)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"explorer {name} must be an integer >= 1, got {value!r}")
        #: held while stepping or perturbing, and by the page while it reads the state
        #: (Mesa's play loop steps in a worker thread while the page renders)
        self.lock = threading.RLock()
        self.data, self.rule_name, self.rule = data, rule, RULES[rule]
        self.rule_params = dict(rule_params or {})
        self.batch, self.hold, self.seed = batch, hold, seed
        self.net = compile_graph(data.graph)
        self.engine = self._new_engine()
        self.twin = None
        self.cone: Cone | None = None
        self.error: str | None = None
        self._order = np.random.default_rng(seed).permutation(data.n_examples)
        self._presented = 0
        self._u = self._y = None
        delays = self.net.delay
        self.channels = [ch for stage in self.rule.stages for ch in stage.channels]
        self._history = {ch.source: deque(maxlen=int(delays.max(initial=1)) + 2)
                         for ch in self.channels}
        self._push_history()
        self.loss_name = getattr(self.engine.params, "loss", "squared")
        self.reference = "BP (exact, DAG)" if self.net.is_dag else "Almeida–Pineda"
        self.datacollector = mesa.DataCollector(model_reporters={
            "loss": lambda m: m.metrics[0], "accuracy": lambda m: m.metrics[1],
            "cosine": lambda m: m.metrics[2]})
        self.metrics = (*self._evaluate(), np.nan)
        self.datacollector.collect(self)

    # ----------------------------------------------------------------- engines
    def _new_engine(self):
        return make_engine("agent", self.net, self.rule, self.rule_params, batch=self.batch,
                           rng=self.seed)

    def perturb(self, node, scale: float = 0.5) -> None:
        """Start a cone: copy the engine into a twin and perturb ``node`` in the twin."""
        if node not in self.net.index:
            raise ConfigError(f"no neuron {node!r} in this network")
        with self.lock:
            self._perturb(node, scale)

    def _perturb(self, node, scale: float) -> None:
        twin = self._new_engine()
        copy_engine_state(self.engine, twin)
        twin.perturb_neuron(node, np.random.default_rng([self.seed, self.engine.t]), scale)
        self.twin = twin
        self._cone_start = (node, self.engine.t, _hop_distances(self.net, node))
        self._update_cone()

    def clear_perturbation(self) -> None:
        """Drop the twin and the cone."""
        with self.lock:
            self.twin = self.cone = None

    def _update_cone(self) -> None:
        node, t0, hops = self._cone_start
        diff = neuron_differences(self.engine, self.twin)
        steps = self.engine.t - t0
        self.cone = Cone(node, steps, steps * len(self.rule.stages), diff, hops,
                         diff > CONE_TOL)

    # ----------------------------------------------------------------- stepping
    def _current_batch(self):
        k = (self.engine.t // self.hold) * self.batch
        idx = self._order[np.arange(k, k + self.batch) % len(self._order)]
        return self.data.X[:, idx], self.data.Y[:, idx]

    def step(self) -> None:
        """Present the current mini-batch for one step (engine and twin)."""
        with self.lock:
            self._step()

    def _step(self) -> None:
        if self.error:
            self.running = False
            return
        u, y = self._current_batch()
        w0, b0 = self.engine.state("weight"), self.engine.state("bias")
        try:
            self.engine.advance(u, y)
            if self.twin is not None:
                self.twin.advance(u, y)
                self._update_cone()
        except LocalpropError as err:
            self.error, self.running = str(err), False
            return
        self._u, self._y = u, y
        self._push_history()
        cos = self._cosine(u, y, w0, b0)
        self.metrics = (*self._evaluate(), cos)
        self.datacollector.collect(self)

    # ----------------------------------------------------------------- views
    def _push_history(self) -> None:
        for var, hist in self._history.items():
            value = self.engine.state(var)
            hist.append(value.mean(axis=1) if value.ndim == 2 else value)

    def node_values(self, what: str) -> np.ndarray:
        """Per neuron (N,): a node variable (mean over the batch), ``support`` or ``cone``.

        ``support`` is the fraction of the batch where the reaction ``g`` is non-zero;
        ``cone`` is log10 |perturbed − unperturbed| (NaN outside the cone).
        """
        if what == "support":
            return (self.engine.state("g") != 0).mean(axis=1)
        if what == "cone":
            if self.cone is None:
                return np.full(self.net.n_nodes, np.nan)
            with np.errstate(divide="ignore"):
                return np.where(self.cone.reached, np.log10(self.cone.diff), np.nan)
        value = self.engine.state(what)
        return value.mean(axis=1) if value.ndim == 2 else value

    def edge_values(self, what: str) -> np.ndarray:
        """Per edge (E,): ``weight``, or the message a channel carries this step.

        ``"<channel>"`` is the value on each edge delivered this step (mean over the
        batch): the sender's variable ``d`` steps ago on a delayed channel (``d`` the
        edge delay), at the start of the step otherwise. ``"<channel> change"`` is its
        change since the previous step: the wavefront.
        """
        if what == "weight":
            return self.engine.state("weight")
        name, _, change = what.partition(" ")
        ch = next((c for c in self.channels if c.name == name), None)
        if ch is None:
            raise ConfigError(f"rule {self.rule_name!r} has no channel {name!r}")
        now = self._message(ch, 0)
        return np.abs(now - self._message(ch, 1)) if change else now

    def _message(self, ch, back: int) -> np.ndarray:
        hist = list(self._history[ch.source])
        lag = self.net.delay if ch.delayed else np.ones(self.net.n_edges, dtype=int)
        lag = lag + back
        sender = self.net.src if ch.direction == "forward" else self.net.tgt
        out = np.zeros(self.net.n_edges)
        for d in np.unique(lag):
            sel = lag == d
            if d < len(hist):
                out[sel] = hist[-1 - d][sender[sel]]
        return out

    # ----------------------------------------------------------------- metrics
    def _evaluate(self) -> tuple[float, float]:
        """Loss per example and accuracy of the settled prediction on all examples."""
        w, b = self.engine.state("weight"), self.engine.state("bias")
        X = self.data.X
        try:
            if self.net.is_dag:
                _, x = forward_pass(self.net, X, w, b)
            else:
                _, x = fixed_point(self.net, X, w, b, tol=1e-10, max_iter=2000)
        except (ConvergenceError, FloatingPointError):
            return np.nan, np.nan
        loss = total_loss(self.net, x, self.data.Y, self.loss_name) / X.shape[1]
        return loss, self.data.accuracy(x[self.net.output_idx])

    def _cosine(self, u, y, w0, b0) -> float:
        """cos(−Δθ, ∇E) of this step's update of (w, b) and the exact gradient at θ0."""
        dw = self.engine.state("weight") - w0
        db = self.engine.state("bias") - b0
        update = -np.concatenate([dw, db[~self.net.is_input]])
        if not np.any(update):
            return np.nan
        try:
            g = exact_gradient(self.net, u, y, self.loss_name, w0, b0, max_iter=2000)
        except (ConvergenceError, FloatingPointError):
            self.reference = "no exact reference (no fixed point)"
            return np.nan
        grad = np.concatenate([g.dw, g.db[~self.net.is_input]])
        norm = np.linalg.norm(update) * np.linalg.norm(grad)
        return float(update @ grad / norm) if norm > 0 else np.nan


def copy_engine_state(src, dst) -> None:
    """Make agent engine ``dst`` an exact copy of ``src`` (same network and rule).

    Copies what :meth:`~networks.engines.base.EngineBase.perturb_neuron` perturbs — every
    neuron's node variables, delay buffers and in-edge variables — and the clock.
    """
    for node in src.net.node_ids:
        a, b = src.agent(node), dst.agent(node)
        for name, value in a.state.items():
            b.state[name] = value.copy()
        for name, value in a.buffers.items():
            b.buffers[name][...] = value
        for name, value in a.edge_state.items():
            b.edge_state[name] = value.copy()
    dst.t = src.t


def neuron_differences(a, b) -> np.ndarray:
    """Per neuron, max |a − b| over its node variables and in-edge variables, shape (N,)."""
    net = a.net
    out = np.zeros(net.n_nodes)
    for name in a.node_var_names:
        d = np.abs(a.state(name) - b.state(name))
        out = np.maximum(out, d.reshape(net.n_nodes, -1).max(axis=1))
    for name in a.edge_var_names:
        np.maximum.at(out, net.tgt, np.abs(a.state(name) - b.state(name)))
    return out
