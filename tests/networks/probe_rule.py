"""A test-only rule that exercises every feature of the rule interface.

Two stages; delayed and undelayed channels in both directions; Hebbian edge updates; a
per-neuron variable without example axis (``bias``) updated by the rule.
"""

import numpy as np

from agents.rule import Channel, Rule, Stage, StateVar


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
    return {"z": 0.5 * state["z"] + np.tanh(inbox["now"]) + 0.1 * inbox["bnow"]}


def _edges2(edge, hebb, nrn, p):
    return {"weight": edge["weight"] * (1.0 - 1e-3 * np.tanh(hebb["h2"]))
            + 1e-3 * np.tanh(hebb["h1"])}


PROBE = Rule(
    name="probe",
    node_vars=(StateVar("x"), StateVar("a"), StateVar("delta"), StateVar("z", 0.25)),
    edge_vars=(StateVar("trace", 0.0, batched=False),),
    stages=(
        Stage(
            channels=(Channel("net", "x", "forward", delayed=True),
                      Channel("back", "delta", "backward", delayed=True)),
            node_update=_stage1, edge_update=_edges1, hebb={"dw": ("delta", "net")},
        ),
        Stage(
            channels=(Channel("now", "x", "forward", delayed=False),
                      Channel("bnow", "delta", "backward", delayed=False)),
            node_update=_stage2, edge_update=_edges2,
            hebb={"h2": ("z", "now"), "h1": ("x", "net")},  # "net": a channel of stage 1
        ),
    ),
)
