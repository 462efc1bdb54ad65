"""The vectorised engine's aggregation by blocks: messages, block products, Hebbian products.

:class:`BlockProducts` is a part of :class:`~networks.engines.vector.VectorEngine`. The
edges are grouped into blocks (:func:`networks.compile.plan_blocks`), each of one delay;
an edge variable's slice of a dense block is viewed as an (n_tgt, n_src) matrix, a
sparse block's is the data of a CSR matrix (:mod:`networks.engines.sparse_blocks`).
Node rows are internal (inputs first); the rule updates the active rows only. A step
computes, per channel:

* **the messages** it carries (``_sent``): a function of the edge delay d giving the
  rows (N, B) it reads, a delay buffer's slot of time t − d or, undelayed, the current
  value read as the inputs' head and the active part (``_Rows``, no concatenation);
* **the aggregation** (``_aggregate``): Σ_j w_ij m_j (forward) or Σ_h w_hi m_h
  (backward) for the active neurons, shape (N − n_in, B), into a reused inbox array.
  The block products of one direction are planned once (``_plan``): a dense block
  whose output rows no earlier dense block wrote is computed straight into them. When
  the products can be bound to the arrays they read (:mod:`networks.engines.prebound`),
  the bound list runs instead;
* **the Hebbian product** (``_hebb``): Σ_κ post_iκ m_jκ per edge, shape (E,), block order.
"""

from __future__ import annotations

import numpy as np

from networks.engines.buffered import writable


class _Rows:
    """Rows of a node variable split into head (inputs) and active part, read by range."""

    __slots__ = ("head", "tail", "n_in", "_full")

    def __init__(self, head: np.ndarray, tail: np.ndarray):
        self.head, self.tail, self.n_in, self._full = head, tail, len(head), None

    def __getitem__(self, idx):
        if isinstance(idx, slice) and idx.start is not None:
            if idx.stop <= self.n_in:
                return self.head[idx]
            if idx.start >= self.n_in:
                return self.tail[idx.start - self.n_in:idx.stop - self.n_in]
        if self._full is None:
            self._full = np.concatenate([self.head, self.tail])
        return self._full[idx]


