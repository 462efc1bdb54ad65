"""The ensemble's engine: the members' dense blocks as one batched product each.

A :class:`StackedEngine` is the :class:`~networks.engines.vector.VectorEngine` of a
disjoint union of K members of one layered shape (:mod:`networks.ensemble_union`). There
the vectorised engine plans one dense block per member and layer pair, so a step makes
K matrix products per block and direction. Here the K blocks of one layer pair are views
of the union's arrays with a member axis first — weights (K, n_t, n_s) strided in the
flat edge array (member k's edges are contiguous), node rows (K, n, B) of the inputs and
of the active neurons (member k's rows are contiguous) — and one batched ``np.matmul``
computes all K products, written straight into the output rows (no copy).

The engine checks the union's block plan against that layout when it is built; a union
whose blocks do not repeat member by member (sparse blocks: an unlayered shape, or a
layer pair that is not full) runs the vectorised engine's own per-block products. Only
the aggregation (``_aggregate``) and the Hebbian products (``_hebb``, and
``_dense_hebb`` where the vectorised engine folds a linear weight update into them) are
replaced; what a rule computes and in which order is the vectorised engine's.

It also gives the ensemble trainer direct access to the active neurons' rows of a
variable, member axis first (:meth:`StackedEngine.active_rows`,
:meth:`StackedEngine.set_active_rows`), so a mini-batch's per-example state is swapped
in and out with one gather per variable.
"""

from __future__ import annotations

import numpy as np

from networks.engines.vector import VectorEngine


class StackedEngine(VectorEngine):
    """The vectorised engine of a K-member union, dense blocks stacked (module doc).

    Args:
        net: the union network (:func:`networks.ensemble_union.union_network`).
        rule, params: as for :class:`VectorEngine`.
        members: K.
        **kwargs: the :class:`VectorEngine` keywords.
    """

    def __init__(self, net, rule, params=None, *, members: int, **kwargs):
        super().__init__(net, rule, params, **kwargs)
        self.K = members
        self.n_in_m = self.n_in // members
        self.n_act_m = (net.n_nodes - self.n_in) // members
        self.n_edges_m = net.n_edges // members
        self._stacked = _stack_plan(self.blocks, members, self.n_in, self.n_in_m,
                                    self.n_act_m, self.n_edges_m)

    @property
    def stacked(self) -> bool:
        """Whether the members' dense blocks run as batched products."""
        return self._stacked is not None

    # ----------------------------------------------------------------- member rows
    def active_rows(self, name: str) -> np.ndarray:
        """The active (non-input) neurons' rows of node variable ``name``, (K, n_act, w).

        Member k's rows are its non-input nodes in canonical order; w is B (or 1 for
        variables without an example axis). A view: do not write into it.
        """
        arr = self._nodes[name]
        return arr.reshape(self.K, self.n_act_m, *arr.shape[1:])

    def set_active_rows(self, name: str, value: np.ndarray, *, checked: bool = False) -> None:
        """Replace the active rows of node variable ``name`` by ``value`` (K, n_act, w).

        ``checked``: the values are known to be finite (values this engine wrote, and
        checked, at earlier steps; or checked by the caller), so the next step's
        finiteness check does not scan them again.
        """
        old = self._nodes[name]
        value = np.ascontiguousarray(value, dtype=self.dtype)
        self._nodes[name] = value.reshape(old.shape)
        if not checked:
            self._dirty_nodes.add(name)

    # ----------------------------------------------------------------- products
    def _member_rows(self, rows, part: str) -> np.ndarray:
        """Rows of a sent value as (K, n, B): ``part`` "head" (inputs) or "tail"."""
        if hasattr(rows, "head"):  # the engine's _Rows: head and active part kept apart
            arr = rows.head if part == "head" else rows.tail
        else:                      # a delay buffer slot: all rows, internal order
            arr = rows[:self.n_in] if part == "head" else rows[self.n_in:]
        n = self.n_in_m if part == "head" else self.n_act_m
        return arr.reshape(self.K, n, *arr.shape[1:])

    def _weights(self, w: np.ndarray, op) -> np.ndarray:
        """The K members' weight matrices of one block, (K, n_t, n_s), a view of ``w``."""
        return w.reshape(self.K, self.n_edges_m)[:, op.start:op.stop].reshape(self.K, *op.shape)

    def _aggregate(self, channel, sent):
        if self._stacked is None:
            return super()._aggregate(channel, sent)
        forward = channel.direction == "forward"
        ops, zero = self._stacked["fwd" if forward else "bwd"]
        out = np.empty_like(self._nodes[channel.source])
        out3 = out.reshape(self.K, self.n_act_m, *out.shape[1:])
        if zero is not None:
            out3[:, zero] = 0.0
        w = self._edges[channel.weight]
        for op in ops:
            W = self._weights(w, op)
            if not forward:
                W = W.transpose(0, 2, 1)
            vals = self._member_rows(sent(op.delay), op.src_part)[:, op.src_lo:op.src_hi]
            if op.set:
                np.matmul(W, vals, out=out3[:, op.dst_lo:op.dst_hi])
            else:
                out3[:, op.dst_lo:op.dst_hi] += W @ vals
        return out

    def _hebb(self, post, sent):
        if self._stacked is None:
            return super()._hebb(post, sent)
        out = np.empty(self.net.n_edges, dtype=self.dtype)
        post3 = post.reshape(self.K, self.n_act_m, *post.shape[1:])
        for op in self._stacked["fwd"][0]:
            pre = self._member_rows(sent(op.delay), op.src_part)[:, op.src_lo:op.src_hi]
            np.matmul(post3[:, op.dst_lo:op.dst_hi], pre.transpose(0, 2, 1),
                      out=self._weights(out, op))
        return out

    def _dense_hebb(self, post, sent, out, coef: float, beta: float):
        """``out ← coef · Σ_κ post m + beta · out`` per edge, stacked.

        The vectorised engine folds a linear weight update into its Hebbian products
        through this method when its version has it (it runs one product per block);
        here the K members' products of a block are again one batched product.
        """
        if self._stacked is None:
            return super()._dense_hebb(post, sent, out, coef, beta)
        post3 = post.reshape(self.K, self.n_act_m, *post.shape[1:])
        for op in self._stacked["fwd"][0]:
            pre = self._member_rows(sent(op.delay), op.src_part)[:, op.src_lo:op.src_hi]
            view = self._weights(out, op)
            prod = np.matmul(post3[:, op.dst_lo:op.dst_hi], pre.transpose(0, 2, 1))
            if beta == 0.0:
                np.multiply(prod, coef, out=view)
                continue
            if beta != 1.0:
                view *= beta
            prod *= coef
            view += prod
        return out


