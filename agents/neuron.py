"""The neuron agent: one :class:`mesa.Agent` per neuron of the agent engine.

A :class:`NeuronAgent` holds only its own state: its node variables (arrays of shape
(1, B) or (1, 1)), the variables of its in-edges (shape (k_in,), weights included — the
postsynaptic neuron owns them), a delay buffer of its own recent values for every
variable sent on a delayed channel, and an inbox. Its wiring is a routing table of
(neighbour id, slot, delay) per edge; it never reads another agent. Messages are posted
through the model's :meth:`deliver`, which writes into the addressee's inbox slot.

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
        model: the agent engine (a :class:`mesa.Model` offering ``deliver``, ``t``,
            ``rule``, ``params``).
        node: the node id.
        role_input, role_output: the neuron's roles.
        act: its activation (``f``, ``df``).
        state: ``{var: (1, B) or (1, 1) array}``.
        in_edges: ``{"source": ids (k_in,), "delay": (k_in,), "slot": (k_in,)}`` — slot =
            position of the edge among the source's out-edges (for backward messages).
        edge_state: ``{var: (k_in,) array}``.
        out_edges: ``{"target": ids (k_out,), "delay": (k_out,), "slot": (k_out,)}`` —
            slot = position of the edge among the target's in-edges.
        depth: delay-buffer length (max delay of the neuron's edges).
    """

    def __init__(self, model, node, *, role_input, role_output, act, state, in_edges,
                 edge_state, out_edges, depth, dtype):
        super().__init__(model)
        self.node = node
        self.act = act
        self.is_input = np.array([[role_input]])
        self.is_output = np.array([[role_output]])
        self.state = state
        self.in_edges = in_edges
        self.edge_state = edge_state
        self.out_edges = out_edges
        self.depth = depth
        width = state[model.rule.output_var].shape[1]
        self.target = np.zeros((1, width), dtype=dtype)
        self.has_target = np.zeros((1, 1), dtype=bool)
        self.buffers = {
            name: np.repeat(state[name], depth, axis=0) for name in model.rule.delayed_sources
        }
        k_in, k_out = len(in_edges["source"]), len(out_edges["target"])
        self.inbox: dict[str, np.ndarray] = {}
        for stage in model.rule.stages:
            for ch in stage.channels:
                rows = k_in if ch.direction == "forward" else k_out
                cols = state[ch.source].shape[1]
                self.inbox[ch.name] = np.zeros((rows, cols), dtype=dtype)

    @property
    def t(self) -> int:
        """The current step number (the model's clock)."""
        return self.model.t

    @property
    def batch(self) -> int:
        """B, the number of examples processed in parallel."""
        return self.model.n_batch

    def _value(self, name: str, delayed: bool, d: int) -> np.ndarray:
        """Own value of ``name`` at time t − d (delayed) or now, shape (B,)."""
        if delayed:
            return self.buffers[name][(self.t - d) % self.depth]
        return self.state[name][0]

    # ----------------------------------------------------------------- phase 1
    def send(self, stage_index: int) -> None:
        """Post this stage's messages along the neuron's own edges."""
        deliver = self.model.deliver
        for ch in self.model.rule.stages[stage_index].channels:
            if ch.direction == "forward":
                e = self.out_edges
                for tgt, slot, d in zip(e["target"], e["slot"], e["delay"], strict=True):
                    deliver(tgt, ch.name, slot, self._value(ch.source, ch.delayed, d))
            else:
                e, w = self.in_edges, self.edge_state["weight"]
                edges = zip(e["source"], e["slot"], e["delay"], strict=True)
                for k, (src, slot, d) in enumerate(edges):
                    deliver(src, ch.name, slot, w[k] * self._value(ch.source, ch.delayed, d))

    # ----------------------------------------------------------------- phase 2
    def receive(self, stage_index: int) -> None:
        """Update own state from own state and inbox (then own in-edges)."""
        if self.is_input[0, 0]:
            return  # input neurons are clamped: no node update (and no in-edges)
        rule: Rule = self.model.rule
        stage = rule.stages[stage_index]
        w = self.edge_state["weight"]
        inbox = {}
        for ch in stage.channels:
            msgs = self.inbox[ch.name]
            if ch.direction == "forward":
                inbox[ch.name] = (w @ msgs)[None, :]
            else:
                inbox[ch.name] = msgs.sum(axis=0, keepdims=True)
        new = stage.node_update(self.state, inbox, self, self.model.params)
        for name, value in new.items():
            old = self.state.get(name)
            if old is None:
                raise ConfigError(f"rule {rule.name!r} updated undeclared node variable "
                                  f"{name!r}")
            value = np.asarray(value, dtype=old.dtype)
            self.state[name] = (value if value.shape == old.shape
                                else np.broadcast_to(value, old.shape).copy())
        if stage.edge_update is not None:
            hebb = {name: self.inbox[chan] @ self.state[post][0]
                    for name, (post, chan) in stage.hebb.items()}
            new_edges = stage.edge_update(self.edge_state, hebb, self, self.model.params)
            for name, value in new_edges.items():
                if name not in self.edge_state:
                    raise ConfigError(f"rule {rule.name!r} updated undeclared edge "
                                      f"variable {name!r}")
                self.edge_state[name] = np.asarray(value, dtype=w.dtype)

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
