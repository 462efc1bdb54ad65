"""The vectorised engine's per-step work bound once: step data and dense products.

:class:`Prebound` is a part of :class:`~networks.engines.vector.VectorEngine`. On a
small network a step's cost is mostly calls, not arithmetic; what can be resolved once
is:

* **Step data.** The input u and target y are copied into the engine's own arrays (the
  input neurons' rows, the output rows of the target) and checked by one reduction each,
  with no conversion when they already have the engine's dtype and shape. Σ |u| is
  kept with its step (``_u_abssum``) for the edge bounds
  (:mod:`networks.engines.edge_bounds`).
* **Dense products.** The block products of a channel's aggregation are bound to views
  of the arrays they read and write (no slicing or reshaping per step), kept by the
  identity of those arrays: the two slots of a variable give two bound lists, used in
  turn.
"""

from __future__ import annotations

import math

import numpy as np

from networks.engines.buffered import gemm_into, in_place


def _add_product(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """``out += a @ b``."""
    out += a @ b


class Prebound:
    """Step data and bound products of the vectorised engine (module doc).

    Expects the engine's ``_neurons``, ``_out_rows``, ``_head``, ``_nodes``, ``_edges``,
    ``_buffers``, ``_bound``/``_anchors`` (dicts), ``_plans``, ``n_in``, ``n_batch``,
    ``batch``, ``depth``, ``t``, ``dtype``, and its ``_plan`` and ``_inbox_array``.
    """

    def _step_io(self) -> None:
        """The engine's own arrays a step's input u and target y are copied into."""
        self._u_rows = self._y_rows = None
        if self.batch is not None and isinstance(self._out_rows, slice):
            self._u_rows = np.empty((self.n_in, self.n_batch), dtype=self.dtype)
            self._y_rows = self._neurons.target[self._out_rows]

    def _step_data(self, u, y):
        """The input u and target y copied into the engine's arrays, each checked by one reduction.

        u is checked before it is copied (a rejected input leaves the input neurons'
        values as they were); y goes straight into the target rows, which no step reads
        before it sets them again. Arrays of the engine's dtype and shape (n, B), u
        C-contiguous, take this path; anything else, or a non-finite sum, goes through
        the full check (which names a bad value).
        """
        ub, yb = self._u_rows, self._y_rows
        if ub is not None and u.__class__ is np.ndarray and u.shape == ub.shape \
                and u.dtype == self.dtype and u.flags.c_contiguous and (y is None or (
                    y.__class__ is np.ndarray and y.shape == yb.shape
                    and y.dtype == self.dtype)):
            asum = self._finite_sum
            u_abssum = float(asum(u.reshape(-1)))
            if math.isfinite(u_abssum):
                if y is None:
                    np.copyto(ub, u)
                    self._u_abssum = (self.t + 1, u_abssum)   # (module doc)
                    return ub, None
                np.copyto(yb, y)
                if math.isfinite(asum(yb.reshape(-1))):
                    np.copyto(ub, u)
                    self._u_abssum = (self.t + 1, u_abssum)
                    return ub, yb
        self._u_abssum = None   # (not this u's sum: summed again where needed)
        u, y = super()._step_data(u, y)
        if ub is None:
            return u, y
        np.copyto(ub, u)
        if y is not None:
            np.copyto(yb, y)
        return ub, None if y is None else yb

    def _sent_key(self, channel) -> tuple:
        """``(key, arrays)``: equal keys, equal arrays read by the channel this step.

        The key is made of the arrays' ids; whoever keeps it must keep the arrays alive
        (a view's id is reused once it is gone).
        """
        if channel.delayed:
            buf = self._buffers[channel.source]
            return (id(buf), self.t % self.depth), (buf,)
        head, tail = self._head[channel.source], self._nodes[channel.source]
        return (id(head), id(tail)), (head, tail)

    def _bind_aggregate(self, channel, sent, key, anchors):
        """The dense products of :meth:`_aggregate` on these arrays, bound once.

        Returns ``[(function, args)]``, also kept under ``key`` (:meth:`_keep`), or None
        when a product would read a copy (an undelayed block reading inputs and active
        neurons at once), which cannot be bound.
        """
        if not self._whole_rows(channel):
            self._sent_keys[channel.name] = None
            return None
        forward = channel.direction == "forward"
        plan, zero_rows = self._plans.get("fwd" if forward else "bwd") or self._plan(forward)
        out = self._inbox_array(channel)
        w = self._edges[channel.weight]
        ops = [] if zero_rows is None else [(out.__setitem__, (zero_rows, 0.0))]
        if isinstance(zero_rows, slice) and zero_rows == slice(0, len(out)):
            # every row (no dense block writes any): one fill
            ops = [(out.fill, (0.0,))]
        for op in plan:
            if not op[0]:   # a sparse block: its kernel calls, bound
                _, k, delay = op
                blk, sparse = self.blocks[k], self._sparse[k]
                bind = sparse.bound_forward if forward else sparse.bound_backward
                ops.extend(bind(w[blk.start:blk.stop], sent(delay), out))
                continue
            _, is_set, delay, start, stop, shape, s0, s1, d0, d1 = op
            W = w[start:stop].reshape(shape)
            args = (W if forward else W.T, sent(delay)[s0:s1], out[d0:d1])
            ops.append((np.matmul, args) if is_set else (_add_product, args))
        return self._keep(key, ops, (w, *anchors))

    def _whole_rows(self, channel) -> bool:
        """Whether every dense block reads the rows it needs without a copy."""
        return channel.delayed or all(
            blk.src_range[1] <= self.n_in or blk.src_range[0] >= self.n_in
            for blk in self.blocks)

    def _keep(self, key, ops, anchors):
        """Keep bound ``ops`` under ``key`` with the arrays whose ids the key holds.

        Entries holding an array the engine no longer uses (replaced from outside, or
        before the arena existed) are dropped first: a bound list never keeps a large
        array alive for long.
        """
        arrays = (self._nodes, self._head, self._edges, self._buffers, self._neurons.spare)
        live = {id(a) for d in arrays for a in d.values()}
        live.update(id(s) for pair in (self._slots or {}).values() for s in pair)
        dead = [k for k, kept in self._anchors.items()
                if any(id(a) not in live for a in kept)]
        if len(self._bound) - len(dead) >= 32:   # (a backstop: the live ones rebind)
            dead = list(self._bound)
        for k in dead:
            del self._bound[k], self._anchors[k]
        self._bound[key] = ops
        self._anchors[key] = anchors
        return ops

    def _bound_hebb(self, post, chan: str, sent, out, coef: float, beta: float):
        """:meth:`_dense_hebb` (``out ← coef · Σ_κ post m + beta · out``), bound once.

        ``chan`` is the forward channel whose messages ``sent`` gives; the arrays it read
        this step are those its aggregation recorded (``_sent_keys``).
        """
        sent_key = self._sent_keys.get(chan)
        if sent_key is None:
            return self._dense_hebb(post, sent, out, coef, beta)
        skey, anchors = sent_key
        key = ("hebb", chan, id(post), id(out), coef, beta, *skey)
        ops = self._bound.get(key)
        if ops is None:
            gemm, n_in, ops = self._blas["gemm"], self.n_in, []
            for blk in self.blocks:
                (t0, t1), (s0, s1) = blk.tgt_range, blk.src_range
                view = out[blk.start:blk.stop].reshape(t1 - t0, s1 - s0)
                post_rows, pre = post[t0 - n_in:t1 - n_in], sent(blk.delay)[s0:s1]
                if in_place(view, post_rows, pre):   # BLAS writes the view itself
                    ops.append((gemm, (coef, pre.T, post_rows.T, beta, view.T, 1, 0, 1)))
                else:
                    ops.append((gemm_into, (gemm, coef, post_rows, pre, beta, view)))
            self._keep(key, ops, (post, out, *anchors))
        for fn, args in ops:
            fn(*args)
        return out
