"""The LP method: the Lagrangian local propagation rule, examples ``settled`` per batch.

The learner owns the per-example state of the whole training set — x, λ and the other
per-example variables a step carries over (:func:`runs.methods.carried.carried_vars`: s
in the one-round rule, ``age`` and the moments of x and λ under Adam), shape
(N, n_train) each — and, with mini-batches, swaps the visited slice into the engine
before the step and back out after it (an example's state changes only when it is
visited; :meth:`SettledLearner.epoch`). Full batch: engine batch = n_train. One engine
step per (mini-)batch.

Metrics (computed globally with :mod:`runs.methods.lagrangian` and the oracles):
``state_loss``/``state_acc`` (of the LP outputs x_o themselves), ``lagrangian``
(L / n_train), ``mean_violation``/``max_violation`` (|G(c)| over non-input neurons and
examples), ``mean_abs_lam``, and ``cos_bptt``: cosine between LP's ``∂L/∂w`` and the
exact gradient ``dE/dw + μ w`` of the forward predictor, by BPTT over the same window it
runs (:func:`networks.oracles.settled_bptt_gradient`: input held from rest until the
dynamics settle, or 1000 steps if they do not; last step scored) — BP on a DAG,
Almeida–Pineda at a stable fixed point, and a number on any graph (NaN only when
``with_cosine`` is off).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.errors import ConfigError
from agents.losses import get_loss
from agents.lp import LP, LPParams, lp_rule
from networks.contraction import clip_cycle_gain, cycle_edges
from networks.engines import make_engine
from networks.oracles import bp_gradient, settled_bptt_gradient
from runs.methods.base import (
    SHARED_SCHEDULE,
    WEIGHT_ETA,
    WEIGHT_OPTIMIZER,
    Method,
    Schedule,
    TrainResult,
    batches,
    register,
)
from runs.methods.carried import carried_vars
from runs.methods.evaluate import forward_state
from runs.methods.lagrangian import lagrangian, lagrangian_gradient, lp_terms
from runs.methods.metrics import accuracy, cosine

X_INITS = ("zero", "forward")


@dataclass(frozen=True)
class LPMethodParams(LPParams):
    """LP's rule parameters plus the initialisation of x.

    The fields' defaults are the rule's (:class:`agents.lp.LPParams`); the method's
    defaults, used when no parameters are given, are :data:`LP_DEFAULTS`.

    Attributes:
        x_init: ``"zero"`` (x = 0, the literature's choice) or ``"forward"`` (x = the
            forward pass of the initial network); λ starts at 0.
        cycle_gain: bound in (0, 1) on each neuron's cycle gain, or None (off): after
            initialisation and after every weight step each neuron rescales its own
            in-weights that lie on a directed cycle so that slope bound × Σ|w| over them
            is at most this (:func:`networks.contraction.clip_cycle_gain`, a local
            projection keeping the recurrent forward map a contraction). No-op on DAGs.
    """

    x_init: str = "zero"
    cycle_gain: float | None = None

    def __post_init__(self):
        super().__post_init__()
        g = self.cycle_gain
        if g is not None and (isinstance(g, bool) or not isinstance(g, int | float)
                              or not 0 < g < 1):
            raise ConfigError(f"LP parameter 'cycle_gain' must be a number in (0, 1) (the "
                              f"bound on each neuron's cycle gain) or None (off), got {g!r}")
        if self.x_init not in X_INITS:
            raise ConfigError(f"LP parameter 'x_init' must be one of {list(X_INITS)}, "
                              f"got {self.x_init!r}")


def lp_metrics(net, x, lam, weight, bias, dataset, params: LPParams, *,
               with_cosine: bool = True) -> dict:
    """LP's own metrics of a state on the training set (module doc), a dict."""
    U, Y = dataset.inputs("train"), dataset.targets("train")
    x, lam = np.asarray(x, dtype=np.float64), np.asarray(lam, dtype=np.float64)
    weight, bias = np.asarray(weight, np.float64), np.asarray(bias, np.float64)
    t = lp_terms(net, x, lam, weight, bias, U, params)
    hid = ~net.is_input
    G, xo = np.abs(t["G"][hid]), t["x"][net.output_idx]
    row = {
        "state_loss": float(get_loss(params.loss).value(xo, Y).sum(axis=0).mean()),
        "state_acc": accuracy(xo, dataset.labels("train")),
        "lagrangian": lagrangian(net, x, lam, weight, bias, U, Y, params,
                                 terms=t) / U.shape[1],
        "mean_violation": float(G.mean()), "max_violation": float(G.max()),
        "mean_abs_lam": float(np.abs(lam[hid]).mean()),
        "cos_bptt": float("nan"),
    }
    if with_cosine:
        lp = lagrangian_gradient(net, x, lam, weight, bias, U, Y, params,
                                 terms=t)["weight"]
        ref = reference_gradient(net, U, Y, params.loss, weight, bias)
        row["cos_bptt"] = cosine(lp, ref + params.mu * weight)
    return row


def reference_gradient(net, U, Y, loss: str, weight, bias) -> np.ndarray:
    """``dE/dw`` (E,) of the forward predictor, as ``cos_bptt`` compares with (module doc).

    The BPTT of the settled predictor (:func:`networks.oracles.settled_bptt_gradient`);
    on a DAG that equals BP (:func:`networks.oracles.bp_gradient`, its module says so and
    tests/networks/test_settled.py checks it), which costs one pass instead of a window
    of steps over every neuron, so it is computed that way there.
    """
    if net.is_dag:
        return bp_gradient(net, U, Y, loss, weight, bias).dw
    return settled_bptt_gradient(net, U, Y, loss, weight, bias).dw


