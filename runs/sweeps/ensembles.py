"""Which runs of a sweep run together as one ensemble (:class:`networks.ensemble.Ensemble`).

:func:`ensemble_groups` groups resolved run configs (``RunSpec.config``) that differ only
in what an ensemble member may vary: the run ``seed`` (network weights, data split and
example order follow it), ``network.seed``, cosmetic keys, and numeric rule parameters of
the method's rule (``[rule] eta_w = [1e-3, 3e-3]``) — each zero in all members or in none
(a rule may use one as a switch). Everything else — experiment, data name and options,
network builder and sizes, schedule, engine ("vector"), dtype and the non-numeric rule
parameters — must be equal. Only runs whose members are proven equal to their single
runs are grouped: an experiment that declares an ``ensemble`` runner
(:class:`runs.experiments.registry.Experiment`; ``train`` and ``lp``) with a ``settled``
method (LP, :mod:`runs.methods.ensemble`) on the vector engine, without ``cycle_gain``.

:func:`plan_units` cuts a sweep's runs into the units its workers run: ensembles of at
most ``size`` members, spread over the workers, and single runs. The sweep option
``ensembles`` says whether to: ``"auto"`` (default: where the runs allow), ``"off"``
(one run per task), ``"on"`` (every run must be in an ensemble, else a ConfigError
naming the option and a run that cannot). A group whose networks turn out to differ in
shape (builders whose structure follows the seed: random graphs, recurrent layers) is
run one by one by its worker, as are its members after an error of the shared engine.
The worker also cuts a unit whose members hold much state (large batches) into smaller
ensembles run one after another (:func:`runs.methods.ensemble.members_per_ensemble`).
"""

from __future__ import annotations

import itertools
import json
import math
import numbers
from dataclasses import fields

from agents.errors import ConfigError
from runs.experiments import get_experiment
from runs.methods import get_method

#: keys that never matter for grouping (cosmetic, or drawn from the run seed)
FREE_KEYS = ("seed", "name", "plugins", "base_dir")
#: values of the sweep option ``ensembles``
MODES = ("auto", "on", "off")
#: members per ensemble at most (larger ones leave the cache on small machines)
DEFAULT_SIZE = 32


def _number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def why_not(cfg: dict) -> str | None:
    """Why the run of ``cfg`` cannot be an ensemble member, or None if it can."""
    try:
        exp = get_experiment(cfg.get("experiment", ""))
    except ConfigError:
        return f"unknown experiment {cfg.get('experiment')!r}"
    if exp.ensemble is None:
        return f"experiment {exp.name!r} has no ensemble runner"
    rule = cfg.get("rule") or {}
    try:
        method = get_method(rule.get("name", ""))
    except ConfigError:
        return f"[rule] name {rule.get('name')!r} is not a method"
    if method.rule is None or method.presentation != "settled":
        return (f"method {method.name!r} presents examples {method.presentation!r} "
                f"(ensembles train 'settled' methods)")
    if cfg.get("engine", "vector") != "vector":
        return f"engine {cfg.get('engine')!r} (ensembles run on the vector engine)"
    if rule.get("cycle_gain") is not None:
        return "rule.cycle_gain is set (ensembles do not clip cycle gains)"
    return None


def _key(cfg: dict) -> str | None:
    """The part of a run config an ensemble's members must share, or None: no ensemble."""
    if why_not(cfg) is not None:
        return None
    rule = cfg["rule"]
    varying = {f.name for f in fields(get_method(rule["name"]).rule.params)}
    shared = {k: v for k, v in cfg.items() if k not in FREE_KEYS}
    shared["rule"] = {k: (v if not (k in varying and _number(v)) else f"zero={v == 0}")
                      for k, v in rule.items()}
    shared["network"] = {k: v for k, v in (cfg.get("network") or {}).items() if k != "seed"}
    return json.dumps(shared, sort_keys=True, default=repr)


def ensemble_groups(configs: list[dict]) -> list[list[int]]:
    """Indices of ``configs`` grouped by what their members must share (module doc).

    Returns:
        Groups in order of first appearance; a run no ensemble can take is a group of one.
    """
    groups: dict[str, list[int]] = {}
    alone: list[list[int]] = []
    for i, cfg in enumerate(configs):
        key = _key(cfg)
        if key is None:
            alone.append([i])
        else:
            groups.setdefault(key, []).append(i)
    return sorted([*groups.values(), *alone], key=lambda g: g[0])


def can_ensemble(configs: list[dict]) -> bool:
    """Whether all ``configs`` can run as members of one ensemble."""
    return len(configs) > 0 and len(ensemble_groups(configs)) == 1 and \
        _key(configs[0]) is not None


def check_mode(mode, size) -> None:
    """Refuse a bad ``ensembles`` option or ensemble size (ConfigError naming it)."""
    if mode not in MODES:
        raise ConfigError(f"sweep option 'ensembles' must be one of {list(MODES)}, got "
                          f"{mode!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError(f"sweep option 'ensemble_size' must be an integer >= 1, got "
                          f"{size!r}")


def plan_units(specs: list, mode: str = "auto", size: int = DEFAULT_SIZE,
               workers: int = 1) -> list[list]:
    """The sweep's runs (``RunSpec`` s) cut into units, each run by one task.

    A group of :func:`ensemble_groups` becomes ensembles of at most ``size`` members, as
    many as needed and at least ``workers`` when the group is large enough (each at
    least 2 members), their sizes differing by at most one; a run no ensemble can take
    is a unit of one. Units are in the order of their first run.

    Raises:
        ConfigError: for a bad ``mode``/``size``, or ``mode="on"`` with a run that
            cannot be an ensemble member (naming the option, the run and why).
    """
    check_mode(mode, size)
    if mode == "off":
        return [[s] for s in specs]
    groups = ensemble_groups([s.config for s in specs])
    if mode == "on":
        for g in groups:
            reason = why_not(specs[g[0]].config)
            if reason is not None:
                raise ConfigError(f"sweep option ensembles = 'on', but run "
                                  f"{specs[g[0]].run_id} cannot be an ensemble member: "
                                  f"{reason}; use ensembles = 'auto' or 'off'")
    units = []
    for g in groups:
        n_units = max(math.ceil(len(g) / size), min(workers, len(g) // 2), 1)
        bounds = [round(i * len(g) / n_units) for i in range(n_units + 1)]
        units += [g[lo:hi] for lo, hi in itertools.pairwise(bounds)]
    return [[specs[i] for i in u] for u in sorted(units)]
