"""Training with the LP rule (DESIGN §4) in an engine, with per-step metrics and a BP comparison.

:func:`train_lp` runs the local rule in the vector (default) or agent engine. The trainer
owns the per-example state of the whole training set — x, λ and the other per-example
variables of :data:`agents.lp.EXAMPLE_VARS`, shape (N, n_train) — and, with mini-batches,
swaps the visited slice into the engine before the step and back out after it (an
example's state changes only when it is visited). Full batch: engine batch = n_train.

Metrics (tidy rows, see :func:`train_lp`) are computed globally with
:mod:`runs.support` and the oracles. :func:`lagrangian` is re-exported from there.

Command line: ``python -m runs.lp_train --compare wine --seeds 0 1 2`` prints LP vs BP
test accuracy on the same networks (sigmoid MLPs 1×100 and 3×30), initial weights and
splits.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from agents.errors import ConfigError, ConvergenceError, DivergenceError
from agents.losses import get_loss
from agents.lp import EXAMPLE_VARS, LP, LPParams, lp_rule
from networks.builders import layered
from networks.engines import make_engine
from networks.engines.base import as_compiled
from networks.oracles import exact_gradient
from runs.bp import TrainResult, batches, check_schedule, evaluate, train_bp
from runs.datasets import load_dataset
from runs.metrics import accuracy, cosine
from runs.support import forward_state, lagrangian, lagrangian_gradient, lp_terms

__all__ = ["LPResult", "compare", "lagrangian", "lp_metrics", "main", "train_lp"]

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
        dataset: a :class:`runs.datasets.Dataset`.
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


#: LP settings used by :func:`compare`: G = lin with ρ = 1, Adam on w and b (the BP
#: baseline uses the same Adam), plain steps on x and λ (see LPParams.state_optimizer).
COMPARE_LP = LPParams(constraint="lin", rho=1.0, optimizer="adam", state_optimizer="sgd",
                      eta_w=3e-3, eta_x=0.2, eta_lam=0.2, loss="squared")
COMPARE_ARCHS = {"1x100": (100,), "3x30": (30, 30, 30)}


def compare(name: str, seeds, archs=("1x100", "3x30"), *, lp_params: LPParams = COMPARE_LP,
            epochs: int = 2000, bp_epochs: int | None = None,
            batch_size: int | None = None, verbose: bool = False) -> list[dict]:
    """LP vs BP final test accuracy on the same sigmoid MLP, initial weights and split.

    For each seed and architecture: ``load_dataset(name, seed=seed)``, ``layered([d,
    *hidden, n_out], "sigmoid", seed=seed)``, then :func:`train_lp` and
    :func:`runs.bp.train_bp` (``lp_params.optimizer`` with ``lr = lp_params.eta_w``, same
    loss, μ, batch size and number of epochs unless ``bp_epochs`` is given). LP starts
    from ``x_init="forward"``.

    Returns:
        Rows ``{dataset, arch, seed, bp_test_acc, lp_test_acc, bp_train_acc,
        lp_train_acc, diff, lp_seconds, bp_seconds}``; ``diff = lp − bp`` (points).
    """
    rows, bp_epochs = [], bp_epochs or epochs
    for seed in seeds:
        ds = load_dataset(name, seed=seed)
        for arch in archs:
            G = layered([ds.n_inputs, *COMPARE_ARCHS[arch], ds.n_outputs], "sigmoid",
                        seed=seed)
            t0 = time.perf_counter()
            lp = train_lp(G, ds, lp_params, epochs=epochs, batch_size=batch_size,
                          x_init="forward", seed=seed, eval_every=epochs,
                          with_cosine=False)
            t1 = time.perf_counter()
            bp = train_bp(G, ds, optimizer=lp_params.optimizer, lr=lp_params.eta_w,
                          beta1=lp_params.beta1, beta2=lp_params.beta2, mu=lp_params.mu,
                          loss=lp_params.loss, epochs=bp_epochs, batch_size=batch_size,
                          seed=seed, eval_every=bp_epochs)
            t2 = time.perf_counter()
            row = {"dataset": name, "arch": arch, "seed": seed,
                   "bp_test_acc": bp.final["test_acc"], "lp_test_acc": lp.final["test_acc"],
                   "bp_train_acc": bp.final["train_acc"],
                   "lp_train_acc": lp.final["train_acc"],
                   "diff": 100 * (lp.final["test_acc"] - bp.final["test_acc"]),
                   "lp_seconds": t1 - t0, "bp_seconds": t2 - t1}
            rows.append(row)
            if verbose:
                print(_fmt(row), flush=True)
    return rows


_HEADER = "dataset  arch    seed  BP test  LP test  LP-BP(pts)  BP train  LP train  LP s  BP s"


def _fmt(r: dict) -> str:
    return (f"{r['dataset']:<8} {r['arch']:<7} {r['seed']:>4}  {100 * r['bp_test_acc']:7.2f}"
            f"  {100 * r['lp_test_acc']:7.2f}  {r['diff']:+10.2f}  "
            f"{100 * r['bp_train_acc']:8.2f}  {100 * r['lp_train_acc']:8.2f}  "
            f"{r['lp_seconds']:4.0f}  {r['bp_seconds']:4.0f}")


def _overrides(items) -> dict:
    """Parse ``KEY=VALUE`` strings into LPParams fields (numbers, booleans, ``none``)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        low = value.lower()
        if low in ("none", "true", "false"):
            out[key] = {"none": None, "true": True, "false": False}[low]
        else:
            try:
                out[key] = float(value)
            except ValueError:
                out[key] = value
    return out


def main(argv=None) -> None:
    """Command line: ``python -m runs.lp_train --compare wine --seeds 0 1 2``."""
    ap = argparse.ArgumentParser(prog="python -m runs.lp_train", description=__doc__)
    ap.add_argument("--compare", required=True, choices=["xor", "moons", "wine", "digits"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--archs", nargs="+", default=list(COMPARE_ARCHS),
                    choices=list(COMPARE_ARCHS))
    ap.add_argument("--epochs", type=int, default=2000, help="LP (and BP) epochs")
    ap.add_argument("--bp-epochs", type=int, default=None, help="BP epochs if different")
    ap.add_argument("--batch-size", type=int, default=None, help="default: full batch")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                    help="override LP parameters of COMPARE_LP, e.g. constraint=abs-eps "
                         "eps=1e-3 state_optimizer=none")
    args = ap.parse_args(argv)
    params = LP.make_params(COMPARE_LP, **_overrides(args.set))
    print(f"LP: {params}", flush=True)
    print(_HEADER, flush=True)
    rows = compare(args.compare, args.seeds, args.archs, lp_params=params, epochs=args.epochs,
                   bp_epochs=args.bp_epochs, batch_size=args.batch_size, verbose=True)
    for arch in args.archs:
        d = np.array([r["diff"] for r in rows if r["arch"] == arch])
        lp = np.mean([r["lp_test_acc"] for r in rows if r["arch"] == arch])
        bp = np.mean([r["bp_test_acc"] for r in rows if r["arch"] == arch])
        print(f"{args.compare} {arch}: mean test acc BP {100 * bp:.2f}, LP {100 * lp:.2f}; "
              f"mean LP-BP {d.mean():+.2f} points (min {d.min():+.2f}, max {d.max():+.2f})")


if __name__ == "__main__":
    main()
