"""Neuron agents and the local learning rules (state specs + pure update functions).

Glossary — code name → symbol of the docs (docs/glossary.md):

============  ==========================================================
``x``         neuron output x_i (inputs: clamped to u)
``a``         activation a_i = Σ_j w_ij x_j + b_i
``bias``      b_i (state of neuron i)
``weight``    w_ij of edge (j, i) (state of the postsynaptic neuron i)
``delay``     integer edge delay d_ij ≥ 1
``lam``       Lagrange multiplier λ_i
``delta``     backward signal δ_i
``g``         reaction g_i = (λ_i + ρ G(c_i)) G'(c_i)
``s``         s_i = g_i σ'(a_i)
``c``         constraint residual c_i = x_i − σ(a_i)
``rho``       augmented-Lagrangian weight ρ
``eps``       ε of the ε-insensitive constraint functions
``feedback``  fixed random feedback weight B_hi (feedback alignment: replaces w_hi)
============  ==========================================================
"""

from agents.activations import ACTIVATIONS, ActivationMap, get_activation
from agents.diffusion import DIFFUSION, DiffusionParams
from agents.errors import (
    CollapseError,
    ConfigError,
    ConvergenceError,
    DataError,
    DivergenceError,
    GraphError,
    LocalpropError,
)
from agents.feedback_alignment import FEEDBACK_ALIGNMENT, FAParams
from agents.forward import FORWARD
from agents.losses import LOSSES, get_loss
from agents.lp import LP, LP_TWO_ROUND, LPParams, lp_rule
from agents.rule import Channel, Rule, Stage, StateVar

#: Every rule of the library, by config name.
RULES = {"forward": FORWARD, "lp": LP, "lp2": LP_TWO_ROUND, "diffusion": DIFFUSION,
         "fa": FEEDBACK_ALIGNMENT}

__all__ = [
    "ACTIVATIONS", "DIFFUSION", "FEEDBACK_ALIGNMENT", "FORWARD", "LOSSES", "LP", "LP_TWO_ROUND",
    "RULES", "DiffusionParams", "FAParams", "LPParams", "lp_rule", "ActivationMap", "Channel",
    "CollapseError", "ConfigError", "ConvergenceError", "DataError", "DivergenceError",
    "GraphError", "LocalpropError", "Rule", "Stage", "StateVar", "get_activation", "get_loss",
]
