"""The experiment registry, and the built-in ``forward`` experiment.

An experiment is a module-level function ``fn(cfg, seed) -> RunOutput``: ``cfg`` is one
fully resolved run config (a dict as produced by :mod:`runs.config`, the sweep point
applied, ``cfg["seed"] == seed``, ``cfg["base_dir"]`` the config file's directory) and
``seed`` the run's seed. Register it with :func:`experiment`::

    @experiment("mine", params_validator=dataclass_validator(MyParams), needs=("network",))
    def mine(cfg, seed):
        ...
        return RunOutput(rows=[{"step": 1, "loss": 0.3}], summary={"loss": 0.3})

Experiments outside this package are found through the config's ``plugins`` list: the
named modules are imported when the config is validated and, before every run, in every
worker process (process pools and Dask workers start fresh interpreters, so a function
registered interactively in ``__main__`` is not visible there: put it in an importable
module). Modules in :data:`BUILTIN_MODULES` are imported on the first lookup that misses.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.errors import ConfigError, ConvergenceError
from runs.config import BUILDERS, SCHEMA, SIMPLE_TYPES, Key, check_value, unknown_key

#: Modules of the package that register experiments (imported lazily, if they exist).
BUILTIN_MODULES = ("runs.learning",)


@dataclass
class RunOutput:
    """What one run returns.

    Attributes:
        rows: tidy rows, one dict per recorded step: ``"step"`` plus metric columns.
        summary: scalar results of the whole run (JSON-serialisable).
        snapshots: optional per-neuron arrays, e.g. ``{"x": array of shape (T, N)}``.
        artifacts: optional paths of files the run wrote.
    """

    rows: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    snapshots: dict[str, np.ndarray] = field(default_factory=dict)
    artifacts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Experiment:
    """A registered experiment.

    Attributes:
        name: the name configs use (``experiment = "..."``).
        fn: ``fn(cfg: dict, seed: int) -> RunOutput``, a module-level function.
        params_validator: ``validator(params)`` or ``validator(params, source=FILE)``
            raising ConfigError for bad ``[rule]`` parameters (``name`` excluded), or None.
        needs: config sections that must be present and non-empty.
    """

    name: str
    fn: Callable[[dict, int], RunOutput]
    params_validator: Callable[..., Any] | None = None
    needs: tuple[str, ...] = ()


EXPERIMENTS: dict[str, Experiment] = {}


def experiment(name: str, params_validator=None, needs: tuple[str, ...] = ()):
    """Decorator registering ``fn(cfg, seed) -> RunOutput`` as experiment ``name``."""
    def register(fn):
        EXPERIMENTS[name] = Experiment(name, fn, params_validator, tuple(needs))
        return fn
    return register


def get_experiment(name: str, source: str = "<config>") -> Experiment:
    """Look up a registered experiment (importing :data:`BUILTIN_MODULES` on a miss).

    Raises:
        ConfigError: for an unknown name, with a did-you-mean.
    """
    if name not in EXPERIMENTS:
        for mod in BUILTIN_MODULES:
            if importlib.util.find_spec(mod) is not None:
                importlib.import_module(mod)
    if name not in EXPERIMENTS:
        close = difflib.get_close_matches(name, list(EXPERIMENTS), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {sorted(EXPERIMENTS)}"
        raise ConfigError(f"unknown experiment {name!r} (key 'experiment') in {source}; "
                          f"{hint}")
    return EXPERIMENTS[name]


def build_network(cfg: dict, base_dir=None, *, seed: int | None = None):
    """Build the network of a run config.

    ``[network] file`` is loaded with :func:`networks.graphio.load_graph` (relative to
    ``base_dir``, default ``cfg["base_dir"]`` or the current directory); otherwise the
    builder is called with the section's other keys and ``seed`` = ``network.seed`` if
    given, else ``seed``, else ``cfg["seed"]``. With ``contractive_gain`` the graph goes
    through :func:`networks.builders.scale_to_contractive`.

    Returns:
        A validated ``networkx.DiGraph``.
    """
    from networks.builders import scale_to_contractive
    from networks.graphio import load_graph

    net = cfg["network"]
    if "file" in net:
        path = Path(net["file"])
        base = base_dir if base_dir is not None else cfg.get("base_dir", ".")
        G = load_graph(path if path.is_absolute() else Path(base) / path)
    else:
        kwargs = {k: v for k, v in net.items() if k not in SCHEMA["network"]}
        kwargs.setdefault("seed", seed if seed is not None else cfg["seed"])
        G = BUILDERS[net["builder"]](**kwargs)
    if "contractive_gain" in net:
        G = scale_to_contractive(G, gain=net["contractive_gain"])
    return G


def dataclass_validator(cls, section: str = "rule"):
    """Make a params validator from a dataclass: unknown keys (did-you-mean), types.

    Field types are taken from the defaults (int, float, bool, str); the dataclass is
    then constructed, and a ``TypeError`` / ``ValueError`` becomes a ConfigError. The
    validator is called as ``validate(params, source=FILE)`` (see :class:`Experiment`).
    """
    if not is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    defaults = {f.name: f.default for f in fields(cls)}

    def validate(params: dict, source: str = "<config>") -> None:
        for k, v in params.items():
            if k not in defaults:
                raise unknown_key(f"{section}.{k}", defaults, source)
            kind = SIMPLE_TYPES.get(type(defaults[k])) if defaults[k] is not MISSING else None
            if kind is not None:
                check_value(f"{section}.{k}", Key(kind), v, source)
        try:
            cls(**params)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"invalid [{section}] parameters in {source}: {e}") from None

    return validate


def no_params(params: dict, source: str = "<config>") -> None:
    """Params validator of experiments without rule parameters."""
    if params:
        raise ConfigError(f"unknown key 'rule.{next(iter(params))}' in {source}: this "
                          f"experiment takes no rule parameters")


@experiment("forward", params_validator=no_params, needs=("network",))
def forward(cfg: dict, seed: int) -> RunOutput:
    """Delayed forward dynamics (rule FORWARD) under a constant random input.

    The input ``u ~ U(-1, 1)^n_in`` (from ``seed``) is held for ``schedule.steps``
    steps. Rows every ``record.every`` steps: ``step``, ``mean_abs_x`` (mean |x| over
    the non-input neurons) and ``dist_fixed_point`` (max |x(t) − x*|, x* the forward
    fixed point of :func:`networks.oracles.fixed_point`; NaN if it does not converge).
    Snapshots (``record.snapshots``): each of ``record.vars``, shape (n_rows, N).
    """
    from agents.forward import FORWARD
    from networks.compile import compile_graph
    from networks.engines import make_engine
    from networks.oracles import fixed_point

    net = compile_graph(build_network(cfg))
    rec = cfg["record"]
    u = np.random.default_rng(seed).uniform(-1.0, 1.0, size=len(net.input_idx))
    eng = make_engine(cfg["engine"], net, FORWARD, dtype=cfg["dtype"],
                      record=sorted({"x", *rec["vars"]}))
    steps = cfg["schedule"]["steps"]
    traj = eng.run(u, steps=steps)
    x = traj["x"].astype(np.float64).reshape(steps, net.n_nodes)
    try:
        x_star = fixed_point(net, u[:, None])[1][:, 0]
        dist = np.abs(x - x_star).max(axis=1)
    except ConvergenceError:
        dist = np.full(steps, np.nan)
    hidden = ~net.is_input
    mean_abs = np.abs(x[:, hidden]).mean(axis=1) if hidden.any() else np.zeros(steps)
    keep = np.arange(rec["every"], steps + 1, rec["every"]) - 1
    rows = [{"step": int(t + 1), "mean_abs_x": float(mean_abs[t]),
             "dist_fixed_point": float(dist[t])} for t in keep]
    final = {"mean_abs_x": float(mean_abs[-1]) if steps else 0.0,
             "dist_fixed_point": float(dist[-1]) if steps else float("nan")}
    summary = {"n_nodes": net.n_nodes, "n_edges": net.n_edges, "is_dag": bool(net.is_dag),
               "fixed_point_found": bool(np.isfinite(final["dist_fixed_point"])), **final}
    snaps = {v: traj[v][keep] for v in rec["vars"]} if rec["snapshots"] else {}
    return RunOutput(rows=rows, summary=summary, snapshots=snaps)
