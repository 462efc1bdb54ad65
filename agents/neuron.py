"""The neuron agent: one :class:`mesa.Agent` per neuron of the agent engine.

A :class:`NeuronAgent` holds only its own state: its node variables (arrays of shape
(1, B) or (1, 1)), the variables of its in-edges (shape (k_in,), weights included — the
postsynaptic neuron owns them), a delay buffer of its own recent values for every
variable sent on a delayed channel, and an inbox. Its wiring is the list of its edges
(neighbour id, delay, and the edge's mail address); it never reads another agent.

Messages go through the model's post office (:meth:`AgentEngine.post`): one mail slot
per edge and channel. A neuron posts on the slots of its own out-edges (forward
channels) or in-edges (backward channels, each message weighted by the neuron's own
in-edge variable that the channel names, ``Channel.weight``) and reads its inbox, which
is a view of the slots addressed to it: its in-edges for forward channels, its out-edges
for backward ones.

A step runs, for every stage of the rule, ``send`` on all agents and then ``receive`` on
all agents (two-phase synchronous update), then ``end_step`` (push delay buffers).
"""

from __future__ import annotations

import mesa
import numpy as np

from agents.errors import ConfigError
from agents.rule import Rule


class NeuronAgent(mesa.Agent):
    """One neuron: its state, its in-edges, its delay buffers and its inbox.

    Args:
        model: the agent engine (a :class:`mesa.Model` offering ``post``, ``t``,
            ``rule``, ``params``).
        node: the node id.
        role_input, role_output: the neuron's roles.
        act: its activation (``f``, ``df``).
        state: ``{var: (1, B) or (1, 1) array}``.
        in_edges: ``{"source": ids (k_in,), "delay": (k_in,) or one int, "mail": (k_in,)}``:
            mail slots of its in-edges for backward channels.
        edge_state: ``{var: (k_in,) array}``.
        out_edges: ``{"target": ids (k_out,), "delay": (k_out,) or int, "mail": (k_out,)}``:
            the mail slots of its out-edges for forward channels.
        inbox: ``{channel: (k, B) view}`` of the mail addressed to it.
        depth: delay-buffer length (max delay of the neuron's edges).
        dtype: float dtype of its state.
    """

    def __init__(self, model, node, *, role_input, role_output, act, state, in_edges,
                 edge_state, out_edges, inbox, depth, dtype):
        super().__init__(model)
        self.node = node
        self.act = act
        self.is_input = np.array([[role_input]])
        self._clamped = bool(role_input)
        self.is_output = np.array([[role_output]])
        self.state = state
        self.in_edges = in_edges
        self.edge_state = edge_state
        self.out_edges = out_edges
        for edges in (in_edges, out_edges):  # a single common delay is kept as an int
            d = np.unique(edges["delay"])
            if len(d) == 1:
                edges["delay"] = int(d[0])
        self.inbox = inbox
        self.depth = depth
        width = state[model.rule.output_var].shape[1]
        self.target = np.zeros((1, width), dtype=dtype)
        self.has_target = np.zeros((1, 1), dtype=bool)
        self.buffers = {
            name: np.repeat(state[name], depth, axis=0) for name in model.rule.delayed_sources
        }

    @property
    def t(self) -> int:
        """The current step number (the model's clock)."""
        return self.model.t

    @property
    def batch(self) -> int:
        """B, the number of examples processed in parallel."""
        return self.model.n_batch

    def _values(self, name: str, delayed: bool, delays: np.ndarray) -> np.ndarray:
        """Own values of ``name`` sent on edges with the given delays.

        At t − d for a delayed channel, shape (k, B) — or (B,) when ``delays`` is one int —
        else the current value, shape (1, B), broadcast to every edge.
        """
        if not delayed:
            return self.state[name]
        # an int delay (all edges alike) reads one row, broadcast to every edge
        return self.buffers[name][(self.model.t - delays) % self.depth]

    # ----------------------------------------------------------------- phase 1
    def send(self, stage_index: int) -> None:
        """Post this stage's messages on the neuron's own edges."""
        post = self.model.post
        for ch in self.model.rule.stages[stage_index].channels:
            if ch.direction == "forward":
                e = self.out_edges
                if len(e["mail"]):
                    post(ch.name, e["mail"], self._values(ch.source, ch.delayed, e["delay"]))
            else:
                e = self.in_edges
                if len(e["mail"]):  # weighted by the sender, which owns its in-edges
                    w = self.edge_state[ch.weight][:, None]
                    post(ch.name, e["mail"], w * self._values(ch.source, ch.delayed, e["delay"]))

    # ----------------------------------------------------------------- phase 2
    def receive(self, stage_index: int) -> None:
        """Update own state from own state and inbox (then own in-edges)."""
        if self._clamped:
            return  # input neurons are clamped: no node update (and no in-edges)
        rule: Rule = self.model.rule
        stage = rule.stages[stage_index]
        inbox = {}
        for ch in stage.channels:
            msgs = self.inbox[ch.name]
            if ch.direction == "forward":  # weighted by the receiver's own in-edges
                inbox[ch.name] = (self.edge_state[ch.weight] @ msgs)[None, :]
            else:
                inbox[ch.name] = msgs.sum(axis=0, keepdims=True)
        new = stage.node_update(self.state, inbox, self, self.model.params)
        state = self.state
        for name, value in new.items():
            old = state.get(name)
            if old is None:
                raise ConfigError(f"rule {rule.name!r} updated undeclared node variable "
                                  f"{name!r}")
            if type(value) is not np.ndarray or value.dtype != old.dtype:
                value = np.asarray(value, dtype=old.dtype)
            state[name] = (value if value.shape == old.shape
                           else np.broadcast_to(value, old.shape).copy())
        if stage.edge_update is not None:
            hebb = {name: self.inbox[chan] @ self.state[post][0]
                    for name, (post, chan) in stage.hebb.items()}
            new_edges = stage.edge_update(self.edge_state, hebb, self, self.model.params)
            for name, value in new_edges.items():
                if name not in self.edge_state:
                    raise ConfigError(f"rule {rule.name!r} updated undeclared edge "
                                      f"variable {name!r}")
                self.edge_state[name] = np.asarray(value, dtype=self.edge_state[name].dtype)

    def end_step(self) -> None:
        """Push this step's values into the delay buffers."""
        for name, buf in self.buffers.items():
            buf[self.t % self.depth] = self.state[name][0]

    def clamp(self, u_row: np.ndarray) -> None:
        """External input at the start of a step: an input neuron's value u, shape (B,)."""
        self.state[self.model.rule.output_var] = u_row[None, :].copy()

    def set_target(self, y_row: np.ndarray | None, present: bool) -> None:
        """External target of an output neuron at the start of a step, shape (B,)."""
        if y_row is not None:
            self.target = y_row[None, :].copy()
        self.has_target = np.array([[present]])
