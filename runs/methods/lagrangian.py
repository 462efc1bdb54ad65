"""Global analysis of an LP state: the Lagrangian, its gradient, support neurons.

These functions see the whole network at once (like :mod:`networks.oracles`): they are
for metrics, tests and experiments, never used by the local rule. Shapes: ``x``, ``lam``
(N, B) in canonical node order; ``weight`` (E,) canonical edges; ``bias`` (N,); ``u``
(n_in, B); ``y`` (n_out, B). Input rows of ``x`` are replaced by ``u`` (clamped) and input
rows of ``lam`` are ignored.

The Lagrangian (docs/math/lp.md), summed over examples::

    L = Σ_κ [Σ_o V(x_oκ, y_oκ) + Σ_{i∉I} (λ_iκ G(c_iκ) + ρ/2 G(c_iκ)²) + α Σ_{i∉I} |x_iκ|]
        + μ/2 Σ w²

**Support pairs**: (i, κ) with reaction ``g_iκ ≠ 0``. :func:`support_fractions` reports
per neuron the fraction of examples it supports (pruning: :mod:`runs.studies.pruning`).
"""

from __future__ import annotations

import numpy as np

from agents.activations import ActivationMap
from agents.losses import get_loss
from agents.lp import LPParams, reaction
from networks.compile import CompiledNetwork
from networks.oracles import edge_products
from runs.methods.evaluate import weight_matrix


def lp_terms(net: CompiledNetwork, x, lam, weight, bias, u, params: LPParams) -> dict:
    """The per-neuron quantities of §4 computed globally.

    Returns:
        ``{"x", "a", "c", "G", "g", "s"}``, each (N, B); inputs: x = u, the rest 0.
    """
    inp = net.input_idx
    x = np.array(x, dtype=np.float64)
    x[inp] = u
    a = weight_matrix(net, weight) @ x + np.asarray(bias, dtype=np.float64)[:, None]
    a[inp] = 0.0
    amap = ActivationMap(net.activation)
    sig = amap.f(a)
    c = x - sig
    c[inp] = 0.0
    G, g = reaction(c, np.asarray(lam, dtype=np.float64), params)
    G, g = G.copy(), g.copy()
    G[inp] = 0.0
    g[inp] = 0.0
    return {"x": x, "a": a, "c": c, "G": G, "g": g, "s": g * amap.df(a, sig)}


def lagrangian(net: CompiledNetwork, x, lam, weight, bias, u, y, params: LPParams, *,
               terms: dict | None = None) -> float:
    """The value of L (module doc) at the given state, a float.

    ``terms``: :func:`lp_terms` of the same arguments, if already computed.
    """
    t = lp_terms(net, x, lam, weight, bias, u, params) if terms is None else terms
    hidden = ~net.is_input
    lam = np.asarray(lam, dtype=np.float64)
    value = np.sum(get_loss(params.loss).value(t["x"][net.output_idx], y))
    value += np.sum(lam[hidden] * t["G"][hidden] + 0.5 * params.rho * t["G"][hidden] ** 2)
    value += params.alpha * np.sum(np.abs(t["x"][hidden]))
    return float(value + 0.5 * params.mu * np.sum(np.asarray(weight) ** 2))


def lagrangian_gradient(net: CompiledNetwork, x, lam, weight, bias, u, y,
                        params: LPParams, *, terms: dict | None = None) -> dict:
    """The exact partial derivatives of L (formulas of §4, summed over examples).

    ``terms``: :func:`lp_terms` of the same arguments, if already computed.

    Returns:
        ``{"x": (N, B), "lam": (N, B), "weight": (E,), "bias": (N,)}``; input rows are 0.
    """
    t = lp_terms(net, x, lam, weight, bias, u, params) if terms is None else terms
    out_idx, inp = net.output_idx, net.input_idx
    dx = t["g"] + params.alpha * np.sign(t["x"]) - weight_matrix(net, weight).T @ t["s"]
    dx[out_idx] += get_loss(params.loss).grad(t["x"][out_idx], y)
    dx[inp] = 0.0
    s, xs = t["s"], t["x"]
    dw = -edge_products(net, s, xs) + params.mu * np.asarray(weight)
    return {"x": dx, "lam": t["G"], "weight": dw, "bias": -s.sum(axis=1)}


def support_fractions(net: CompiledNetwork, x, lam, weight, bias, u, params: LPParams
                      ) -> dict:
    """Per non-input neuron, the fraction of examples κ with reaction ``g_iκ ≠ 0``.

    Returns:
        ``{node id: fraction in [0, 1]}`` in canonical node order (inputs omitted).
    """
    g = lp_terms(net, x, lam, weight, bias, u, params)["g"]
    frac = np.mean(g != 0.0, axis=1)
    return {node: float(frac[k]) for k, node in enumerate(net.node_ids)
            if not net.is_input[k]}

