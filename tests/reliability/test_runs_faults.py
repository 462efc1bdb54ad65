"""Fault tests of the runs side (issue 13): seeds, divergence, saturation, signals."""

import pytest

from runs.config import derive_seeds, load_config
from runs.data.datasets import load_dataset
from runs.sweeps.sweep import run_sweep

LEARN = """experiment = "lp"
n_seeds = 2
seed = 3
[data]
name = "{data}"
[network]
builder = "layered"
sizes = {sizes}
[schedule]
epochs = 1
"""


@pytest.mark.parametrize("seed", [*derive_seeds(0, 2), 2**32, 2**63 - 1])
@pytest.mark.parametrize("name", ["moons", "wine", "digits"])
def test_any_seed_loads_every_dataset_reproducibly(name, seed):
    a, b = load_dataset(name, seed=seed), load_dataset(name, seed=seed)
    assert (a.X_train == b.X_train).all() and (a.y_test == b.y_test).all()


def test_seeds_a_multiple_of_2_to_the_32_apart_give_different_splits():
    a, b = load_dataset("moons", seed=1), load_dataset("moons", seed=1 + 2**32)
    assert (a.X_train != b.X_train).any()


@pytest.mark.parametrize(("data", "sizes"), [("moons", [2, 4, 1]), ("wine", [13, 4, 3])])
def test_learning_runs_with_derived_seeds_finish(tmp_path, data, sizes):
    (tmp_path / "c.toml").write_text(LEARN.format(data=data, sizes=sizes))
    cfg = load_config(tmp_path / "c.toml")
    assert all(s >= 2**32 for s in cfg.seeds)  # derived seeds are 63-bit
    s = run_sweep(cfg, tmp_path / "out", executor="sequential", progress=False)
    assert (s.n_ok, s.failed) == (2, [])
