"""Exact, deliberately global gradient oracles used to check the local rules.

Nothing here is local: these functions see the whole weight matrix and are meant for tests
and for measuring gradient fidelity during runs. Everything is float64.

Static oracles (:mod:`.dag`, :mod:`.recurrent`): data ``u`` is (n_in, B) and targets
``y`` are (n_out, B); a 1-D ``u`` or ``y`` means B = 1 and results still carry a batch
axis of length 1. Rows follow ``net.input_idx`` / ``net.output_idx``. Node arrays are
(N, B) in canonical node order, edge arrays (E,) in canonical edge order (see
:mod:`networks.compile`). Every function takes optional ``weight`` (E,) and ``bias`` (N,)
that override the network's own, so finite differences and trainers can evaluate
modified parameters. Input biases are ignored (inputs are clamped: ``a = 0``, ``x = u``).

The loss is summed, not averaged: ``E = Σ_κ Σ_o V(x_oκ, y_oκ)``, and so are the weight
gradients: ``dw_ij = Σ_κ δ_iκ x_jκ``, ``db_i = Σ_κ δ_iκ``.

Temporal oracle (:mod:`.bptt`): backpropagation through time over a window of steps of
the delayed network, for any graph (cyclic or not) and time-varying streams ``u`` (T,
n_in, B), ``y`` (T, n_out, B). :mod:`.fidelity` measures a rule's accumulated update
against it; :mod:`.settled` is BPTT of the forward predictor (input held from rest until
the dynamics settle, last step scored): BP on a DAG, Almeida–Pineda at a stable fixed
point, and still defined when there is none.

Modules: :mod:`._common` (the :class:`Gradient` record, checks), :mod:`.dag` (forward
pass, BP), :mod:`.recurrent` (fixed point, Almeida–Pineda), :mod:`.bptt`,
:mod:`.settled`, :mod:`.fidelity`, :mod:`.numeric` (finite differences).
"""

from networks.oracles._common import Gradient, edge_products, total_loss
from networks.oracles.bptt import TrajectoryGradient, bptt_gradient, bptt_loss, trajectory
from networks.oracles.dag import bp_gradient, forward_pass
from networks.oracles.fidelity import cosine, cosine_to_bptt
from networks.oracles.numeric import finite_difference
from networks.oracles.recurrent import exact_gradient, fixed_point, recurrent_gradient
from networks.oracles.settled import SettledGradient, settle_steps, settled_bptt_gradient

__all__ = [
    "Gradient",
    "SettledGradient",
    "TrajectoryGradient",
    "edge_products",
    "bp_gradient",
    "bptt_gradient",
    "bptt_loss",
    "cosine",
    "cosine_to_bptt",
    "exact_gradient",
    "finite_difference",
    "fixed_point",
    "forward_pass",
    "recurrent_gradient",
    "settle_steps",
    "settled_bptt_gradient",
    "total_loss",
    "trajectory",
]
