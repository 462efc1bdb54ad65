"""The recurrence experiment honours its ``[rule]`` keys, ``clip`` among them."""

import inspect
import math

import pytest

from agents.errors import ConfigError
from runs.config import validate_config
from runs.experiments.tasks import RecurrenceParams, recurrence
from runs.studies.recurrence import recurrence_study

TINY = {"task": "flip_flop", "iters": 8, "hidden": 6, "methods": ["bptt"]}


def _config(**rule) -> dict:
    return {"experiment": "recurrence", "seeds": [0], "rule": {**TINY, **rule}}


@pytest.mark.parametrize("seed", [0, 3])
def test_clip_reaches_the_study(seed):
    for clip in (1e-6, math.inf):
        out = recurrence({"rule": {**TINY, "clip": clip}}, seed)
        table = recurrence_study(["flip_flop"], [seed], hidden=6, iters=8, methods=["bptt"],
                                 clip=clip)
        cyclic = table[table["network"] == "cyclic"].iloc[0]
        assert out.summary["cyclic_bptt_mse"] == cyclic["mse"]


@pytest.mark.parametrize("seed", [1, 2])
def test_a_tight_clip_changes_training(seed):
    tight = recurrence({"rule": {**TINY, "clip": 1e-6}}, seed).summary
    free = recurrence({"rule": {**TINY, "clip": math.inf}}, seed).summary
    assert tight["cyclic_bptt_mse"] != free["cyclic_bptt_mse"]


@pytest.mark.parametrize("bad", [0, -0.5, True, "high"])
def test_a_bad_clip_is_refused_by_name(bad):
    with pytest.raises(ConfigError, match="clip"):
        validate_config(_config(clip=bad), "f.toml")


def test_the_experiment_default_is_the_study_default():
    study_default = inspect.signature(recurrence_study).parameters["clip"].default
    assert RecurrenceParams().clip == study_default
    validate_config(_config(), "f.toml")  # no clip key: accepted, the default applies
