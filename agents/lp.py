"""Rule 1: Lagrangian local propagation (LP), docs/math/lp.md, as a local rule.

Every non-input neuron i keeps, per example κ, its output ``x_iκ`` and multiplier
``λ_iκ``; it owns the weights of its in-edges and its bias. With ``a = Σ_j w_ij x_j + b``,
``c = x − σ(a)``, the reaction ``g = (λ + ρ G(c)) G'(c)`` and ``s = g σ'(a)``:

* ``∂L/∂x_i = [i∈O] ∂V/∂x_i + g_i + α sign(x_i) − Σ_{h∈ch(i)} s_h w_hi`` (descent on x),
* ``∂L/∂λ_i = G(c_i)`` (ascent on λ),
* ``∂L/∂w_ij = −Σ_κ s_iκ x_jκ + μ w_ij``, ``∂L/∂b_i = −Σ_κ s_iκ`` (descent on w, b).

Messages: forward ``x_j`` to each child (undelayed channel ``x_in``); backward ``s_h w_hi``
(undelayed channel ``s_back``; the sender h owns ``w_hi``). Edge delays are ignored: the
Lagrangian is static. Input neurons are clamped by the engine; their λ, c, g and s are 0.

**Batch reduction of the weight step.** ``reduce="mean"`` (default): the data part of the
weight and bias gradients is averaged over the engine's batch,
``(−Σ_κ s_iκ x_jκ) / B + μ w_ij`` and ``−Σ_κ s_iκ / B`` (step sizes independent of B);
``reduce="sum"``: the exact ``∂L/∂w`` above (the oracle's convention: ``dw`` summed).
x and λ are per example and never reduced.

Two variants (same state, same parameters :class:`LPParams`):

* :data:`LP` (``two_round=False``): **one message round per step**. Each neuron keeps
  ``s`` as state. In the round it sends ``x_j`` forward and ``s_h w_hi`` backward, the
  ``s`` being the one computed in the previous step. It then computes ``a, c, g, s`` from
  its inbox and its own previous ``x, λ``, updates ``x`` with the children's one-step
  stale ``s``, ``λ``, ``b``, and its in-edge weights with ``Σ_κ s_iκ x_jκ`` (Hebbian
  product of its new s and the x that arrived). Only in- and out-neighbours can affect
  a neuron in one step. The w, b and λ steps are exact gradient steps at the previous
  values; the x step uses the stale backward message (identical at a fixed point).
* :data:`LP_TWO_ROUND` (``two_round=True``): round 1 sends x forward and computes
  ``a, c, g, s``; round 2 sends ``s w`` backward and updates x, λ, b, w (the Hebbian
  product uses the x that arrived in round 1): exactly one simultaneous gradient descent/ascent step
  on L from the previous values. Neurons more than 2 hops away cannot affect i in a step.

Optimisers (:mod:`agents.optim`) are elementwise: ``sgd`` or ``adam`` with moments kept
as state (``mx, vx`` for x, ``ml, vl`` for λ, ``mb, vb`` for b, ``mw, vw`` per edge). The
Adam step count of x and λ is the per-example counter ``age`` (so mini-batches that visit
an example rarely keep correct bias corrections), counted only by Adam steps on x and λ
(``state_optimizer="adam"``), like their moments; b and w use the engine step ``t``.

The loss term acts on output neurons whose target is present this step (the engine's
``has_target``).

**Stability of the (x, λ) dynamics** (weights frozen, G = lin). ρ > 0 does not move the
saddle point (the augmented term's gradient vanishes where G = 0). Whether the dynamics
settle depends on the graph, the data, ρ and the step sizes:
``networks.lp_stability`` computes the exact Jacobian of one step of either variant at the
saddle point (spectral radius < 1 ⇒ local linear convergence) and its
``stable_lp_params`` chooses ρ and η_x = η_λ per graph and data. Measured there on
seeded graphs (DAGs and contractive cyclic graphs, mixed activations): ρ = 0, plain
descent–ascent, is **unstable** (radius > 1 on each of 10 graphs for η from 0.002 to 1;
it spirals away); with the automatic rule 48 of 50 graphs reach the saddle point within
1e-8 from x = λ = 0. The fixed defaults below are not guaranteed to settle on every
graph; when it matters, call ``stable_lp_params``. Adam's normalised steps on x and λ
keep them jittering at about η, so x and λ take plain steps unless
``state_optimizer="adam"`` is asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from agents import optim
from agents.constraints import get_constraint
from agents.errors import ConfigError
from agents.losses import add_loss_grad, get_loss
from agents.rule import Channel, Rule, Stage, StateVar, apply_linear, batch_sum

REDUCTIONS = ("mean", "sum")


@dataclass(frozen=True)
class LPParams:
    """Parameters of the LP rule (docs/math/lp.md).

    Defaults of the rule: G = lin, ρ = 4, η_x = η_λ = 0.05 with plain steps on x and λ
    (conservative for the frozen-weight (x, λ) dynamics: measured to settle on 46 of the
    50 random graphs of the stability test, see the module doc), plain steps η_w = 1e-2
    on the weights. Training with no arguments goes through the method layer, whose
    defaults (``runs.methods.lp.LP_DEFAULTS``: ρ = 1, η_x = η_λ = 0.2, x from the forward
    pass, Adam at 1e-2 on the weights, shared with BP) were measured to learn tabular
    tasks within 2 points of BP.

    Attributes:
        constraint: G: ``lin``, ``lin-eps``, ``abs``, ``abs-eps`` or ``squared``.
        eps: ε of the ε-insensitive constraints (>= 0).
        rho: augmented-Lagrangian weight ρ (>= 0). ρ = 0 (plain descent–ascent) is
            unstable: the (x, λ) dynamics spiral away from the saddle point.
        alpha: L1 weight α on the outputs x of non-input neurons (>= 0).
        mu: weight decay μ (>= 0).
        eta_w: step size of weights and biases (>= 0; 0 freezes them).
        eta_x: step size of x (>= 0).
        eta_lam: step size of λ (>= 0).
        optimizer: ``"sgd"`` or ``"adam"`` for the weights and biases only.
        state_optimizer: optimiser of x and λ, ``"sgd"`` (default: plain steps, whatever
            ``optimizer`` is) or ``"adam"`` (only when asked: its normalised steps keep x
            and λ jittering at ~η). None is accepted and means plain steps too.
        beta1, beta2, adam_eps: Adam constants.
        loss: per-output loss V: ``"squared"`` or ``"bce"`` (binary cross-entropy of a
            sigmoid output; V and ∂V/∂x use x clipped to [1e-12, 1 − 1e-12], so prefer
            ``x_init="forward"`` with it). No softmax: outputs do not exchange messages.
        reduce: ``"mean"`` or ``"sum"`` over the batch for the w and b steps (module doc).
        two_round: selects the rule variant (:func:`lp_rule`); each rule checks it.
    """

    constraint: str = "lin"
    eps: float = 0.0
    rho: float = 4.0
    alpha: float = 0.0
    mu: float = 0.0
    eta_w: float = 1e-2
    eta_x: float = 5e-2
    eta_lam: float = 5e-2
    optimizer: str = "sgd"
    state_optimizer: str | None = "sgd"
    beta1: float = 0.9
    beta2: float = 0.999
    adam_eps: float = 1e-8
    loss: str = "squared"
    reduce: str = "mean"
    two_round: bool = False

    def __post_init__(self):
        get_constraint(self.constraint)
        get_loss(self.loss)
        optim.check_optimizer(self.optimizer)
        if self.state_optimizer is not None:
            optim.check_optimizer(self.state_optimizer)
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "float":
                if isinstance(value, bool) or not isinstance(value, int | float) \
                        or not math.isfinite(value):
                    raise ConfigError(f"LP parameter {f.name!r} must be a finite number, "
                                      f"got {value!r}")
        for name in ("eps", "rho", "alpha", "mu", "eta_w", "eta_x", "eta_lam"):
            if getattr(self, name) < 0:
                raise ConfigError(f"LP parameter {name!r} must be >= 0, "
                                  f"got {getattr(self, name)!r}")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"LP parameter {name!r} must be in [0, 1), "
                                  f"got {getattr(self, name)!r}")
        if not self.adam_eps > 0:
            raise ConfigError(f"LP parameter 'adam_eps' must be > 0, got {self.adam_eps!r}")
        if self.reduce not in REDUCTIONS:
            raise ConfigError(f"LP parameter 'reduce' must be one of {list(REDUCTIONS)}, "
                              f"got {self.reduce!r}")
        if not isinstance(self.two_round, bool):
            raise ConfigError(f"LP parameter 'two_round' must be a bool, "
                              f"got {self.two_round!r}")


def reaction(c, lam, p: LPParams):
    """Constraint value and reaction: ``(G(c), g = (λ + ρ G(c)) G'(c))``, elementwise."""
    con = get_constraint(p.constraint)
    G = con.g(c, p.eps)
    return G, (lam + p.rho * G) * con.dg(c, p.eps)


def _reaction_into(c, lam, g, nrn, p: LPParams):
    """:func:`reaction` with G(c) and g in the update's own arrays (no temporaries).

    For a constraint whose G is the identity (``Constraint.identity``) G(c) is ``c``
    itself and g = λ + ρ c (the same rounding as the general formula); with ρ = 1 the
    product is skipped (1 · G is G, bit for bit).
    """
    con = get_constraint(p.constraint)
    G = c if con.identity else con.g(c, p.eps, out=nrn.out("G", c))
    if type(p.rho) in (float, int) and p.rho == 1:   # ρ G is G itself (the defaults')
        np.add(G, lam, out=g)
    else:
        np.multiply(G, p.rho, out=g)
        g += lam
    if not con.identity:
        g *= con.dg(c, p.eps, out=nrn.out("dG", c))
    return G, g


def _forward_part(state, x_in, nrn, p: LPParams):
    """a, c, G(c), g, s of the neuron(s) from the forward inbox and own x, λ. Shapes (n, B).

    Input neurons never run node updates (the engines clamp them), so no role masks.
    ``x_in`` (the update's own) is overwritten.
    """
    a = np.add(x_in, state["bias"], out=nrn.out("a", x_in))
    sig = nrn.act.f(a, out=x_in)
    c = np.subtract(state["x"], sig, out=nrn.out("c", a))
    G, g = _reaction_into(c, state["lam"], nrn.out("g", a), nrn, p)
    s = nrn.act.df(a, sig, out=nrn.out("s", a))
    s *= g
    return a, c, G, g, s


def _update_part(state, G, g, s, back, nrn, p: LPParams) -> dict:
    """Descent on x and b, ascent on λ, from own G(c), g, s and the backward inbox.

    ``back`` (the update's own) is overwritten.
    """
    x, lam = state["x"], state["lam"]
    dx = np.subtract(g, back, out=back)
    if p.alpha:
        dx += p.alpha * np.sign(x)
    add_loss_grad(dx, x, nrn, p.loss)
    if (p.state_optimizer or "sgd") == "sgd":  # θ − η ∇, no temporary
        dx *= p.eta_x
        out = {"x": np.subtract(x, dx, out=nrn.out("x", dx))}
        lam_new = np.multiply(G, p.eta_lam, out=nrn.out("lam", G))  # (no scratch array)
        lam_new += lam                                              # λ − η (−G)
        out["lam"] = lam_new
    else:   # (age counts the Adam steps of x and λ: plain steps leave it as it is)
        age = np.add(state["age"], 1.0, out=nrn.out("age", dx))
        out = {"age": age}
        k = (p.beta1, p.beta2, p.adam_eps)
        x_new, mx, vx = optim.adam_step(x, dx, state["mx"], state["vx"], age, p.eta_x, *k)
        lam_new, ml, vl = optim.adam_step(lam, -G, state["ml"], state["vl"], age,
                                          p.eta_lam, *k)
        out |= {"x": x_new, "lam": lam_new, "mx": mx, "vx": vx, "ml": ml, "vl": vl}
    scale = nrn.batch if p.reduce == "mean" else 1.0
    bias = state["bias"]                     # ∂L/∂b = −Σ_κ s (/B)
    if p.optimizer == "sgd":   # b − η_w (−Σ s / B) = b + (η_w / B) Σ s
        b_new = batch_sum(s, p.eta_w / scale, nrn.out("bias", bias))
        out["bias"] = np.add(b_new, bias, out=b_new)
        return out
    grad = batch_sum(s, -1.0 / scale, nrn.out("grad_b", bias))
    b_new, mb, vb = optim.adam_step(bias, grad, state["mb"], state["vb"],
                                    nrn.t, p.eta_w, p.beta1, p.beta2, p.adam_eps)
    out |= {"bias": b_new, "mb": mb, "vb": vb}
    return out


def _edge_linear(p: LPParams, batch: int):
    """Plain SGD on w is linear in ``sx``: ``w ← (1 − η_w μ) w + (η_w / B_or_1) sx``."""
    if p.optimizer != "sgd":
        return None
    scale = batch if p.reduce == "mean" else 1.0
    return {"weight": ("sx", p.eta_w / scale, p.eta_w * p.mu)}


def _edge_update(edge, hebb, nrn, p: LPParams) -> dict:
    """``w ← w − η_w (−Σ_κ s_i x_j / B_or_1 + μ w)`` with the chosen optimiser."""
    linear = _edge_linear(p, nrn.batch)
    if linear is not None:
        return apply_linear(edge, hebb, linear)
    scale = nrn.batch if p.reduce == "mean" else 1.0
    w = edge["weight"]
    grad = np.negative(hebb["sx"], out=hebb["sx"])   # (the update's own array)
    grad /= scale
    if p.mu:  # (μ = 0: the term adds only zeros)
        grad += p.mu * w
    w, mw, vw = optim.step(p.optimizer, w, grad, edge["mw"], edge["vw"], nrn.t, p.eta_w,
                           p.beta1, p.beta2, p.adam_eps)
    return {"weight": w, "mw": mw, "vw": vw}


def _check_variant(p: LPParams, two_round: bool) -> None:
    if p.two_round != two_round:
        raise ConfigError(f"LPParams(two_round={p.two_round}) given to the "
                          f"{'two' if two_round else 'one'}-round LP rule; use "
                          f"lp_rule(two_round={p.two_round})")


def _one_round(state, inbox, nrn, p: LPParams) -> dict:
    _check_variant(p, False)
    a, c, G, g, s = _forward_part(state, inbox["x_in"], nrn, p)
    out = _update_part(state, G, g, s, inbox["s_back"], nrn, p)
    out |= {"a": a, "c": c, "g": g, "s": s}
    return out


def _round1(state, inbox, nrn, p: LPParams) -> dict:
    _check_variant(p, True)
    a, c, _, g, s = _forward_part(state, inbox["x_in"], nrn, p)
    return {"a": a, "c": c, "g": g, "s": s}


def _round2(state, inbox, nrn, p: LPParams) -> dict:
    c, con = state["c"], get_constraint(p.constraint)
    G = c if con.identity else con.g(c, p.eps, out=nrn.out("G", c))
    return _update_part(state, G, state["g"], state["s"], inbox["s_back"], nrn, p)


NODE_VARS = (
    StateVar("x", doc="output x_iκ (free variable; inputs clamped to u)"),
    StateVar("lam", doc="multiplier λ_iκ"),
    StateVar("a", doc="activation a_iκ = Σ_j w_ij x_jκ + b_i"),
    StateVar("c", doc="constraint residual c_iκ = x_iκ − σ(a_iκ)"),
    StateVar("g", doc="reaction g_iκ = (λ + ρ G(c)) G'(c)"),
    StateVar("s", doc="s_iκ = g_iκ σ'(a_iκ) (sent backward as s_i w_ij)"),
    StateVar("mx", doc="Adam first moment of x"),
    StateVar("vx", doc="Adam second moment of x"),
    StateVar("ml", doc="Adam first moment of λ"),
    StateVar("vl", doc="Adam second moment of λ"),
    StateVar("age", doc="number of Adam updates of this example's x and λ (Adam's step "
                        "count; plain steps leave it unchanged)"),
    StateVar("mb", batched=False, doc="Adam first moment of b"),
    StateVar("vb", batched=False, doc="Adam second moment of b"),
)
EDGE_VARS = (
    StateVar("mw", batched=False, doc="Adam first moment of w"),
    StateVar("vw", batched=False, doc="Adam second moment of w"),
)
#: Variables an engine need not check for finiteness (see ``Rule.finite_implied``): in
#: IEEE arithmetic a sum, product or difference with a NaN/inf operand is NaN/inf (inf −
#: inf and 0 · inf are NaN), and σ' of a finite σ(a) is finite or NaN. So, in one step:
#: c non-finite ⇒ G(c) non-finite (every G: max/abs/square propagate NaN) ⇒ λ ± η G(c),
#: or its Adam moments and step, non-finite; g ⇒ dx = g − back + … ⇒ x − η dx (or its
#: Adam step) non-finite; s = g σ' ⇒ Σ_κ s ⇒ b non-finite (SGD or Adam); mx ⇒ x (m̂ in
#: the numerator); ml ⇒ λ; mb ⇒ b; age + 1 is finite for every finite age.
FINITE_IMPLIED = {"c": "lam", "g": "x", "s": "bias", "mx": "x", "ml": "lam", "mb": "bias",
                  "age": None}
#: Per-example node variables (what a mini-batch trainer swaps in and out).
EXAMPLE_VARS = tuple(v.name for v in NODE_VARS if v.batched)

#: The node variables the node updates read (``Stage.reads``): not a, c, g (nor s in the
#: one-round variant, which sends it before its update), so the vectorised engine keeps
#: one array for those it need not double-buffer.
_FORWARD_READS = frozenset({"bias", "x", "lam"})
_UPDATE_READS = _FORWARD_READS | {"age", "mx", "vx", "ml", "vl", "mb", "vb"}

LP = Rule(
    name="lp",
    node_vars=NODE_VARS,
    edge_vars=EDGE_VARS,
    stages=(
        Stage(channels=(Channel("x_in", "x", "forward", delayed=False),
                        Channel("s_back", "s", "backward", delayed=False)),
              node_update=_one_round, edge_update=_edge_update, hebb={"sx": ("s", "x_in")},
              edge_linear=_edge_linear, reads=_UPDATE_READS),
    ),
    params=LPParams,
    finite_implied=FINITE_IMPLIED,
)

LP_TWO_ROUND = Rule(
    name="lp2",
    node_vars=NODE_VARS,
    edge_vars=EDGE_VARS,
    stages=(
        Stage(channels=(Channel("x_in", "x", "forward", delayed=False),),
              node_update=_round1, reads=_FORWARD_READS),
        Stage(channels=(Channel("s_back", "s", "backward", delayed=False),),
              node_update=_round2, edge_update=_edge_update, hebb={"sx": ("s", "x_in")},
              edge_linear=_edge_linear, reads=_UPDATE_READS | {"c", "g", "s"}),
    ),
    params=LPParams,
    finite_implied=FINITE_IMPLIED,
)


def lp_rule(two_round: bool = False) -> Rule:
    """The one-round :data:`LP` rule or the exact two-round :data:`LP_TWO_ROUND` rule."""
    return LP_TWO_ROUND if two_round else LP
