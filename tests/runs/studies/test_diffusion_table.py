"""The diffusion vs BP table (runs.methods.compare through runs.studies.diffusion_table)."""

import pytest

from agents.diffusion import DiffusionParams
from runs.methods.bp import BPParams
from runs.studies.diffusion_table import diffusion_vs_bp


def test_wine_matches_bp_within_3_points():
    rows = diffusion_vs_bp("wine", [0], hidden=(16,), T=8, epochs=60)
    for r in rows:
        assert r["diffusion_train_acc"] >= 0.97
        assert abs(r["diff"]) <= 3.0, r


@pytest.mark.slow
@pytest.mark.parametrize(("hidden", "act", "eta", "T", "epochs"),
                         [((16,), "tanh", 0.05, 8, 100), ((100,), "sigmoid", 0.2, 8, 100),
                          ((30, 30, 30), "sigmoid", 0.5, 16, 200)])
def test_wine_matches_bp_within_3_points_over_seeds(hidden, act, eta, T, epochs):
    rows = diffusion_vs_bp("wine", [0, 1, 2], hidden=hidden, T=T, epochs=epochs,
                           diffusion=DiffusionParams(eta=eta, loss="bce"),
                           bp=BPParams(optimizer="sgd", eta=eta, loss="bce"), activation=act)
    for r in rows:
        assert abs(r["diff"]) <= 3.0, r
