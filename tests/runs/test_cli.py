"""The command line: the demo runs and reports; user errors give one clear line."""

import json

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
    assert len(lines) == 6
    for ln in lines:  # every method learns the moons task on both networks
        test_acc = float(ln.split("%")[1].split()[-1])
        assert test_acc >= 85.0, ln
    ff_bp = next(ln for ln in lines if ln.startswith("feedforward") and "BP" in ln)
    assert "1.0000" in ff_bp
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


