"""The agent engine: a :class:`mesa.Model` whose agents are the neurons (reference semantics).

Each step, for every stage of the rule: ``agents.do(NeuronAgent.send, k)`` — every neuron
posts messages along its own edges — then ``agents.do(NeuronAgent.receive, k)`` — every
neuron updates from its own state and inbox (in the last stage it also pushes its delay
buffers).
Messages are routed by :meth:`AgentEngine.post` along graph edges only; there is no
Mesa event per message (delays live in the neurons' buffers).

The engine allocates the memory its neurons own once: the mail, the in-edge variables
(each neuron's are its slices) and the node variables, one (N, total width) array of which
each neuron's variables are its own rows (:mod:`agents.neuron`); the finiteness of all
node variables is checked over that array once per step.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager

import mesa
import numpy as np

from agents.activations import get_activation
from agents.neuron import NeuronAgent, all_finite
from agents.plan import RulePlan
from agents.rule import Rule
from networks.engines.base import EngineBase


@contextmanager
def _gc_paused():
    """Pause Python's cyclic garbage collector while the engine is built.

    Building creates some ten objects per neuron and nothing to collect; at 10^5 neurons
    the collector's passes over them cost twice the build itself.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


class AgentEngine(EngineBase, mesa.Model):
    """Executes a rule with one :class:`NeuronAgent` per neuron (see :class:`EngineBase`).

    Args:
        rng: seed or ``numpy.random.Generator``: the engine's Generator, which is also
            Mesa's model RNG (``self.rng``; Mesa seeds its stdlib ``random`` from it after
            the initial state has been drawn).
    """

    kind = "agent"

    def __init__(self, net, rule: Rule, params=None, *, batch=None, dtype=np.float64,
                 record=(), check_finite=True, rng=0):
        self._setup(net, rule, params, batch, dtype, record, check_finite, rng)
        rule = self.rule  # _setup accepts a rule name too
        initial = self._initial_state()  # random initial values: drawn before Mesa's use
        mesa.Model.__init__(self, rng=self.rng)
        with _gc_paused():
            self._build(initial)

    def _build(self, initial: dict) -> None:
        """The post office and one :class:`NeuronAgent` per neuron."""
        rule, net, width, n = self.rule, self.net, self.n_batch, self.net.n_nodes
        self._u: dict = {}
        self._by_node: dict = {}
        self._input_pos = {net.node_ids[k]: r for r, k in enumerate(net.input_idx)}
        self._output_pos = {net.node_ids[k]: r for r, k in enumerate(net.output_idx)}
        self.saw_nonfinite = False       # raised by a neuron that wrote a non-finite value
        self._check_all = True           # state set from outside: check every neuron
        self._checked_last = self.check_finite
        # post office: one mail slot per edge and channel; forward mail in canonical
        # (target-major) edge order, backward mail in source-major order, so that every
        # neuron's inbox is a contiguous view
        out_pos = np.empty(net.n_edges, dtype=np.intp)
        out_pos[net.out_edges] = np.arange(net.n_edges)
        self._mail: dict[str, np.ndarray] = {}
        for stage in rule.stages:
            for ch in stage.channels:
                var = next(v for v in rule.all_node_vars if v.name == ch.source)
                self._mail[ch.name] = np.zeros(
                    (net.n_edges, width if var.batched else 1), dtype=self.dtype)
        # every neuron's node variables are its own rows of one array allocated once,
        # (N, sum of the variables' widths): a neuron's values sit side by side, and a
        # neuron writes only its own rows (its in-edge arrays are its own slices)
        widths = [(v.name, width if v.batched else 1) for v in rule.all_node_vars]
        self._node_rows = np.empty((n, sum(w for _, w in widths)), dtype=self.dtype)
        rows, col = {}, 0
        for name, w in widths:
            self._node_rows[:, col:col + w] = np.reshape(initial[name], (n, w))
            rows[name] = self._node_rows.reshape(n, 1, -1)[:, :, col:col + w]
            col += w
        edge_rows = {v.name: np.array(initial[v.name]) for v in rule.all_edge_vars}
        del initial
        self.plan = RulePlan(rule, {name: arr[0] for name, arr in rows.items()},
                             {name: arr[:0] for name, arr in edge_rows.items()})
        self.plan.post_office(self._mail)
        depth_of = np.ones(n, dtype=np.intp)   # max delay over each neuron's edges
        np.maximum.at(depth_of, net.tgt, net.delay)
        np.maximum.at(depth_of, net.src, net.delay)
        depth_of = depth_of.tolist()
        in_ptr, out_ptr = net.in_ptr.tolist(), net.out_ptr.tolist()
        is_input, is_output = net.is_input.tolist(), net.is_output.tolist()
        acts = {name: get_activation(name) for name in set(net.activation)}
        for i, node in enumerate(net.node_ids):
            lo, hi, olo, ohi = in_ptr[i], in_ptr[i + 1], out_ptr[i], out_ptr[i + 1]
            outs = net.out_edges[olo:ohi]
            inbox = {}
            for stage in rule.stages:
                for ch in stage.channels:
                    a, b = (lo, hi) if ch.direction == "forward" else (olo, ohi)
                    inbox[ch.name] = self._mail[ch.name][a:b]  # a view: its own slots
            agent = NeuronAgent(
                self, node, role_input=is_input[i], role_output=is_output[i],
                act=acts[net.activation[i]],
                state={name: arr[i] for name, arr in rows.items()},
                edge_state={name: arr[lo:hi] for name, arr in edge_rows.items()},
                in_edges=(net.delay[lo:hi], out_pos[lo:hi]),
                out_edges=(net.delay[outs], outs),
                inbox=inbox, depth=depth_of[i],
            )
            self._by_node[node] = agent

    # ----------------------------------------------------------------- routing
    @property
    def mailboxes(self) -> dict[str, np.ndarray]:
        """Every channel's mail, an (E, B) array per channel; a neuron writes its own slots."""
        return self._mail

    def post(self, channel: str, slots: np.ndarray, values: np.ndarray) -> None:
        """Deliver a neuron's messages: write ``values`` (k, B) into mail ``slots`` (k,)."""
        self._mail[channel][slots] = values

    # ----------------------------------------------------------------- stepping
    def step(self) -> None:
        """Mesa's step: every stage as send/receive rounds.

        Call :meth:`~networks.engines.base.EngineBase.advance`, which sets the inputs first.
        """
        # (the methods themselves rather than their names: Mesa then skips a getattr
        # per agent)
        for k in range(len(self.rule.stages)):
            self.agents.do(NeuronAgent.send, k)
            self.agents.do(NeuronAgent.receive, k)

    def _step_arrays(self, u, y, y_mask) -> None:
        if self.check_finite != self._checked_last:   # steps ran unchecked: check all
            self._check_all, self._checked_last = True, self.check_finite
        self._u = {node: u[r] for node, r in self._input_pos.items()}
        for node, r in self._output_pos.items():
            self._by_node[node].set_target(None if y is None else y[r], bool(y_mask[r]))
        for node, row in self._u.items():
            self._by_node[node].clamp(row)
        self.step()  # Mesa wraps step(): advances model.steps and time

    # ----------------------------------------------------------------- state access
    def agent(self, node) -> NeuronAgent:
        """The agent of neuron ``node``."""
        return self._by_node[node]

    def _get_node(self, name):
        return np.concatenate([self._by_node[n].state[name] for n in self.net.node_ids])

    def _set_node(self, name, value):
        self._check_all = True
        for i, n in enumerate(self.net.node_ids):
            self._by_node[n].state[name] = value[i:i + 1].copy()

    def _get_edge(self, name):
        parts = [self._by_node[n].edge_state[name] for n in self.net.node_ids]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=self.dtype)

    def _set_edge(self, name, value):
        self._check_all = True
        for i, n in enumerate(self.net.node_ids):
            self._by_node[n].edge_state[name] = value[self.net.in_ptr[i]:
                                                      self.net.in_ptr[i + 1]].copy()

    def _perturb(self, i, noise):
        self._check_all = True
        # (the buffers' noise drawn for the longest delay, as the vectorised engine does)
        self._by_node[self.net.node_ids[i]].perturb(noise, self.net.max_delay)

    def _check_finite(self) -> None:
        # the rows of all node variables are checked at once; each neuron checked the
        # edge values it wrote this step and raised saw_nonfinite; every neuron's arrays
        # are checked only then or after state was set from outside. The base class
        # builds the message naming step, neuron/edge and variable.
        rows = self._node_rows
        if not (self.saw_nonfinite or self._check_all or not all_finite(rows)):
            return None
        self.saw_nonfinite = self._check_all = False
        for agent in self._by_node.values():
            for group in (agent.state, agent.edge_state):
                for value in group.values():
                    if not np.isfinite(value).all():
                        return super()._check_finite()
        return None

    def fill_history(self, name: str | None = None) -> None:
        """Set the delay buffers of ``name`` (default: all) to the variable's current value."""
        for agent in self._by_node.values():
            agent.fill_history(name)
