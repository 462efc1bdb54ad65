"""The sparse blocks' per-edge Hebbian product ``Σ_κ post_iκ m_jκ``, as kernel calls in chunks.

:class:`~networks.engines.sparse_blocks.SparseBlock` makes the product of each of its
parts (or of the whole block) with these calls; each edge e = (j, i) has a row ``rows[e]``
of ``post`` and a row ``cols[e]`` of the messages ``pre``. The calls are a list of
``(function, args)`` on views of the arrays given: an engine may bind them once and
repeat them while those arrays hold new values.

* With batch (:class:`Gathers`): each chunk gathers the postsynaptic rows into a reused
  buffer and dots each with its edge's presynaptic row in place, by one BSR kernel call
  (``bsr_matvec``, a 1 × B block per edge): no (E, B) temporary, no gather of ``pre``.
* Without batch (:func:`chunk_calls_1`): the presynaptic values are gathered into the
  output and multiplied in place by their targets' postsynaptic values
  (``csr_scale_columns`` on a one-row matrix).

Gathers use ``mode="clip"``: the indices are valid by construction, and ``"raise"``
buffers the output (a copy per call); ``ndarray.take`` takes ``(indices, axis, out,
mode)`` positionally.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse._sparsetools import bsr_matvec as _bsr_matvec
from scipy.sparse._sparsetools import csr_scale_columns as _csr_scale_columns

#: Rows × batch of the largest gather the Hebbian product makes at once (reused
#: buffers of this many values, 1 MiB each in float64; 2^16 to 2^17 measured fastest
#: at 10^5 and 10^6 edges, batch 16).
HEBB_CHUNK = 1 << 17


def chunk_calls_1(rows, cols, post, pre, out) -> list:
    """The calls of ``out[e] = post[rows[e]] · pre[cols[e]]`` without batch, in chunks.

    Args:
        rows: each edge's row of ``post``, shape (k,).
        cols: each edge's row of ``pre``, shape (k,), ``rows``' dtype.
        post: shape (n_post, 1), ``out``'s dtype (flat indices are rows).
        pre: shape (n_pre, 1).
        out: shape (k,).
    """
    calls = []
    for lo in range(0, len(cols), HEBB_CHUNK):
        hi = min(lo + HEBB_CHUNK, len(cols))
        ptr = np.array([0, hi - lo], dtype=rows.dtype)
        calls += [(pre.take, (cols[lo:hi], None, out[lo:hi], "clip")),
                  (_csr_scale_columns, (1, len(post), ptr, rows[lo:hi], out[lo:hi], post))]
    return calls


class Gathers:
    """The reused gather buffers of one block and the calls of its product with batch."""

    def __init__(self):
        self._buffers = None

    def calls(self, rows, cols, post, pre, out) -> list:
        """The calls of ``out[e] = Σ_κ post[rows[e], κ] pre[cols[e], κ]``, in chunks.

        Args:
            rows: each edge's row of ``post``, shape (k,).
            cols: each edge's row of ``pre``, shape (k,), ``rows``' dtype.
            post: shape (n_post, B), ``out``'s dtype.
            pre: shape (n_pre, B), ``out``'s dtype.
            out: shape (k,).

        Messages ``pre`` that are not one C-contiguous array (broadcast constants) are
        gathered too, multiplied by the postsynaptic rows and summed over the batch (a
        BLAS gemv).
        """
        width = post.shape[1]
        step = max(1, HEBB_CHUNK // width)
        bufs = self._buffers
        if bufs is None or bufs[0].shape != (step, width) or bufs[0].dtype != out.dtype:
            bufs = self._buffers = (np.empty((step, width), dtype=out.dtype),
                                    np.empty((step, width), dtype=out.dtype),
                                    np.ones(width, dtype=out.dtype), {})
        p_buf, q_buf, ones, ptrs = bufs
        direct = pre.__class__ is np.ndarray and pre.flags.c_contiguous \
            and pre.dtype == out.dtype
        ptr = ptrs.get(cols.dtype)   # block row pointers 0, 1, …: one block per edge
        if direct and ptr is None:
            ptr = ptrs[cols.dtype] = np.arange(step + 1, dtype=cols.dtype)
        calls = []
        for lo in range(0, len(cols), step):
            hi = min(lo + step, len(cols))
            p, q, dst = p_buf[:hi - lo], q_buf[:hi - lo], out[lo:hi]
            calls.append((post.take, (rows[lo:hi], 0, q, "clip")))
            if direct:   # (the kernel adds into dst)
                calls += [(dst.fill, (0.0,)), (_bsr_matvec, (
                    hi - lo, len(pre), 1, width, ptr, cols[lo:hi], q, pre, dst))]
            else:
                calls += [(pre.take, (cols[lo:hi], 0, p, "clip")), (np.multiply, (p, q, p)),
                          (np.dot, (p, ones, dst))]
        return calls
