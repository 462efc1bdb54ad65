"""Loading and validating experiment configs (TOML files; the keys: :mod:`runs.config.schema`).

Every error is a :class:`~agents.errors.ConfigError` naming the key and the file.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import itertools
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from agents.errors import ConfigError, GraphError
from networks.builders import BUILDERS
from runs.config.schema import (
    NOT_SWEPT,
    OPEN_SECTIONS,
    OPTIONAL,
    REQUIRED,
    SCHEMA,
    SIMPLE_TYPES,
    Key,
    check_name,
    check_sweep_size,
    check_value,
    dataclass_validator,
    derive_seeds,
    no_params,
    unknown_key,
)
from runs.config.usage import check_data, check_used, drop_unused_defaults, resolve_rule_name
from runs.experiments.registry import get_experiment


@dataclass(frozen=True)
class Config:
    """A validated config: defaults filled in, seeds derived.

    Attributes:
        data: the config as a dict (top-level keys and one dict per section); ``sweep``
            is flattened to ``{"section.key": [values]}``.
        source: the file (or a name) errors refer to.
        base_dir: directory that relative paths (``network.file``) are resolved against.
        seeds: the run seeds (see :func:`derive_seeds`).
    """

    data: dict
    source: str
    base_dir: Path
    seeds: tuple[int, ...]

    def __getitem__(self, key: str) -> Any:
        return self.data[key]



def _section(name: str, raw: Any, source: str) -> dict:
    """Validate the fixed keys of one section, fill defaults; keep open sections' extras."""
    prefix = f"{name}." if name else ""
    if not isinstance(raw, dict):
        raise ConfigError(f"key {name!r} in {source} must be a table ([{name}]), got "
                          f"{raw!r}")
    schema, out = SCHEMA[name], {}
    for k, v in raw.items():
        if k in schema:
            out[k] = check_value(prefix + k, schema[k], v, source)
        elif name in OPEN_SECTIONS:
            out[k] = v
        elif not (name == "" and k in (*SCHEMA, "sweep")):
            top = [*(s for s in SCHEMA if s), "sweep"] if not name else []
            raise unknown_key(prefix + k, [*schema, *top], source)
    for k, key in schema.items():
        if k not in out and key.default is REQUIRED:
            raise ConfigError(f"missing key {prefix + k!r} in {source}")
        if k not in out and key.default is not OPTIONAL:
            out[k] = json.loads(json.dumps(key.default))  # a fresh copy
    return out


def _network(net: dict, source: str, base_dir: Path) -> nx.DiGraph:
    """Check builder XOR file, builder kwargs against the builder's signature; the graph."""
    if ("builder" in net) == ("file" in net):
        raise ConfigError(f"[network] in {source} needs exactly one of 'builder' and 'file'")
    extra = {k: v for k, v in net.items() if k not in SCHEMA["network"]}
    if "file" in net:
        if extra:
            raise unknown_key(f"network.{next(iter(extra))}", SCHEMA["network"], source)
        path = base_dir / net["file"]
        if path.is_dir():
            raise ConfigError(f"key 'network.file' in {source}: {net['file']!r} is a directory "
                              f"({path}), not a graph file")
        if not path.is_file():
            raise ConfigError(f"key 'network.file' in {source}: graph file {net['file']!r} "
                              f"does not exist (looked for {path})")
        from networks.graphio import load_graph

        try:
            G = load_graph(path)
        except GraphError as e:
            raise ConfigError(f"key 'network.file' in {source}: {e}") from None
        _check_gain(net, G, source)
        return G
    sig = inspect.signature(BUILDERS[net["builder"]], eval_str=True)
    params = {k: p for k, p in sig.parameters.items()}
    for k, v in extra.items():
        if k not in params:
            raise unknown_key(f"network.{k}", [*params, *SCHEMA["network"]], source)
        ann = params[k].annotation
        simple = SIMPLE_TYPES.get(ann)
        if simple is not None and v is not None:
            check_value(f"network.{k}", Key(simple), v, source)
        elif _sequence_only(ann) and isinstance(v, str):
            raise ConfigError(f"key 'network.{k}' in {source} must be a list (e.g. [2, 3, 1]), "
                              f"got the string {v!r}")
    for k, p in params.items():
        if p.default is inspect.Parameter.empty and k != "seed" and k not in extra:
            raise ConfigError(f"missing key 'network.{k}' in {source} (required by builder "
                              f"{net['builder']!r})")
    try:  # fail early: build it once (seed 0) so bad sizes or values surface at load time
        G = BUILDERS[net["builder"]](**{"seed": 0, **extra})
    except GraphError as e:
        raise ConfigError(f"[network] in {source}: {e}") from None
    _check_gain(net, G, source)
    return G


def _sequence_only(annotation) -> bool:
    """Whether a builder argument takes a sequence and no string (e.g. ``sizes``)."""
    text = str(annotation)
    return ("Sequence" in text or "list" in text) and "str" not in text


def _check_gain(net: dict, G, source: str) -> None:
    """``contractive_gain`` scales the recurrent weights: refuse it on an acyclic network."""
    if "contractive_gain" in net and nx.is_directed_acyclic_graph(G):
        raise ConfigError(f"key 'network.contractive_gain' in {source}: the network has no "
                          f"cycle, so there are no recurrent weights to scale; remove it")