def by_batch(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The columns of ``values`` (R, n) batch by batch: (n_batches, R, B), contiguous.

    ``idx`` (n_batches, B): each batch's column indices.
    """
    return np.ascontiguousarray(values[:, idx].transpose(1, 0, 2))


class SettledLearner:
    """LP's adapter: (mini-)batches clamped for one step each, per-example state kept."""

    watched = ("lagrangian", "max_violation")

    def __init__(self, net, dataset, params: LPMethodParams, schedule: Schedule, *,
                 engine: str, dtype, seed: int, with_cosine: bool):
        self.net, self.dataset, self.params = net, dataset, params
        self.with_cosine, self.steps = with_cosine, 0
        self.U, self.Y = dataset.inputs("train").astype(dtype), dataset.targets("train")
        n = self.U.shape[1]
        self.batch = None if schedule.batch is None or schedule.batch >= n else schedule.batch
        self.engine = make_engine(engine, net, lp_rule(params.two_round), params,
                                  batch=n if self.batch is None else self.batch, dtype=dtype)
        self.cycles = None if params.cycle_gain is None else cycle_edges(net)
        if self.cycles is not None and not self.cycles.any():
            self.cycles = None  # a DAG: nothing to clip
        self._clip()
        self.carried = carried_vars(lp_rule(params.two_round), params)
        self.store = {v: np.zeros((net.n_nodes, n), dtype=dtype) for v in self.carried}
        self.store["x"][net.input_idx] = self.U
        if params.x_init == "forward":
            self.store["x"] = forward_state(net, self.U, self.engine.state("weight"),
                                            self.engine.state("bias")).astype(dtype)
        if self.batch is None:
            for var in self.carried:
                self.engine.set_state(var, self.store[var])

    def epoch(self, rng: np.random.Generator) -> None:
        """One engine step per (mini-)batch (see :func:`runs.methods.base.batches`).

        The batches of an epoch are disjoint (a permutation cut into batches), so each
        visited example's inputs, targets and carried state are gathered once, batch
        by batch (:func:`by_batch`), before the first step and its state scattered back
        to the store after the last (or when a step fails): the same values as
        gathering and scattering around every step.
        """
        eng, U, Y = self.engine, self.U, self.Y
        order = batches(U.shape[1], self.batch, rng)
        if self.batch is None:
            for _ in order:
                eng.advance(U, Y)
                self._step_done()
            return
        idx = np.stack(order)
        u, y = by_batch(U, idx), by_batch(Y, idx)
        state = {var: by_batch(values, idx) for var, values in self.store.items()}
        try:
            for k in range(len(idx)):
                batch = {var: values[k] for var, values in state.items()}
                eng.load_examples(batch)
                eng.advance(u[k], y[k])
                eng.save_examples(batch)
                self._step_done()
        finally:
            for var, values in state.items():
                self.store[var][:, idx] = values.transpose(1, 0, 2)

    def _step_done(self) -> None:
        self._clip()
        self.steps += 1

    def _clip(self) -> None:
        """Project the weights onto cycle gain <= ``params.cycle_gain`` (if set)."""
        if self.cycles is not None:
            w = self.engine.state("weight")
            self.engine.set_state("weight", clip_cycle_gain(
                self.net, w, self.params.cycle_gain, self.cycles).astype(w.dtype))

    def parameters(self) -> tuple[np.ndarray, np.ndarray]:
        """Current ``(weight, bias)``."""
        return self.engine.state("weight"), self.engine.state("bias")

    def state(self) -> dict:
        """``{"x": (N, n_train), "lam": (N, n_train)}``."""
        if self.batch is None:
            return {"x": self.engine.state("x"), "lam": self.engine.state("lam")}
        return {"x": self.store["x"].copy(), "lam": self.store["lam"].copy()}

    def metrics(self) -> dict:
        """:func:`lp_metrics` of the current state."""
        s = self.state()
        return lp_metrics(self.net, s["x"], s["lam"], *self.parameters(), self.dataset,
                          self.params, with_cosine=self.with_cosine)


def _fidelity(result: TrainResult, dataset, seed: int) -> float:
    """LP's ``cos_bptt`` at the end of training (computed now if it was not recorded)."""
    cos = result.final.get("cos_bptt", float("nan"))
    if np.isnan(cos):
        cos = lp_metrics(result.net, result.x, result.lam, result.weight, result.bias,
                         dataset, result.params)["cos_bptt"]
    return cos


#: LP with no arguments: G = lin with ρ = 1, plain steps η_x = η_λ = 0.2 on x and λ (no
#: Adam on them), x starting at the forward pass, and the weight optimiser, step size and
#: schedule every method shares (:data:`runs.methods.base.WEIGHT_OPTIMIZER`, ...), so
#: that LP and BP with their defaults compare like for like. Measured: within 2 points of
#: BP's defaults on wine, breast_cancer and digits (sigmoid MLPs 1×100 and 3×30, 3
#: seeds; tests/runs/methods/test_defaults.py), and the frozen-weight (x, λ) step settles
#: on those networks (spectral radius 0.92–0.95 at the initial weights,
#: :mod:`networks.lp_stability`).
LP_DEFAULTS = LPMethodParams(constraint="lin", rho=1.0, eta_x=0.2, eta_lam=0.2,
                             optimizer=WEIGHT_OPTIMIZER, eta_w=WEIGHT_ETA,
                             state_optimizer="sgd", x_init="forward")

LP_METHOD = register(Method(
    name="lp", params=LPMethodParams, learner=SettledLearner, presentation="settled",
    defaults=LP_DEFAULTS, schedule=SHARED_SCHEDULE, fidelity=_fidelity, rule=LP))
