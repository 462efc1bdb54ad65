"""Neuron agents and the local learning rules (state specs + pure update functions).

Glossary — code name → DESIGN.md symbol:

==========  ==========================================================
``x``       neuron output x_i (inputs: clamped to u)
``a``       activation a_i = Σ_j w_ij x_j + b_i
``bias``    b_i (state of neuron i)
``weight``  w_ij of edge (j, i) (state of the postsynaptic neuron i)
``delay``   integer edge delay d_ij ≥ 1
``lam``     Lagrange multiplier λ_i
``delta``   backward signal δ_i
``g``       reaction g_i = (λ_i + ρ G(c_i)) G'(c_i)
``s``       s_i = g_i σ'(a_i)
``c``       constraint residual c_i = x_i − σ(a_i)
``rho``     augmented-Lagrangian weight ρ
``eps``     ε of the ε-insensitive constraint functions
==========  ==========================================================
"""

from agents.activations import ACTIVATIONS, ActivationMap, get_activation
from agents.diffusion import DIFFUSION, DiffusionParams
from agents.errors import (
    ConfigError,
    ConvergenceError,
    DataError,
    DivergenceError,
    GraphError,
    LocalpropError,
)
from agents.forward import FORWARD
from agents.losses import LOSSES, get_loss
from agents.lp import LP, LP_TWO_ROUND, LPParams, lp_rule
from agents.rule import Channel, Rule, Stage, StateVar

#: Every rule of the library, by config name.
RULES = {"forward": FORWARD, "lp": LP, "lp2": LP_TWO_ROUND, "diffusion": DIFFUSION}

__all__ = [
    "ACTIVATIONS", "DIFFUSION", "FORWARD", "LOSSES", "LP", "LP_TWO_ROUND", "RULES",
    "DiffusionParams", "LPParams", "lp_rule", "ActivationMap", "Channel", "ConfigError",
    "ConvergenceError", "DataError", "DivergenceError", "GraphError", "LocalpropError",
    "Rule", "Stage", "StateVar", "get_activation", "get_loss",
]
