"""Gradient fidelity: the cosine between a rule's accumulated update and an exact gradient.

A rule's *update* here is the gradient estimate it descends along (the quantity it
subtracts, ``w ← w − η · update``): for diffusion the accumulated ``dw_sum`` /
``db_sum`` (Σ_t Σ_κ δ_i(t) x_j(t − d)), for LP ``∂L/∂w``. The reference over the same
window of steps is :func:`networks.oracles.bptt_gradient`, defined on every graph, so a
fidelity is always available; on a DAG with held, settled inputs it is the BP gradient.
"""

from __future__ import annotations

import numpy as np

from agents.errors import DataError
from networks.oracles.bptt import TrajectoryGradient


def cosine(a, b) -> float:
    """Cosine between two arrays of equal size (flattened).

    Returns:
        ``a·b / (‖a‖ ‖b‖)`` in [−1, 1]; NaN when either vector is exactly zero (the
        angle is undefined — e.g. no step of the window was scored).

    Raises:
        DataError: if the sizes differ or a value is not finite.

    """
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.size != b.size:
        raise DataError(f"cannot take the cosine of vectors of sizes {a.size} and {b.size}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise DataError("cosine of a vector with a non-finite entry")
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 or nb == 0.0:
        return float("nan")
    return float(np.clip(a @ b / (na * nb), -1.0, 1.0))


def cosine_to_bptt(dw, db, grad: TrajectoryGradient, *, bias: bool = True,
                   is_input=None) -> float:
    """Cosine between a rule's accumulated update and BPTT over the same window.

    Args:
        dw: the rule's accumulated weight update, shape (E,), canonical edge order.
        db: its accumulated bias update, shape (N,) (ignored when ``bias=False``).
        grad: :func:`networks.oracles.bptt_gradient` of the same network, streams and
            window (same initial state, targets, mask and latency).
        bias: include the biases in the compared vector (weights and biases together).
        is_input: optional bool (N,) of input neurons whose bias entries are dropped
            (inputs have no bias; their entries are zero in the gradient anyway).

    Returns:
        The cosine in [−1, 1] (NaN only when a vector is exactly zero).

    """
    dw = np.asarray(dw, dtype=np.float64).ravel()
    if dw.shape != grad.dw.shape:
        raise DataError(f"dw has {dw.size} entries but the network has {grad.dw.size} edges")
    if not bias:
        return cosine(dw, grad.dw)
    db = np.asarray(db, dtype=np.float64).ravel()
    if db.shape != grad.db.shape:
        raise DataError(f"db has {db.size} entries but the network has {grad.db.size} nodes")
    keep = np.ones(db.size, dtype=bool) if is_input is None else ~np.asarray(is_input, bool)
    return cosine(np.concatenate([dw, db[keep]]), np.concatenate([grad.dw, grad.db[keep]]))
