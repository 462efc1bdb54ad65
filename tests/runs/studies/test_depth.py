"""Depth study: BP vs LP (abs-ε, lin-ε) test accuracy vs depth on digits."""

import csv

import numpy as np
import pytest
from matplotlib.figure import Figure

from agents.errors import ConfigError
from runs.studies import depth
from runs.studies.depth import depth_study, plot_depth, summarise

METHODS = {"BP", "LP abs-ε", "LP lin-ε"}


def test_smoke_two_depths_learn_and_write_table_and_plot(tmp_path, capsys):
    assert depth.main(["--out", str(tmp_path), "--depths", "1", "2", "--seeds", "0", "1",
                       "--epochs", "300"]) == 0
    with (tmp_path / "depth.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 2 * 3
    assert {r["method"] for r in rows} == METHODS
    for r in rows:
        if r["depth"] == "1":  # one hidden layer of 10 sigmoid units learns digits
            assert float(r["test_acc"]) >= 0.85, r
    md = (tmp_path / "depth.md").read_text(encoding="utf-8")
    assert "| hidden layers | BP | LP abs-ε | LP lin-ε |" in md and "| 2 | " in md
    assert (tmp_path / "depth.png").stat().st_size > 10_000
    assert "wrote" in capsys.readouterr().out


def test_plot_has_a_labelled_mean_line_and_band_per_method():
    rows = [{"depth": d, "seed": s, "method": m, "test_acc": 0.1 * d + 0.01 * s,
             "train_acc": 1.0, "seconds": 0.0}
            for d in (1, 2, 3) for s in (0, 1, 2) for m in sorted(METHODS)]
    fig = plot_depth(rows)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert all(any(lab.startswith(m + " (mean of 3 seeds)") for lab in labels) for m in METHODS)
    assert len(ax.collections) == 3  # one ±std band per method
    mean = [r for r in summarise(rows) if r["depth"] == 2 and r["method"] == "BP"][0]
    assert mean["test_mean"] == pytest.approx(21.0) and mean["test_std"] == \
        pytest.approx(100 * np.std([0.2, 0.21, 0.22]))
    with pytest.raises(ConfigError, match="depths"):
        depth_study([0], [0])


@pytest.mark.slow
def test_depth_study_ten_depths_three_seeds(tmp_path):
    """The full study (≈15 min on 2 busy cores). Measured (1000 epochs, seeds 0–2): all
    methods ≈ 94% at depth 1; at 8–10 layers BP ≈ 13–20%, LP abs-ε ≈ 35–50%."""
    rows = depth_study()
    depth.write(rows, tmp_path, 1000)
    m = {(r["depth"], r["method"]): r["test_mean"] for r in summarise(rows)}
    assert all(m[1, meth] >= 90 for meth in METHODS), m
    deep = [m[d, "LP abs-ε"] - m[d, "BP"] for d in (8, 9, 10)]
    assert min(deep) >= 10, deep  # LP with abs-ε keeps learning where BP stalls
