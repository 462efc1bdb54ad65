"""Bounds that spare the finiteness check a pass over large edge variables.

:class:`EdgeBounds` is a part of :class:`~networks.engines.vector.VectorEngine`. A linear
edge update (``Stage.edge_linear``) makes ``v ← (1 − decay) v + coef · hebb`` with
``hebb_ij = Σ_κ post_iκ m_jκ``. Every entry, and every partial sum BLAS forms on the
way, is at most ``Σ_κ |post_iκ| |m_jκ| ≤ P · Q`` in magnitude, where ``P = Σ |post|``
and ``Q = Σ |m|`` are the sums of absolute values of the post variable (N − n_in, B) and
of the rows the messages were read from (all rows, every delay). So if ``|v| ≤ M``
entrywise before the update, afterwards ``|v| ≤ |1 − decay| M + |coef| P Q``, and as
long as that stays far below the dtype's largest number, no entry can overflow: from
finite operands the update produces finite values, and ``v`` is finite without being
read. A variable carrying the product itself (``coef = decay = 1``) is bounded by ``P Q``.

With ``check_finite`` on, the engine keeps such a bound ``M`` per edge variable
(``_edge_max``) when ``P`` and ``Q`` cost fewer reads than the variables they vouch for
(on a large network: the post variable and the messages are (N, B), the weights E). When
a variable carries the product (the *carrier*, e.g. diffusion's ``dw``) and reading it
costs fewer values than ``P`` and ``Q`` (a wide batch: E < (N + N d) B), the product's
bound is instead ``Σ |carrier|``, read right after the update that made it (its values
are still in cache; every entry, the ones the targets' ``axpy`` adds included, is at
most that sum). Either way the
finiteness check skips a variable that has one and sets it for a variable it read
(``max |v| ≤ Σ |v|``). ``P`` and ``Q`` are BLAS ``asum`` reductions: if one is not
finite, the bounds are dropped and the check reads the variables. Written from outside,
updated by a non-linear update or in a step without the check, a variable loses its
bound.

Rounding: a sum of n non-negative terms computed in floating point is at least
``(1 − 2nε)`` times the exact one; the bounds are widened by that factor and kept below
:data:`LIMIT_FRACTION` of the largest number, so that no rounding of theirs matters.
"""

from __future__ import annotations

import math

import numpy as np

from networks.engines.block_products import _Rows

#: A bound must stay below this fraction of the dtype's largest finite number.
LIMIT_FRACTION = 1e-6


def abs_sum(arr: np.ndarray, asum) -> float:
    """Σ |arr| by the BLAS ``asum`` (inf or NaN if an entry is not finite)."""
    return float(asum(arr.reshape(-1)))


