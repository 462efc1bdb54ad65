"""Every example config in runs/configs runs (shortened) and yields its table and plots."""

import tomllib
from pathlib import Path

import pandas as pd
import pytest

from runs.cli import main
from runs.config import validate_config
from runs.sweeps.report import plot_results
from runs.sweeps.sweep import run_sweep

CONFIGS = sorted((Path(__file__).parents[3] / "runs" / "configs").glob("*.toml"))


def _shortened(path: Path) -> dict:
    raw = tomllib.loads(path.read_text())
    sched = raw.setdefault("schedule", {})
    if "epochs" in sched:
        sched.update(epochs=3, eval_every=1)
    if "steps" in sched:
        sched["steps"] = 10
    if raw["experiment"] == "fidelity":
        raw["sweep"] = {"rule.depth": [1, 2], "schedule.T": [1, 4]}
    if raw["experiment"] == "lp_paper":  # wine, 2 folds, 3 epochs; writes under the cwd
        raw["rule"].update(datasets=["wine", "pima"], folds=2, epochs=3)
    if raw["experiment"] == "recurrence":  # a few BPTT steps, a short diffusion stream
        raw["rule"].update(iters=5, hidden=6, diffusion_steps=50, etas=[0.01])
    raw.pop("n_seeds", None)
    raw["seeds"] = [0]
    return raw


def test_there_is_a_config_per_reproduced_experiment():
    names = {p.stem for p in CONFIGS}
    assert {"lp_vs_bp", "fidelity", "cyclic_lp", "cyclic_diffusion", "pruning"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_example_config_runs_and_plots(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # configs that write files write them here
    cfg = validate_config(_shortened(path), str(path), path.parent)
    summary = run_sweep(cfg, tmp_path / path.stem, executor="sequential", progress=False)
    assert summary.failed == [] and summary.n_ok == summary.n_runs >= 1
    table = pd.read_csv(summary.results_path)
    assert table["run_id"].nunique() == summary.n_runs and len(table) >= summary.n_runs
    assert (table["status"] == "ok").all()
    if cfg.data["experiment"] == "lp_paper":  # its tables are its output: checked there
        assert (tmp_path / "results" / "lp_paper" / "lp_paper.md").is_file()
        return
    if cfg.data["experiment"] == "recurrence":  # its table is its output: every method's MSE
        summary_table = pd.read_csv(tmp_path / path.stem / "summary.csv")
        for net in ("cyclic", "feedforward"):
            for col in (f"{net}_bptt_mse", f"{net}_bptt_readout_mse",
                        f"{net}_diffusion_eta0.01_mse"):
                assert summary_table[col].notna().all(), col
        return
    paths = plot_results(tmp_path / path.stem)
    assert paths and all(p.is_file() and p.stat().st_size > 3000 for p in paths)


def test_cli_run_sweep_plot(tmp_path, capsys):
    cfg = tmp_path / "f.toml"
    cfg.write_text('experiment = "forward"\nseeds = [0, 1]\n[network]\nbuilder = "ring"\n'
                   'n = 5\n[schedule]\nsteps = 20\n[sweep]\n"network.n" = [4, 6]\n')
    out = tmp_path / "res"
    assert main(["sweep", str(cfg), "--out", str(out), "--sequential", "--quiet"]) == 0
    assert len(list((out / "runs").glob("*.json"))) == 4
    assert main(["run", str(cfg), "--out", str(tmp_path / "one")]) == 0
    printed = capsys.readouterr().out
    assert "4 runs: 0 already done, 4 ok" in printed and "dist_fixed_point" in printed
    assert main(["plot", str(out)]) == 0
    assert (out / "plots" / "dist_fixed_point.png").is_file()
    bad = tmp_path / "bad.toml"
    bad.write_text('experiment = "forward"\n[network]\nbuilder = "ring"\nn = 4\nwieght = 1\n')
    assert main(["run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "wieght" in err and "bad.toml" in err and "Traceback" not in err
