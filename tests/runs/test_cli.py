"""The command line: the demo runs and reports; user errors give one clear line."""

import json

from networks.builders import random_digraph
from networks.graphio import save_graph
from runs import bench
from runs.cli import main


def test_demo_prints_what_happened(capsys):
    assert main(["demo", "--steps", "40"]) == 0
    out = capsys.readouterr().out
    assert "cyclic" in out and "fixed point" in out
    assert "agent engine vs vectorised engine: max |difference| = " in out
    diff = float(out.split("max |difference| = ")[1].split()[0])
    assert diff < 1e-12


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


def test_engine_benchmark_smoke():
    r = bench.bench_engines(60, 300, min_seconds=0.01)
    assert r["edges"] == 300 and r["agent_steps_per_s"] > 0 and r["vector_steps_per_s"] > 0
    assert r["agent_messages_per_s"] == r["agent_steps_per_s"] * 300
