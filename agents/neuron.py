"""The neuron agent: one :class:`mesa.Agent` per neuron of the agent engine.

A :class:`NeuronAgent` holds only its own state: its node variables (arrays of shape
(1, B) or (1, 1)), the variables of its in-edges (shape (k_in,), weights included — the
postsynaptic neuron owns them), a delay buffer of its own recent values for every
variable sent on a delayed channel, and an inbox. Its wiring is the list of its edges
(neighbour id, delay, and the edge's mail address); it never reads another agent.

Messages go through the model's post office (its ``mailboxes``): one mail slot per edge
and channel. A neuron posts on the slots of its own out-edges (forward channels) or
in-edges (backward channels, each message weighted by the neuron's own in-edge variable
that the channel names, ``Channel.weight``) and reads its inbox, which is a view of the
slots addressed to it: its in-edges for forward channels, its out-edges for backward
ones.

A step runs, for every stage of the rule, ``send`` on all agents and then ``receive`` on
all agents (two-phase synchronous update). In the last stage's ``receive`` each neuron
also pushes its final values into its own delay buffers (nobody reads them before the
next step's first ``send``).

With ``check_finite`` on, each neuron checks the values it has just written (one
reduction per variable) and raises a flag on the model if one is not finite; the model
then names the culprit. The messages a neuron sends and reads are precomputed per stage
at build time (its mail slots, the variable it sends, the delay), so a step does no
look-ups in the rule.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from agents.errors import ConfigError

_total = np.add.reduce


def _finite(value: np.ndarray) -> bool:
    """Whether every entry of ``value`` is finite (one reduction; exact on failure)."""
    if value.size == 1:
        return math.isfinite(value.item())
    return math.isfinite(_total(value, None)) or bool(np.isfinite(value).all())


class NeuronAgent(mesa.Agent):
    """One neuron: its state, its in-edges, its delay buffers and its inbox.

    Args:
        model: the agent engine (a :class:`mesa.Model` offering ``mailboxes``, ``t``,
            ``rule``, ``params``, ``check_finite`` and the flag ``saw_nonfinite``).
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
        buffers: ``{var: (depth, B) array}`` delay buffers (default: filled with the
            variable's current value).
    """

    def __init__(self, model, node, *, role_input, role_output, act, state, in_edges,
                 edge_state, out_edges, inbox, depth, dtype, buffers=None):
        super().__init__(model)
        self.node = node
        self.act = act
        self.is_input = np.array([[role_input]])
        self._clamped = bool(role_input)
        self.is_output = np.array([[role_output]])
        self.outputs = slice(0, int(bool(role_output)))  # its rows that are outputs
        self.state = state
        self.in_edges = in_edges
        self.edge_state = edge_state
        self.out_edges = out_edges
        for edges in (in_edges, out_edges):  # a single common delay is kept as an int
            d = edges["delay"]
            if not isinstance(d, int | np.integer) and len(d) and d.min() == d.max():
                edges["delay"] = int(d[0])
        self.inbox = inbox
        self.depth = depth
        width = state[model.rule.output_var].shape[1]
        self.target = np.zeros((1, width), dtype=dtype)
        self.has_target = np.zeros((1, 1), dtype=bool)
        self.buffers = {
            name: np.repeat(state[name], depth, axis=0) for name in model.rule.delayed_sources
        } if buffers is None else buffers
        self._plan(model.rule)

    def _plan(self, rule) -> None:
        """Precompute, per stage, what this neuron sends and reads (own edges only)."""
        self._stages = rule.stages
        self._last_stage = len(rule.stages) - 1
        self._sends, self._reads = [], []
        mail = self.model.mailboxes
        for stage in rule.stages:
            sends, reads = [], []
            for ch in stage.channels:
                forward = ch.direction == "forward"
                e = self.out_edges if forward else self.in_edges
                if len(e["mail"]):
                    box = mail[ch.name]
                    # one value per slot (no batch axis): a flat put is 5× faster than
                    # fancy assignment
                    put = box.put if box.shape[1] == 1 else box.__setitem__
                    sends.append((put, forward, e["mail"], ch.source, ch.delayed,
                                  e["delay"], ch.weight))
                msgs = self.inbox[ch.name]
                # Σ over the inbox rows as a dot product (a ones vector for backward mail)
                ones = None if forward else np.ones(len(msgs), dtype=msgs.dtype)
                reads.append((ch.name, forward, msgs, ones, ch.weight))
            self._sends.append(sends)
            self._reads.append(reads)
        self._hebbs = [tuple((name, self.inbox[chan], post)
                             for name, (post, chan) in stage.hebb.items())
                       for stage in rule.stages]

    @property
    def t(self) -> int:
        """The current step number (the model's clock)."""
        return self.model.t

    @property
    def batch(self) -> int:
        """B, the number of examples processed in parallel."""
        return self.model.n_batch

    @staticmethod
    def out(name: str, like: np.ndarray) -> np.ndarray:
        """A new array shaped like ``like`` for an update to write into (rule interface)."""
        return np.empty_like(like)

    # ----------------------------------------------------------------- phase 1
    def send(self, stage_index: int) -> None:
        """Post this stage's messages on the neuron's own edges (its mail slots)."""
        t = self.model.t
        for put, forward, slots, source, delayed, delay, weight in self._sends[stage_index]:
            if not delayed:
                values = self.state[source]
            else:  # at t − d: one buffer row for a common delay, else one row per edge
                values = self.buffers[source][(t - delay) % self.depth]
            if forward:
                put(slots, values)
            else:
                # weighted by the sender, which owns its in-edges
                put(slots, self.edge_state[weight][:, None] * values)

    # ----------------------------------------------------------------- phase 2
    def receive(self, stage_index: int) -> None:
        """Update own state from own state and inbox (then own in-edges).

        In the last stage, push the step's values into the own delay buffers.
        """
        if self._clamped:  # input neurons are clamped: no node update (and no in-edges)
            if stage_index == self._last_stage and self.buffers:
                self.end_step()
            return
        model = self.model
        stage = self._stages[stage_index]
        edge_state = self.edge_state
        inbox = {}
        for name, forward, msgs, ones, weight in self._reads[stage_index]:
            # forward: weighted by the receiver's own in-edges; backward: a plain sum
            inbox[name] = (edge_state[weight] if forward else ones).dot(msgs)[None]
        state = self.state
        new = stage.node_update(state, inbox, self, model.params)
        check = model.check_finite
        for name, value in new.items():
            try:
                old = state[name]
            except KeyError:
                raise ConfigError(f"rule {model.rule.name!r} updated undeclared node "
                                  f"variable {name!r}") from None
            if value.__class__ is not np.ndarray or value.dtype != old.dtype:
                value = np.asarray(value, dtype=old.dtype)
            if value.shape != old.shape:
                value = np.broadcast_to(value, old.shape).copy()
            state[name] = value
            if check and not _finite(value):
                model.saw_nonfinite = True
        if stage.edge_update is not None:
            hebb = {name: msgs.dot(state[post][0])
                    for name, msgs, post in self._hebbs[stage_index]}
            new_edges = stage.edge_update(self.edge_state, hebb, self, model.params)
            for name, value in new_edges.items():
                if name not in self.edge_state:
                    raise ConfigError(f"rule {model.rule.name!r} updated undeclared edge "
                                      f"variable {name!r}")
                value = np.asarray(value, dtype=self.edge_state[name].dtype)
                self.edge_state[name] = value
                if check and not _finite(value):
                    model.saw_nonfinite = True
        if stage_index == self._last_stage and self.buffers:
            self.end_step()

    def end_step(self) -> None:
        """Push this step's values into the delay buffers (done by the last ``receive``)."""
        row = self.model.t % self.depth
        state = self.state
        for name, buf in self.buffers.items():
            buf[row] = state[name][0]

    def clamp(self, u_row: np.ndarray) -> None:
        """External input at the start of a step: an input neuron's value u, shape (B,)."""
        self.state[self.model.rule.output_var] = u_row[None, :].copy()

    def set_target(self, y_row: np.ndarray | None, present: bool) -> None:
        """External target of an output neuron at the start of a step, shape (B,)."""
        if y_row is not None:
            self.target = y_row[None, :].copy()
        self.has_target = np.array([[present]])
