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

import mesa
import numpy as np

from agents import RULES
from agents.diffusion import output_latency
from agents.errors import ConfigError, ConvergenceError, GraphError, LocalpropError
from networks.compile import compile_graph
from networks.engines import make_engine
from networks.oracles import fixed_point, forward_pass, settled_bptt_gradient, total_loss
from runs.viz.explore_cone import (
    CONE_TOL,
    Cone,
    copy_engine_state,
    hop_distances,
    neuron_differences,
)
from runs.viz.explore_data import ExploreData


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
        #: the :class:`~networks.engines.agent.AgentEngine` the explorer steps
        self.engine = self._new_engine()
        self.twin = None
        self.cone: Cone | None = None
        self.error: str | None = None
        self._order = np.random.default_rng(seed).permutation(data.n_examples)
        # with delayed messages output o sees the target of τ_o steps ago (its forward
        # latency, as in agents.diffusion.Presenter); undelayed rules see it at once
        delayed = any(ch.delayed for st in self.rule.stages for ch in st.channels)
        self.latency = np.zeros(len(self.net.output_idx), dtype=int)
        if delayed:
            try:
                self.latency = output_latency(self.net, warn=False)
            except GraphError:  # an output no input reaches: targets shown at once
                pass
        self._targets: deque = deque(maxlen=int(self.latency.max(initial=0)) + 1)
        self._u = self._y = None
        delays = self.net.delay
        self.channels = [ch for stage in self.rule.stages for ch in stage.channels]
        self._history = {ch.source: deque(maxlen=int(delays.max(initial=1)) + 2)
                         for ch in self.channels}
        self._push_history()
        self.loss_name = getattr(self.engine.params, "loss", "squared")
        self.reference = self._reference(settled=True)
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
        self._cone_start = (node, self.engine.t, hop_distances(self.net, node))
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
        y_seen, mask = self._lagged_target(y)
        w0, b0 = self.engine.state("weight"), self.engine.state("bias")
        try:
            self.engine.advance(u, y_seen, mask)
            if self.twin is not None:
                self.twin.advance(u, y_seen, mask)
                self._update_cone()
        except LocalpropError as err:
            self.error, self.running = str(err), False
            return
        self._u, self._y = u, y
        self._push_history()
        cos = self._cosine(u, y, w0, b0)
        self.metrics = (*self._evaluate(), cos)
        self.datacollector.collect(self)

    def _lagged_target(self, y):
        """Target seen by each output: that of τ_o steps ago (absent before the start)."""
        self._targets.append(y)
        seen, mask = np.zeros_like(y), np.zeros(len(self.latency), dtype=bool)
        for r, tau in enumerate(self.latency):
            if len(self._targets) > tau:
                seen[r], mask[r] = self._targets[-1 - tau][r], True
        return seen, mask

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
            return np.nan, np.nan  # no settled prediction (the cosine still has BPTT)
        loss = total_loss(self.net, x, self.data.Y, self.loss_name) / X.shape[1]
        return loss, self.data.accuracy(x[self.net.output_idx])

    def _reference(self, settled: bool) -> str:
        """What the cosine is measured against (shown on the page)."""
        if self.net.is_dag:
            return "BP (exact, DAG)"
        return ("BPTT of the settled forward pass" if settled else
                "BPTT over 2000 steps (no fixed point)")

    def _cosine(self, u, y, w0, b0) -> float:
        """cos(−Δθ, ∇E) of this step's update of (w, b) and the exact gradient at θ0.

        ∇E is BPTT of the forward pass, the batch held from rest until the network
        settles (:func:`networks.oracles.settled_bptt_gradient`): BP on a DAG,
        Almeida–Pineda at a stable fixed point, and over 2000 steps when there is none.
        """
        dw = self.engine.state("weight") - w0
        db = self.engine.state("bias") - b0
        update = -np.concatenate([dw, db[~self.net.is_input]])
        if not np.any(update):
            return np.nan
        g = settled_bptt_gradient(self.net, u, y, self.loss_name, w0, b0, max_steps=2000)
        self.reference = self._reference(g.settled)
        grad = np.concatenate([g.dw, g.db[~self.net.is_input]])
        norm = np.linalg.norm(update) * np.linalg.norm(grad)
        return float(update @ grad / norm) if norm > 0 else np.nan