class BlockProducts:
    """The per-step block products of the vectorised engine (module doc).

    Expects the engine's ``blocks``, ``_sparse`` (:mod:`networks.engines.sparse_blocks`),
    ``_plans``, ``_inbox``, ``_head``, ``_nodes``, ``_edges``, ``_buffers``, ``n_in``,
    ``net``, ``t``, ``depth``, ``dtype``, and, for bound products, ``_bindable``,
    ``_bound``, ``_sent_keys`` and :class:`~networks.engines.prebound.Prebound`'s
    ``_sent_key`` and ``_bind_aggregate``.
    """

    def _sent(self, channel):
        """The values a channel carries: a function of the edge delay d → rows (N, B)."""
        if channel.delayed:
            buf, t, depth = self._buffers[channel.source], self.t, self.depth
            return lambda d: buf[(t - d) % depth]
        now = _Rows(self._head[channel.source], self._nodes[channel.source])
        return lambda d: now

    def _plan(self, forward: bool):
        """The block products of one direction, compiled once, and the rows to zero first.

        A dense block whose output rows no earlier dense block wrote is computed straight
        into them (``set``, no temporary, no addition); the others are added. Returns
        ``([op], rows that no set block covers or None)`` where a dense op is ``(True,
        set, delay, weight start, stop, (rows, cols), src lo, src hi, dst lo, dst hi)``
        (the weights transposed for the backward direction) and a sparse op is
        ``(False, block index, delay)``.
        """
        key = "fwd" if forward else "bwd"
        if key not in self._plans:
            n_in, n_act = self.n_in, self.net.n_nodes - self.n_in
            covered = np.zeros(n_act, dtype=bool)
            sets, adds = [], []
            for k, blk in enumerate(self.blocks):
                if blk.kind != "dense":
                    adds.append((False, k, blk.delay))
                    continue
                (t0, t1), (s0, s1) = blk.tgt_range, blk.src_range
                src, dst = ((s0, s1), (t0, t1)) if forward else ((t0, t1), (s0, s1))
                if dst[0] < n_in:
                    continue  # backward into the inputs: nobody listens
                rows = slice(dst[0] - n_in, dst[1] - n_in)
                is_set = not covered[rows].any()
                covered[rows] = True
                (sets if is_set else adds).append(
                    (True, is_set, blk.delay, blk.start, blk.stop, (t1 - t0, s1 - s0),
                     *src, dst[0] - n_in, dst[1] - n_in))
            zero = np.flatnonzero(~covered)
            if len(zero) == 0:
                zero = None
            elif zero[-1] - zero[0] + 1 == len(zero):
                zero = slice(int(zero[0]), int(zero[-1]) + 1)
            self._plans[key] = (sets + adds, zero)
        return self._plans[key]

    def _aggregate(self, channel, sent) -> np.ndarray:
        """Σ_j w_ij m_j (forward) or Σ_h w_hi m_h (backward) for the active neurons.

        ``w`` is the channel's weighting edge variable (``channel.weight``).
        """
        if self._bindable:
            sent_key = self._sent_key(channel)
            self._sent_keys[channel.name] = sent_key
            key, anchors = sent_key
            key = (channel.name, id(self._edges[channel.weight]), *key)
            ops = self._bound.get(key)
            if ops is None:
                ops = self._bind_aggregate(channel, sent, key, anchors)
            if ops is not None:
                for fn, args in ops:
                    fn(*args)
                return self._inbox[channel.name]
        forward = channel.direction == "forward"
        plan, zero_rows = self._plans.get("fwd" if forward else "bwd") or self._plan(forward)
        out = self._inbox_array(channel)
        if zero_rows is not None:
            out[zero_rows] = 0.0
        w = self._edges[channel.weight]
        for op in plan:
            if op[0]:
                _, is_set, delay, start, stop, shape, s0, s1, d0, d1 = op
                W = w[start:stop].reshape(shape)
                vals = sent(delay)[s0:s1]
                if is_set:
                    np.matmul(W if forward else W.T, vals, out=out[d0:d1])
                else:
                    out[d0:d1] += (W if forward else W.T) @ vals
                continue
            _, k, delay = op
            blk = self.blocks[k]
            product = self._sparse[k].forward if forward else self._sparse[k].backward
            product(w[blk.start:blk.stop], sent(delay), out)
        return out

    def _inbox_array(self, channel) -> np.ndarray:
        """The array a channel's inbox is aggregated into, reused from step to step.

        The rule may overwrite it; the engine copies whatever it returns.
        """
        like = self._nodes[channel.source]
        out = self._inbox.get(channel.name)
        if out is None or out.shape != like.shape:
            out = self._inbox[channel.name] = np.empty(like.shape, self.dtype)
        return out

    def _hebb(self, post: np.ndarray, sent, out: np.ndarray | None = None,
              chan: str | None = None) -> np.ndarray:
        """Per-edge Σ_κ post_iκ m_jκ in block order, shape (E,), into ``out`` if given.

        With ``out`` and the forward channel ``chan`` whose messages ``sent`` gives, on
        a network of sparse blocks whose products are bound, the calls are bound once
        too (:meth:`_bound_sparse_hebb`).
        """
        if chan is not None and out is not None and self._bindable and not self._all_dense:
            done = self._bound_sparse_hebb(post, sent, out, chan)
            if done is not None:
                return done
        n_in = self.n_in
        if out is None:
            out = np.empty(self.net.n_edges, dtype=self.dtype)
        for k, blk in enumerate(self.blocks):
            pre = sent(blk.delay)
            if blk.kind == "dense":
                (t0, t1), (s0, s1) = blk.tgt_range, blk.src_range
                view = out[blk.start:blk.stop].reshape(t1 - t0, s1 - s0)
                np.matmul(post[t0 - n_in:t1 - n_in], pre[s0:s1].T, out=view)
            else:
                self._sparse[k].hebb(post, pre, out[blk.start:blk.stop])
        return out

    def _hebb_into(self, post: np.ndarray, sent, carrier: str | None, chan: str):
        """:meth:`_hebb` of a linear edge update, into the variable ``carrier`` if any.

        The edge variable that *is* the product (``carrier``) receives it in place (a
        lazy constant is first made a writable array, and the finiteness window looks
        its members up again); without one the product is a new array, used at once.
        """
        if carrier is None:
            return self._hebb(post, sent)
        current = self._edges[carrier]
        product = self._hebb(post, sent, writable(self._edges, carrier), chan)
        if product is not current:
            self._window_lost()
        return product

    def _bound_sparse_hebb(self, post, sent, out, chan: str):
        """:meth:`_hebb` into ``out`` on sparse blocks by calls bound once, or None.

        The arrays ``chan`` read this step are those its aggregation recorded
        (``_sent_keys``); None when they were not bound.
        """
        sent_key = self._sent_keys.get(chan)
        if sent_key is None:
            return None
        skey, anchors = sent_key
        key = ("sparse hebb", chan, id(post), id(out), *skey)
        ops = self._bound.get(key)
        if ops is None:
            ops = [call for k, blk in enumerate(self.blocks) for call in
                   self._sparse[k].bound_hebb(post, sent(blk.delay), out[blk.start:blk.stop])]
            self._keep(key, ops, (post, out, *anchors))
        for fn, args in ops:
            fn(*args)
        return out
