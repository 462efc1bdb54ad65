"""The command line: the demo runs and reports; user errors give one clear line."""

import json

import pytest

from networks.builders import random_digraph
from networks.graphio import save_graph
from runs.cli import main


def test_forward_command_prints_what_happened(capsys):
    assert main(["forward", "--steps", "40"]) == 0
    out = capsys.readouterr().out
    assert "cyclic" in out and "fixed point" in out
    assert "agent engine vs vectorised engine: max |difference| = " in out
    diff = float(out.split("max |difference| = ")[1].split()[0])
    assert diff < 1e-12


def test_demo_prints_table_and_writes_plots(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines()
             if ln.startswith(("feedforward ", "cyclic ")) and "%" in ln]
    from runs.studies.demo import METHODS

    assert len(lines) == 2 * len(METHODS)  # every method on both networks
    assert any("feedback align." in ln for ln in lines)
    for ln in lines:  # every method learns the moons task on both networks
        test_acc = float(ln.split("%")[1].split()[-1])
        assert test_acc >= 85.0, ln
    ff_bp = next(ln for ln in lines if ln.startswith("feedforward") and "BP" in ln)
    assert "1.0000" in ff_bp
    # every method has a cosine on both networks, and the table says against what
    assert "n/a" not in out and "nan" not in out.lower().split("plots written")[0]
    for ln in lines:
        assert -1.0 <= float(ln.split("%")[2].split()[0]) <= 1.0, ln
    assert "cos(update, BPTT grad)" in out
    assert "exact gradient of what the network computed over the same window" in out
    pngs = sorted(p.name for p in (tmp_path / "demo").glob("*.png"))
    assert {"learning_feedforward.png", "learning_cyclic.png", "fidelity.png",
            "raster.png", "lambda_feedforward.png", "lambda_cyclic.png"} <= set(pngs)
    assert all((tmp_path / "demo" / p).stat().st_size > 5000 for p in pngs)
    assert str((tmp_path / "demo").resolve()) in out


def test_forward_runs_a_user_graph(tmp_path, capsys):
    path = tmp_path / "g.json"
    save_graph(random_digraph(12, 30, n_inputs=2, n_outputs=1, seed=3, weight_scale=0.5), path)
    assert main(["forward", str(path), "--steps", "30"]) == 0
    assert "12 neurons" in capsys.readouterr().out


def test_bad_graph_file_is_one_clear_line(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"directed": True, "nodes": [{"id": 0}], "edges": []})[:-5])
    assert main(["forward", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("localprop: error:") and "bad.json" in err
    assert "Traceback" not in err




def test_cli_caps_blas_threads_as_configured(monkeypatch, capsys):
    from threadpoolctl import threadpool_info, threadpool_limits

    before = {i["filepath"]: i["num_threads"] for i in threadpool_info()
              if i["user_api"] == "blas"}
    try:
        monkeypatch.setenv("LOCALPROP_BLAS_THREADS", "1")
        assert main(["forward", "--steps", "3"]) == 0
        assert {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"} == {1}
        monkeypatch.setenv("LOCALPROP_BLAS_THREADS", "many")
        assert main(["forward", "--steps", "3"]) == 2
        err = capsys.readouterr().err
        assert "LOCALPROP_BLAS_THREADS" in err and "'many'" in err and len(err.splitlines()) == 1
    finally:
        threadpool_limits(limits=max(before.values(), default=1), user_api="blas")


def _write_config(path, text):
    path.write_text(text)
    return str(path)


COMPARE_TOML = """experiment = "compare"
seeds = [0, 1]
[data]
name = "wine"
[network]
builder = "layered"
sizes = [13, 20, 3]
activation = "sigmoid"
[schedule]
epochs = 20
eval_every = 10
[sweep]
"network.sizes" = [[13, 20, 3], [13, 10, 10, 3]]
"""


def test_run_prints_lp_and_bp_side_by_side_per_architecture(tmp_path, capsys):
    cfg = _write_config(tmp_path / "cmp.toml", COMPARE_TOML)
    assert main(["run", cfg, "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    head = next(ln for ln in out.splitlines() if "lp_test_acc" in ln)
    assert "bp_test_acc" in head and "seeds" in head and "network.sizes" in head
    rows = [ln for ln in out.splitlines() if ln.strip().startswith("[13,")]
    assert len(rows) == 2 and all(" 2 " in ln and "±" in ln for ln in rows)


DIVERGING_TOML = """experiment = "lp"
seeds = [0]
[data]
name = "xor"
[network]
builder = "layered"
sizes = [2, 4, 1]
activation = "tanh"
output_activation = "sigmoid"
[rule]
rho = 1.0
eta_w = 0.1
eta_x = 0.2
eta_lam = 1e12
[schedule]
epochs = 30
eval_every = 10
"""


@pytest.mark.parametrize("quiet", [False, True])
def test_a_failed_run_prints_its_one_line_error(tmp_path, capsys, quiet):
    cfg = _write_config(tmp_path / "div.toml", DIVERGING_TOML)
    argv = ["run", cfg, "--out", str(tmp_path / "out")] + (["--quiet"] if quiet else [])
    assert main(argv) == 1
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("failed: run ")]
    assert len(lines) == 1 and "(seed 0)" in lines[0] and "DivergenceError: step" in lines[0]
