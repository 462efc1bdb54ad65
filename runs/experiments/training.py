"""The learning experiments: train one method, compare with BP, prune support neurons.

Each takes one resolved run config and its seed. ``[data]`` picks the dataset (split
seeded by the run seed), ``[network]`` the network (its weights seeded by the run seed
unless ``network.seed`` is set), ``[rule]`` the method (``name``) and its parameters
(the method's params object), ``[schedule]`` the epochs, evaluation period (in epochs),
batch and, for clamped methods, the hold time T (defaults: the method's,
:class:`runs.methods.base.Method`). ``engine`` and ``dtype`` are those of the run. Rows
are the training history (``step``, ``epoch`` and metrics); the summary holds the final
metrics and the time taken.

``train`` runs any registered method, named by ``[rule] name``; ``lp``, ``bp`` and
``diffusion`` are the same with the method fixed.
"""

from __future__ import annotations

import time

import numpy as np

from runs.experiments.registry import RunOutput, experiment
from runs.experiments.setup import load_data, load_network, load_networks
from runs.methods import METHODS, Entry, compare, get_method, train
from runs.methods.base import TrainResult
from runs.methods.bp import matching_bp
from runs.methods.ensemble import train_ensemble
from runs.methods.lagrangian import support_fractions
from runs.studies.pruning import PruningParams, prune_experiment

_DATA = ("data.name", "data.test_fraction", "data.n_samples")


def method_keys(cfg: dict) -> tuple[str, ...]:
    """The config keys a learning run of the method ``[rule] name`` uses."""
    method = get_method(cfg["rule"]["name"])
    return (*_DATA, "network", "rule", "dtype", *(f"schedule.{k}" for k in
                                                  method.schedule_keys),
            *(("engine",) if method.uses_engine else ()),
            *(("record.snapshots",) if method.presentation == "settled" else ()))


def _params_of(rule: str):
    return get_method(rule).params


def fit(cfg: dict, seed: int, params=None, *, with_cosine: bool = True):
    """Train the method of ``cfg`` (:func:`runs.methods.train`); returns the TrainResult.

    ``params``: the method's params object (default: built from ``[rule]``).
    """
    method = get_method(cfg["rule"]["name"])
    if params is None:
        params = method.make_params({k: v for k, v in cfg["rule"].items() if k != "name"})
    schedule = method.make_schedule({k: cfg["schedule"][k] for k in method.schedule_keys
                                     if k in cfg["schedule"]})
    return train(method, load_network(cfg, seed), load_data(cfg, seed), params,
                 schedule=schedule, engine=cfg.get("engine", "vector"), dtype=cfg["dtype"],
                 seed=seed, with_cosine=with_cosine)


def _output(result, start: float, **extra) -> RunOutput:
    final = {k: v for k, v in result.final.items() if isinstance(v, int | float)}
    return RunOutput(rows=result.history,
                     summary={**final, "seconds": time.perf_counter() - start, **extra})


def _snapshots(cfg: dict, seed: int, res) -> dict:
    """LP's ``record.snapshots``: x, λ, the weights and the support fractions."""
    frac = support_fractions(res.net, res.x, res.lam, res.weight, res.bias,
                             load_data(cfg, seed).inputs("train"), res.params)
    return {"x": res.x, "lam": res.lam, "weight": res.weight,
            "support": np.array([frac.get(n, np.nan) for n in res.net.node_ids])}


def run_method(cfg: dict, seed: int) -> RunOutput:
    """Train with the method named by ``[rule] name`` (experiments train, lp, bp, diffusion).

    Rows: the training history. Summary: the final metrics, ``seconds``; clamped methods
    add ``fidelity`` (the cosine of the rule's update to the BPTT gradient at the
    trained weights, examples held T steps) and ``T``. LP with ``record.snapshots`` saves
    x, λ, the weights and the support fractions.
    """
    start = time.perf_counter()
    res = fit(cfg, seed)
    method = get_method(res.method)
    extra = {}
    if method.presentation == "clamped":
        extra = {"fidelity": method.fidelity(res, load_data(cfg, seed), seed),
                 "T": res.schedule.T}
    out = _output(res, start, **extra)
    if cfg.get("record", {}).get("snapshots"):
        out.snapshots = _snapshots(cfg, seed, res)
    return out


