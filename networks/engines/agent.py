"""The agent engine: a :class:`mesa.Model` whose agents are the neurons (reference semantics).

Each step, for every stage of the rule: ``agents.do("send", k)`` — every neuron posts
messages along its own edges — then ``agents.do("receive", k)`` — every neuron updates
from its own state and inbox; finally ``agents.do("end_step")`` pushes delay buffers.
Messages are routed by :meth:`AgentEngine.post` along graph edges only; there is no
Mesa event per message (delays live in the neurons' buffers).
"""

from __future__ import annotations

import mesa
import numpy as np

from agents.activations import get_activation
from agents.neuron import NeuronAgent
from agents.rule import Rule
from networks.engines.base import EngineBase


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
        net, width = self.net, self.n_batch
        self._u: dict = {}
        self._by_node: dict = {}
        self._input_pos = {net.node_ids[k]: r for r, k in enumerate(net.input_idx)}
        self._output_pos = {net.node_ids[k]: r for r, k in enumerate(net.output_idx)}
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
        for i, node in enumerate(net.node_ids):
            ins = np.arange(net.in_ptr[i], net.in_ptr[i + 1])
            outs = net.out_edges[net.out_ptr[i]:net.out_ptr[i + 1]]
            state = {v.name: initial[v.name][i:i + 1].copy() for v in rule.all_node_vars}
            edge_state = {v.name: initial[v.name][ins].copy() for v in rule.all_edge_vars}
            inbox = {}
            for stage in rule.stages:
                for ch in stage.channels:
                    lo, hi = ((net.in_ptr[i], net.in_ptr[i + 1]) if ch.direction == "forward"
                              else (net.out_ptr[i], net.out_ptr[i + 1]))
                    inbox[ch.name] = self._mail[ch.name][lo:hi]  # a view: its own slots
            delays = np.concatenate([net.delay[ins], net.delay[outs]])
            agent = NeuronAgent(
                self, node,
                role_input=bool(net.is_input[i]), role_output=bool(net.is_output[i]),
                act=get_activation(net.activation[i]), state=state,
                in_edges={"source": [net.node_ids[j] for j in net.src[ins]],
                          "delay": net.delay[ins], "mail": out_pos[ins]},
                edge_state=edge_state,
                out_edges={"target": [net.node_ids[k] for k in net.tgt[outs]],
                           "delay": net.delay[outs], "mail": outs},
                inbox=inbox, depth=int(delays.max()) if len(delays) else 1, dtype=self.dtype,
            )
            self._by_node[node] = agent

    # ----------------------------------------------------------------- routing
    def post(self, channel: str, slots: np.ndarray, values: np.ndarray) -> None:
        """Deliver a neuron's messages: write ``values`` (k, B) into mail ``slots`` (k,)."""
        self._mail[channel][slots] = values

    # ----------------------------------------------------------------- stepping
    def step(self) -> None:
        """Mesa's step: every stage as send/receive rounds.

        Call :meth:`advance`, which sets the inputs first.
        """
        for k in range(len(self.rule.stages)):
            self.agents.do("send", k)
            self.agents.do("receive", k)
        self.agents.do("end_step")

    def _step_arrays(self, u, y, y_mask) -> None:
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
        for i, n in enumerate(self.net.node_ids):
            self._by_node[n].state[name] = value[i:i + 1].copy()

    def _get_edge(self, name):
        parts = [self._by_node[n].edge_state[name] for n in self.net.node_ids]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=self.dtype)

    def _set_edge(self, name, value):
        for i, n in enumerate(self.net.node_ids):
            self._by_node[n].edge_state[name] = value[self.net.in_ptr[i]:
                                                      self.net.in_ptr[i + 1]].copy()

    def _perturb(self, i, noise):
        agent = self._by_node[self.net.node_ids[i]]
        for group in (agent.state, agent.buffers, agent.edge_state):
            for arr in group.values():
                arr += noise(arr.shape)

    def _check_finite(self) -> None:
        # each neuron checks its own arrays (no canonical copies on the hot path); the
        # base class builds the message naming step, neuron/edge and variable
        for agent in self._by_node.values():
            for group in (agent.state, agent.edge_state):
                for value in group.values():
                    if not np.isfinite(value).all():
                        return super()._check_finite()
        return None

    def fill_history(self, name: str | None = None) -> None:
        """Set the delay buffers of ``name`` (default: all) to the variable's current value."""
        for agent in self._by_node.values():
            for var, buf in agent.buffers.items():
                if name is None or var == name:
                    buf[:] = agent.state[var][0]
