"""A test-only rule that exercises every feature of the rule interface.

Two stages; delayed and undelayed channels in both directions; a forward and a backward
channel weighted by an edge variable other than ``weight`` (``fb``, drawn from the
engine's Generator); a node variable with a random initial value (``z``) sent on a
delayed channel (so its delay buffer starts random); Hebbian edge updates; a per-neuron
variable without example axis (``bias``) updated by the rule.
"""

import numpy as np

from agents.rule import Channel, Rule, Stage, StateVar


def _fb_init(rng, shape, ctx):
    """Per-edge feedback weights N(0, 1 / fan_in), fan-in of the postsynaptic neuron."""
    return rng.standard_normal(shape) / np.sqrt(ctx.fan_in)


def _z_init(rng, shape, ctx):
    return 0.25 + 0.1 * rng.standard_normal(shape)


def _stage1(state, inbox, nrn, p):
    a = inbox["net"] + state["bias"]
    x = nrn.act.f(a)
    e = np.where(nrn.has_target, x - nrn.target, 0.0)
    delta = np.where(nrn.is_input, 0.0, nrn.act.df(a, x) * (e + inbox["back"]))
    return {"a": a, "x": x, "delta": delta,
            "bias": state["bias"] - 0.01 * delta.mean(axis=1, keepdims=True)}


def _edges1(edge, hebb, nrn, p):
    return {"weight": edge["weight"] - 0.02 * hebb["dw"] / nrn.batch,
            "trace": 0.9 * edge["trace"] + hebb["dw"]}


def _stage2(state, inbox, nrn, p):
    return {"z": 0.5 * state["z"] + np.tanh(inbox["now"]) + 0.1 * inbox["bnow"]
            + 0.05 * np.tanh(inbox["zfb"])}


def _edges2(edge, hebb, nrn, p):
    return {"weight": edge["weight"] * (1.0 - 1e-3 * np.tanh(hebb["h2"]))
            + 1e-3 * np.tanh(hebb["h1"])}


PROBE = Rule(
    name="probe",
    node_vars=(StateVar("x"), StateVar("a"), StateVar("delta"), StateVar("z", _z_init)),
    edge_vars=(StateVar("trace", 0.0, batched=False),
               StateVar("fb", _fb_init, batched=False)),
    stages=(
        Stage(
            channels=(Channel("net", "x", "forward", delayed=True),
                      Channel("back", "delta", "backward", delayed=True)),
            node_update=_stage1, edge_update=_edges1, hebb={"dw": ("delta", "net")},
        ),
        Stage(
            channels=(Channel("now", "x", "forward", delayed=False),
                      Channel("bnow", "delta", "backward", delayed=False, weight="fb"),
                      Channel("zfb", "z", "forward", delayed=True, weight="fb")),
            node_update=_stage2, edge_update=_edges2,
            hebb={"h2": ("z", "now"), "h1": ("x", "net")},  # "net": a channel of stage 1
        ),
    ),
)
