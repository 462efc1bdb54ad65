"""Config files: validation errors name the key and the file; seeds; expansion."""

import re
import textwrap
from dataclasses import dataclass

import numpy as np
import pytest

from agents.errors import ConfigError, LocalpropError
from networks.builders import ring
from networks.graphio import save_graph
from runs.config import dataclass_validator, derive_seeds, load_config, validate_config
from runs.experiments import RunOutput, experiment
from runs.sweeps.sweep import expand

BASE = """
experiment = "forward"
seed = 3
[network]
builder = "ring"
n = 5
[schedule]
steps = 20
"""


@dataclass(frozen=True)
class Params:
    eta_w: float = 0.1
    n_iter: int = 3
    mode: str = "a"

    def __post_init__(self):
        if self.mode not in ("a", "b"):
            raise ValueError(f"mode must be 'a' or 'b', got {self.mode!r}")


def nothing(cfg, seed):
    return RunOutput()


experiment("cfg-dataclass", params_validator=dataclass_validator(Params))(nothing)


def bare_validator(params):  # knows nothing of the file
    if params.get("k", 0) < 0:
        raise ConfigError("key 'rule.k' must be >= 0")


experiment("cfg-bare", params_validator=bare_validator)(nothing)


def write(tmp_path, text, name="exp.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_of(tmp_path, text) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    assert str(path) in msg, msg  # every error names the file
    return msg


def test_valid_config_fills_defaults(tmp_path):
    cfg = load_config(write(tmp_path, BASE))
    assert cfg["name"] == "exp" and cfg["engine"] == "vector" and cfg["dtype"] == "float64"
    assert cfg["schedule"] == {"steps": 20}  # defaults of keys forward uses, only
    assert cfg["rule"] == {"name": "forward"}  # the rule it runs is recorded
    assert "data" not in cfg.data or cfg["data"] == {}
    assert cfg["record"] == {"snapshots": False, "every": 1}  # vars: only with snapshots
    assert cfg["network"] == {"builder": "ring", "n": 5}
    assert cfg.seeds == tuple(derive_seeds(3, 1)) and cfg["sweep"] == {}


LAYERED = BASE.replace('builder = "ring"\nn = 5', 'builder = "layered"\nsize = [2, 1]')


@pytest.mark.parametrize("text, expected", [
    ("experimnt = 'x'\n" + BASE, r"unknown key 'experimnt'.*did you mean 'experiment'\?"),
    (BASE.replace("steps = 20", "stesp = 3"), r"unknown key 'schedule.stesp'.*did you mean "
                                              r"'steps'\?"),
    (BASE + "[record]\nsnapshot = true", r"unknown key 'record.snapshot'.*'snapshots'\?"),
    (BASE + "[recrd]\nevery = 1", r"unknown key 'recrd'.*did you mean 'record'\?"),
    (LAYERED, r"unknown key 'network.size'.*did you mean 'sizes'\?"),  # builder kwarg typo
])
def test_unknown_keys_suggest_the_right_one(tmp_path, text, expected):
    msg = error_of(tmp_path, text)
    assert re.search(expected, msg), msg


@pytest.mark.parametrize("line, key, expected", [
    ("steps = '10'", "schedule.steps", "expected int, got '10'"),
    ("steps = true", "schedule.steps", "expected int, got True"),  # bools are not ints
    ("steps = 1.5", "schedule.steps", "expected int, got 1.5"),
])
def test_wrong_type_names_key_type_and_value(tmp_path, line, key, expected):
    msg = error_of(tmp_path, BASE.replace("steps = 20", line))
    assert f"wrong type for key '{key}'" in msg and expected in msg, msg


@pytest.mark.parametrize("text, key, rng, value", [
    (BASE.replace("steps = 20", "steps = -1"), "schedule.steps", ">= 0", "-1"),
    (BASE + "[data]\ntest_fraction = 1.5\n", "data.test_fraction", "in (0, 1)", "1.5"),
    (BASE + "[record]\nevery = 0\n", "record.every", ">= 1", "0"),
    (BASE.replace("n = 5", "n = 5\ncontractive_gain = 0.0"), "network.contractive_gain",
     "> 0", "0.0"),
    ("n_seeds = 0\n" + BASE, "n_seeds", ">= 1", "0"),
])
def test_out_of_range_names_key_range_and_value(tmp_path, text, key, rng, value):
    msg = error_of(tmp_path, text)
    assert f"key '{key}'" in msg and rng in msg and f"got {value}" in msg, msg


def test_choices_and_missing_keys(tmp_path):
    assert "did you mean 'agent'" in error_of(tmp_path, "engine = 'agnet'\n" + BASE)
    assert "missing key 'experiment'" in error_of(tmp_path, BASE.replace(
        'experiment = "forward"', ""))
    msg = error_of(tmp_path, BASE.replace("n = 5", ""))
    assert "missing key 'network.n'" in msg and "'ring'" in msg
    assert "unknown experiment 'forwrd'" in error_of(tmp_path, BASE.replace(
        '"forward"', '"forwrd"'))


def test_seeds_and_n_seeds_are_exclusive(tmp_path):
    msg = error_of(tmp_path, "seeds = [1, 2]\nn_seeds = 2\n" + BASE)
    assert "'seeds' and 'n_seeds'" in msg and "mutually exclusive" in msg
    assert "lists a seed twice" in error_of(tmp_path, "seeds = [1, 1]\n" + BASE.replace(
        "seed = 3\n", ""))
    assert "'seed' and 'seeds'" in error_of(tmp_path, "seeds = [1, 2]\n" + BASE)


def test_network_file_relative_to_config_and_missing(tmp_path):
    save_graph(ring(4, seed=0), tmp_path / "g.json")
    text = BASE.replace('builder = "ring"\nn = 5', 'file = "g.json"')
    cfg = load_config(write(tmp_path, text))
    assert cfg["network"] == {"file": "g.json"} and cfg.base_dir == tmp_path
    msg = error_of(tmp_path, text.replace("g.json", "nope.json"))
    assert "key 'network.file'" in msg and "nope.json" in msg and "does not exist" in msg
    both = BASE.replace('builder = "ring"', 'builder = "ring"\nfile = "g.json"')
    assert "exactly one of 'builder' and 'file'" in error_of(tmp_path, both)


def test_toml_syntax_error_names_file_and_line(tmp_path):
    msg = error_of(tmp_path, BASE.replace("steps = 20", "steps = = 20"))
    assert "not valid TOML" in msg and "line 8" in msg, msg
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.toml")


def test_rule_params_checked_by_the_experiment(tmp_path):
    msg = error_of(tmp_path, BASE + "[rule]\neta = 0.1\n")
    assert "unknown key 'rule.eta'" in msg and "no rule parameters" in msg


def test_sweep_validation(tmp_path):
    ok = load_config(write(tmp_path, BASE + "[sweep]\n'network.n' = [3, 4]\n"
                                            "schedule.steps = [1, 2, 3]\n"))
    assert ok["sweep"] == {"network.n": [3, 4], "schedule.steps": [1, 2, 3]}
    msg = error_of(tmp_path, BASE + "[sweep]\n'schedule.steps' = [1, -2]\n")
    assert "sweep point" in msg and "'schedule.steps'" in msg and "got -2" in msg
    msg = error_of(tmp_path, BASE + "[sweep]\n'schedule.stpes' = [1]\n")
    assert "unknown key 'sweep.schedule.stpes'" in msg and "did you mean 'steps'" in msg
    assert "cannot sweep 'seed'" in error_of(tmp_path, BASE + "[sweep]\nseed = [1, 2]\n")
    assert "non-empty list" in error_of(tmp_path, BASE + "[sweep]\n'network.n' = 3\n")
    assert "lists a value twice" in error_of(tmp_path, BASE + "[sweep]\n'network.n' = [3, 3]\n")
    only_in_sweep = load_config(write(tmp_path, BASE.replace("n = 5", "") + "[sweep]\n"
                                                "network.n = [3, 4]\n"))  # a dotted key
    assert only_in_sweep["network"] == {"builder": "ring"}
    assert [s.config["network"]["n"] for s in expand(only_in_sweep)] == [3, 4]
    assert "missing key 'network.n'" in error_of(tmp_path, BASE.replace("n = 5", ""))


def test_validate_dict_and_error_hierarchy():
    with pytest.raises(LocalpropError, match=r"unknown key 'schedule.eval' in mine.toml"):
        validate_config({"experiment": "forward", "network": {"builder": "ring", "n": 3},
                         "schedule": {"eval": 2}}, source="mine.toml")


def test_seed_derivation_is_deterministic_and_prefix_stable():
    a, b = derive_seeds(42, 5), derive_seeds(42, 8)
    assert a == b[:5] and a == derive_seeds(42, 5) and len(set(b)) == 8
    assert all(isinstance(s, int) and 0 <= s < 2**63 for s in b)
    assert derive_seeds(43, 5) != a
    first = np.random.SeedSequence(42).spawn(1)[0].generate_state(1, np.uint64)[0]
    assert a[0] == int(first) >> 1


def test_expand_sizes_and_stable_ids(tmp_path):
    text = BASE.replace("seed = 3", "n_seeds = 3") + (
        "[sweep]\n'network.n' = [3, 4]\nengine = ['vector', 'agent']\n'schedule.steps' = [5, 6]\n")
    specs = expand(load_config(write(tmp_path, text)))
    assert len(specs) == 2 * 2 * 2 * 3 and len({s.run_id for s in specs}) == 24
    assert [s.run_id for s in specs] == [s.run_id for s in expand(load_config(
        write(tmp_path, text.replace("experiment =", "name = 'renamed'\nexperiment ="))))]
    s = specs[0]
    assert s.params == {"network.n": 3, "engine": "vector", "schedule.steps": 5}
    assert s.config["network"]["n"] == 3 and s.config["seed"] == s.seed
    assert "sweep" not in s.config and "n_seeds" not in s.config
    no_master = BASE.replace("seed = 3\n", "")
    explicit = expand(load_config(write(tmp_path, "seeds = [5, 9]\n" + no_master)))
    assert [e.seed for e in explicit] == [5, 9]


@pytest.mark.parametrize("rule, expected", [
    ("etaw = 0.1", r"unknown key 'rule.etaw' in \S+; did you mean 'eta_w'\?"),
    ("n_iter = 2.5", r"wrong type for key 'rule.n_iter' in \S+: expected int, got 2.5"),
    ("eta_w = false", r"wrong type for key 'rule.eta_w' in \S+: expected float, got False"),
    ("mode = 'c'", r"invalid \[rule\] parameters in \S+: mode must be 'a' or 'b'"),
])
def test_rule_params_validated_by_a_dataclass_hook(tmp_path, rule, expected):
    text = f'experiment = "cfg-dataclass"\n[rule]\n{rule}\n'
    assert re.search(expected, error_of(tmp_path, text))
    # an experiment that runs no named rule refuses a rule name (it would be ignored)
    msg = error_of(tmp_path, 'experiment = "cfg-dataclass"\n[rule]\nname = "x"\n')
    assert "key 'rule.name'" in msg and "'cfg-dataclass' runs no named rule" in msg
    ok = load_config(write(tmp_path, 'experiment = "cfg-dataclass"\n[rule]\neta_w = 1\n'))
    assert ok["rule"] == {"eta_w": 1}


def test_hook_errors_get_the_file_name(tmp_path):
    msg = error_of(tmp_path, 'experiment = "cfg-bare"\n[rule]\nk = -1\n')
    assert msg.startswith("key 'rule.k' must be >= 0 (in ")