def _flatten(sweep: Any, source: str, prefix: str = "") -> dict[str, list]:
    if not isinstance(sweep, dict):
        raise ConfigError(f"key 'sweep' in {source} must be a table of lists")
    flat: dict[str, list] = {}
    for k, v in sweep.items():
        path = prefix + k
        if isinstance(v, dict):
            flat.update(_flatten(v, source, path + "."))
        elif not isinstance(v, list) or not v:
            raise ConfigError(f"key 'sweep.{path}' in {source} must be a non-empty list of "
                              f"values, got {v!r}")
        else:
            canon = [json.dumps(x, sort_keys=True) for x in v]
            if len(set(canon)) < len(canon):
                raise ConfigError(f"key 'sweep.{path}' in {source} lists a value twice: {v!r}")
            flat[path] = v
    return flat


def apply_point(data: dict, point: dict[str, Any]) -> dict:
    """Return a copy of ``data`` (no ``sweep``) with ``{"section.key": value}`` set."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items() if k != "sweep"}
    for path, value in point.items():
        section, _, key = path.rpartition(".")
        (out.setdefault(section, {}) if section else out)[key] = value
    return out


def _validate_one(raw: dict, source: str, base_dir: Path) -> dict:
    """Validate a config without sweep: sections, rule name and parameters, used keys."""
    out = _section("", raw, source)
    for mod in out["plugins"]:
        try:
            importlib.import_module(mod)
        except ImportError as e:
            raise ConfigError(f"cannot import plugin {mod!r} listed in {source}: {e}") from None
    exp = get_experiment(out["experiment"], source)
    for name in SCHEMA:
        if name:
            out[name] = _section(name, raw.get(name, {}), source)
    rule = resolve_rule_name(exp, out["rule"], source)
    if rule is not None:
        out["rule"]["name"] = rule
    for name in exp.needs:
        if not raw.get(name):
            raise ConfigError(f"experiment {exp.name!r} needs a [{name}] section in {source}")
    graph = _network(out["network"], source, base_dir) if out["network"] else None
    cls = exp.params_class(rule)
    hook = exp.params_validator or (dataclass_validator(cls) if cls else no_params)
    params = {k: v for k, v in out["rule"].items() if k != "name"}
    try:
        if "source" in inspect.signature(hook).parameters:
            hook(params, source=source)
        else:
            hook(params)
    except ConfigError as e:
        raise ConfigError(str(e) if source in str(e) else f"{e} (in {source})") from None
    used = check_used(raw, exp, out, source)
    drop_unused_defaults(out, used)
    if "data" in exp.needs:
        check_data(out["data"], exp.name, source, graph)
    return out


def validate_config(raw: dict, source: str = "<config>", base_dir=None) -> Config:
    """Validate a config dict (as parsed from TOML) and fill in defaults.

    Every point of the sweep product is validated too (errors name the point).

    Args:
        raw: the parsed config.
        source: the name errors use (the file).
        base_dir: directory for relative paths (default: the current directory).

    Raises:
        ConfigError: naming the key and ``source``.
    """
    base_dir = Path(base_dir) if base_dir is not None else Path.cwd()
    if not isinstance(raw, dict):
        raise ConfigError(f"config {source} must be a table, got {type(raw).__name__}")
    sweep = _flatten(raw.get("sweep", {}), source)
    for path in sweep:
        section, _, key = path.rpartition(".")
        if path in NOT_SWEPT or section not in SCHEMA or path in SCHEMA:
            raise ConfigError(f"key 'sweep.{path}' in {source}: cannot sweep {path!r}; use "
                              f"'section.key' with a section among {list(SCHEMA)[1:]}, or "
                              f"'engine' / 'dtype'")
        if section not in OPEN_SECTIONS and key not in SCHEMA[section]:
            raise unknown_key(f"sweep.{path}", SCHEMA[section], source)
    check_sweep_size(sweep, raw, source)
    data = None
    for combo in itertools.product(*sweep.values()):  # one empty point without a sweep
        point = dict(zip(sweep, combo, strict=True))
        try:
            checked = _validate_one(apply_point(raw, point), source, base_dir)
        except ConfigError as e:
            raise ConfigError(f"sweep point {point}: {e}" if point else str(e)) from None
        data = data or checked
    for path in sweep:  # keep the values written outside [sweep] (or none)
        section, _, key = path.rpartition(".")
        where, given = (data[section], raw.get(section, {})) if section else (data, raw)
        if key in given:
            where[key] = copy.deepcopy(given[key])
        else:
            where.pop(key, None)
    if "seeds" in data and "n_seeds" in data:
        raise ConfigError(f"keys 'seeds' and 'n_seeds' in {source} are mutually exclusive")
    if "seeds" in data and "seed" in raw:
        raise ConfigError(f"keys 'seed' and 'seeds' in {source} are mutually exclusive: the "
                          f"master seed only derives seeds (with n_seeds); remove one")
    if data.get("seeds") == []:
        raise ConfigError(f"key 'seeds' in {source} must list at least one seed")
    data.setdefault("name", Path(source).stem.strip("<>") or "experiment")
    check_name(data["name"], source)
    data["sweep"] = sweep
    seeds = data.get("seeds") or derive_seeds(data["seed"], data.get("n_seeds", 1))
    if len(set(seeds)) < len(seeds):
        raise ConfigError(f"key 'seeds' in {source} lists a seed twice: {seeds}")
    return Config(data, source, base_dir, tuple(seeds))


def load_config(path) -> Config:
    """Read and validate a TOML config file (the name defaults to the file's stem).

    Raises:
        ConfigError: the file is missing or unreadable, not valid TOML (with the line),
            or fails validation (see :func:`validate_config`).
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read config file {str(path)!r}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"config file {str(path)!r} is not UTF-8: {e.reason}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {e}") from None
    raw.setdefault("name", path.stem)
    return validate_config(raw, str(path), path.parent)
