"""The forward-pass predictor and its metrics (global computations, for evaluation only).

Shapes: ``weight`` (E,) canonical edges; ``bias`` (N,); ``u`` (n_in, B).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from agents.activations import ActivationMap
from agents.errors import ConvergenceError
from agents.losses import get_loss
from networks.compile import CompiledNetwork
from networks.oracles import fixed_point, forward_pass
from runs.methods.metrics import accuracy


def forward_state(net: CompiledNetwork, u, weight=None, bias=None, *,
                  max_iter: int = 1000) -> np.ndarray:
    """All neuron outputs x of the forward-pass predictor, shape (N, B).

    DAG: the static forward pass. Cyclic graph: the forward fixed point; if the iteration
    does not settle within ``max_iter`` sweeps, the state after ``max_iter`` synchronous
    sweeps from x = 0 (what the delay-free forward dynamics shows at that time).
    """
    if net.is_dag:
        return forward_pass(net, u, weight, bias)[1]
    try:
        return fixed_point(net, u, weight, bias, max_iter=max_iter, tol=1e-10)[1]
    except ConvergenceError:
        w = net.weight if weight is None else weight
        b = net.bias if bias is None else bias
        W, amap = weight_matrix(net, w), ActivationMap(net.activation)
        x = np.zeros((net.n_nodes, np.shape(u)[1]))
        x[net.input_idx] = u
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(max_iter):
                x = amap.f(W @ x + b[:, None])
                x[net.input_idx] = u
        return x


def predict(net: CompiledNetwork, u, weight=None, bias=None) -> np.ndarray:
    """Output-neuron values of :func:`forward_state`, shape (n_out, B)."""
    return forward_state(net, u, weight, bias)[net.output_idx]



def weight_matrix(net: CompiledNetwork, w) -> sp.csr_matrix:
    """The weights as a sparse (N, N) matrix, row i holding the in-edges of neuron i."""
    return sp.csr_matrix((np.asarray(w, dtype=np.float64), net.src, net.in_ptr),
                         shape=(net.n_nodes, net.n_nodes))


SATURATED = 1e-8  # |σ'(a)| below this on every neuron and example: nothing can learn


def saturated(net: CompiledNetwork, u, weight, bias) -> bool:
    """Whether every non-input neuron is saturated or dead on every example of ``u``.

    Then σ'(a) ≈ 0 everywhere, so every gradient (and every local error signal) vanishes:
    the network can no longer learn.
    """
    x = forward_state(net, u, weight, bias)
    with np.errstate(over="ignore", invalid="ignore"):
        a = weight_matrix(net, weight) @ x + np.asarray(bias)[:, None]
        df = ActivationMap(net.activation).df(a, x)
    hidden = ~np.asarray(net.is_input, dtype=bool)
    return bool(np.all(np.abs(df[hidden]) < SATURATED))


def evaluate(net, weight, bias, dataset, loss: str = "squared") -> dict:
    """Forward-pass predictor metrics: mean per-example training loss, accuracies."""
    out = predict(net, dataset.inputs("train"), weight, bias)
    value = get_loss(loss).value(out, dataset.targets("train")).sum(axis=0).mean()
    return {"loss": float(value),
            "train_acc": accuracy(out, dataset.labels("train")),
            "test_acc": accuracy(predict(net, dataset.inputs("test"), weight, bias),
                                 dataset.labels("test"))}
