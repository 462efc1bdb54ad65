"""Rule 0: delayed forward dynamics, no learning.

``a_i(t) = Σ_j w_ij x_j(t − d_ij) + b_i``, ``x_i(t) = σ(a_i(t))``; input neurons are
clamped to the input sequence ``u(t)``. One stage, one delayed forward channel.
"""

from __future__ import annotations

from agents.rule import Channel, Rule, Stage, StateVar


def forward_node_update(state, inbox, nrn, params):
    """Activation and output: a = Σ_j w_ij x_j(t − d_ij) + b, x = σ(a). Shapes (n, B)."""
    a = inbox["net"] + state["bias"]
    return {"a": a, "x": nrn.act.f(a)}


FORWARD = Rule(
    name="forward",
    node_vars=(
        StateVar("x", 0.0, doc="output x_i(t)"),
        StateVar("a", 0.0, doc="activation a_i(t)"),
    ),
    edge_vars=(),
    stages=(
        Stage(
            channels=(Channel("net", source="x", direction="forward", delayed=True),),
            node_update=forward_node_update,
        ),
    ),
)
