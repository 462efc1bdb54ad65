"""Which runs of a sweep one ensemble can run together (:class:`networks.ensemble.Ensemble`).

:func:`ensemble_groups` groups resolved run configs (``RunSpec.config``) that differ only
in what an ensemble member may vary: the run ``seed`` (network weights, data split and
example order follow it), ``network.seed``, cosmetic keys, and numeric rule parameters of
the method's rule (``[rule] eta_w = [1e-3, 3e-3]``). Everything else — experiment, data
name and options, network builder and sizes, schedule, engine ("vector"), dtype and the
non-numeric rule parameters — must be equal; only methods that run a rule in an engine and
present examples ``settled`` (LP) are grouped so far.

What a sweep has to do to use it (not wired yet):

1. ``groups = ensemble_groups([s.config for s in specs])``; a group of one runs as today.
2. Per group (cut with :func:`networks.ensemble.chunks`, ~8–16 members per ensemble on
   small nets — larger ones leave the cache): build each member's network and data as the
   single run does (``load_network(cfg, seed)``, ``load_data(cfg, seed)``) and its method
   params, then ``Ensemble(nets, rule, params, batch=B, dtype=...)``. Builders whose
   structure depends on the seed (random graphs, ``layered_recurrent`` with lateral or
   feedback edges) can give members of different shapes: ``Ensemble`` then raises a
   GraphError naming the member — fall back to single runs.
3. An ensemble learner: the settled learner's loop with a member axis (per-member stores
   of x, λ …, per-member example orders from each run's seed, batches gathered with
   ``(K, B)`` indices — see :func:`runs.bench.ensemble.ensemble_run`), evaluating every
   member at the usual epochs from ``ensemble.member(k).weight``/``.bias``/``.state()``.
4. Write one record per member under the member's own ``run_id``: the results are those
   of its single run (equal to 1e-12), so resuming and the results table are unchanged.
"""

from __future__ import annotations

import json
import numbers
from dataclasses import fields

from runs.methods import get_method

#: keys that never matter for grouping (cosmetic, or drawn from the run seed)
FREE_KEYS = ("seed", "name", "plugins", "base_dir")


def _key(cfg: dict) -> str | None:
    """The part of a run config an ensemble's members must share, or None: no ensemble."""
    rule = cfg.get("rule") or {}
    try:
        method = get_method(rule.get("name", ""))
    except Exception:  # noqa: BLE001 - not a method: the run is not ensembled
        return None
    if (method.rule is None or method.presentation != "settled"
            or cfg.get("engine", "vector") != "vector"):
        return None
    varying = {f.name for f in fields(method.rule.params)}
    shared = {k: v for k, v in cfg.items() if k not in FREE_KEYS}
    shared["rule"] = {k: v for k, v in rule.items()
                      if not (k in varying and isinstance(v, numbers.Real)
                              and not isinstance(v, bool))}
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
