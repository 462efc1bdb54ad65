"""The config schema: typed keys with defaults and ranges (:data:`SCHEMA`), value checks.

An example (every key but ``experiment`` and what the experiment needs is optional)::

    name = "ring-study"        # default: the file's stem
    experiment = "forward"     # a registered experiment (runs.experiments)
    engine = "vector"          # "vector" | "agent" (experiments that run an engine)
    dtype = "float64"          # "float64" | "float32": the dtype of all state of a run
    seed = 7                   # master seed, int >= 0 (default 0)
    n_seeds = 4                # runs per sweep point (>= 1), or seeds = [1, 2] (as is)
    plugins = []               # modules imported first, also in every worker

    [data]                     # name (a dataset), test_fraction in (0, 1), n_samples > 0
    [network]                  # builder = one of BUILDERS + its keyword arguments,
    builder = "ring"           # or file = "g.json" (node-link JSON, relative to this file);
    n = 6                      # optional contractive_gain > 0; seed defaults to the run seed
    [rule]                     # name (the rule / method) + its parameters
    [schedule]                 # steps >= 0 (100; forward dynamics), epochs >= 1,
    steps = 50                 # eval_every >= 1 (in epochs), batch >= 1, T >= 1
    [record]                   # vars (["x"]), snapshots (false), every >= 1 (1)
    [sweep]                    # "section.key" (or engine / dtype) = [values]:
    "network.n" = [4, 8]       # the runs are the product of the lists × the seeds

Every error is a :class:`~agents.errors.ConfigError` naming the key and the file:
unknown keys (with a did-you-mean), wrong types (bools are not ints), out-of-range values,
and keys the experiment does not use (each experiment declares the keys it uses,
:class:`runs.experiments.registry.Experiment`). Defaults are filled in for used keys
only; learning experiments take their schedule defaults from the method
(:class:`runs.methods.base.Method`).
"""

from __future__ import annotations

import difflib
import math
import os
import re
from dataclasses import MISSING, dataclass, fields, is_dataclass
from typing import Any

import numpy as np

from agents.errors import ConfigError
from networks.builders import BUILDERS
from networks.engines import ENGINES
from runs.data.datasets import DATASETS

REQUIRED, OPTIONAL = object(), object()  # key markers: must be given / may be absent
SIMPLE_TYPES = {int: "int", float: "float", bool: "bool", str: "str", str | None: "str"}


@dataclass(frozen=True)
class Key:
    """One config key: its type, default and allowed range.

    Attributes:
        type: "str", "int", "float" (ints accepted), "bool", "list[str]" or "list[int]".
        default: the value filled in when absent; REQUIRED or OPTIONAL (stays absent).
        gt, ge, lt, le: bounds on numbers (on each element of a list[int]).
        choices: allowed values, or None.
    """

    type: str
    default: Any = OPTIONAL
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    choices: tuple | None = None

    def range_text(self) -> str:
        """The allowed range as text, e.g. ``"in (0, 1)"`` or ``">= 1"``."""
        lo = (f"({self.gt}" if self.gt is not None else
              f"[{self.ge}" if self.ge is not None else None)
        hi = (f"{self.lt})" if self.lt is not None else
              f"{self.le}]" if self.le is not None else None)
        if lo and hi:
            return f"in {lo}, {hi}"
        if lo:
            return f"{'>' if lo[0] == '(' else '>='} {lo[1:]}"
        return f"{'<' if hi[-1] == ')' else '<='} {hi[:-1]}"


SCHEMA: dict[str, dict[str, Key]] = {
    "": {"name": Key("str"), "experiment": Key("str", REQUIRED),
         "engine": Key("str", "vector", choices=tuple(ENGINES)),
         "dtype": Key("str", "float64", choices=("float64", "float32")),
         "seed": Key("int", 0, ge=0), "n_seeds": Key("int", ge=1),
         "seeds": Key("list[int]", ge=0), "plugins": Key("list[str]", [])},
    "data": {"name": Key("str", choices=DATASETS), "test_fraction": Key("float", gt=0, lt=1),
             "n_samples": Key("int", gt=0)},
    "network": {"builder": Key("str", choices=tuple(BUILDERS)), "file": Key("str"),
                "contractive_gain": Key("float", gt=0)},
    "rule": {"name": Key("str")},
    "schedule": {"steps": Key("int", 100, ge=0), "epochs": Key("int", ge=1),
                 "eval_every": Key("int", ge=1), "batch": Key("int", ge=1),
                 "T": Key("int", ge=1)},
    "record": {"vars": Key("list[str]", ["x"]), "snapshots": Key("bool", False),
               "every": Key("int", 1, ge=1)},
}
OPEN_SECTIONS = ("network", "rule")  # extra keys: builder kwargs / rule parameters
MAX_RUNS = 10_000  # runs in one sweep (LOCALPROP_MAX_RUNS raises it)
NOT_SWEPT = ("name", "experiment", "seed", "n_seeds", "seeds", "plugins")