def run_method_group(cfgs: list[dict], seeds: list[int]) -> list:
    """Several :func:`run_method` runs of a ``settled`` method trained as one ensemble.

    :func:`runs.methods.ensemble.train_ensemble` trains them together (each member equal
    to its single run); a member's ``seconds`` is its share of the group's time.

    Returns:
        Per run: its RunOutput, the exception its run raises, or None (run it alone).
    """
    start = time.perf_counter()
    methods = [get_method(c["rule"]["name"]) for c in cfgs]
    shared = [(c.get("engine", "vector"), c["dtype"], c.get("schedule")) for c in cfgs]
    if any(m.presentation != "settled" for m in methods) or shared[0][0] != "vector" \
            or any(x != shared[0] for x in shared):
        return [None] * len(cfgs)   # not one ensemble: every run alone
    params = [m.make_params({k: v for k, v in c["rule"].items() if k != "name"})
              for m, c in zip(methods, cfgs, strict=True)]
    method, cfg = methods[0], cfgs[0]
    schedule = method.make_schedule({k: cfg["schedule"][k] for k in method.schedule_keys
                                     if k in cfg["schedule"]})
    results = train_ensemble(method, load_networks(cfgs, seeds),
                             [load_data(c, s) for c, s in zip(cfgs, seeds, strict=True)],
                             params, schedule=schedule, dtype=cfg["dtype"], seeds=seeds)
    share = (time.perf_counter() - start) / max(1, sum(r is not None for r in results))
    out = []
    for c, s, res in zip(cfgs, seeds, results, strict=True):
        if not isinstance(res, TrainResult):
            out.append(res)
            continue
        final = {k: v for k, v in res.final.items() if isinstance(v, int | float)}
        run = RunOutput(rows=res.history, summary={**final, "seconds": share})
        if c.get("record", {}).get("snapshots"):
            run.snapshots = _snapshots(c, s, res)
        out.append(run)
    return out


# "train" runs any method, named by [rule] name; "lp", "bp", "diffusion" fix the method.
TRAIN_HEADLINE = ("train_acc", "test_acc", "loss")
experiment("train", params=_params_of, needs=("network", "data"), keys=method_keys,
           rules=lambda: tuple(METHODS), rule_required=True, headline=TRAIN_HEADLINE,
           ensemble=run_method_group)(run_method)
for _name in ("lp", "bp", "diffusion"):
    experiment(_name, params=_params_of, needs=("network", "data"), keys=method_keys,
               rules=(_name,), headline=TRAIN_HEADLINE, ensemble=run_method_group)(run_method)


def _compare_keys(cfg: dict) -> tuple[str, ...]:
    return tuple(k for k in method_keys(cfg) if k != "record.snapshots")


@experiment("compare", params=_params_of, needs=("network", "data"), rules=("lp",),
            keys=_compare_keys, headline=("lp_test_acc", "bp_test_acc", "diff",
                                          "lp_train_acc", "bp_train_acc"))
def compare_with_bp(cfg: dict, seed: int) -> RunOutput:
    """The method and its matching BP baseline on the same network, weights and split.

    BP uses the method's optimiser with ``eta = eta_w``, its μ and loss
    (:func:`runs.methods.bp.matching_bp`), and the same schedule. Rows carry a
    ``method`` column; the summary holds ``{method}_test_acc``, ``_train_acc``,
    ``_seconds`` of both and ``diff`` (method − BP test accuracy, points).
    """
    method = get_method(cfg["rule"]["name"])
    params = method.make_params({k: v for k, v in cfg["rule"].items() if k != "name"})
    sched = {k: cfg["schedule"][k] for k in method.schedule_keys if k in cfg["schedule"]}
    result = compare([Entry(method, params, sched), Entry("bp", matching_bp(params), sched)],
                     load_network(cfg, seed), load_data(cfg, seed), [seed],
                     engine=cfg["engine"], dtype=cfg["dtype"])
    rows = [{"method": name, **r} for (_, name), res in result.results.items()
            for r in res.history]
    return RunOutput(rows=rows, summary=result.summary(seed, baseline="bp"))


def _pruning_keys(cfg: dict) -> tuple[str, ...]:
    return _compare_keys(cfg)


@experiment("pruning", params=PruningParams, needs=("network", "data"), rules=("lp",),
            keys=_pruning_keys, headline=("test_acc_before", "test_acc_after",
                                          "n_hidden_before", "n_hidden_after"))
def pruning(cfg: dict, seed: int) -> RunOutput:
    """Train with LP, then prune the neurons with little support and re-evaluate.

    Neurons supporting at most ``threshold`` of the examples are removed (measured).
    """
    start = time.perf_counter()
    p = PruningParams(**{k: v for k, v in cfg["rule"].items() if k != "name"})
    res = fit(cfg, seed, p)  # LP uses its fields of p, the threshold is the pruning's
    ds = load_data(cfg, seed)
    frac = support_fractions(res.net, res.x, res.lam, res.weight, res.bias,
                             ds.inputs("train"), res.params)
    pr = prune_experiment(res.net, res.weight, res.bias, frac, ds, threshold=p.threshold)
    out = _output(res, start, n_hidden_before=pr.n_hidden_before,
                  n_hidden_after=pr.n_hidden_after, test_acc_before=pr.test_acc_before,
                  test_acc_after=pr.test_acc_after, train_acc_before=pr.train_acc_before,
                  train_acc_after=pr.train_acc_after,
                  mean_support=float(np.mean(list(frac.values()))))
    out.snapshots = {"support": np.array([frac.get(n, np.nan) for n in res.net.node_ids])}
    return out


__all__ = ["compare_with_bp", "fit", "method_keys", "pruning", "run_method",
           "run_method_group"]
