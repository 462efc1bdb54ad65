"""The vectorised engine's finiteness check (``check_finite=True``, the default).

After a step, a NaN or inf can only be in a variable written since the last check: by
the rule (``_written``) or from outside (``_dirty_nodes``, ``_dirty_edges``). Of the
variables the rule wrote, those another written variable vouches for
(``Rule.finite_implied``) are skipped, and so are edge variables whose bound proves them
finite (:mod:`networks.engines.edge_bounds`). Each remaining variable is read by one
reduction, the sum of absolute values (BLAS ``asum``, :func:`blas_asum`): a NaN or inf
anywhere makes it non-finite. Only on a non-finite sum (or one overflowing on finite
values) is the culprit sought, by the search both engines share (same message: step,
neuron or edge, variable).

**The window.** The arena (:mod:`networks.engines.buffered`) lays out the checked
variables so that those of one step are contiguous: on a small network every checked
node and edge variable, on a large one the checked node variables with two slots. When a
step wrote the same variables as the first one and each checked variable is in the slot
the layout expects (followed from check to check; after steps run with the check off,
looked up again), one reduction over that window checks them
(``FiniteCheck._check_finite``); anything else takes the per-variable path.

**When.** The rule writes the checked variables in its rounds; what follows in the step
(the spares' bookkeeping, the copies of the delayed sources into the delay buffers)
writes none of them. So the vectorised engine checks them as soon as its rounds are
over (``_check_in_step``, once the arena exists) and ``_check_finite``, called after
the step, only raises on what that check found: the check's reads no longer evict from
the cache the delay buffers the step has just written, which the next step's products
read first (on a large network, 10^5 neurons × 16 examples, each buffer is 12.8 MB).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import blas


def abs_sum_finite(value: np.ndarray, asum) -> bool:
    """Whether Σ |value| is finite: False if any entry is NaN or ±inf (or on overflow).

    ``asum`` is the BLAS sum of absolute values of the array's dtype (:func:`blas_asum`).
    """
    return math.isfinite(asum(value.reshape(-1)))


def blas_asum(dtype):
    """The BLAS sum of absolute values of float ``dtype`` (``dasum``/``sasum``), 1-d arrays.

    A NaN or ±inf anywhere makes it NaN or inf: its terms are never negative, so
    nothing cancels. It reads each value once (a dot of an array with itself reads it
    twice): a third faster than ``ddot``, over three times ``np.sum`` on small arrays.
    """
    return blas.get_blas_funcs("asum", dtype=np.dtype(dtype))


class Window:
    """The checked variables of a step as one contiguous range per arena parity.

    Attributes:
        written: the variables a step writes for the window to apply (frozenset).
        views: ``(range when the two-slot variables are in slot 0, … in slot 1)``, flat.
        members: ``[(arrays, name, (array in slot 0, array in slot 1))]``: the variables
            the window covers, where ``arrays`` is the engine's ``_nodes`` or ``_edges``.
        rest: ``[(arrays, name)]``: checked variables outside the window.
    """

    __slots__ = ("written", "views", "members", "rest", "parity", "asum")

    def __init__(self, written, views, members, rest):
        self.written, self.views, self.members, self.rest = written, views, members, rest
        self.parity = None   # the slot the members are in, None: not known
        self.asum = blas_asum(views[0].dtype)   # (the views are flat and contiguous)

    def finite(self) -> bool | None:
        """True or False when the layout holds (members all finite or not), None otherwise.

        (The checked variables outside the window, :attr:`rest`, are the engine's to read.)

        Called after a step that wrote exactly :attr:`written` and nothing from outside:
        every two-slot member moved to its other slot. The members' places are looked
        up after any step that broke this (:meth:`lost`), then followed.
        """
        parity = self.parity
        if parity is None:
            arrays, name, expected = self.members[0]
            first = arrays[name]
            parity = 0 if first is expected[0] else 1 if first is expected[1] else None
            if parity is None:
                return None
            for arrays, name, expected in self.members:
                if arrays[name] is not expected[parity]:
                    return None
        else:
            parity ^= 1
        self.parity = parity
        return math.isfinite(self.asum(self.views[parity]))

    def lost(self) -> None:
        """Forget where the members are (a step wrote other variables, or replaced one)."""
        self.parity = None


class FiniteCheck:
    """The finiteness check of the vectorised engine (module doc).

    Expects the engine's ``_nodes``, ``_edges``, ``_written``, ``_dirty_nodes``,
    ``_dirty_edges``, ``rule``, ``node_var_names``, ``edge_var_names``, ``dtype``, and
    the edge bounds' ``_edge_max``, ``_bounds_setup`` and ``_bound_from_scan``
    (:mod:`networks.engines.edge_bounds`); the arena sets ``_window`` (a
    :class:`Window` or None).
    """

    def _finite_plan(self) -> None:
        """Prepare the finiteness check: which written variable vouches for which."""
        self._checked_for: dict = {}
        self._checked_in_step: bool | None = None   # (_check_in_step's outcome)
        self._window: Window | None = None
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
        self._finite_sum = blas_asum(self.dtype)
        self._checked_at = None   # the step of the last check (t)
        self._bounds_setup()

    def _window_lost(self) -> None:
        """A step replaced a variable's array: the window looks its members up again."""
        if self._window is not None:
            self._window.lost()

    def _to_check(self, written: frozenset) -> tuple[list, list]:
        """``(node vars, edge vars)`` to check after a step writing ``written`` (cached)."""
        plan = self._checked_for.get(written)
        if plan is None:
            keep = {name for name in written if not self._vouched(name, written)}
            plan = self._checked_for[written] = (
                [n for n in self.node_var_names if n in keep],
                [n for n in self.edge_var_names if n in keep])
        return plan

    def _edge_finite(self, name: str) -> bool:
        """Whether edge variable ``name`` is finite: by its bound, else by one reduction.

        (:mod:`networks.engines.edge_bounds`: a variable the check reads gets a bound.)
        """
        if name in self._edge_max:
            return True
        value = self._edges[name]
        total = self._finite_sum(value.reshape(-1))
        if not math.isfinite(total):
            return False
        self._bound_from_scan(name, float(total), value.size)
        return True

    def _check_in_step(self) -> None:
        """The check at the end of a step's rounds; :meth:`_check_finite` reports it."""
        self._checked_in_step = self._finite_ok()

    def _check_finite(self) -> None:
        ok = self._checked_in_step
        if ok is None:
            ok = self._finite_ok()
        else:
            self._checked_in_step = None
        if not ok:
            super()._check_finite()   # raises naming the step, neuron/edge and variable

    def _finite_ok(self) -> bool:
        """Whether every variable the check reads is finite (if so, forget them)."""
        written, window = self._written, self._window
        if self._checked_at != self.t - 1 and window is not None:
            window.lost()   # steps ran unchecked (check_finite off): slots not followed
        self._checked_at = self.t
        if window is not None and written == window.written and not (
                self._dirty_nodes or self._dirty_edges):
            parity = window.parity
            if parity is not None and not window.rest:   # (the common case, inlined)
                window.parity = parity = parity ^ 1
                if math.isfinite(window.asum(window.views[parity])):
                    written.clear()
                    return True
            elif window.finite() and all(
                    self._edge_finite(name) if arrays is self._edges
                    else abs_sum_finite(arrays[name], window.asum)
                    for arrays, name in window.rest):
                written.clear()
                return True
        if window is not None:
            window.lost()
        nodes = self._nodes
        check_nodes, check_edges = self._to_check(frozenset(written))
        asum = self._finite_sum
        ok = all(abs_sum_finite(nodes[n], asum) for n in check_nodes) and \
            all(self._edge_finite(n) for n in check_edges) and \
            all(abs_sum_finite(nodes[n], asum) for n in self._dirty_nodes) and \
            all(self._edge_finite(n) for n in self._dirty_edges)
        if ok:
            written.clear()
            self._dirty_nodes.clear()
            self._dirty_edges.clear()
        return ok
