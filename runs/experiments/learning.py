"""Built-in learning experiments for configs and sweeps.

The experiments lp, bp, diffusion, compare, fidelity and pruning are registered in
:mod:`runs.experiments`.

Each takes one resolved run config and its seed. ``[data]`` picks the dataset (split
seeded by the run seed), ``[network]`` the network (its weights seeded by the run seed
unless ``network.seed`` is set), ``[rule]`` the method's parameters, ``[schedule]`` the
epochs, evaluation period, mini-batch size and hold time T. Rows are the trainer's
history (``step``, ``epoch`` and metrics); the summary holds the final metrics and the
time taken.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict, dataclass, fields

import numpy as np

from agents.diffusion import DiffusionParams
from agents.errors import ConfigError, LocalpropWarning
from agents.losses import get_loss
from agents.lp import LPParams
from agents.optim import check_optimizer
from networks.compile import compile_graph
from runs.experiments.registry import RunOutput, experiment
from runs.experiments.setup import build_network


@dataclass(frozen=True)
class LPRunParams(LPParams):
    """LP parameters plus the initialisation of x (``"zero"`` or ``"forward"``)."""

    x_init: str = "zero"


@dataclass(frozen=True)
class BPRunParams:
    """The BP baseline: optimiser ``sgd``/``adam``, step size, weight decay μ, loss."""

    optimizer: str = "adam"
    lr: float = 1e-2
    mu: float = 0.0
    loss: str = "squared"

    def __post_init__(self):
        check_optimizer(self.optimizer)
        get_loss(self.loss)
        if not self.lr > 0 or self.mu < 0:
            raise ConfigError(f"need lr > 0 and mu >= 0, got lr={self.lr}, mu={self.mu}")


@dataclass(frozen=True)
class FidelityParams:
    """One cell of the fidelity-vs-input-speed table (T comes from ``schedule.T``)."""

    depth: int = 2
    width: int = 8
    n_examples: int = 32
    batch: int = 4
    stream: str = "held"


@dataclass(frozen=True)
class PruningParams(LPRunParams):
    """LP parameters plus the pruning threshold on the support fraction."""

    threshold: float = 0.0


def _params(cfg: dict, cls):
    return cls(**{k: v for k, v in cfg["rule"].items() if k != "name"})


def _dataset(cfg: dict, seed: int):
    from runs.data.datasets import load_dataset

    data = cfg["data"]
    if "name" not in data:
        raise ConfigError("this experiment needs [data] name (xor, moons, wine, digits)")
    return load_dataset(data["name"], seed=seed, test_fraction=data["test_fraction"],
                        n_samples=data.get("n_samples"))


def _schedule(cfg: dict) -> dict:
    s = cfg["schedule"]
    return {"epochs": s.get("epochs", 100), "batch_size": s.get("batch_size"),
            "eval_every": s["eval_every"]}


def _network(cfg: dict, seed: int):
    return compile_graph(build_network(cfg, seed=cfg["network"].get("seed", seed)))


def _output(result, start: float, **extra) -> RunOutput:
    final = {k: v for k, v in result.final.items() if isinstance(v, int | float)}
    return RunOutput(rows=result.history,
                     summary={**final, "seconds": time.perf_counter() - start, **extra})


def _train_lp(cfg, seed, params):
    from runs.methods.lp import train_lp

    lp = {f.name: getattr(params, f.name) for f in fields(LPParams)}
    return train_lp(_network(cfg, seed), _dataset(cfg, seed), lp, engine=cfg["engine"],
                    x_init=params.x_init, seed=seed, **_schedule(cfg))


@experiment("lp", params=LPRunParams, needs=("network",))
def lp(cfg: dict, seed: int) -> RunOutput:
    """Train with Lagrangian local propagation (:func:`runs.methods.lp.train_lp`)."""
    start = time.perf_counter()
    res = _train_lp(cfg, seed, _params(cfg, LPRunParams))
    out = _output(res, start)
    if cfg["record"]["snapshots"]:
        from runs.methods.lagrangian import support_fractions

        frac = support_fractions(res.net, res.x, res.lam, res.weight, res.bias,
                                 _dataset(cfg, seed).inputs("train"), res.params)
        out.snapshots = {"x": res.x, "lam": res.lam, "weight": res.weight,
                         "support": np.array([frac.get(n, np.nan) for n in res.net.node_ids])}
    return out


@experiment("bp", params=BPRunParams, needs=("network",))
def bp(cfg: dict, seed: int) -> RunOutput:
    """Train with exact gradients (:func:`runs.methods.bp.train_bp`), the baseline."""
    from runs.methods.bp import train_bp

    start = time.perf_counter()
    p = _params(cfg, BPRunParams)
    res = train_bp(_network(cfg, seed), _dataset(cfg, seed), seed=seed, **asdict(p),
                   **_schedule(cfg))
    return _output(res, start)


@experiment("diffusion", params=DiffusionParams,
            needs=("network",))
def diffusion(cfg: dict, seed: int) -> RunOutput:
    """Train with backprop diffusion, examples held ``schedule.T`` steps.

    The summary adds ``fidelity``: the cosine of the diffusion update to the exact
    gradient at the trained weights (frozen), same T.
    """
    from runs.methods import diffusion as dif
    from runs.studies.fidelity import trained_fidelity

    start = time.perf_counter()
    p = _params(cfg, DiffusionParams)
    net, ds = _network(cfg, seed), _dataset(cfg, seed)
    s = cfg["schedule"]
    T = s.get("T", cfg["data"].get("T", 8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LocalpropWarning)
        res = dif.train(net, ds, T=T, eta=p.eta, epochs=s.get("epochs", 50),
                        batch=s.get("batch_size", 8), loss=p.loss, engine=cfg["engine"],
                        seed=seed, eval_every=s["eval_every"])
        fid = trained_fidelity(net, res.weight, res.bias, ds, T, loss=p.loss, seed=seed)
    return _output(res, start, fidelity=fid, T=T)


@experiment("compare", params=LPRunParams, needs=("network",))
def compare(cfg: dict, seed: int) -> RunOutput:
    """LP and the BP baseline on the same network, initial weights and split.

    BP uses LP's ``optimizer`` with ``lr = eta_w``; rows carry a ``method`` column.
    """
    from runs.methods.bp import train_bp

    start = time.perf_counter()
    p = _params(cfg, LPRunParams)
    lp_res = _train_lp(cfg, seed, p)
    lp_s = time.perf_counter() - start
    bp_res = train_bp(_network(cfg, seed), _dataset(cfg, seed), optimizer=p.optimizer,
                      lr=p.eta_w, mu=p.mu, loss=p.loss, seed=seed, **_schedule(cfg))
    rows = ([{"method": "lp", **r} for r in lp_res.history]
            + [{"method": "bp", **r} for r in bp_res.history])
    summary = {"lp_test_acc": lp_res.final["test_acc"], "bp_test_acc": bp_res.final["test_acc"],
               "lp_train_acc": lp_res.final["train_acc"],
               "bp_train_acc": bp_res.final["train_acc"],
               "diff_points": 100 * (lp_res.final["test_acc"] - bp_res.final["test_acc"]),
               "lp_seconds": lp_s, "bp_seconds": time.perf_counter() - start - lp_s}
    return RunOutput(rows=rows, summary=summary)


@experiment("fidelity", params=FidelityParams)
def fidelity(cfg: dict, seed: int) -> RunOutput:
    """One (depth, T, seed) cell of gradient fidelity vs input speed.

    See :func:`runs.studies.input_speed.fidelity_run`; sweep ``rule.depth`` and ``schedule.T``.
    """
    from runs.studies.input_speed import fidelity_run

    p = _params(cfg, FidelityParams)
    T = cfg["schedule"].get("T", 8)
    r = fidelity_run(p.depth, seed, T, stream=p.stream, width=p.width,
                     n_examples=p.n_examples, batch=p.batch, engine=cfg["engine"])
    row = {"step": int(r.get("steps", 0)), "depth": p.depth, "T": T,
           "cosine": float(r["cosine"]), "cosine_all": float(r["cosine_all"])}
    return RunOutput(rows=[row], summary={k: v for k, v in row.items() if k != "step"})


@experiment("pruning", params=PruningParams,
            needs=("network",))
def pruning(cfg: dict, seed: int) -> RunOutput:
    """Train with LP, then prune the neurons with little support and re-evaluate.

    Neurons supporting at most ``threshold`` of the examples are removed (measured).
    """
    from runs.methods.lagrangian import support_fractions
    from runs.studies.pruning import prune_experiment

    start = time.perf_counter()
    p = _params(cfg, PruningParams)
    res = _train_lp(cfg, seed, p)
    ds = _dataset(cfg, seed)
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
