"""The experiment registry.

An experiment is a module-level function ``fn(cfg, seed) -> RunOutput``: ``cfg`` is one
fully resolved run config (a dict as produced by :mod:`runs.config`, the sweep point
applied, ``cfg["seed"] == seed``, ``cfg["base_dir"]`` the config file's directory) and
``seed`` the run's seed. Register it with :func:`experiment`::

    @experiment("mine", params=MyParams, needs=("network",))
    def mine(cfg, seed):
        ...
        return RunOutput(rows=[{"step": 1, "loss": 0.3}], summary={"loss": 0.3})

Experiments outside this package are found through the config's ``plugins`` list: the
named modules are imported when the config is validated and, before every run, in every
worker process (process pools and Dask workers start fresh interpreters, so a function
registered interactively in ``__main__`` is not visible there: put it in an importable
module). Modules in :data:`BUILTIN_MODULES` are imported on the first lookup that misses.
This module imports nothing else of ``runs``: the config loader reads it, the experiments
register in it.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agents.errors import ConfigError

#: Modules of the package that register experiments (imported on the first miss).
BUILTIN_MODULES = ("runs.experiments.forward", "runs.experiments.training",
                   "runs.experiments.studies", "runs.experiments.tasks")


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
        params: a dataclass of the ``[rule]`` parameters (``name`` excluded): unknown
            keys, types and the dataclass's own checks are validated with it; or
            ``params(rule_name)`` giving it; or None (no parameters).
        params_validator: ``validator(params)`` or ``validator(params, source=FILE)``
            raising ConfigError for bad ``[rule]`` parameters, instead of ``params``.
        needs: config sections that must be present and non-empty.
        rules: the values ``[rule] name`` may take, the first being the default (a
            tuple, or a function returning one); empty: the experiment runs no named rule.
        rule_required: ``[rule] name`` must be given.
        headline: the summary values ``localprop run``/``sweep`` print at the end,
            aggregated over seeds per parameter point (:mod:`runs.sweeps.headline`);
            empty: every numeric summary value but timings.
        keys: the config keys the experiment uses, as ``"section.key"`` (``"engine"`` and
            ``"dtype"`` for those top-level keys; ``"network"`` and ``"rule"`` for the
            whole open sections), or ``keys(cfg)`` giving them for a validated config
            (its ``[rule] name`` resolved). A key given in a config but not used is
            refused. None: every key is accepted (plugins that do not declare theirs).
        ensemble: ``ensemble(cfgs, seeds) -> [RunOutput | Exception | None]``: several
            runs of the experiment at once, each returning what ``fn`` returns for it
            (equal results), the exception ``fn`` raises, or None (not done: run it
            with ``fn``); sweeps use it for the runs :mod:`runs.sweeps.ensembles`
            groups. None: the experiment's runs are always run one by one.
    """

    name: str
    fn: Callable[[dict, int], RunOutput]
    params: type | Callable[[str], type] | None = None
    params_validator: Callable[..., Any] | None = None
    needs: tuple[str, ...] = ()
    rules: tuple[str, ...] | Callable[[], tuple[str, ...]] = ()
    rule_required: bool = False
    keys: Collection[str] | Callable[[dict], Collection[str]] | None = None
    headline: tuple[str, ...] = ()
    ensemble: Callable[[list[dict], list[int]], list] | None = None

    def rule_names(self) -> tuple[str, ...]:
        """The allowed ``[rule] name`` values."""
        return tuple(self.rules() if callable(self.rules) else self.rules)

    def used_keys(self, cfg: dict) -> frozenset[str] | None:
        """The keys a validated config ``cfg`` uses (None: undeclared)."""
        keys = self.keys(cfg) if callable(self.keys) else self.keys
        return None if keys is None else frozenset(keys)

    def params_class(self, rule: str | None) -> type | None:
        """The params dataclass used with rule ``rule``, or None."""
        if self.params is None or isinstance(self.params, type):
            return self.params
        return self.params(rule)


EXPERIMENTS: dict[str, Experiment] = {}


def experiment(name: str, params=None, params_validator=None, needs: tuple[str, ...] = (),
               rules=(), rule_required: bool = False, keys=None, headline=(), ensemble=None):
    """Decorator registering ``fn(cfg, seed) -> RunOutput`` as experiment ``name``.

    The keyword arguments are the :class:`Experiment` attributes.
    """
    def register(fn):
        EXPERIMENTS[name] = Experiment(name, fn, params, params_validator, tuple(needs),
                                       rules, rule_required, keys, tuple(headline),
                                       ensemble)
        return fn
    return register


def get_experiment(name: str, source: str = "<config>") -> Experiment:
    """Look up a registered experiment (importing :data:`BUILTIN_MODULES` on a miss).

    Raises:
        ConfigError: for an unknown name, with a did-you-mean.
    """
    if name not in EXPERIMENTS:
        for mod in BUILTIN_MODULES:
            importlib.import_module(mod)
    if name not in EXPERIMENTS:
        close = difflib.get_close_matches(name, list(EXPERIMENTS), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {sorted(EXPERIMENTS)}"
        raise ConfigError(f"unknown experiment {name!r} (key 'experiment') in {source}; "
                          f"{hint}")
    return EXPERIMENTS[name]

