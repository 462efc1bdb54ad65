"""detect_collapse: fires on collapsed runs, names the cause, stays silent on healthy ones."""

import math
import tomllib
from pathlib import Path

import pytest

from agents.errors import CollapseError, ConfigError
from runs.config import validate_config
from runs.experiments import get_experiment
from runs.methods.collapse import detect_collapse
from runs.sweeps.sweep import expand

CYCLIC = Path(__file__).resolve().parents[3] / "runs" / "configs" / "cyclic_lp.toml"
#: The cyclic LP settings measured to collapse on seeds 0, 1 (no bound on the recurrent
#: weights, no ``cycle_gain``: they grow until the forward map is no longer contractive).
OLD_RULE = {"name": "lp", "constraint": "lin", "rho": 1.0, "optimizer": "adam",
            "state_optimizer": "sgd", "eta_w": 0.02, "eta_x": 0.2, "eta_lam": 0.2,
            "x_init": "forward"}


def rows(acc, state=None, viol=None):
    """A history: one row per evaluation, 20 steps apart."""
    out = []
    for k, a in enumerate(acc):
        r = {"step": 20 * k, "epoch": 20 * k, "train_acc": a, "loss": 0.1}
        if state is not None:
            r["state_acc"] = state[k]
        if viol is not None:
            r["mean_violation"], r["max_violation"] = viol[k], 10 * viol[k]
        out.append(r)
    return out


def first_firing(history, **kw):
    """(index, message) of the first prefix on which the detector fires, or None."""
    for k in range(1, len(history) + 1):
        msg = detect_collapse(history[:k], **kw)
        if msg:
            return k - 1, msg
    return None


def test_accuracy_collapse_fires_and_names_cause_step_and_metric():
    acc = [0.8, 0.9, 0.99, 0.97, 0.6, 0.98, 0.5, 0.4]
    state = [0.8, 0.9, 0.99, 1.0, 1.0, 1.0, 1.0, 1.0]
    viol = [0.0, 0.01, 0.005, 0.006, 0.01, 0.02, 0.03, 0.04]
    k, msg = first_firing(rows(acc, state, viol))
    assert k == 6  # 0.6 alone (1 of 3) does not fire; 0.6 and 0.5 do
    assert msg.startswith("step 120: train accuracy collapsed to 0.500 from its best 0.990 "
                          "(step 40)")
    assert "LP state still classifies 1.000" in msg and "mean constraint violation 0.03" in msg


def test_single_dips_and_noise_do_not_fire():
    acc = [0.2, 0.9, 0.95, 0.7, 0.96, 0.72, 0.97, 0.98, 0.74, 0.99]
    assert first_firing(rows(acc)) is None  # dips of 0.25 never on 2 of 3 evaluations
    assert first_firing(rows([0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.0])) is None


def test_small_training_sets_need_several_flipped_examples():
    acc = [0.5, 0.75, 0.25, 0.5, 0.25]  # 4 examples (XOR): one or two flips, a slow start
    assert first_firing(rows(acc), n_examples=4) is None
    assert first_firing(rows(acc), n_examples=400)[0] == 3
    assert first_firing(rows([1.0, 1.0, 0.25, 0.0]), n_examples=4)[0] == 3


def test_accuracy_rule_works_without_lp_metrics():
    k, msg = first_firing(rows([0.9, 0.95, 0.6, 0.55]))
    assert k == 3 and "collapsed to 0.550" in msg and "LP state" not in msg


def test_constraint_collapse_needs_growing_violation():
    # LP's slow start: the state fits before the predictor, violation still shrinking
    acc = [0.5, 0.5, 0.55, 0.6, 0.62, 0.65]
    state = [0.5, 1.0, 1.0, 1.0, 1.0, 1.0]
    shrinking = [0.0, 0.05, 0.03, 0.02, 0.01, 0.008]
    assert first_firing(rows(acc, state, shrinking)) is None
    growing = [0.0, 0.05, 0.01, 0.02, 0.04, 0.05]
    k, msg = first_firing(rows(acc, state, growing))
    assert k == 5 and msg.startswith("step 100: constraint collapse: the LP state classifies")
    assert "×5.0 its minimum" in msg  # ×2 at step 60 is below the growth threshold 3


def test_non_finite_metric_is_a_divergence():
    h = rows([0.8, 0.9], [0.8, 0.9], [0.0, 0.01])
    h[-1]["max_violation"] = math.inf
    assert detect_collapse(h) == "step 20: the max_violation is no longer finite (the run " \
                                 "diverged)"


@pytest.mark.parametrize("kw", [{"drop": 0}, {"gap": 1.5}, {"growth": 1.0},
                                {"hits": 4, "window": 3}, {"hits": 0},
                                {"min_flips": 0}, {"n_examples": 0}])
def test_bad_thresholds_are_refused(kw):
    with pytest.raises(ConfigError):
        detect_collapse(rows([0.5]), **kw)


def test_rows_need_step_and_train_acc():
    assert detect_collapse([]) is None
    with pytest.raises(ConfigError, match="'train_acc'"):
        detect_collapse([{"step": 0}])


def cyclic_run_config(seed: int, rule: dict | None = None, **schedule) -> dict:
    """The resolved run config of ``cyclic_lp.toml`` for one seed, ``[rule]`` replaced."""
    raw = tomllib.loads(CYCLIC.read_text(encoding="utf-8"))
    if rule is not None:
        raw["rule"] = dict(rule)
    raw["schedule"] |= schedule
    raw["record"] = {"snapshots": False}
    raw["seeds"] = [seed]
    return expand(validate_config(raw, str(CYCLIC), CYCLIC.parent))[0].config


def _cyclic_rows(seed):
    """History of the old settings (every evaluation: the loop's own detector is bypassed
    by catching its error, whose rows are the history up to the collapse)."""
    cfg = cyclic_run_config(seed, OLD_RULE, epochs=300, eval_every=20)
    try:
        return get_experiment("lp").fn(cfg, seed).rows
    except CollapseError as e:
        return e.rows


@pytest.mark.parametrize("seed", [1, pytest.param(0, marks=pytest.mark.slow)])
def test_fires_on_the_measured_cyclic_lp_collapse(seed):
    fired = first_firing(_cyclic_rows(seed))
    assert fired is not None
    k, msg = fired
    assert "train accuracy collapsed" in msg and "left the network's forward fixed point" in msg


@pytest.mark.parametrize("seed", [3, pytest.param(4, marks=pytest.mark.slow)])
def test_silent_on_cyclic_lp_runs_that_learn(seed):
    h = _cyclic_rows(seed)
    assert h[-1]["train_acc"] >= 0.95
    assert first_firing(h) is None
