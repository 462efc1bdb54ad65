"""A neuron's delay buffers: a ring of its own past values (:class:`DelayRing`).

A neuron keeps, for every variable sent on a delayed channel, its values of the last
``depth`` steps (``depth`` = the longest delay of its edges): the value of variable v
after step t is ``_ring[(t % depth) * n_delayed + v]``, and before t = 1 every slot holds
the initial value. The ring holds copies (the neuron's state rows are written in place),
pushed by the last ``receive`` of a step. A neuron whose edges all have delay 1 and which
is not clamped keeps the one value of t − 1 of a variable that only the first stage sends
in that variable's own row (``_in_row``): nobody reads the row between the last
``receive`` of a step and the next step's first ``send``. Its state dict then points
elsewhere whenever the state is set apart from the buffer (``set_buffer``, ``perturb``, a
state written from outside) until its next update.
"""

from __future__ import annotations

import numpy as np

from agents.errors import ConfigError, DataError


class DelayRing:
    """The delay-buffer part of :class:`~agents.neuron.NeuronAgent`.

    Expects the neuron's ``_plan``, ``_ring``, ``_in_row``, ``_groups``, ``_edge_state``,
    ``state``, ``depth`` and ``model``.
    """

    def _make_ring(self, plan, state: dict, depth: int, clamped: bool) -> None:
        """The ring of all delayed variables, every slot at its initial value (module doc)."""
        self._in_row = depth == 1 and not clamped and plan.first_stage_sends
        self._ring = [state[name] if self._in_row else state[name].copy()
                      for name in plan.delayed] * depth

    @property
    def buffers(self) -> dict[str, list[np.ndarray]]:
        """A copy of the delay buffers: ``{var: [value (1, B)] * depth}``.

        Row ``t % depth`` is the value after step t; set them with :meth:`set_buffer`.
        """
        n = len(self._plan.delayed)
        return {name: [row.copy() for row in self._ring[v::n]]
                for v, name in enumerate(self._plan.delayed)}

    def set_buffer(self, name: str, values) -> None:
        """Replace the delay buffer of ``name`` by ``depth`` arrays of shape (1, B) or (B,).

        Raises:
            ConfigError: ``name`` has no delay buffer.
            DataError: not ``depth`` values of that shape.
        """
        if name not in self._plan.slot:
            raise ConfigError(f"set_buffer({name!r}) of neuron {self.node!r}: no delay "
                              f"buffer; variables with one: {list(self._plan.delayed)}")
        n, v = len(self._plan.delayed), self._plan.slot[name]
        shape = self._ring[v].shape
        new = [np.array(row, dtype=self._plan.dtype) for row in values]
        if len(new) != self.depth or any(row.size != shape[1] for row in new):
            raise DataError(f"set_buffer({name!r}) of neuron {self.node!r}: give "
                            f"{self.depth} values (its ring's length) of shape {shape} or "
                            f"({shape[1]},), got {[row.shape for row in new]}")
        new = [row.reshape(shape) for row in new]
        if self._in_row:   # the ring is the row: set the state apart first
            row = self._ring[v]
            if self.state[name] is row:
                self.state[name] = row.copy()
            row[...] = new[0]
        else:
            self._ring[v::n] = new

    def _perturb_buffers(self, noise, depth: int | None) -> None:
        """Add ``noise(shape)`` to the delay buffers (:meth:`NeuronAgent.perturb`).

        The noise is drawn for ``depth`` past values (the network's longest delay, as
        the vectorised engine draws it for every neuron; default: the own depth), and
        each ring slot takes the draw of its step's place in that longer ring.
        """
        own, t = self.depth, self.model.t
        total = own if depth is None else depth
        # slot s holds the value after step τ = t − ((t − s) mod own): τ mod total there
        picks = [(t - (t - s) % own) % total for s in range(own)]
        for name, rows in self.buffers.items():
            drawn = noise((total, rows[0].shape[1]))
            self.set_buffer(name, np.concatenate(rows) + drawn[picks])

    def _send_delayed(self, put, box, forward, slot, weight) -> None:
        """Post ring variable ``slot``: to each delay group the value of t − d."""
        n, t, depth = self._plan.n_delayed, self.model.t, self.depth
        for slots, delay, rows in self._groups[0 if forward else 1]:
            values = self._ring[(t - delay) % depth * n + slot]
            if weight is None:
                put(box, slots, values)
            else:
                w = self._edge_state[weight]
                put(box, slots, (w if rows is None else w[rows])[:, None] * values)

    def _push(self, state, plan) -> None:
        """Push copies of this step's values into the delay ring (the last ``receive``)."""
        ring = self._ring
        if self.depth == 1 and plan.n_delayed == 1:
            ring[0] = state[plan.delayed[0]].copy()
            return
        row = self.model.t % self.depth * plan.n_delayed
        for v, name in enumerate(plan.delayed):
            ring[row + v] = state[name].copy()

    def _sync(self, state, plan) -> None:
        """In-row ring: a delayed variable's value not in its row (set apart) goes there."""
        for v, name in enumerate(plan.delayed):
            row, value = self._ring[v], state[name]
            if value is not row:
                row[...] = value
                state[name] = row

    def fill_history(self, name: str | None = None) -> None:
        """Set the delay buffer of ``name`` (default: all) to the variable's current value."""
        for var in self._plan.delayed:
            if name is None or var == name:
                self.set_buffer(var, [self.state[var]] * self.depth)
