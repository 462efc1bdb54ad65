"""The sparse blocks of the vectorised engine: CSR products on prebuilt index arrays.

A sparse :class:`~networks.compile.Block` holds edges of one delay (``w`` = the block's
slice of an edge variable, block order). :func:`sparse_blocks` puts, inside every sparse
block, the edges that leave an input neuron first, then the others, each part in CSR
order (by target, then source), and builds one :class:`SparseBlock` per block. Each part
is a CSR matrix over the active (non-input) rows whose data is a slice of ``w``:

* the *input part* reads the inputs' rows ``m[0:n_in]`` (forward only: the backward wave
  into inputs has no listener),
* the *active part* reads the active rows ``m[n_in:N]``, and its transpose (the same
  arrays read as CSC) carries the backward wave straight into the active rows.

So no product needs the whole (N, B) message array (an undelayed channel never
concatenates the inputs' and the active rows) and no product allocates: scipy's compiled
kernels (``csr_matvec(s)``, ``csc_matvec(s)``) add into the engine's inbox on index
arrays built once, without scipy's per-call object construction and checks (each on
the index dtype it runs fastest on, :data:`SMALL_PART`). The per-edge Hebbian product
``Σ_κ post_iκ m_jκ`` runs in chunks without (E, B) temporaries
(:mod:`networks.engines.sparse_hebb`). A small block whose messages come as one (N, B)
array (a delay buffer's row) gathers them for both parts at once, and a tiny one makes
its forward product in one COO call (:data:`COO_BLOCK`). Every product is also given
as its list of kernel calls (``bound_*``), which an engine may bind once.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.sparse._sparsetools import coo_matvec as _coo_matvec
from scipy.sparse._sparsetools import csc_matvec as _csc_matvec
from scipy.sparse._sparsetools import csc_matvecs as _csc_matvecs
from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
from scipy.sparse._sparsetools import csr_matvecs as _csr_matvecs
from scipy.sparse._sparsetools import csr_scale_columns as _csr_scale_columns

from networks.engines.sparse_hebb import Gathers, chunk_calls_1

try:   # scipy >= 1.15
    from scipy.sparse._sparsetools import coo_matmat_dense as _coo_matmat_dense
except ImportError:   # pragma: no cover
    _coo_matmat_dense = None

#: Parts with fewer edges keep native (intp) index arrays for the CSR kernels and the
#: gathers plus 32-bit copies for the batch-1 CSC kernel; larger ones one set of 32-bit
#: arrays. Measured here (scipy 1.18, batch 1): on cache-resident parts (10^3 to 10^4
#: edges) ``csr_matvec`` runs 1.7-2.5x faster on intp indices and ``csc_matvec`` 1.3-2x
#: faster on 32-bit ones; from 10^5 edges a step is bound by memory traffic, and 32-bit
#: indices (half the bytes) are as fast or faster for both.
SMALL_PART = 1 << 16

#: Blocks with fewer edges run their forward product on a whole (N, B) message array
#: (a delay buffer's row) as one COO kernel call over all their edges in block order
#: (``coo_matvec``, ``coo_matmat_dense``) instead of one CSR call per part. Measured
#: here (scipy 1.18): at 10^3 edges 1.7 → 1.1 µs at batch 1 and 5.1 → 4.0 µs at batch
#: 16; at batch 1 the two CSR calls are faster again from about 3,000 edges.
COO_BLOCK = 1 << 11


def inputs_first(blocks, block_order: np.ndarray, n_in: int):
    """Reorder every sparse block: edges from input neurons first, each part in CSR order.

    Args:
        blocks: blocks of :func:`networks.compile.plan_blocks` (internal node indices:
            inputs are ``0 .. n_in - 1``), sparse ones in CSR order.
        block_order: canonical edge ids in block order, shape (E,).
        n_in: number of input neurons.

    Returns:
        ``(blocks, block_order)`` with the sparse blocks' edges reordered (a new array;
        dense blocks unchanged).
    """
    blocks, order = list(blocks), block_order.copy()
    for k, blk in enumerate(blocks):
        if blk.kind != "sparse":
            continue
        # a stable partition keeps the CSR order inside each part
        idx = np.argsort(blk.src >= n_in, kind="stable")
        order[blk.start:blk.stop] = order[blk.start:blk.stop][idx]
        blocks[k] = replace(blk, src=blk.src[idx], tgt=blk.tgt[idx])
    return tuple(blocks), order


def sparse_blocks(blocks, block_order: np.ndarray, n_in: int, n_nodes: int):
    """The engine's blocks in final order and a :class:`SparseBlock` per sparse block.

    Args:
        blocks: blocks of :func:`networks.compile.plan_blocks` in internal node order.
        block_order: canonical edge ids in block order, shape (E,).
        n_in: number of input neurons (internal indices ``0 .. n_in - 1``).
        n_nodes: N.

    Returns:
        ``(blocks, block_order, {block index: SparseBlock})``; the returned sparse blocks
        keep only their range and delay (``src = tgt = None``): their index arrays live
        in the :class:`SparseBlock`.
    """
    blocks, order = inputs_first(blocks, block_order, n_in)
    ops, out = {}, []
    for k, blk in enumerate(blocks):
        if blk.kind == "sparse":
            ops[k] = SparseBlock(blk.src, blk.tgt, n_in, n_nodes)
            blk = replace(blk, src=None, tgt=None)
        out.append(blk)
    return tuple(out), order, ops


class _Part:
    """One CSR matrix over the active rows.

    Its data range ``lo:hi`` in the block, the message rows it reads, its pointer and
    column arrays (``indptr``, ``cols``: for the CSR kernels and the gathers;
    ``t_indptr``, ``t_cols``: the same values for the batch-1 CSC kernel, see
    :data:`SMALL_PART`), and the row of each edge.
    """

    __slots__ = ("lo", "hi", "read", "n_col", "indptr", "cols", "rows", "t_indptr",
                 "t_cols")

    def __init__(self, lo, hi, read: slice, rows, cols, n_rows):
        self.lo, self.hi, self.read = lo, hi, read
        self.n_col = read.stop - read.start
        fits32 = max(n_rows, self.n_col, hi - lo) < 2**31
        index = np.int32 if SMALL_PART <= hi - lo and fits32 else np.intp
        self.indptr = np.zeros(n_rows + 1, dtype=index)
        np.cumsum(np.bincount(rows, minlength=n_rows), out=self.indptr[1:])
        # copies: a view would keep the whole block's arrays alive
        self.cols = np.array(cols, dtype=index)
        self.rows = np.array(rows, dtype=index)   # for the Hebbian gather
        self.t_indptr, self.t_cols = self.indptr, self.cols
        if index is np.intp and fits32:
            self.t_indptr = self.indptr.astype(np.int32)
            self.t_cols = self.cols.astype(np.int32)


def _is_whole(m, n_nodes: int) -> bool:
    """Whether messages ``m`` are one (N, B) array (a delay buffer's row), not row parts."""
    return m.__class__ is np.ndarray and m.shape[0] == n_nodes


class SparseBlock:
    """Forward, backward and Hebbian products of one sparse block.

    Args:
        src: internal source index of each edge, shape (k,), inputs' edges first.
        tgt: internal target index of each edge (>= n_in), shape (k,).
        n_in: number of input neurons; N = ``n_nodes``.

    Message arrays ``m`` are anything sliced by row ranges to (rows, B): an (N, B) array
    or the engine's head/active rows. Weights ``w`` have shape (k,), the inbox ``out``
    shape (N − n_in, B), all of the engine's dtype; products are written in place.
    """

    def __init__(self, src: np.ndarray, tgt: np.ndarray, n_in: int, n_nodes: int):
        self.n_act = n_act = n_nodes - n_in
        self.n_nodes = n_nodes
        split = int(np.count_nonzero(src < n_in))
        rows = tgt - n_in
        inputs = _Part(0, split, slice(0, n_in), rows[:split], src[:split], n_act)
        active = _Part(split, len(src), slice(n_in, n_nodes), rows[split:],
                       src[split:] - n_in, n_act)
        self.parts = tuple(p for p in (inputs, active) if p.hi > p.lo)
        self.active = active if active.hi > active.lo else None
        # a small block's Hebbian product gathers a whole (N, B) message array at once:
        # each edge's source row in N and target row in the active rows, block order
        self.whole = None
        if len(src) < SMALL_PART:
            self.whole = (np.array(rows, dtype=np.intp), np.array(src, dtype=np.intp))
            self._whole_ptr = np.array([0, len(src)], dtype=np.intp)
        # a tiny block's forward product on a whole (N, B) array: one COO call (COO_BLOCK)
        self.coo = None
        if len(src) < COO_BLOCK:
            self.coo = (len(src), np.array(rows, dtype=np.int32),
                        np.array(src, dtype=np.int32))
        self._gathers = Gathers()   # the Hebbian product's reused buffers

    def _coo_call(self, w: np.ndarray, m, out: np.ndarray):
        """The one COO kernel call of :meth:`forward` on ``m``, or None.

        Only for a tiny block (:data:`COO_BLOCK`) whose messages ``m`` are one (N, B)
        array.
        """
        if self.coo is None or not _is_whole(m, self.n_nodes):
            return None
        nnz, rows, cols = self.coo
        if m.shape[1] == 1:
            return _coo_matvec, (nnz, rows, cols, w, m, out)
        if _coo_matmat_dense is None:   # pragma: no cover (scipy < 1.15)
            return None
        return _coo_matmat_dense, (nnz, m.shape[1], rows, cols, w, m, out)

    def forward(self, w: np.ndarray, m, out: np.ndarray) -> None:
        """``out += W m``: ``out[i] += Σ_j w_ij m_j`` (the calls of :meth:`bound_forward`)."""
        for fn, args in self.bound_forward(w, m, out):
            fn(*args)

    def backward(self, w: np.ndarray, m, out: np.ndarray) -> None:
        """``out += Wᵀ m`` on the active rows: ``out[j] += Σ_i w_ij m_i``.

        The active part's CSR arrays read as CSC are Wᵀ (column = target, row = source);
        the input part is skipped (nobody listens to the backward wave into inputs).
        """
        for fn, args in self.bound_backward(w, m, out):
            fn(*args)

    def bound_forward(self, w: np.ndarray, m, out: np.ndarray) -> list:
        """The kernel calls of :meth:`forward` on these arrays: ``[(function, args)]``.

        ``for fn, args in calls: fn(*args)`` adds ``W m`` into ``out`` with whatever the
        arrays hold then, so an engine may bind the calls once and repeat them while
        ``w``, ``out`` and the arrays ``m`` is sliced from stay the same objects (the
        calls hold views of them, and ``m``'s row slices must be views: an (N, B) array
        or the engine's head/active rows).
        """
        coo = self._coo_call(w, m, out)
        if coo is not None:
            return [coo]
        calls, n_row = [], self.n_act
        for part in self.parts:
            x = m[part.read]
            # scipy's kernels add into out in place (it is C-contiguous and of w's dtype)
            if x.shape[1] == 1:
                calls.append((_csr_matvec, (n_row, part.n_col, part.indptr, part.cols,
                                            w[part.lo:part.hi], x, out)))
            else:
                calls.append((_csr_matvecs, (n_row, part.n_col, x.shape[1], part.indptr,
                                             part.cols, w[part.lo:part.hi], x, out)))
        return calls

    def bound_backward(self, w: np.ndarray, m, out: np.ndarray) -> list:
        """The kernel calls of :meth:`backward` on these arrays (see :meth:`bound_forward`)."""
        part = self.active
        if part is None:
            return []
        x = m[part.read]
        if x.shape[1] == 1:
            return [(_csc_matvec, (part.n_col, self.n_act, part.t_indptr, part.t_cols,
                                   w[part.lo:part.hi], x, out))]
        return [(_csc_matvecs, (part.n_col, self.n_act, x.shape[1], part.indptr, part.cols,
                                w[part.lo:part.hi], x, out))]

    def hebb(self, post: np.ndarray, m, out: np.ndarray) -> None:
        """``out[e] = Σ_κ post[i_e, κ] m[j_e, κ]`` for each edge e = (j, i), out shape (k,).

        ``post`` has shape (N − n_in, B): the postsynaptic variable of the active rows.
        (Runs the calls of :meth:`bound_hebb`.)
        """
        for fn, args in self.bound_hebb(post, m, out):
            fn(*args)

    def bound_hebb(self, post: np.ndarray, m, out: np.ndarray) -> list:
        """The calls of :meth:`hebb` on these arrays (see :meth:`bound_forward`).

        They gather into reused buffers and ``out``: one list serves any values those
        arrays hold later.
        """
        if not self.parts:
            return []
        width, pre_width = post.shape[1], m[self.parts[0].read].shape[1]
        if width != pre_width:   # one side without example axis
            width = max(width, pre_width)
            post = np.broadcast_to(post, (post.shape[0], width))
            return [call for part in self.parts for call in self._gathers.calls(
                part.rows, part.cols, post,
                np.broadcast_to(m[part.read], (part.n_col, width)), out[part.lo:part.hi])]
        whole = self.whole is not None and _is_whole(m, self.n_nodes)
        if width == 1 and post.dtype == out.dtype:
            # gather the presynaptic values into out, then multiply each by its target's
            # postsynaptic value: scipy's csr_scale_columns (``out[e] *= post[rows[e]]``
            # on a one-row matrix) gathers and multiplies in place in one call
            if self.whole is None:   # a large block: chunk by chunk, each in cache
                return [call for part in self.parts for call in chunk_calls_1(
                    part.rows, part.cols, post, m[part.read], out[part.lo:part.hi])]
            if whole:   # (one chunk: a small block has fewer edges than HEBB_CHUNK)
                return chunk_calls_1(*self.whole, post, m, out)
            # (mode="clip": the indices are valid by construction, and "raise" buffers
            # the output, a copy per call; positional: ndarray.take(idx, axis, out, mode))
            calls = [(m[part.read].take, (part.cols, None, out[part.lo:part.hi], "clip"))
                     for part in self.parts]
            calls.append((_csr_scale_columns, (1, self.n_act, self._whole_ptr,
                                               self.whole[0], out, post)))
            return calls
        if whole:
            return self._gathers.calls(*self.whole, post, m, out)
        return [call for part in self.parts for call in self._gathers.calls(
            part.rows, part.cols, post, m[part.read], out[part.lo:part.hi])]
