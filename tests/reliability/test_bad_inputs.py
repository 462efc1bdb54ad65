"""The bad-input catalogue: every entry raises a LocalpropError naming the culprit.

Run ``python -m tests.reliability.test_bad_inputs`` to print the catalogue (input →
message) that the closing notes quote.
"""

import json

import networkx as nx
import numpy as np
import pytest

from agents import FORWARD, LP
from agents.errors import ConfigError, DataError, GraphError, LocalpropError
from networks.builders import layered
from networks.compile import compile_graph
from networks.engines import make_engine
from networks.graphio import load_graph
from networks.oracles import fixed_point
from runs.cli import main
from runs.config import load_config, validate_config
from runs.data.datasets import Dataset, load_dataset


def _g(*edges, roles=None, **edge_attrs):
    G = nx.DiGraph()
    for n, r in (roles or {"u": "input", "h": "hidden", "o": "output"}).items():
        G.add_node(n, role=r)
    for j, i, *attrs in edges:
        G.add_edge(j, i, **({"weight": 1.0} | (attrs[0] if attrs else {}) | edge_attrs))
    return G


def _file(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def _cfg(**over):
    raw = {"experiment": "forward", "network": {"builder": "ring", "n": 4}}
    for k, v in over.items():
        sec, _, key = k.partition("__")
        if key:
            raw.setdefault(sec, {})[key] = v
        else:
            raw[sec] = v
    return validate_config(raw, "test.toml")


def _engine(batch=2):
    return make_engine("vector", layered([3, 4, 2], seed=0), FORWARD, batch=batch)


def _dataset(**over):
    base = {"name": "mine", "X_train": np.zeros((4, 2)), "X_test": np.zeros((2, 2)),
            "y_train": np.array([0, 1, 0, 1]), "y_test": np.array([0, 1]), "n_classes": 2}
    return Dataset(**(base | over))


CATALOGUE = [
    # ---------------------------------------------------------------- graphs
    ("graph: not a DiGraph", lambda t: compile_graph(nx.Graph()), GraphError, "DiGraph"),
    ("graph: empty", lambda t: compile_graph(nx.DiGraph()), GraphError, "no nodes"),
    ("graph: node without role",
     lambda t: compile_graph(_g(("u", "h"), ("h", "o"), roles={"u": "input", "h": None,
                                                              "o": "output"})),
     GraphError, "'h'"),
    ("graph: unknown role", lambda t: compile_graph(
        _g(("u", "o"), roles={"u": "input", "o": "outcome"})), GraphError, "'outcome'"),
    ("graph: edge into an input", lambda t: compile_graph(_g(("u", "h"), ("h", "o"), ("o", "u"))),
     GraphError, r"\('o', 'u'\).*input"),
    ("graph: output unreachable", lambda t: compile_graph(_g(("u", "h"), ("o", "h"))),
     GraphError, "output node 'o' is not reachable"),
    ("graph: zero delay (a zero-delay cycle)", lambda t: compile_graph(
        _g(("u", "h"), ("h", "h", {"delay": 0}), ("h", "o"))), GraphError,
     r"\('h', 'h'\).*integer >= 1"),
    ("graph: fractional delay", lambda t: compile_graph(
        _g(("u", "h", {"delay": 1.5}), ("h", "o"))), GraphError, r"\('u', 'h'\).*1\.5"),
    ("graph: missing weight", lambda t: compile_graph(_no_weight_graph()), GraphError,
     r"edge \('u', 'h'\) has no 'weight'"),
    ("graph: NaN weight", lambda t: compile_graph(_g(("u", "h", {"weight": float("nan")}),
                                                     ("h", "o"))), GraphError,
     r"\('u', 'h'\).*nan"),
    ("graph: unknown activation", lambda t: compile_graph(_act_graph("softplus")),
     GraphError, "softplus"),
    ("graph: infinite bias", lambda t: compile_graph(_bias_graph(float("inf"))), GraphError,
     "'h'.*inf"),
    ("graph: no output", lambda t: compile_graph(_g(("u", "h"), roles={"u": "input",
                                                                       "h": "hidden"})),
     GraphError, "no output"),
    ("graph file: missing", lambda t: load_graph(t / "nope.json"), GraphError, "nope.json"),
    ("graph file: not JSON", lambda t: load_graph(_file(t, "g.json", "hello")), GraphError,
     "g.json.*line 1"),
    ("graph file: truncated", lambda t: load_graph(_file(
        t, "cut.json", json.dumps({"directed": True, "nodes": [], "edges": []})[:-4])),
     GraphError, "cut.json"),
    ("graph file: duplicate node ids", lambda t: load_graph(_file(t, "dup.json", json.dumps(
        {"directed": True, "multigraph": False, "graph": {},
         "nodes": [{"id": 0, "role": "input"}, {"id": 0, "role": "output"}],
         "edges": []}))), GraphError, "node 0 appears twice"),
    ("graph file: non-hashable id", lambda t: load_graph(_file(t, "ids.json", json.dumps(
        {"directed": True, "multigraph": False, "graph": {},
         "nodes": [{"id": [1, 2], "role": "input"}], "edges": []}))), GraphError,
     r"id \[1, 2\]"),
    # ---------------------------------------------------------------- data
    ("data: input shape ≠ input layer", lambda t: _engine().advance(np.zeros((4, 2))),
     DataError, r"shape \(3, 2\)"),
    ("data: NaN input", lambda t: _engine().advance(np.array([[0, 0], [np.nan, 0], [0, 0]])),
     DataError, "node 1"),
    ("data: infinite target", lambda t: _engine().advance(
        np.zeros((3, 2)), np.array([[0, np.inf], [0, 0]])), DataError, "inf.*node 7"),
    ("data: sequence length mismatch", lambda t: _engine().run(np.zeros((5, 3, 2)),
                                                               np.zeros((4, 2, 2))),
     DataError, "4 steps.*5"),
    ("data: labels out of range", lambda t: _dataset(y_train=np.array([0, 1, 2, 1])),
     DataError, r"labels must be integers in 0\.\.1.*0\.\.2"),
    ("data: empty", lambda t: _dataset(X_train=np.zeros((0, 2)), y_train=np.zeros(0, int)),
     DataError, "X_train is empty"),
    ("data: NaN feature", lambda t: _dataset(X_train=np.array([[0, 1], [np.nan, 0], [0, 0],
                                                               [1, 1.0]])),
     DataError, r"X_train\[1, 0\]"),
    ("data: oracle input shape", lambda t: fixed_point(compile_graph(layered([3, 2], seed=0)),
                                                       np.zeros((2, 1))), DataError,
     r"\(2, 1\)"),
    ("data: network does not fit the dataset", lambda t: _fit_mismatch(), DataError,
     "13|shape"),
    # ---------------------------------------------------------------- configs
    ("config: unknown key (did you mean)", lambda t: _cfg(schedule__stesp=3), ConfigError,
     "schedule.stesp.*did you mean 'steps'"),
    ("config: wrong type", lambda t: _cfg(schedule__steps="ten"), ConfigError,
     "schedule.steps.*ten"),
    ("config: T = 0", lambda t: _cfg(schedule__T=0), ConfigError, "schedule.T"),
    ("config: negative rate", lambda t: validate_config(
        {"experiment": "lp", "network": {"builder": "layered", "sizes": [2, 3, 1]},
         "data": {"name": "xor"}, "rule": {"eta_w": -1.0}}, "lp.toml"), ConfigError, "eta_w"),
    ("config: impossible size", lambda t: _cfg(network={"builder": "layered",
                                                         "sizes": [2, 0, 1]}),
     ConfigError, "test.toml.*layer size must be an integer >= 1, got 0"),
    ("config: unknown builder kwarg", lambda t: _cfg(network={"builder": "ring", "n": 4,
                                                               "wieght_scale": 1.0}),
     ConfigError, "wieght_scale.*weight_scale"),
    ("config: unknown experiment", lambda t: _cfg(experiment="lq"), ConfigError, "'lq'"),
    ("config: TOML syntax", lambda t: load_config(_file(t, "bad.toml", "a = [1,\n")),
     ConfigError, "bad.toml"),
    ("config: both seeds and n_seeds", lambda t: _cfg(seeds=[1], n_seeds=2), ConfigError,
     "seeds"),
    ("config: unknown dataset", lambda t: load_dataset("mnist", seed=0), ConfigError, "mnist"),
    ("rule: unknown parameter", lambda t: LP.make_params({"eta": 1.0}), ConfigError, "'eta'"),
    ("engine: unknown variable to record", lambda t: make_engine(
        "agent", layered([2, 1], seed=0), FORWARD, record=["lam"]), ConfigError, "'lam'"),
]


def _no_weight_graph():
    G = _g(("h", "o"))
    G.add_edge("u", "h")
    return G


def _act_graph(act):
    G = _g(("u", "h"), ("h", "o"))
    G.nodes["h"]["activation"] = act
    return G


def _bias_graph(b):
    G = _g(("u", "h"), ("h", "o"))
    G.nodes["h"]["bias"] = b
    return G


def _fit_mismatch():
    from runs.methods import train

    return train("lp", layered([5, 4, 3], seed=0), load_dataset("wine", seed=0),
                 schedule={"epochs": 1})


@pytest.mark.parametrize(("what", "make", "kind", "match"), CATALOGUE,
                         ids=[c[0] for c in CATALOGUE])
def test_bad_input_raises_a_named_library_error(what, make, kind, match, tmp_path):
    with pytest.raises(kind, match=match) as info:
        make(tmp_path)
    assert isinstance(info.value, LocalpropError)


def test_catalogue_is_large_enough():
    assert len(CATALOGUE) >= 30
    assert len({c[0].split(":")[0] for c in CATALOGUE}) >= 4


CLI_CASES = [
    (["run", "missing.toml"], "missing.toml"),
    (["sweep", "missing.toml", "--workers", "2"], "missing.toml"),
    (["forward", "nope.json"], "nope.json"),
    (["plot", "."], "not a results folder"),
]


@pytest.mark.parametrize(("argv", "named"), CLI_CASES, ids=[" ".join(c[0]) for c in CLI_CASES])
def test_cli_user_errors_are_one_line(argv, named, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("localprop: error:") and named in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_cli_bad_arguments_exit_2_without_traceback(capsys):
    with pytest.raises(SystemExit) as info:
        main(["sweep"])
    assert info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


if __name__ == "__main__":
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        for what, make, _kind, _match in CATALOGUE:
            try:
                make(Path(d))
                print(f"{what:45s} → (no error!)")
            except LocalpropError as e:
                print(f"{what:45s} → {type(e).__name__}: {e}")