class EdgeBounds:
    """Entrywise bounds of the linearly updated edge variables (module doc).

    Expects the engine's ``_nodes``, ``_edges``, ``blocks``, ``net``, ``n_in``,
    ``n_batch``, ``dtype``, ``check_finite``, ``t``, ``rule``, the arena's ``_slots`` and
    ``_window``, the check's ``_finite_sum``, and the step data's ``_u_rows`` and
    ``_u_abssum`` (``(t, Σ |u|)`` of the step that copied u there, or None).
    """

    def _bounds_setup(self) -> None:
        info = np.finfo(self.dtype)
        self._edge_max: dict[str, float] = {}
        self._bound_limit = float(info.max) * LIMIT_FRACTION
        self._bound_eps = float(info.eps)
        self._bound_worth: dict = {}   # {(post, chan): whether bounds save reads}
        # edge variables that may have a bound: those of groups where it is worth it,
        # less any variable another group updates without (never given a bound)
        self._boundable: set[str] = set()
        self._never_bound: set[str] = set()
        self._u_abssum = None
        self._delays = sorted({blk.delay for blk in self.blocks})   # Q's delays

    def _widen(self, total: float, n: int) -> float:
        """An upper bound of the exact sum from a computed sum of n non-negative terms.

        inf when there is none (not finite, or too many terms for the dtype's rounding).
        """
        slack = 2.0 * n * self._bound_eps
        if not math.isfinite(total) or slack >= 0.5:
            return math.inf
        return total / (1.0 - slack) * (1.0 + 4.0 * self._bound_eps)

    def _bounds_lost(self, names=None) -> None:
        """Forget the bounds of ``names`` (all when None): they are read again."""
        if names is None:
            self._edge_max.clear()
        else:
            for name in names:
                self._edge_max.pop(name, None)

    def _worth(self, post: str, chan: str, names, carrier=None) -> str | bool:
        """How to bound ``names``: ``"pq"``, ``"scan"`` (``carrier``) or False (not worth).

        Whether P and Q, or Σ |carrier| when it is the cheaper, cost fewer reads than
        the edge variables ``names`` they spare.

        Decided once the arena exists: variables in the finiteness window are read with
        it anyway (a small network), the others would each be read alone. P reads the
        post variable; Q the messages' rows, (N, B) per delay, less the input u of an
        undelayed channel carrying the clamped variable (the step data summed it).
        """
        key = (post, chan)
        worth = self._bound_worth.get(key)
        if worth is None:
            if self._slots is None:
                return False
            window = self._window
            covered = {m[1] for m in window.members} if window is not None else set()
            spared = sum(self._edges[n].size for n in names if n not in covered)
            channel = next(ch for stage in self.rule.stages for ch in stage.channels
                           if ch.name == chan)
            width = self.n_batch
            if channel.delayed:
                rows = self.net.n_nodes * len(self._delays)
            else:
                rows = self.net.n_nodes - (self.n_in if channel.source == self.rule.output_var
                                           else 0)
            reads = self._nodes[post].size + rows * width
            if carrier is not None and self._edges[carrier].size < reads:
                # Σ |carrier| (which the check would not read: it is read instead)
                reads, worth = self._edges[carrier].size, "scan"
                spared -= reads if carrier not in covered else 0
            else:
                worth = "pq"   # P · Q
            worth = self._bound_worth[key] = worth if reads < spared else False
            if worth:
                self._boundable.update(names)
            else:
                self._never_bound.update(names)   # (the caller drops their bounds)
            self._boundable -= self._never_bound
        return worth

    def _messages_norm(self, sent, delays) -> float:
        """Q: a bound of Σ |m| over every row and delay the messages were read from."""
        asum, total, n, seen = self._finite_sum, 0.0, 0, []
        for d in delays:
            rows = sent(d)
            # (an undelayed channel gives one object for every delay; kept, not its id:
            # a freed view's id is reused by the next one)
            if any(rows is other for other in seen):
                continue
            seen.append(rows)
            parts = (rows.head, rows.tail) if isinstance(rows, _Rows) else (rows,)
            for part in parts:
                u = self._u_abssum
                if part is self._u_rows and u is not None and u[0] == self.t:
                    total += u[1]      # (the step data's own Σ |u|)
                else:
                    total += abs_sum(part, asum)
                n += part.size
        return self._widen(total, n)

    def _bound_linear(self, post: str, chan: str, sent, carrier, targets,
                      product=None) -> None:
        """Update the bounds of a linear group's variables after its update.

        ``carrier`` (or None) holds the Hebbian product itself, ``product`` (the array
        the targets were updated with, None: ``carrier``'s); ``targets`` are
        ``[(var, coef, decay)]`` (:meth:`BufferedStep._edge_linear`).
        """
        bounds = self._edge_max
        if not self.check_finite:
            if bounds:
                bounds.clear()
            return
        worth = self._bound_worth.get((post, chan))
        if worth is None:   # (before the arena exists: undecided, no bounds kept)
            names = [t[0] for t in targets] + ([carrier] if carrier is not None else [])
            worth = self._worth(post, chan, names, carrier)
            if not worth:
                self._bounds_lost(names)
        if not worth:   # a small network: its variables never get a bound
            return
        if worth == "scan":   # (the carrier was just written: it is still in cache)
            product = self._edges[carrier] if product is None else product
            pq = self._widen(abs_sum(product, self._finite_sum), product.size)
        else:
            p = self._nodes[post]
            pq = self._widen(abs_sum(p, self._finite_sum), p.size) * self._messages_norm(
                sent, self._delays)
        limit = self._bound_limit
        if not pq <= limit:   # (also NaN)
            self._bounds_lost([t[0] for t in targets] + [carrier])
            return
        if carrier is not None and carrier in self._boundable:
            bounds[carrier] = pq
        for name, coef, decay in targets:
            old = bounds.get(name)
            if old is None:
                continue   # the check reads it and sets its bound
            new = (abs(1.0 - decay) * old + abs(coef) * pq) * (1.0 + 4.0 * self._bound_eps)
            if new <= limit:
                bounds[name] = new
            else:
                del bounds[name]

    def _bound_from_scan(self, name: str, total: float, n: int) -> None:
        """The check read edge variable ``name``: its bound from Σ |value| (``total``)."""
        if self.check_finite and name in self._boundable:
            bound = self._widen(total, n)
            if bound <= self._bound_limit:
                self._edge_max[name] = bound
