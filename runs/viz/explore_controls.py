"""Controls of the explorer derived from the rules themselves (no rule is named here).

Every rule of :data:`agents.RULES` declares its parameters as a dataclass; each field
becomes a control: a checkbox for a bool, a choice list where the library has a registry
of the allowed values (losses, constraints, optimisers), a text box otherwise (numbers
parsed, checked by the rule's own validation). The colour choices are the rule's
per-example node variables (plus the support fraction when it has a reaction ``g``), the
edge choices the rule's message channels.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass

import numpy as np

from agents import LOSSES, RULES
from agents.constraints import CONSTRAINTS
from agents.errors import LocalpropError
from agents.optim import OPTIMIZERS
from agents.rule import Rule

NONE = "(none)"
#: Field names whose allowed values a registry of the library lists.
CHOICES = {"loss": sorted(LOSSES), "constraint": sorted(CONSTRAINTS),
           "optimizer": sorted(OPTIMIZERS), "state_optimizer": sorted(OPTIMIZERS),
           "reduce": ["mean", "sum"]}
#: Display names of the glossary's variables (others are shown by their own name).
SYMBOLS = {"x": "x", "lam": "λ (lam)", "delta": "δ (delta)", "a": "a", "g": "g", "s": "s",
           "c": "c", "e": "e", "support": "support fraction", "cone": "cone |Δ| (log10)"}


@dataclass(frozen=True)
class ParamSpec:
    """One rule parameter as a control.

    Attributes:
        name: the field name.
        kind: ``"bool"``, ``"choice"`` or ``"text"``.
        type: the field's type (``bool``, ``int``, ``float``, ``str``, or ``str | None``).
        default: the field default.
        choices: allowed values for ``"choice"``.
    """

    name: str
    kind: str
    type: object
    default: object
    choices: tuple = ()

    def parse(self, value):
        """Convert a control's value to the field's type (text → number, NONE → None)."""
        if value == NONE:
            return None
        if self.type is float or self.type == (float | None):
            return float(value)
        if self.type is int:
            return int(value)
        return value

    def show(self, value) -> str | bool:
        """The control's value for a field value."""
        if self.kind == "bool":
            return bool(value)
        return NONE if value is None else str(value)


def param_specs(rule: Rule) -> list[ParamSpec]:
    """One :class:`ParamSpec` per field of ``rule.params`` (none for a rule without)."""
    hints = typing.get_type_hints(rule.params)
    specs = []
    for f in dataclasses.fields(rule.params):
        tp = hints[f.name]
        default = f.default
        if tp is bool:
            specs.append(ParamSpec(f.name, "bool", tp, default))
        elif f.name in CHOICES:
            opts = tuple(CHOICES[f.name]) + ((NONE,) if default is None or
                                             tp == (str | None) else ())
            specs.append(ParamSpec(f.name, "choice", tp, default, opts))
        else:
            specs.append(ParamSpec(f.name, "text", tp, default))
    return specs


def starting_params(rule: Rule, net, batch: int, given=None) -> dict:
    """Parameters the rule accepts, starting from its defaults (and ``given``).

    Some rules fix a field (a variant flag); the defaults are tried first, then with one
    bool field flipped, each by building an agent engine and running one step.
    """
    from networks.engines import make_engine

    base = dict(given or {})
    candidates = [base] + [{**base, s.name: not s.default} for s in param_specs(rule)
                           if s.kind == "bool" and s.name not in base]
    u = np.zeros((len(net.input_idx), batch))
    y = np.zeros((len(net.output_idx), batch))
    for params in candidates:
        try:
            make_engine("agent", net, rule, params, batch=batch).advance(u, y)
        except LocalpropError:
            continue
        return params
    return base


def colour_choices(rule: Rule) -> list[str]:
    """Node colourings a rule offers: its per-example node variables, support, cone."""
    names = [v.name for v in rule.node_vars if v.batched]
    order = {"x": 0, "lam": 1, "delta": 2}
    names.sort(key=lambda n: order.get(n, 3))
    if "g" in names:
        names.append("support")
    return [*names, "cone"]


WAVES = "waves"


def wave_channels(rule: Rule):
    """The first forward and the first backward channel of a rule (None if it has none)."""
    chans = [c for stage in rule.stages for c in stage.channels]
    fwd = next((c for c in chans if c.direction == "forward"), None)
    back = next((c for c in chans if c.direction == "backward"), None)
    return fwd, back


def edge_choices(rule: Rule) -> list[str]:
    """Edge colourings: weights, each channel's message and wavefront, and both waves.

    ``"waves"`` (rules with a forward and a backward channel) shows the forward wavefront
    as the edge colour and the backward one as a dot near each edge's presynaptic end.
    """
    out = ["weight"]
    for stage in rule.stages:
        for ch in stage.channels:
            out += [ch.name, f"{ch.name} change"]
    if all(wave_channels(rule)):
        out.append(WAVES)
    return out


def default_edges(rule: Rule) -> str:
    """Both waves for a rule whose backward messages are delayed, else the weights."""
    fwd, back = wave_channels(rule)
    return WAVES if fwd and back and back.delayed else "weight"


def edge_label(rule: Rule, choice: str) -> str:
    """A readable label of an edge colouring."""
    if choice == "weight":
        return "weight w"
    if choice == WAVES:
        fwd, back = wave_channels(rule)
        return edge_label(rule, f"{fwd.name} change")
    name, _, change = choice.partition(" ")
    ch = next(c for stage in rule.stages for c in stage.channels if c.name == name)
    arrow = "→ forward" if ch.direction == "forward" else "← backward"
    delay = " (t − d)" if ch.delayed else ""
    what = f"{SYMBOLS.get(ch.source, ch.source)}{delay} {arrow}"
    return f"|Δ| of {what} (wavefront)" if change else what


def rule_names() -> list[str]:
    """Every registered rule."""
    return list(RULES)