def derive_seeds(master: int, n: int) -> list[int]:
    """Derive ``n`` run seeds from a master seed.

    Run k gets the first 64-bit word of ``np.random.SeedSequence(master).spawn(n)[k]``
    shifted right by one bit (a non-negative int < 2**63). Children of a SeedSequence are
    independent streams and prefix-stable: raising ``n`` keeps the first seeds.
    """
    return [int(s.generate_state(1, np.uint64)[0] >> np.uint64(1))
            for s in np.random.SeedSequence(master).spawn(n)]


def unknown_key(path: str, known, source: str) -> ConfigError:
    """The error for an unknown key ``path`` ("section.key"), with a did-you-mean."""
    name = path.rpartition(".")[2]
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {sorted(known)}"
    return ConfigError(f"unknown key {path!r} in {source}{hint}")


def check_value(path: str, key: Key, value: Any, source: str) -> Any:
    """Check ``value`` against ``key`` (type, range, choices); return it (ints → float)."""
    kind = key.type
    scalar = kind.removeprefix("list[").removesuffix("]")
    items = value if kind.startswith("list") and isinstance(value, list) else [value]
    ok = (isinstance(value, list) or not kind.startswith("list")) and all(
        isinstance(v, bool) if scalar == "bool" else
        isinstance(v, str) if scalar == "str" else
        not isinstance(v, bool) and isinstance(v, int | float if scalar == "float" else int)
        for v in items)
    if not ok:
        raise ConfigError(f"wrong type for key {path!r} in {source}: expected {kind}, got "
                          f"{value!r} ({type(value).__name__})")
    if key.choices is not None and value not in key.choices:
        close = difflib.get_close_matches(str(value), key.choices, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"key {path!r} in {source} must be one of {list(key.choices)}, "
                          f"got {value!r}{hint}")
    for v in items if scalar in ("int", "float") else ():
        if ((key.gt is not None and not v > key.gt) or (key.ge is not None and not v >= key.ge)
                or (key.lt is not None and not v < key.lt)
                or (key.le is not None and not v <= key.le)):
            raise ConfigError(f"key {path!r} in {source} must be {key.range_text()}, "
                              f"got {v!r}")
    return float(value) if kind == "float" else value



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


def check_name(name: str, source: str) -> None:
    """``name`` names the results folder (``results/<name>``): a plain folder name only."""
    if name in ("", ".", "..") or not re.fullmatch(r"[\w.+-]+", name) or name.startswith("."):
        raise ConfigError(f"key 'name' in {source} must be a plain folder name (letters, "
                          f"digits, '_', '-', '.', '+'; not empty, no '/'), got {name!r}")


def max_runs() -> int:
    """The largest sweep accepted: ``$LOCALPROP_MAX_RUNS`` or :data:`MAX_RUNS`."""
    text = os.environ.get("LOCALPROP_MAX_RUNS")
    if text is None:
        return MAX_RUNS
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"environment variable LOCALPROP_MAX_RUNS must be an integer, got "
                          f"{text!r}") from None


def check_sweep_size(sweep: dict[str, list], raw: dict, source: str) -> None:
    """Refuse a sweep of more than :func:`max_runs` runs before expanding or validating it."""
    n_seeds = raw.get("n_seeds", 1)
    seeds = raw.get("seeds")
    n_seeds = len(seeds) if isinstance(seeds, list) else n_seeds
    n_seeds = n_seeds if isinstance(n_seeds, int) and not isinstance(n_seeds, bool) else 1
    n = math.prod(len(v) for v in sweep.values()) * max(n_seeds, 1)
    if n > max_runs():
        raise ConfigError(f"the sweep of {source} has {n} runs (points × seeds), above the "
                          f"limit of {max_runs()}; shorten the [sweep] lists or n_seeds, or "
                          f"raise the limit with the environment variable LOCALPROP_MAX_RUNS")
