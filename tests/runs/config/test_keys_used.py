"""Every config key is used or refused: the defects of issue 10, one test each."""

import numpy as np
import pytest

from agents.errors import ConfigError
from runs.config import validate_config
from runs.experiments import get_experiment
from runs.experiments.training import fit
from runs.sweeps.sweep import expand

NET = {"builder": "layered", "sizes": [2, 4, 1], "activation": "tanh",
       "output_activation": "sigmoid"}
DATA = {"name": "moons", "n_samples": 40}
LP = {"experiment": "lp", "data": DATA, "network": NET,
      "rule": {"rho": 1.0, "eta_w": 0.2, "eta_x": 0.2, "eta_lam": 0.2, "optimizer": "sgd"},
      "schedule": {"epochs": 4, "eval_every": 2}}
DIFF = {"experiment": "diffusion", "data": DATA, "network": NET, "rule": {"eta": 0.1},
        "schedule": {"epochs": 2, "eval_every": 1, "batch": 4, "T": 3}}


def run(raw, source="cfg.toml"):
    """Validate ``raw`` and run its first run; returns (config, RunOutput)."""
    spec = expand(validate_config(raw, source))[0]
    return spec.config, get_experiment(spec.config["experiment"]).fn(spec.config, spec.seed)


def refusal(raw, source="cfg.toml") -> str:
    with pytest.raises(ConfigError) as info:
        validate_config(raw, source)
    return str(info.value)


def with_(raw, section, **kv):
    return raw | {section: {**raw.get(section, {}), **kv}}


def test_diffusion_average_changes_the_run():
    losses = [run(with_(DIFF, "rule", average=a))[1].summary["loss"] for a in (True, False)]
    assert losses[0] != losses[1]


def test_float32_learning_runs_in_float32():
    for raw in (LP, DIFF, LP | {"experiment": "bp", "rule": {"eta": 0.1}}):
        cfg64, out64 = run(raw)
        cfg32, out32 = run(raw | {"dtype": "float32"})
        assert out32.summary["loss"] != out64.summary["loss"], raw["experiment"]
        assert abs(out32.summary["loss"] - out64.summary["loss"]) < 1e-3
        res = fit(cfg32, 0)
        assert res.weight.dtype == np.float32
        if res.engine is not None:
            assert res.engine.dtype == np.float32
            assert res.engine.state("x").dtype == np.float32


def test_rule_name_selects_the_rule_or_is_refused():
    msg = refusal(with_(LP, "rule", name="diffusion"), "lp.toml")
    assert "key 'rule.name' = 'diffusion'" in msg and "experiment 'lp'" in msg
    assert "lp.toml" in msg and "experiment 'train'" in msg
    assert "did you mean 'lp'" in refusal(with_(LP, "rule", name="lpp"))
    # under "train" the name selects the method
    via_train, out = run(with_(DIFF | {"experiment": "train"}, "rule", name="diffusion"))
    _, direct = run(DIFF)
    assert via_train["rule"]["name"] == "diffusion"
    assert out.rows == direct.rows
    assert "missing key 'rule.name'" in refusal(DIFF | {"experiment": "train"})
    # the resolved name is recorded in the run config (and so in the manifest)
    assert run(LP)[0]["rule"]["name"] == "lp"
    assert "runs no named rule" not in refusal(with_(LP, "rule", name="bp"))


@pytest.mark.parametrize("key", ["period", "T"])
def test_data_period_and_T_are_gone(key):
    msg = refusal(with_(DIFF, "data", **{key: 4}), "d.toml")
    assert f"unknown key 'data.{key}'" in msg and "d.toml" in msg


def test_schedule_steps_is_refused_by_learning_experiments():
    for raw in (LP, DIFF):
        msg = refusal(with_(raw, "schedule", steps=10), "s.toml")
        assert "key 'schedule.steps'" in msg and f"experiment {raw['experiment']!r}" in msg
        assert "s.toml" in msg and "not used" in msg


def test_T_lives_in_schedule_and_lp_refuses_it():
    msg = refusal(with_(LP, "schedule", T=5), "lp.toml")
    assert "key 'schedule.T'" in msg and "experiment 'lp'" in msg and "lp.toml" in msg
    outs = [run(with_(DIFF, "schedule", T=t))[1].summary for t in (2, 5)]
    assert outs[0]["T"] == 2 and outs[1]["T"] == 5 and outs[0]["loss"] != outs[1]["loss"]


def test_eval_every_counts_epochs_everywhere():
    for raw in (with_(LP, "schedule", batch=10), DIFF | {"schedule": {
            "epochs": 4, "eval_every": 2, "batch": 4, "T": 3}},
            with_(LP | {"experiment": "bp", "rule": {"eta": 0.1}}, "schedule", batch=10)):
        _, out = run(raw)
        assert [r["epoch"] for r in out.rows] == [0, 2, 4], raw["experiment"]


def test_keys_an_experiment_does_not_use_are_refused():
    cases = [
        (LP | {"experiment": "bp", "rule": {"eta": 0.1}, "engine": "agent"}, "'engine'", "bp"),
        (with_(DIFF, "record", snapshots=True), "'record.snapshots'", "diffusion"),
        ({"experiment": "fidelity", "network": NET}, "section [network]", "fidelity"),
        ({"experiment": "fidelity", "data": DATA}, "'data.name'", "fidelity"),
        ({"experiment": "forward", "network": {"builder": "ring", "n": 4},
          "record": {"vars": ["x"]}}, "'record.vars'", "forward"),
        ({"experiment": "forward", "network": {"builder": "ring", "n": 4},
          "schedule": {"epochs": 3}}, "'schedule.epochs'", "forward"),
    ]
    for raw, key, exp in cases:
        msg = refusal(raw, "k.toml")
        assert key in msg and f"experiment {exp!r}" in msg and "k.toml" in msg, msg


def test_data_and_network_keys_that_would_be_ignored_are_refused():
    xor = with_(LP, "data", name="xor")
    xor["data"] = {"name": "xor", "n_samples": 40}
    msg = refusal(xor, "x.toml")
    assert "key 'data.n_samples'" in msg and "experiment 'lp'" in msg and "x.toml" in msg
    msg = refusal(with_(LP, "data", name="wine", n_samples=5000))
    assert "n_samples = 5000" in msg and "178" in msg
    msg = refusal(with_(LP, "network", contractive_gain=0.5), "g.toml")
    assert "key 'network.contractive_gain'" in msg and "no cycle" in msg and "g.toml" in msg


def test_master_seed_is_used_or_refused():
    a, b = (run(LP | {"seed": s})[1].summary["loss"] for s in (0, 1))
    assert a != b  # it derives the run seeds
    msg = refusal(LP | {"seed": 1, "seeds": [0]}, "s.toml")
    assert "'seed' and 'seeds'" in msg and "s.toml" in msg


def test_network_that_does_not_fit_the_data_is_refused_at_load_time():
    msg = refusal(with_(LP, "data", name="wine", n_samples=None) | {"data": {"name": "wine"}},
                  "f.toml")
    assert "[network] and [data] in f.toml do not fit" in msg and "13 input" in msg
