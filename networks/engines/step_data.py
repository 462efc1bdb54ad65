"""The checks of a step's data: the input u and the target y, copied and checked.

:class:`StepData` is a part of :class:`~networks.engines.base.EngineBase`. A step's input
has shape (n_in, B) and its target (n_out, B) — (n_in,) and (n_out,) when the engine was
made with ``batch=None`` — with one row per input or output node in canonical order
(:mod:`networks.compile`). Each is copied (the engine never aliases user data) and
checked: numbers, the shape, finite values that fit the engine's dtype. A bad value is
reported as a :class:`~agents.errors.DataError` naming the node and the example.
"""

from __future__ import annotations

import math

import numpy as np

from agents.errors import DataError
from networks.engines.checks import real_array


class StepData:
    """Checked copies of a step's input and target (module doc).

    Expects the engine's ``net``, ``batch``, ``dtype`` and its ``_fit_dtype``.
    """

    def _check_step_array(self, arr, rows: int, what: str, idx: np.ndarray) -> np.ndarray:
        """Copy and check a step array for the nodes ``idx`` (canonical indices).

        Args:
            arr: the user's array, shape (rows, B) — (rows,) when ``batch=None``.
            rows: the number of nodes, ``len(idx)``.
            what: the array's name in messages ("input u", "output target y").
            idx: canonical indices of the nodes, shape (rows,).

        Returns:
            A checked copy in the engine's dtype, shape (rows, B) — (rows, 1).

        Node ids are looked up only for an error message (not on every step).
        """
        if arr.__class__ is np.ndarray and arr.dtype == self.dtype and self.batch is not None \
                and arr.shape == (rows, self.batch):
            # the common case, in two calls: a copy (the engine never aliases user data)
            # and one sum of squares that is finite unless a value is NaN/inf (or it
            # overflows: then the full check below names the value)
            copy = arr.copy()
            flat = copy.reshape(-1)
            if math.isfinite(np.dot(flat, flat)):
                return copy

        def where(pos):
            if not pos or pos[0] >= len(idx):
                return f" at index {list(pos)}"
            return f" for node {self.net.node_ids[idx[pos[0]]]!r}" + (
                f", example {pos[1]}" if self.batch is not None and len(pos) > 1 else "")

        arr = real_array(arr, what, where)  # a copy: the engine never aliases user data
        if self.batch is None:
            if arr.shape != (rows,):
                ids = [self.net.node_ids[k] for k in idx]
                raise DataError(f"{what} must have shape ({rows},) — one value per "
                                f"{what.split()[0]} node {ids} — got {arr.shape}")
            arr = arr[:, None]
        elif arr.shape != (rows, self.batch):
            raise DataError(f"{what} must have shape ({rows}, {self.batch}) "
                            f"(nodes × batch), got {arr.shape}")
        return self._fit_dtype(arr, what, where)

    def _step_data(self, u, y) -> tuple[np.ndarray, np.ndarray | None]:
        """The checked copies of a step's input u and target y (None stays None)."""
        return self._inputs(u), self._targets(y)

    def _inputs(self, u) -> np.ndarray:
        idx = self.net.input_idx
        return self._check_step_array(u, len(idx), "input u", idx)

    def _targets(self, y) -> np.ndarray | None:
        if y is None:
            return None
        idx = self.net.output_idx
        return self._check_step_array(y, len(idx), "output target y", idx)
