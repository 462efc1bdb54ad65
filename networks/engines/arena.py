"""The vectorised engine's arena: where the node variables a rule writes live.

:class:`Arena` is a part of :class:`~networks.engines.vector.VectorEngine`. After the
first step, each node variable the rule wrote gets two slots (its current and its next
value, swapped every step) or one, overwritten in place, when nobody reads its old value
(``Stage.reads``). The slots are laid out for the finiteness check
(:mod:`networks.engines.finite`): the variables it reads are contiguous, so that one
reduction checks them all; on a small network the checked edge variables move in too.
"""

from __future__ import annotations

import math

import numpy as np

from networks.engines.finite import Window

#: Arenas of at most this many values are one allocation holding the checked edge
#: variables too (``Arena._build_arena``): one reduction checks a small
#: network's step. Larger ones keep two rows (no third copy of the state at build).
SMALL_ARENA = 1 << 17



class Arena:
    """The slot methods of the vectorised engine.

    Expects the engine's ``_nodes``, ``_edges``, ``_neurons`` (``.spare``: the arrays the
    next values go to), ``_retired`` (arrays replaced this step), ``_written``, ``rule``,
    ``node_var_names``, ``dtype`` and the finiteness check's ``_to_check``.
    """

    def _one_slot(self) -> frozenset:
        """Node variables whose old value nobody reads once a step has begun writing them.

        Every stage declares its reads (``Stage.reads``) and none reads the variable, sends
        it on a channel or takes it as a Hebbian product's post variable: its new value
        can overwrite the current one in place (one array, not two).
        """
        stages = self.rule.stages
        if any(stage.reads is None for stage in stages):
            return frozenset()
        used = set(self.rule.delayed_sources)
        for stage in stages:
            used |= stage.reads
            used.update(ch.source for ch in stage.channels)
            used.update(post for post, _ in stage.hebb.values())
        return frozenset(self.node_var_names) - used

    def _recycle(self) -> None:
        """End of step: the arrays the rule replaced become the spares of the next step.

        After the first step, the node variables the rule writes get two slots each in
        one arena (checked ones first), so that the finiteness check reads them with one
        reduction: the next value goes to the slot the current one is not in.
        """
        spare, nodes, slots = self._neurons.spare, self._nodes, self._slots
        if slots is None:
            # the arena replaces every array the first step retired (all its node
            # variables are in it): drop them before it is allocated
            self._retired.clear()
            self._build_arena()
            for name, (_, s1) in self._slots.items():   # the values are in slot 0
                spare[name] = s1
            for name, only in self._single.items():
                spare[name] = only
            return
        single = self._single
        for name, old in self._retired.items():
            if name in slots:
                s0, s1 = slots[name]
                spare[name] = s1 if nodes[name] is s0 else s0
            elif name in single:
                spare[name] = single[name]
            elif old.flags.writeable:   # (not a read-only initial constant)
                spare.setdefault(name, old)
        self._retired.clear()

    def _build_arena(self) -> None:
        """Slots for the node variables the rule wrote in the first step.

        Each gets two slots (``_slots``), one per parity, except those whose old value
        nobody reads (:meth:`_one_slot`), which get one (``_single``). The layout serves
        the finiteness check (:class:`~networks.engines.finite.Window`):

        * small (at most :data:`SMALL_ARENA` values): one allocation, ``[checked
          two-slot vars, parity 0 | checked one-slot vars | checked edge vars | checked
          two-slot vars, parity 1 | the others]``, the checked edge variables the rule
          wrote moved in: whatever the parity, the checked variables are contiguous.
        * large: two rows, one per parity, checked variables first, the one-slot ones
          after the others in row 0. Row 0 is allocated first and receives the current
          values, whose separate arrays are then released before row 1 is allocated, so
          the memory never holds three copies of the written state.
        """
        written = frozenset(self._written)
        check_nodes, check_edges = self._to_check(written)
        nodes, edges, one = self._nodes, self._edges, self._one_slot()
        names = [n for n in self.node_var_names if n in written]
        shapes = {n: nodes[n].shape for n in names}
        size = {n: math.prod(shapes[n]) for n in names}
        two = [n for n in names if n not in one]
        two_c = [n for n in two if n in check_nodes]
        one_c = [n for n in names if n in one and n in check_nodes]
        edges_c = [n for n in check_edges if edges[n].flags.writeable]
        others = [n for n in two if n not in check_nodes], \
            [n for n in names if n in one and n not in check_nodes]
        total = 2 * sum(size[n] for n in two) + sum(size[n] for n in names if n in one) \
            + sum(edges[n].size for n in edges_c)
        spans, offset = {}, 0

        def place(name, parity, n):
            nonlocal offset
            spans[name, parity] = (offset, offset + n)
            offset += n

        if total <= SMALL_ARENA:
            for n in two_c:
                place(n, 0, size[n])
            for n in one_c:
                place(n, 0, size[n])
            for n in edges_c:
                place(n, "edge", edges[n].size)
            for n in two_c:
                place(n, 1, size[n])
            for n in others[0]:
                place(n, 0, size[n])
                place(n, 1, size[n])
            for n in others[1]:
                place(n, 0, size[n])
            rows = (np.empty(offset, dtype=self.dtype),) * 2
        else:
            edges_c = []
            for n in (*two_c, *others[0], *one_c, *others[1]):
                place(n, 0, size[n])
            n_two, offset = offset, 0
            for n in (*two_c, *others[0]):
                place(n, 1, size[n])
            rows = (np.empty(n_two, dtype=self.dtype), None)

        def view(name, parity, shape):
            return rows[parity == 1][slice(*spans[name, parity])].reshape(shape)

        self._slots = {n: (view(n, 0, shapes[n]), None) for n in two}
        self._single = {n: view(n, 0, shapes[n]) for n in names if n in one}
        for n in names:   # the values go to slot 0 (their separate arrays are released)
            target = self._slots[n][0] if n in self._slots else self._single[n]
            np.copyto(target, nodes[n])
            nodes[n] = target
        for n in edges_c:
            target = rows[0][slice(*spans[n, "edge"])]
            np.copyto(target, edges[n])
            edges[n] = target
        if rows[1] is None:
            rows = (rows[0], np.empty(offset, dtype=self.dtype))
        self._slots = {n: (s0, view(n, 1, shapes[n])) for n, (s0, _) in self._slots.items()}
        self._window = self._make_window(Window, written, rows, spans, two_c, one_c,
                                         edges_c, check_nodes, check_edges)

    def _make_window(self, window, written, rows, spans, two_c, one_c, edges_c,
                     check_nodes, check_edges):
        """The :class:`~networks.engines.finite.Window` of the arena (or None)."""
        members = [(self._nodes, n, self._slots[n]) for n in two_c]
        members += [(self._nodes, n, (self._single[n],) * 2) for n in one_c]
        members += [(self._edges, n, (self._edges[n],) * 2) for n in edges_c]
        if not members:
            return None
        covered = {m[1] for m in members}
        rest = [(self._nodes, n) for n in check_nodes if n not in covered]
        rest += [(self._edges, n) for n in check_edges if n not in covered]
        if rows[0] is rows[1]:   # small: [two_c 0 | one_c | edges_c | two_c 1]
            first = [spans[n, 0] for n in two_c] + [spans[n, 0] for n in one_c] + \
                [spans[n, "edge"] for n in edges_c]
            second = [spans[n, 0] for n in one_c] + [spans[n, "edge"] for n in edges_c] + \
                [spans[n, 1] for n in two_c]
            views = tuple(rows[0][s[0][0]:s[-1][1]] for s in (first, second))
        else:                    # large: two_c first in each row
            if not two_c:
                return None
            members = members[:len(two_c)]
            rest = [(self._nodes, n) for n in check_nodes if n not in two_c]
            rest += [(self._edges, n) for n in check_edges]
            views = tuple(rows[p][spans[two_c[0], p][0]:spans[two_c[-1], p][1]]
                          for p in (0, 1))
        return window(written, views, members, rest)
