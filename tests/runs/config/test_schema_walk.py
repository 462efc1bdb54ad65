"""A walk over the whole config schema, for every built-in experiment.

For each key (every schema key, the rule parameters of the experiment's method and the
builder arguments of its network), the value is changed. Then the config is either
refused — a ConfigError naming the file — or the run's result (rows, summary,
snapshots) changes. Only the keys that by design do not change results (the config's
name, its plugins, and the engine: both engines compute the same numbers) may leave the
result alone; they change the run's recorded config (the manifest).
"""

import copy
import inspect
import json
from dataclasses import fields

import numpy as np
import pytest

from agents.errors import ConfigError
from networks.builders import BUILDERS
from networks.graphio import save_graph
from runs.config import SCHEMA, validate_config
from runs.config.schema import OPEN_SECTIONS
from runs.experiments import get_experiment
from runs.sweeps.sweep import expand

MANIFEST_ONLY = {"name", "plugins", "engine"}
#: Keys that by definition change nothing on the walk's feedforward networks (the bound on
#: cycle gains holds trivially without cycles); their effect on a cyclic network is
#: tested in tests/runs/methods/test_cyclic_lp.py.
DAG_NO_OP = {"rule.cycle_gain"}
NET = {"builder": "layered", "sizes": [2, 4, 1], "activation": "tanh",
       "output_activation": "sigmoid", "bias_scale": 0.2}
DATA = {"name": "moons", "n_samples": 40}
LP_RULE = {"constraint": "lin-eps", "eps": 0.01, "rho": 1.0, "optimizer": "adam",
           "eta_w": 0.05, "eta_x": 0.2, "eta_lam": 0.2, "x_init": "zero"}
LEARN = {"data": DATA, "network": NET, "seeds": [0]}
BASES = {
    "forward": {"experiment": "forward", "seeds": [0],
                "network": {"builder": "random_digraph", "n_nodes": 8, "n_edges": 20,
                            "n_inputs": 2, "n_outputs": 1, "contractive_gain": 0.8},
                "schedule": {"steps": 12}, "record": {"snapshots": True, "vars": ["x"],
                                                      "every": 2}},
    "lp": LEARN | {"experiment": "lp", "rule": LP_RULE,
                   "schedule": {"epochs": 4, "eval_every": 2, "batch": 10},
                   "record": {"snapshots": True}},
    "bp": LEARN | {"experiment": "bp", "rule": {"optimizer": "adam", "eta": 0.05},
                   "schedule": {"epochs": 4, "eval_every": 2, "batch": 10}},
    "diffusion": LEARN | {"experiment": "diffusion", "rule": {"eta": 0.1},
                          "schedule": {"epochs": 2, "eval_every": 1, "batch": 4, "T": 3}},
    "train": LEARN | {"experiment": "train", "rule": {"name": "diffusion", "eta": 0.1},
                      "schedule": {"epochs": 2, "eval_every": 1, "batch": 4, "T": 3}},
    "compare": LEARN | {"experiment": "compare", "rule": LP_RULE,
                        "schedule": {"epochs": 4, "eval_every": 2, "batch": 10}},
    "pruning": LEARN | {"experiment": "pruning", "rule": LP_RULE | {"threshold": 0.3},
                        "schedule": {"epochs": 4, "eval_every": 2, "batch": 10}},
    "fidelity": {"experiment": "fidelity", "seeds": [0], "schedule": {"T": 3},
                 "rule": {"depth": 2, "width": 3, "n_examples": 4, "batch": 2}},
}
OTHER = {  # a valid other value, by key name (else: numbers scaled, bools negated)
    "name": "renamed", "engine": "agent", "dtype": "float32", "seed": 1, "n_seeds": 2,
    "seeds": [3], "plugins": ["json"], "test_fraction": 0.5, "n_samples": 48,
    "vars": ["x", "a"], "constraint": "abs-eps", "optimizer": "sgd",
    "state_optimizer": "adam", "loss": "bce", "reduce": "sum", "x_init": "forward",
    "stream": "sine", "activation": "relu", "output_activation": "identity",
    "sizes": [2, 5, 1], "delays": 2, "threshold": 1.0, "adam_eps": 1e-3, "cycle_gain": 0.5,
}


def _other(key: str, value, base: dict):
    if key == "data.name":
        return "xor"
    if key == "rule.name":
        return {"diffusion": "lp"}.get(value, "diffusion")
    if key == "schedule.batch":
        return value + 1
    short = key.rpartition(".")[2]
    if short in OTHER and OTHER[short] != value:
        return OTHER[short]
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 0.5 if value else 0.01
    raise AssertionError(f"no other value for {key} = {value!r}")


