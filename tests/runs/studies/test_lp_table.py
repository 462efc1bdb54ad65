"""The LP vs BP table (runs.methods.compare through runs.studies.lp_table)."""

import numpy as np
import pytest

from agents.errors import ConfigError
from runs.studies import lp_table
from runs.studies.lp_table import COMPARE_LP, lp_vs_bp


def test_lp_matches_bp_on_wine_fast():
    rows = lp_vs_bp("wine", [0], ["1x100"], epochs=1500)
    r = rows[0]
    print(f"\nwine 1x100 seed 0: BP {r['bp_test_acc']:.3f}, LP {r['lp_test_acc']:.3f}")
    assert r["lp_test_acc"] >= r["bp_test_acc"] - 0.02
    assert r["lp_train_acc"] == 1.0


def test_cli_prints_the_table(capsys):
    lp_table.main(["--compare", "xor", "--seeds", "0", "--archs", "1x100", "--epochs", "20",
                   "--set", "constraint=abs-eps", "eps=0.01", "state_optimizer=none"])
    out = capsys.readouterr().out
    assert "BP test" in out and "xor" in out and "mean LP-BP" in out
    assert "constraint='abs-eps', eps=0.01" in out and "state_optimizer=None" in out
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        lp_table.main(["--compare", "xor", "--set", "rho"])
    with pytest.raises(ConfigError, match="unknown parameter 'lr'"):
        lp_table.main(["--compare", "xor", "--set", "lr=0.1"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["wine", "digits"])
def test_lp_within_two_points_of_bp_several_seeds(name):
    rows = lp_vs_bp(name, [0, 1, 2], ["1x100", "3x30"], epochs=2000, verbose=True)
    for arch in ("1x100", "3x30"):
        diffs = [r["diff"] for r in rows if r["arch"] == arch]
        print(f"{name} {arch}: LP-BP per seed {diffs}, mean {np.mean(diffs):+.2f}")
        assert np.mean(diffs) >= -2.0, (arch, diffs, COMPARE_LP)
