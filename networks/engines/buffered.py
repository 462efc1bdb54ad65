"""The vectorised engine's step without temporaries: buffers and folded weight updates.

:class:`BufferedStep` is a part of :class:`~networks.engines.vector.VectorEngine`:

* **Buffers.** The rule's update functions compute into arrays the engine hands out
  (:class:`Neurons` ``.out``, ``agents.rule``'s "who may write where"): two per node
  variable, swapped every step, or one, overwritten in place, for a variable whose old
  value nobody reads (``Stage.reads``). After the first step the variables the rule
  writes get their slots in an arena laid out for the finiteness check
  (:mod:`networks.engines.finite`): the variables it reads are contiguous, so that one
  reduction checks them all. (A temporary of a large array costs more than a pass over
  it: freed and re-allocated memory is page-faulted in again.)
* **Linear edge updates** (``Stage.edge_linear``): ``v ← (1 − decay) v + coef · hebb`` is
  folded into the Hebbian product's GEMM (``beta = 1 − decay``, in place), or the
  product is written once into the variable that *is* it and the others follow by
  ``axpy``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from agents.errors import ConfigError
from agents.rule import Stage

#: Arenas of at most this many values are one allocation holding the checked edge
#: variables too (:meth:`BufferedStep._build_arena`): one reduction checks a small
#: network's step. Larger ones keep two rows (no third copy of the state at build).
SMALL_ARENA = 1 << 17


def writable(arrays: dict, name: str) -> np.ndarray:
    """``arrays[name]``, replaced first by a writable copy if it is a lazy constant."""
    arr = arrays[name]
    if not arr.flags.writeable:
        arrays[name] = arr = arr.copy()
    return arr


class Neurons:
    """What the rule's update functions see of all active neurons (``agents.rule.Neurons``).

    ``out(name, like)`` hands out the engine's spare array of node variable ``name``
    (its new value is meant to go there; the engine swaps it with the current one) or a
    scratch array kept per name: no allocation per step.
    """

    def __init__(self, act, is_output, outputs, width, dtype):
        n = len(is_output)
        self.act, self.is_output, self.outputs = act, is_output, outputs
        self.is_input = np.zeros_like(is_output)
        self.target = np.zeros((n, width), dtype=dtype)
        self.has_target = np.zeros((n, 1), dtype=bool)
        self.t, self.batch = 0, width
        self.spare: dict[str, np.ndarray] = {}

    def out(self, name: str, like: np.ndarray) -> np.ndarray:
        """The spare array of node variable ``name``, or the scratch array ``name``."""
        buf = self.spare.get(name)
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
            buf = self.spare[name] = np.empty(like.shape, like.dtype)
        return buf


class StageReads(Mapping):
    """The node variables a stage declared it reads (``Stage.reads``), of ``nodes``.

    Reading any other variable raises :class:`ConfigError` naming it.
    """

    def __init__(self, nodes: dict, reads: frozenset, rule_name: str):
        self._nodes, self._reads, self._rule = nodes, reads, rule_name

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._reads:
            raise ConfigError(f"rule {self._rule!r} read node variable {name!r}, not in "
                              f"its stage's reads {sorted(self._reads)}")
        return self._nodes[name]

    def __iter__(self):
        return (name for name in self._nodes if name in self._reads)

    def __len__(self) -> int:
        return sum(1 for name in self._nodes if name in self._reads)


def gemm_into(gemm, coef, post, pre, beta, view) -> None:
    """``view ← coef · post @ preᵀ + beta · view`` in place by one BLAS call.

    ``view`` (n_post, n_pre), ``post`` (n_post, B) and ``pre`` (n_pre, B) are C-contiguous,
    so their transposes are Fortran-contiguous and BLAS reads and writes them directly.
    """
    c = view.T
    out = gemm(coef, pre.T, post.T, beta=beta, c=c, trans_a=1, overwrite_c=1)
    if out is not c and not np.shares_memory(out, view):  # never: a copy would be lost
        view[...] = out.T


class BufferedStep:
    """The buffer and linear-update methods of the vectorised engine.

    Expects the engine's ``_nodes``, ``_edges``, ``_neurons`` (a :class:`Neurons`),
    ``_retired``, ``_written`` (node and edge variables written by the rule since the
    last check), ``_dirty_nodes``/``_dirty_edges`` (written from outside), ``_blas``,
    ``_all_dense``, ``blocks``, ``n_in``, ``rule``, ``params``.
    """

    def _reads_view(self, stage: Stage) -> StageReads:
        """The mapping of node variables ``stage.node_update`` gets (cached per stage)."""
        views = self.__dict__.setdefault("_stage_reads", {})
        view = views.get(id(stage))
        if view is None:
            view = views[id(stage)] = StageReads(self._nodes, stage.reads, self.rule.name)
        return view

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
        from networks.engines.finite import Window

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

    def _linear(self, stage: Stage):
        """The stage's linear edge update for the current params, compiled.

        None when the update is not linear, else ``(groups, variables written)``, a group
        per product ``(post var, channel, fold, carrier, [(var, coef, decay)])`` (see
        :meth:`_edge_linear`).
        """
        if stage.edge_linear is None:
            return None
        if self._linear_for is None or self._linear_for[0] is not self.params:
            self._linear_for = (self.params, {})
        cache, key = self._linear_for[1], id(stage)
        if key not in cache:
            linear = stage.edge_linear(self.params, self.n_batch)
            if linear is not None:
                by_hebb: dict[str, list] = {}
                for name, (h, coef, decay) in linear.items():
                    if name not in self._edges:
                        raise ConfigError(f"rule {self.rule.name!r} updated undeclared "
                                          f"edge variable {name!r}")
                    by_hebb.setdefault(h, []).append((name, float(coef), float(decay)))
                groups = []
                for h, targets in by_hebb.items():
                    carrier = next((name for name, coef, decay in targets
                                    if coef == 1.0 and decay == 1.0), None)
                    fold = self._all_dense and carrier is None and len(targets) == 1
                    groups.append((*stage.hebb[h], fold, carrier,
                                   [t for t in targets if t[0] != carrier]))
                linear = (groups, tuple(linear))
            cache[key] = linear
        return cache[key]

    def _edge_linear(self, stage: Stage, linear, sent) -> None:
        """``v ← (1 − decay) v + coef · hebb`` in place (``agents.rule.apply_linear``).

        Per Hebbian product: a variable that *is* the product (coef 1, decay 1) receives
        it from the GEMMs; with no such variable and a single target on a network of dense
        blocks, the update is folded into the GEMMs (``beta = 1 − decay``); otherwise the
        product is made once and the variables follow by ``axpy``.
        """
        edges, axpy, scal = self._edges, self._blas["axpy"], self._blas["scal"]
        groups, names = linear
        for post, chan, fold, carrier, targets in groups:
            post, pre = self._nodes[post], sent[chan]
            if fold:
                name, coef, decay = targets[0]
                self._dense_hebb(post, pre, writable(edges, name), coef, 1.0 - decay)
                continue
            if carrier is not None and self._all_dense:
                product = self._dense_hebb(post, pre, writable(edges, carrier), 1.0, 0.0)
            else:
                product = self._hebb(post, pre)
                if carrier is not None:
                    edges[carrier] = product
                    self._window_lost()
            for name, coef, decay in targets:
                arr = writable(edges, name)
                if decay != 0.0:
                    scal(1.0 - decay, arr)
                axpy(product, arr, a=coef)
        self._written.update(names)

    def _dense_hebb(self, post, sent, out, coef: float, beta: float) -> np.ndarray:
        """``out ← coef · Σ_κ post_iκ m_jκ + beta · out`` per edge, all blocks dense."""
        n_in = self.n_in
        gemm = self._blas["gemm"]
        for blk in self.blocks:
            (t0, t1), (s0, s1) = blk.tgt_range, blk.src_range
            view = out[blk.start:blk.stop].reshape(t1 - t0, s1 - s0)
            gemm_into(gemm, coef, post[t0 - n_in:t1 - n_in], sent(blk.delay)[s0:s1], beta,
                       view)
        return out
