"""Grouping a sweep's runs into ensembles, and a group run as one matching its single runs."""

from pathlib import Path

import numpy as np

from networks.engines import make_engine
from networks.ensemble import Ensemble
from runs.config import load_config
from runs.experiments.setup import load_network
from runs.methods import get_method
from runs.sweeps.ensembles import can_ensemble, ensemble_groups
from runs.sweeps.sweep import expand

CONFIG = """
experiment = "train"
seeds = [0, 1]

[data]
name = "wine"

[network]
builder = "layered"
sizes = [13, 8, 3]
activation = "sigmoid"

[rule]
name = "lp"
eta_x = 0.05

[schedule]
epochs = 2

[sweep]
"rule.eta_w" = [0.001, 0.003]
"network.sizes" = [[13, 8, 3], [13, 9, 3]]
"""


def test_sweep_points_sharing_a_shape_form_one_group(tmp_path: Path):
    path = tmp_path / "sweep.toml"
    path.write_text(CONFIG)
    specs = expand(load_config(path))
    configs = [s.config for s in specs]
    groups = ensemble_groups(configs)
    # 2 eta_w × 2 sizes × 2 seeds: the sizes split the runs, eta_w and seed do not
    assert len(groups) == 2 and sorted(map(len, groups)) == [4, 4]
    for g in groups:
        assert len({tuple(configs[i]["network"]["sizes"]) for i in g}) == 1
        assert can_ensemble([configs[i] for i in g])
    assert not can_ensemble(configs)
    other = dict(configs[0], rule={**configs[0]["rule"], "constraint": "abs"})
    assert not can_ensemble([configs[0], other])      # non-numeric parameter differs
    bp = dict(configs[0], rule={"name": "bp"})
    assert ensemble_groups([configs[0], bp, configs[1]]) == [[0, 2], [1]]

    # a group runs as one ensemble whose members equal the single runs
    g = groups[0]
    method = get_method("lp")
    params = [method.make_params({k: v for k, v in configs[i]["rule"].items()
                                  if k != "name"}) for i in g]
    nets = [load_network(configs[i], specs[i].seed) for i in g]
    ens = Ensemble(nets, method.rule, params, batch=3)
    rng = np.random.default_rng(0)
    u, y = rng.standard_normal((len(g), 13, 3)), rng.uniform(size=(len(g), 3, 3))
    for _ in range(4):
        ens.advance(u, y)
    for k in range(len(g)):
        single = make_engine("vector", nets[k], method.rule, params[k], batch=3)
        for _ in range(4):
            single.advance(u[k], y[k])
        np.testing.assert_allclose(ens.member(k).weight, single.state("weight"), rtol=0,
                                   atol=1e-12)
