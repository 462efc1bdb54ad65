"""The vectorised engine's step without temporaries: buffers, folded weight updates, check.

:class:`BufferedStep` is a part of :class:`~networks.engines.vector.VectorEngine`:

* **Buffers.** The rule's update functions compute into arrays the engine hands out
  (:class:`Neurons` ``.out``, ``agents.rule``'s "who may write where"): two per node
  variable, swapped every step, or one, overwritten in place, for a variable whose old
  value nobody reads (``Stage.reads``). After the first step the variables the rule
  writes get their slots in a two-row arena, the ones the finiteness check reads first,
  so that one reduction checks them all. (A temporary of a large array costs more than a
  pass over it: freed and re-allocated memory is page-faulted in again.)
* **Linear edge updates** (``Stage.edge_linear``): ``v ← (1 − decay) v + coef · hebb`` is
  folded into the Hebbian product's GEMM (``beta = 1 − decay``, in place), or the
  product is written once into the variable that *is* it and the others follow by
  ``axpy``.
* **The finiteness check** reads the variables written since the last check, except
  those another written variable vouches for (``Rule.finite_implied``); on a non-finite
  sum the culprit is sought by the search both engines share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from agents.errors import ConfigError
from agents.rule import Stage


def writable(arrays: dict, name: str) -> np.ndarray:
    """``arrays[name]``, replaced first by a writable copy if it is a lazy constant."""
    arr = arrays[name]
    if not arr.flags.writeable:
        arrays[name] = arr = arr.copy()
    return arr


def square_sum_finite(value: np.ndarray) -> bool:
    """Whether Σ value² is finite: False if any entry is NaN or ±inf (or on overflow)."""
    flat = value.reshape(-1)
    return math.isfinite(np.dot(flat, flat))


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
    """The buffer, linear-update and finiteness-check methods of the vectorised engine.

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

        Each gets two flat slots (``_slots``), one per row of the arena, except those whose
        old value nobody reads (:meth:`_one_slot`), which get one (``_single``), after the
        others in row 0. The variables the finiteness check reads come first (in
        declaration order), so they are contiguous in each row. Each row is one
        allocation: row 0 is allocated first and receives the current values, whose
        separate arrays are then released before row 1 is allocated, so the memory never
        holds three copies of the written state.
        """
        written = frozenset(self._written)
        checked = self._to_check(written)[0]
        nodes, one = self._nodes, self._one_slot()
        names = [n for n in self.node_var_names if n in written]
        # stable sorts: two slots first, checked first, declaration order kept
        names.sort(key=lambda n: n not in checked)
        names.sort(key=lambda n: n in one)
        shapes = {n: nodes[n].shape for n in names}
        spans, offset, n_two = {}, 0, 0
        for name in names:
            spans[name] = (offset, offset + math.prod(shapes[name]))
            offset = spans[name][1]
            if name not in one:
                n_two = offset
        row0 = np.empty(offset, dtype=self.dtype)
        for name in names:
            view = row0[slice(*spans[name])].reshape(shapes[name])
            np.copyto(view, nodes[name])
            nodes[name] = view   # (the separate array is released here)
        row1 = np.empty(n_two, dtype=self.dtype)
        self._arena = (row0, row1)
        self._arena_span = {n: spans[n] for n in names if n not in one}
        self._slots = {n: tuple(row[slice(*spans[n])].reshape(shapes[n])
                                for row in (row0, row1))
                       for n in self._arena_span}
        self._single = {n: nodes[n] for n in names if n in one}

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

    def _finite_plan(self) -> None:
        """Prepare the finiteness check: which written variable vouches for which."""
        self._checked_for: dict = {}
        implied = self.rule.finite_implied

        def vouched(name, written, seen=()):
            """Whether a non-finite ``name`` cannot go unseen by the checked variables."""
            if name not in implied:
                return False
            witness = implied[name]
            if witness is None:
                return True
            if witness not in written or witness in seen:
                return False
            return witness not in implied or vouched(witness, written, (*seen, name))

        self._vouched = vouched

    def _to_check(self, written: frozenset) -> tuple:
        """What to check after a step writing ``written`` (cached once the arena exists).

        Returns ``(node vars, edge vars, arena part)``; the arena part ``(vars, start,
        stop, other node vars)`` says which checked node variables one reduction over
        ``arena[parity][start:stop]`` covers (None when they are not contiguous in it).
        """
        plan = self._checked_for.get(written)
        if plan is None:
            keep = {name for name in written if not self._vouched(name, written)}
            nodes = [n for n in self.node_var_names if n in keep]
            inside = sorted((n for n in nodes if n in (self._slots or {})),
                            key=lambda n: self._arena_span[n])
            spans = [self._arena_span[n] for n in inside]
            part = None
            if len(inside) > 1 and all(a[1] == b[0] for a, b in
                                       zip(spans[:-1], spans[1:], strict=True)):
                part = (inside, spans[0][0], spans[-1][1],
                        [n for n in nodes if n not in inside])
            plan = (nodes, [n for n in self.edge_var_names if n in keep], part)
            if self._slots is not None:  # (before the arena exists: no caching)
                self._checked_for[written] = plan
        return plan

    def _nodes_finite(self, check_nodes: list, part) -> bool:
        nodes = self._nodes
        if part is not None:
            inside, start, stop, rest = part
            slots = self._slots
            s0, s1 = slots[inside[0]]
            first = nodes[inside[0]]
            parity = 0 if first is s0 else 1 if first is s1 else None
            if parity is not None:
                for n in inside:
                    if nodes[n] is not slots[n][parity]:
                        break
                else:  # all in one arena row: one reduction
                    if not square_sum_finite(self._arena[parity][start:stop]):
                        return False
                    check_nodes = rest
        for n in check_nodes:
            if not square_sum_finite(nodes[n]):
                return False
        return True

    def _check_finite(self) -> None:
        # a reduction over the variables written since the last check — the sum of
        # squares (a BLAS dot, twice as fast as a sum): a NaN or inf anywhere makes it
        # non-finite; one for the node variables in the arena, one per other variable.
        # Of the variables the rule wrote, those another written variable vouches for
        # (Rule.finite_implied) are skipped; what was written from outside is always
        # checked. Only on a non-finite sum (or one overflowing on finite values) is the
        # culprit sought, by the same search as the agent engine's (same message)
        nodes, edges = self._nodes, self._edges
        check_nodes, check_edges, part = self._to_check(frozenset(self._written))
        ok = self._nodes_finite(check_nodes, part)
        for n in check_edges:
            ok = ok and square_sum_finite(edges[n])
        if ok and (self._dirty_nodes or self._dirty_edges):
            ok = all(square_sum_finite(nodes[n]) for n in self._dirty_nodes) and \
                all(square_sum_finite(edges[n]) for n in self._dirty_edges)
        if not ok:
            super()._check_finite()   # raises naming the step, neuron/edge and variable
        self._written.clear()
        self._dirty_nodes.clear()
        self._dirty_edges.clear()