def _keys(name: str, base: dict, tmp_path):
    """``(key, changed raw config)`` for every key of the walk."""
    cfg = validate_config(copy.deepcopy(base), "walk.toml").data
    for section, keys in SCHEMA.items():
        for k in keys:
            if k == "experiment" or section == "network":
                continue
            path = f"{section}.{k}" if section else k
            current = (cfg.get(section, {}) if section else cfg).get(k)
            if current is None:  # not used: give it the value of another base
                current = _fallback(path)
            raw = copy.deepcopy(base)
            target = raw.setdefault(section, {}) if section else raw
            target[k] = _other(path, current, base)
            if k == "n_seeds":
                raw.pop("seeds")
            if k == "seeds":
                raw.pop("n_seeds", None)
            yield path, raw
    exp = get_experiment(base["experiment"])
    cls = exp.params_class(cfg.get("rule", {}).get("name"))
    for f in fields(cls) if cls else ():
        raw = copy.deepcopy(base)
        current = raw.get("rule", {}).get(f.name, f.default)
        raw.setdefault("rule", {})[f.name] = _other(f"rule.{f.name}", current, base)
        yield f"rule.{f.name}", raw
    yield from _network_keys(base, cfg, tmp_path)


def _network_keys(base, cfg, tmp_path):
    net = base.get("network") or NET
    for k in inspect.signature(BUILDERS[net["builder"]]).parameters:
        if k in net or k == "seed":
            raw = copy.deepcopy(base)
            raw["network"] = {**net, k: _other(f"network.{k}", net.get(k, 0), base)}
            yield f"network.{k}", raw
    raw = copy.deepcopy(base)
    raw["network"] = {"builder": "random_dag", "n_nodes": 7, "n_edges": 12, "n_inputs": 2,
                      "n_outputs": 1}
    yield "network.builder", raw
    raw = copy.deepcopy(base)
    path = tmp_path / "other.json"
    save_graph(BUILDERS[net["builder"]](**{k: v for k, v in net.items() if k not in (
        "builder", "contractive_gain")}, seed=11), path)
    raw["network"] = {"file": str(path)}
    yield "network.file", raw
    raw = copy.deepcopy(base)
    raw["network"] = {**net, "contractive_gain": net.get("contractive_gain", 1.0) * 0.5}
    yield "network.contractive_gain", raw


def _fallback(path: str):
    for base in BASES.values():
        section, _, k = path.rpartition(".")
        value = (base.get(section, {}) if section else base).get(k)
        if value is not None:
            return value
    return {"schedule.eval_every": 1, "data.test_fraction": 0.25}.get(path, 1)


def _outcome(cfg) -> str:
    """Every run's rows, summary and snapshots (timings left out), as canonical text."""
    out = []
    for spec in expand(cfg):
        res = get_experiment(spec.config["experiment"]).fn(copy.deepcopy(spec.config),
                                                           spec.seed)
        summary = {k: v for k, v in res.summary.items() if not k.endswith("seconds")}
        snaps = {k: np.asarray(v, dtype=np.float64).round(12).tolist()
                 for k, v in res.snapshots.items()}
        out.append({"seed": spec.seed, "rows": res.rows, "summary": summary, "snaps": snaps})
    return json.dumps(out, sort_keys=True, default=float)


@pytest.mark.filterwarnings("ignore::agents.errors.LocalpropWarning")  # random_dag latency
@pytest.mark.parametrize("name", list(BASES))
def test_every_key_changes_the_result_or_is_refused(name, tmp_path):
    base = BASES[name]
    ref_cfg = validate_config(copy.deepcopy(base), "walk.toml")
    ref = _outcome(ref_cfg)
    changed, refused = [], []
    for path, raw in _keys(name, base, tmp_path):
        try:
            cfg = validate_config(raw, "walk.toml", tmp_path)
        except ConfigError as e:
            assert "walk.toml" in str(e), (path, str(e))
            refused.append(path)
            continue
        if path in MANIFEST_ONLY:
            assert [s.config for s in expand(cfg)] != [s.config for s in expand(ref_cfg)]
            continue
        if path in DAG_NO_OP and all(s.config.get("network", {}).get("builder") in (
                "layered", "random_dag") for s in expand(cfg)):
            assert _outcome(cfg) == ref, f"{name}: {path!r} changed a feedforward run"
            continue
        assert _outcome(cfg) != ref, f"{name}: changing {path!r} changed nothing"
        changed.append(path)
    print(f"\n{name}: {len(changed)} keys change the result, refused: {refused}")
    assert len(changed) >= 8 and refused
    sections = {p.partition(".")[0] for p in changed}
    assert sections >= {"seeds", "dtype", "schedule"}, sections
    assert "rule" in sections or name == "forward"
    assert "network" in sections or name == "fidelity"


def test_open_sections_are_walked():
    assert set(OPEN_SECTIONS) == {"network", "rule"}