class _Op:
    """One stacked block product (member-relative coordinates)."""

    __slots__ = ("set", "delay", "start", "stop", "shape", "src_part", "src_lo", "src_hi",
                 "dst_lo", "dst_hi")

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)


def _stack_plan(blocks, K, n_in, n_in_m, n_act_m, n_edges_m):
    """``{"fwd": (ops, zero rows), "bwd": ...}`` or None if the blocks do not stack.

    Stacks when every block is dense and member k's j-th block is member 0's j-th block
    shifted by k members (edges by ``k·E``, input rows by ``k·n_in``, active rows by
    ``k·n_act``).
    """
    if K < 1 or not blocks or len(blocks) % K or any(b.kind != "dense" for b in blocks):
        return None
    J = len(blocks) // K

    def local(lo, hi, k):  # internal rows → (part, member-relative lo, hi)
        if hi <= n_in:
            return "head", lo - k * n_in_m, hi - k * n_in_m
        if lo >= n_in:
            return "tail", lo - n_in - k * n_act_m, hi - n_in - k * n_act_m
        return None

    base = []
    for j in range(J):
        b0 = blocks[j]
        ref = (b0.delay, b0.start, b0.stop, local(*b0.tgt_range, 0), local(*b0.src_range, 0))
        if None in ref[3:] or ref[3][0] != "tail":
            return None
        for k in range(1, K):
            bk = blocks[k * J + j]
            got = (bk.delay, bk.start - k * n_edges_m, bk.stop - k * n_edges_m,
                   local(*bk.tgt_range, k), local(*bk.src_range, k))
            if got != ref:
                return None
        base.append(ref)
    plans = {}
    for key, forward in (("fwd", True), ("bwd", False)):
        covered = np.zeros(n_act_m, dtype=bool)
        sets, adds = [], []
        for delay, start, stop, tgt, src in base:
            if not forward and src[0] == "head":
                continue  # backward into the inputs: nobody listens
            frm, to = (src, tgt) if forward else (tgt, src)
            is_set = not covered[to[1]:to[2]].any()
            covered[to[1]:to[2]] = True
            (sets if is_set else adds).append(_Op(
                set=is_set, delay=delay, start=start, stop=stop,
                shape=(tgt[2] - tgt[1], src[2] - src[1]), src_part=frm[0], src_lo=frm[1],
                src_hi=frm[2], dst_lo=to[1], dst_hi=to[2]))
        zero = np.flatnonzero(~covered)
        plans[key] = (sets + adds, None if len(zero) == 0 else zero)
    return plans
