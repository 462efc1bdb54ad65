"""Training with the LP rule in an engine, with per-step metrics.

:func:`train_lp` runs the local rule in the vector (default) or agent engine. The trainer
owns the per-example state of the whole training set — x, λ and the other per-example
variables of :data:`agents.lp.EXAMPLE_VARS`, shape (N, n_train) — and, with mini-batches,
swaps the visited slice into the engine before the step and back out after it (an
example's state changes only when it is visited). Full batch: engine batch = n_train.

Metrics (tidy rows, see :func:`train_lp`) are computed globally with
:mod:`runs.methods.lagrangian` and the oracles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.errors import ConfigError, ConvergenceError, DivergenceError
from agents.losses import get_loss
from agents.lp import EXAMPLE_VARS, LP, LPParams, lp_rule
from networks.engines import make_engine
from networks.engines.base import as_compiled
from networks.oracles import exact_gradient
from runs.methods.bp import TrainResult, batches, check_schedule
from runs.methods.evaluate import evaluate, forward_state
from runs.methods.lagrangian import lagrangian, lagrangian_gradient, lp_terms
from runs.methods.metrics import accuracy, cosine

X_INITS = ("zero", "forward")


@dataclass
class LPResult(TrainResult):
    """A :class:`TrainResult` plus the LP state.

    Attributes:
        engine: the engine (holds the last mini-batch's state).
        x, lam: per-example state of the whole training set, shape (N, n_train).
        params: the :class:`LPParams` used.
    """

    engine: object = None
    x: np.ndarray | None = None
    lam: np.ndarray | None = None
    params: LPParams | None = None


def lp_metrics(net, x, lam, weight, bias, dataset, params: LPParams, *,
               with_cosine: bool = True) -> dict:
    """Metrics of an LP state on the training set (global computation).

    Returns:
        ``loss`` (forward-pass predictor, mean per example), ``train_acc``, ``test_acc``,
        ``state_loss``/``state_acc`` (of the LP outputs x_o themselves), ``lagrangian``
        (L / n_train), ``mean_violation``/``max_violation`` (|G(c)| over non-input
        neurons and examples), ``mean_abs_lam``, and ``cos_bp``: cosine between LP's
        ``∂L/∂w`` and the exact gradient ``dE/dw + μ w`` (BP on DAGs, recurrent backprop
        on cyclic graphs; NaN if the fixed point cannot be found).
    """
    U, Y = dataset.inputs("train"), dataset.targets("train")
    n = U.shape[1]
    t = lp_terms(net, x, lam, weight, bias, U, params)
    hid = ~net.is_input
    G, xo = np.abs(t["G"][hid]), t["x"][net.output_idx]
    row = evaluate(net, weight, bias, dataset, params.loss)
    row |= {
        "state_loss": float(get_loss(params.loss).value(xo, Y).sum(axis=0).mean()),
        "state_acc": accuracy(xo, dataset.labels("train")),
        "lagrangian": lagrangian(net, x, lam, weight, bias, U, Y, params) / n,
        "mean_violation": float(G.mean()), "max_violation": float(G.max()),
        "mean_abs_lam": float(np.abs(np.asarray(lam)[hid]).mean()),
        "cos_bp": float("nan"),
    }
    if with_cosine:
        lp = lagrangian_gradient(net, x, lam, weight, bias, U, Y, params)["weight"]
        try:
            bp = exact_gradient(net, U, Y, params.loss, weight, bias).dw + params.mu * weight
            row["cos_bp"] = cosine(lp, bp)
        except ConvergenceError:
            pass
    return row


def train_lp(net, dataset, params: LPParams | dict | None = None, *, epochs: int = 100,
             batch_size: int | None = None, engine: str = "vector", x_init: str = "zero",
             seed: int = 0, eval_every: int = 10, with_cosine: bool = True) -> LPResult:
    """Train a network with the LP rule.

    Args:
        net: a network graph or compiled network (its weights are the initial ones).
        dataset: a :class:`runs.data.datasets.Dataset`.
        params: :class:`LPParams` (or a mapping of its fields); ``two_round`` picks the
            rule variant.
        epochs: passes over the training set; one engine step per (mini-)batch.
        batch_size: mini-batch size, or None for full batch.
        engine: ``"vector"`` or ``"agent"``.
        x_init: ``"zero"`` (x = 0, the literature's choice) or ``"forward"`` (x = the
            forward pass of the initial network); λ starts at 0.
        seed: seed of the mini-batch order.
        eval_every: record metrics every this many steps (and at step 0 and the end).
        with_cosine: compute ``cos_bp`` (an exact gradient per evaluation).

    Returns:
        An :class:`LPResult` whose history rows hold ``step``, ``epoch`` and the
        :func:`lp_metrics` keys.

    Raises:
        ConfigError: for a bad schedule, ``x_init`` or parameter.
        DivergenceError: (from the engine) if the state becomes non-finite.
    """
    check_schedule(epochs, batch_size, eval_every)
    if x_init not in X_INITS:
        raise ConfigError(f"x_init must be one of {list(X_INITS)}, got {x_init!r}")
    net = as_compiled(net)
    dataset.check_fits(net)
    params = LP.make_params(params)
    U, Y = dataset.inputs("train"), dataset.targets("train")
    n = U.shape[1]
    full = batch_size is None or batch_size >= n
    eng = make_engine(engine, net, lp_rule(params.two_round), params,
                      batch=n if full else batch_size)
    store = {v: np.zeros((net.n_nodes, n)) for v in EXAMPLE_VARS}
    store["x"][net.input_idx] = U
    if x_init == "forward":
        store["x"] = forward_state(net, U)
    if full:
        for var in EXAMPLE_VARS:
            eng.set_state(var, store[var])

    def state(var):
        return eng.state(var) if full else store[var]

    rng = np.random.default_rng(seed)
    history, step = [], 0

    def record(epoch):
        with np.errstate(over="ignore", invalid="ignore"):  # checked just below
            row = lp_metrics(net, state("x"), state("lam"), eng.state("weight"),
                             eng.state("bias"), dataset, params, with_cosine=with_cosine)
        for key in ("loss", "lagrangian", "max_violation"):
            if not np.isfinite(row[key]):
                raise_divergence(net, step, key, {"x": state("x"), "lam": state("lam")})
        history.append({"step": step, "epoch": epoch, **row})

    record(0)
    for epoch in range(1, epochs + 1):
        for idx in batches(n, None if full else batch_size, rng):
            if full:
                eng.advance(U, Y)
            else:
                for var in EXAMPLE_VARS:
                    eng.set_state(var, store[var][:, idx])
                eng.advance(U[:, idx], Y[:, idx])
                for var in EXAMPLE_VARS:
                    store[var][:, idx] = eng.state(var)
            step += 1
            if step % eval_every == 0:
                record(epoch)
    if history[-1]["step"] != step:
        record(epochs)
    return LPResult(history, eng.state("weight"), eng.state("bias"), net, engine=eng,
                    x=state("x"), lam=state("lam"), params=params)


def raise_divergence(net, step: int, metric: str, state: dict) -> None:
    """Stop a run whose metric overflowed, naming the step and the most extreme neuron."""
    name, values = max(state.items(), key=lambda kv: np.nanmax(np.abs(kv[1])))
    with np.errstate(invalid="ignore"):
        i = int(np.nanargmax(np.abs(values).max(axis=1)))
    raise DivergenceError(
        f"step {step}: the {metric} is no longer finite; the largest state is variable "
        f"{name!r} of neuron {net.node_ids[i]!r} ({np.abs(values[i]).max():.3g}); lower the "
        "step sizes or ρ")
