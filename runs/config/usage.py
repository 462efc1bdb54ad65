"""Every config key is used or refused: the rule name, the keys an experiment uses, data.

Checks of one config (no sweep) against its experiment's declarations
(:class:`runs.experiments.registry.Experiment`): ``[rule] name`` must be one the
experiment runs; a key the experiment does not use is an error naming the key, the
experiment and the file; the dataset arguments must mean something for that dataset.
"""

from __future__ import annotations

import difflib

from agents.errors import ConfigError, DataError
from networks.compile import compile_graph
from runs.config.schema import OPEN_SECTIONS, SCHEMA
from runs.data.datasets import load_dataset

#: Keys every experiment uses: they name, identify or seed the runs.
ALWAYS_USED = frozenset({"name", "experiment", "seed", "n_seeds", "seeds", "plugins"})


def resolve_rule_name(exp, rule: dict, source: str) -> str | None:
    """The rule the config runs: ``[rule] name`` if allowed, else the default (or None).

    Raises:
        ConfigError: naming ``rule.name``, the experiment and the file.
    """
    allowed, name = exp.rule_names(), rule.get("name")
    if name is None:
        if exp.rule_required:
            raise ConfigError(f"missing key 'rule.name' in {source}: experiment {exp.name!r} "
                              f"runs the rule it names, one of {list(allowed)}")
        return allowed[0] if allowed else None
    if not allowed:
        raise ConfigError(f"key 'rule.name' in {source}: experiment {exp.name!r} runs no "
                          f"named rule; remove it")
    if name not in allowed:
        close = difflib.get_close_matches(name, allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        other = "" if len(allowed) > 1 or exp.name == "train" else \
            " (experiment 'train' runs any method named by [rule] name)"
        raise ConfigError(f"key 'rule.name' = {name!r} in {source}: experiment {exp.name!r} "
                          f"runs {list(allowed)}{hint}{other}")
    return name


def check_used(raw: dict, exp, cfg: dict, source: str) -> frozenset[str] | None:
    """Refuse keys given in ``raw`` (one config, no sweep) that the experiment does not use.

    ``cfg`` is the validated config (the experiment's keys may depend on it).

    Returns:
        The used keys (see :attr:`Experiment.keys`), or None if undeclared.

    Raises:
        ConfigError: naming the first unused key, the experiment (and rule) and the file.
    """
    used = exp.used_keys(cfg)
    if used is None:
        return None
    rule = cfg.get("rule", {}).get("name")
    with_rule = f" with rule {rule!r}" if rule else ""
    for path, given in _given(raw):
        if path in used or path in ALWAYS_USED or path == "rule.name" or not given:
            continue
        what = f"section [{path}]" if path in OPEN_SECTIONS else f"key {path!r}"
        raise ConfigError(f"{what} in {source} is not used by experiment {exp.name!r}"
                          f"{with_rule}; remove it (it uses: {sorted(used)})")
    return used


def _given(raw: dict):
    """``(path, given)`` for every key of ``raw``: top-level, section keys, open sections."""
    yield from ((k, True) for k in raw if k != "sweep" and not (k in SCHEMA and k))
    for section in (s for s in SCHEMA if s):
        values = raw.get(section, {})
        if not isinstance(values, dict):
            continue
        if section in OPEN_SECTIONS:
            if section == "network":  # builder/file/gain and the builder's kwargs: one unit
                yield section, bool(values)
                continue
            yield section, any(k not in SCHEMA[section] for k in values)
            yield from ((f"{section}.{k}", True) for k in values if k in SCHEMA[section])
        else:
            yield from ((f"{section}.{k}", True) for k in values)


def drop_unused_defaults(out: dict, used: frozenset[str] | None) -> None:
    """Remove the schema defaults filled in for keys the experiment does not use."""
    if used is None:
        return
    for k in [k for k in SCHEMA[""] if k in out]:
        if k not in used and k not in ALWAYS_USED:
            del out[k]
    for section in (s for s in SCHEMA if s and s not in OPEN_SECTIONS):
        for k in [k for k in out.get(section, {})]:
            if f"{section}.{k}" not in used:
                del out[section][k]


def check_data(data: dict, experiment: str, source: str, graph=None) -> None:
    """Load the dataset once so that arguments it cannot honour are refused now.

    With ``graph`` (the network, built with seed 0), check that it fits the data.

    Raises:
        ConfigError: naming the ``data`` key, the experiment and the file.
    """
    if "name" not in data:
        raise ConfigError(f"missing key 'data.name' in {source}")
    for key in ("test_fraction", "n_samples"):
        if data["name"] == "xor" and key in data:
            raise ConfigError(f"key 'data.{key}' in {source} is not used by experiment "
                              f"{experiment!r} with dataset 'xor' (its 4 points are both "
                              f"the training and the test set); remove it")
    try:
        ds = load_dataset(data["name"], seed=0, **{k: data[k] for k in ("test_fraction",
                                                                        "n_samples")
                                                   if k in data})
    except (ConfigError, DataError) as e:
        raise ConfigError(f"[data] in {source}: {e}") from None
    if graph is not None:
        try:
            ds.check_fits(compile_graph(graph))
        except DataError as e:
            raise ConfigError(f"[network] and [data] in {source} do not fit: {e}") from None
