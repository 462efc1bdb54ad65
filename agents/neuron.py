"""The neuron agent: one :class:`mesa.Agent` per neuron of the agent engine.

A :class:`NeuronAgent` holds only its own state: its node variables (arrays of shape
(1, B) or (1, 1)), the variables of its in-edges (shape (k_in,), weights included — the
postsynaptic neuron owns them), a delay buffer of its own recent values for every
variable sent on a delayed channel, and an inbox. Its wiring is the mail addresses of
its own edges and their delays; it never reads another agent.

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

A neuron's node variables are its own rows — (1, B) views — of one array the agent
engine allocates once for all neurons, so that its data sit together and stay put. An
update function returns new arrays (the rule interface); the neuron copies each into
its own row, which casts it to the declared dtype and broadcasts it to the declared
shape, or fails if it does not fit. Its delay buffers are a ring of copies of its past
values, or at delay 1 the rows themselves (:mod:`agents.ring`).

What each stage sends and reads — the variable, the mail, the edge variable weighting
each channel — is resolved once per engine (:class:`~agents.plan.RulePlan`); a neuron
keeps only what is its own: its mail slots (grouped by delay when its edges have several
delays), its inbox views and the (1, k) row of its weights, cached until its in-edge
variables change (:class:`~agents.plan.EdgeVars`). The finiteness of the node variables
is checked by the engine, over the array holding all rows, once per step; with
``check_finite`` on, each neuron checks the edge values it has just written and raises
a flag on the model if one is not finite; the model then names the culprit.

Speed (a step is Python per neuron): a step touches few objects per neuron — its rows
and inbox views in one tuple (a forward send reads its sent row, and a receive its
weight row, from attributes of its own instead), its slots and weight row, a state dict
sharing its key table with every other neuron's, and tables shared by all neurons (what
a stage reads and sends, resolved once; one scratch row per channel for the inbox sums)
— because from 10^4 neurons on every further object a neuron touches is a likely cache
miss. Its objects are made together when the engine is built and are not replaced by a
step (the arrays a rule returns are temporaries, freed within the neuron's ``receive``),
so that a step walks through memory in the order it was laid out.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from agents.errors import ConfigError
from agents.plan import EdgeVars, delay_groups, shared_keys
from agents.ring import DelayRing

_total = np.add.reduce
_isfinite = math.isfinite
_ndarray = np.ndarray


def all_finite(value: np.ndarray) -> bool:
    """Whether every entry of ``value`` is finite (one reduction; exact on failure)."""
    if value.size == 1:
        return _isfinite(value.item())
    return _isfinite(_total(value, None)) or bool(np.isfinite(value).all())


class NeuronAgent(DelayRing, mesa.Agent):
    """One neuron: its state, its in-edges, its delay buffers and its inbox.

    Args:
        model: the agent engine (a :class:`mesa.Model` offering ``mailboxes``, ``t``,
            ``rule``, ``params``, ``n_batch``, ``check_finite``, the flag
            ``saw_nonfinite`` and the shared :class:`~agents.plan.RulePlan` ``plan``).
        node: the node id.
        role_input, role_output: the neuron's roles.
        act: its activation (``f``, ``df``).
        state: ``{var: (1, B) or (1, 1) array}``: the neuron's own rows (views of the
            engine's array of all node variables), written in place by its updates.
        edge_state: ``{var: (k_in,) array}``.
        in_edges: ``(delays (k_in,), mail slots (k_in,))`` of its in-edges: where it posts
            backward channels.
        out_edges: ``(delays (k_out,), mail slots (k_out,))`` of its out-edges: where it
            posts forward channels.
        inbox: ``{channel: (k, B) view}`` of the mail addressed to it.
        depth: delay-buffer length (max delay of the neuron's edges, >= 1).
    """

    def __init__(self, model, node, *, role_input, role_output, act, state, edge_state,
                 in_edges, out_edges, inbox, depth):
        super().__init__(model)
        # (attributes a step reads first: an agent's values are stored in this order, so
        # that a step touches the fewest cache lines of it)
        plan = self._plan = model.plan
        self.state = shared_keys(state)
        self._clamped = bool(role_input)
        self._wrow = None      # its weights' (1, k) row, kept by its EdgeVars
        self.edge_state = edge_state
        self.act = act
        # its rows (in the plan's order, plan.index) and its inbox views
        # (plan.channel_names, from plan.n_vars on), in one tuple
        self._own = (*state.values(), *(inbox[name] for name in plan.channel_names))
        # the row the first stage sends when it sends one delayed forward channel (an
        # attribute of its own: a send touches no other object of the neuron)
        first = plan.delayed_sends[0] if plan.delayed_sends else None
        self._sent = None if first is None else self._own[first[2]]
        self._make_ring(plan, state, depth, role_input)
        self.depth = depth
        self.node = node
        self.is_input = plan.true if role_input else plan.false    # shared, read-only
        self.is_output = plan.true if role_output else plan.false
        self.outputs = plan.rows[bool(role_output)]  # its rows that are outputs (shared)
        self.target = plan.no_target   # replaced by set_target (outputs)
        self.has_target = plan.false
        self._wire(plan, in_edges, out_edges)

    def _wire(self, plan, in_edges, out_edges) -> None:
        """Keep the own mail addresses: slots, delay groups, inbox views (own edges only).

        What a stage sends and reads is the shared plan's (``plan.sends``,
        ``plan.reads``); a neuron keeps only what is its own, each a direct attribute (few
        objects to touch per step).
        """
        (in_delays, self._in_slots), (out_delays, self._out_slots) = in_edges, out_edges
        if not plan.backward:   # (no backward channel: no mail to its in-edges' senders)
            in_delays, self._in_slots = in_delays[:0], None
        # a neuron whose edges all have delay 1 sends the ring's only row; others send,
        # per delay group, the row of t − d
        self._groups = None if self.depth == 1 else \
            (delay_groups(self._out_slots, out_delays), delay_groups(self._in_slots, in_delays))
        self._ones = plan.ones(len(self._out_slots), self._plan.dtype)

    @property
    def edge_state(self) -> EdgeVars:
        """``{var: (k_in,) array}``: the variables of the own in-edges (weights included)."""
        return self._edge_state

    @edge_state.setter
    def edge_state(self, values) -> None:
        self._edge_state = EdgeVars(values)
        self._edge_state.owner = self
        self._wrow = None

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

    @property
    def inbox(self) -> dict[str, np.ndarray]:
        """``{channel: (k, B) view}`` of the mail addressed to this neuron."""
        return dict(zip(self._plan.channel_names, self._own[self._plan.n_vars:], strict=True))

    # ----------------------------------------------------------------- phase 1
    def send(self, stage_index: int) -> None:
        """Post this stage's messages on the neuron's own edges (its mail slots)."""
        if self._in_row:
            one = self._plan.delayed_sends[stage_index]
            if one is not None:   # one delayed forward channel: its value of t − 1 is the row
                put, box, _ = one
                put(box, self._out_slots, self._sent)
                return
        for put, box, forward, src, k, delayed, weight in self._plan.sends[stage_index]:
            if not delayed:
                values = self.state[src]
            elif self._in_row:
                values = self._own[k]           # the value of t − 1 (module doc)
            elif self._groups is None:
                values = self._ring[src]        # the value of t − 1: the ring's only row
            else:                               # edges of several delays
                self._send_delayed(put, box, forward, src, weight)
                continue
            slots = self._out_slots if forward else self._in_slots
            if weight is None:
                put(box, slots, values)
            else:  # weighted by the sender, which owns its in-edges
                put(box, slots, self._edge_state[weight][:, None] * values)

    # ----------------------------------------------------------------- phase 2
    def receive(self, stage_index: int) -> None:
        """Update own state from own state and inbox (then own in-edges).

        In the last stage, push the step's values into the own delay buffers.
        """
        plan = self._plan
        state = self.state
        if self._clamped:  # input neurons are clamped: no node update, no in-edges
            if plan.pushes[stage_index]:
                self._push(state, plan)
            return
        own = self._own
        # (what the stage does, resolved by the plan, in one tuple: fewer lookups)
        summed, node_update, edge_update, hebbs, pushes, single, index = \
            plan.receives[stage_index]
        if summed is not None:  # one forward channel, summed with the own weights
            name, c, out = summed
            row = self._wrow   # (the weights' cached (1, k) row)
            if row is None:
                row = self._edge_state.weight_row()
            try:
                inbox = {name: row.dot(own[c], out)}   # into the plan's scratch row
            except ValueError:   # (weights of another dtype, set from outside)
                inbox = {name: row.dot(own[c])}
        else:
            inbox = self._sums(plan.reads[stage_index], own)
        model = self.model
        new = node_update(state, inbox, self, model.params)
        try:
            if single:   # every row holds one value: set it (a third of ``fill``'s cost)
                for name, value in new.items():
                    row = own[index[name]]
                    if value is not row:
                        try:
                            row[0, 0] = value.item()
                        except (AttributeError, ValueError, TypeError):  # not one number
                            row[...] = value
                    state[name] = row
            else:
                for name, value in new.items():
                    row = own[index[name]]
                    if value is not row:
                        row[...] = value   # cast to the declared dtype, broadcast to its shape
                    state[name] = row
        except KeyError:
            raise ConfigError(f"rule {plan.rule.name!r} updated undeclared node variable "
                              f"{name!r}") from None
        if edge_update is not None:
            self._update_edges(edge_update, hebbs, state, model)
        if pushes:
            if not self._in_row:
                self._push(state, plan)
            elif plan.push_one is None or state[plan.push_one] is not own[plan.push_k]:
                self._sync(state, plan)

    def _sums(self, reads, own) -> dict:
        """The inbox: per channel, the sum of its messages.

        A forward channel's messages are weighted by the own in-edges; a backward
        channel's senders weighted them.
        """
        inbox = {}
        for name, c, weight, out in reads:
            if weight is None:
                row = self._ones
            elif weight == "weight":
                row = self._wrow
                if row is None:
                    row = self._edge_state.weight_row()
            else:
                row = self._edge_state[weight][None]
            try:
                inbox[name] = row.dot(own[c], out)   # into the plan's scratch row
            except ValueError:   # (weights of another dtype, set from outside)
                inbox[name] = row.dot(own[c])
        return inbox

    def _update_edges(self, edge_update, hebbs, state, model) -> None:
        """The stage's edge update of the own in-edges, from the Hebbian products."""
        edge_state = self._edge_state
        hebb = {name: self._own[c].dot(state[post][0]) for name, c, post in hebbs}
        dtypes = self._plan.edge_dtypes
        check = model.check_finite
        for name, value in edge_update(edge_state, hebb, self, model.params).items():
            dtype = dtypes.get(name)
            if dtype is None:
                raise ConfigError(f"rule {model.rule.name!r} updated undeclared edge "
                                  f"variable {name!r}")
            if value.__class__ is not _ndarray or value.dtype is not dtype:
                value = np.asarray(value, dtype=dtype)
            edge_state[name] = value
            if check and not all_finite(value):
                model.saw_nonfinite = True

    def perturb(self, noise, depth: int | None = None) -> None:
        """Add ``noise(shape)`` to all own state: node variables, buffers, in-edges."""
        for name, arr in self.state.items():
            self.state[name] = arr + noise(arr.shape)
        self._perturb_buffers(noise, depth)
        for name, arr in self.edge_state.items():
            self.edge_state[name] = arr + noise(arr.shape)

    def clamp(self, u_row: np.ndarray) -> None:
        """External input at the start of a step: an input neuron's value u, shape (B,)."""
        name = self._plan.rule.output_var
        row = self._own[self._plan.index[name]]
        row[0] = u_row
        self.state[name] = row

    def set_target(self, y_row: np.ndarray | None, present: bool) -> None:
        """External target of an output neuron at the start of a step, shape (B,)."""
        if y_row is not None:
            self.target = y_row[None, :].copy()
        self.has_target = self._plan.true if present else self._plan.false
