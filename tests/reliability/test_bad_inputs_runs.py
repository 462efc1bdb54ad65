"""The runs-side bad-input catalogue: what users write in configs, type at the CLI, feed as
data or call in the API. Every case is a one-line LocalpropError naming the culprit; every
CLI case exits 2 with one line on stderr and no traceback.

Print it: ``python -m tests.reliability.catalogue``.
"""

import json

import numpy as np
import pytest

from agents.errors import ConfigError, DataError, LocalpropError
from runs.cli import main
from runs.config import load_config, validate_config
from runs.data.datasets import Dataset, load_dataset

FWD = {"experiment": "forward", "network": {"builder": "ring", "n": 4}}
LP = {"experiment": "lp", "network": {"builder": "layered", "sizes": [2, 3, 1]},
      "data": {"name": "xor"}}
MOONS = {"experiment": "lp", "network": {"builder": "layered", "sizes": [2, 3, 1]},
         "data": {"name": "moons"}}
FORWARD_TOML = 'experiment = "forward"\n[network]\nbuilder = "ring"\nn = 3\n[schedule]\n' \
               'steps = 2\n'



def _with(base, **over):
    raw = json.loads(json.dumps(base))
    for k, v in over.items():
        sec, _, key = k.partition("__")
        if key:
            raw.setdefault(sec, {})[key] = v
        elif v is None:
            raw.pop(sec, None)
        else:
            raw[sec] = v
    return raw


def _v(base, **over):
    return lambda t: validate_config(_with(base, **over), "user.toml", t)


def _toml(text, name="user.toml"):
    def make(t):
        p = t / name
        p.write_bytes(text if isinstance(text, bytes) else text.encode())
        return load_config(p)
    return make


def _ds(**over):
    base = {"name": "mine", "X_train": np.zeros((4, 2)), "X_test": np.zeros((2, 2)),
            "y_train": np.array([0, 1, 0, 1]), "y_test": np.array([0, 1]), "n_classes": 2}
    return lambda t: Dataset(**(base | over))


def _sweep(**kw):
    def make(t):
        from runs.sweeps.sweep import run_sweep

        cfg = validate_config(_with(FWD, schedule={"steps": 2}), "user.toml", t)
        return run_sweep(cfg, kw.pop("out", t / "out"), progress=False,
                         **{"executor": "sequential", **kw})
    return make


def _out_is_file(t):
    from runs.sweeps.sweep import run_sweep

    (t / "f").write_text("")
    return run_sweep(validate_config(FWD, "user.toml", t), t / "f", executor="sequential",
                     progress=False)


def _graph_file(text):
    def make(t):
        (t / "g.json").write_text(text)
        return validate_config(_with(FWD, network={"file": "g.json"}), "user.toml", t)
    return make


def _train(method="lp", params=None, schedule=None, data="xor", sizes=(2, 3, 1)):
    def make(t):
        from networks.builders import layered
        from runs.methods import train

        return train(method, layered(list(sizes), seed=0), load_dataset(data, seed=0),
                     params, schedule=schedule or {"epochs": 1})
    return make


def _snap(t, run_id):
    from runs.sweeps.results import load_snapshots

    return load_snapshots(t, run_id)


CASES = [
    # ------------------------------------------------------------ config: top level
    ("config: no experiment", _v(FWD, experiment=None), ConfigError, "'experiment'"),
    ("config: experiment typo", _v(FWD, experiment="forwrad"), ConfigError, "forwrad"),
    ("config: experiment is a number", _v(FWD, experiment=3), ConfigError, "experiment"),
    ("config: unknown top-level key", _v(FWD, sed=3), ConfigError, "'sed'.*seed"),
    ("config: engine typo", _v(FWD, engine="vectr"), ConfigError, "engine.*vector"),
    ("config: dtype float16", _v(FWD, dtype="float16"), ConfigError, "dtype.*float16"),
    ("config: negative seed", _v(FWD, seed=-1), ConfigError, "'seed'.*-1"),
    ("config: seed is a float", _v(FWD, seed=1.5), ConfigError, "'seed'.*1.5"),
    ("config: seed is a bool", _v(FWD, seed=True), ConfigError, "'seed'.*True"),
    ("config: n_seeds = 0", _v(FWD, n_seeds=0), ConfigError, "n_seeds"),
    ("config: seeds empty", _v(FWD, seeds=[]), ConfigError, "seeds"),
    ("config: seeds negative", _v(FWD, seeds=[0, -2]), ConfigError, "seeds.*-2"),
    ("config: seeds twice", _v(FWD, seeds=[1, 1]), ConfigError, "seed twice"),
    ("config: seeds not a list", _v(FWD, seeds=3), ConfigError, "'seeds'"),
    ("config: seed and seeds", _v(FWD, seed=1, seeds=[2]), ConfigError, "'seed' and 'seeds'"),
    ("config: plugin missing", _v(FWD, plugins=["no_such_mod_xyz"]), ConfigError,
     "no_such_mod_xyz"),
    ("config: plugins not a list", _v(FWD, plugins="x"), ConfigError, "plugins"),
    ("config: name with a slash", _v(FWD, name="a/b/c"), ConfigError, "'name'.*a/b/c"),
    ("config: name escapes", _v(FWD, name="../../escaped"), ConfigError, "'name'.*escaped"),
    ("config: empty name", _v(FWD, name=""), ConfigError, "'name'"),
    ("config: name '..'", _v(FWD, name=".."), ConfigError, "'name'"),
    ("config: name not a string", _v(FWD, name=5), ConfigError, "'name'"),
    ("config: section not a table", _v(FWD, schedule=5), ConfigError, "schedule"),
    # ------------------------------------------------------------ config: network
    ("config: no network", _v(FWD, network=None), ConfigError, "network"),
    ("config: builder and file", _v(FWD, network={"builder": "ring", "n": 3, "file": "g"}),
     ConfigError, "'builder' and 'file'"),
    ("config: builder typo", _v(FWD, network={"builder": "rnig", "n": 3}), ConfigError,
     "rnig.*ring"),
    ("config: builder argument missing", _v(FWD, network={"builder": "ring"}), ConfigError,
     "'network.n'"),
    ("config: builder argument wrong type", _v(FWD, network={"builder": "ring", "n": "4"}),
     ConfigError, "network.n"),
    ("config: ring n = 0", _v(FWD, network={"builder": "ring", "n": 0}), ConfigError,
     "user.toml"),
    ("config: sizes as a string", _v(LP, network={"builder": "layered", "sizes": "2,3,1"}),
     ConfigError, "network.sizes.*'2,3,1'"),
    ("config: sizes with a zero", _v(LP, network={"builder": "layered", "sizes": [2, 0, 1]}),
     ConfigError, "layer size"),
    ("config: graph file missing", _v(FWD, network={"file": "nope.json"}), ConfigError,
     "network.file.*nope.json"),
    ("config: graph file is a directory", _v(FWD, network={"file": "."}), ConfigError,
     "network.file.*directory"),
    ("config: graph file not JSON", _graph_file("hello"), ConfigError, "network.file"),
    ("config: graph file empty", _graph_file(""), ConfigError, "network.file"),
    ("config: graph file without nodes", _graph_file(json.dumps(
        {"directed": True, "nodes": [], "edges": []})), ConfigError, "network.file"),
    ("config: builder kwargs with file", _v(FWD, network={"file": "g.json", "n": 3}),
     ConfigError, "network.n"),
    ("config: contractive gain on a DAG", _v(LP, network={
        "builder": "layered", "sizes": [2, 3, 1], "contractive_gain": 0.5}), ConfigError,
     "contractive_gain"),
    ("config: contractive gain <= 0", _v(FWD, network={"builder": "ring", "n": 4,
                                                        "contractive_gain": 0.0}),
     ConfigError, "contractive_gain"),
    # ------------------------------------------------------------ config: schedule, record
    ("config: steps negative", _v(FWD, schedule__steps=-1), ConfigError, "schedule.steps"),
    ("config: steps a string", _v(FWD, schedule__steps="10"), ConfigError, "schedule.steps"),
    ("config: epochs = 0", _v(LP, schedule__epochs=0), ConfigError, "schedule.epochs"),
    ("config: epochs float", _v(LP, schedule__epochs=1.5), ConfigError, "schedule.epochs"),
    ("config: eval_every = 0", _v(LP, schedule__eval_every=0), ConfigError, "eval_every"),
    ("config: batch = 0", _v(LP, schedule__batch=0), ConfigError, "schedule.batch"),
    ("config: schedule typo", _v(FWD, schedule__stpes=3), ConfigError, "stpes.*steps"),
    ("config: epochs for forward", _v(FWD, schedule__epochs=3), ConfigError,
     "schedule.epochs"),
    ("config: record lam for forward", _v(FWD, record__vars=["lam"]), ConfigError,
     "record.vars"),
    ("config: record every = 0", _v(FWD, record__every=0), ConfigError, "record.every"),
    ("config: snapshots not a bool", _v(FWD, record__snapshots="yes"), ConfigError,
     "record.snapshots"),
    # ------------------------------------------------------------ config: rule, data
    ("config: rule for forward", _v(FWD, rule={"eta_w": 1.0}), ConfigError, "rule"),
    ("config: unknown rule parameter", _v(LP, rule={"eta": 1.0}), ConfigError, "eta"),
    ("config: rule parameter wrong type", _v(LP, rule={"eta_w": "fast"}), ConfigError,
     "eta_w"),
    ("config: rule name unknown", _v(LP, rule={"name": "lq"}), ConfigError, "lq"),
    ("config: no data for lp", _v(LP, data=None), ConfigError, "data"),
    ("config: data name typo", _v(LP, data={"name": "moon"}), ConfigError, "moon.*moons"),
    ("config: data without name", _v(LP, data={"n_samples": 50}), ConfigError, "data.name"),
    ("config: test_fraction = 0", _v(MOONS, data={"name": "moons", "test_fraction": 0.0}),
     ConfigError, "test_fraction"),
    ("config: test_fraction = 1", _v(MOONS, data={"name": "moons", "test_fraction": 1.0}),
     ConfigError, "test_fraction"),
    ("config: test_fraction tiny", _v(MOONS, data={"name": "moons", "test_fraction": 0.001}),
     ConfigError, "test_fraction.*0.001"),
    ("config: n_samples tiny for digits", _v(MOONS, network={
        "builder": "layered", "sizes": [64, 3, 10]}, data={"name": "digits", "n_samples": 8}),
     ConfigError, "n_samples"),
    ("config: n_samples above the dataset", _v(MOONS, network={
        "builder": "layered", "sizes": [13, 3, 3]}, data={"name": "wine", "n_samples": 500}),
     ConfigError, "n_samples"),
    ("config: n_samples for xor", _v(LP, data={"name": "xor", "n_samples": 10}),
     ConfigError, "n_samples"),
    ("config: network does not fit the data", _v(LP, network={
        "builder": "layered", "sizes": [3, 3, 1]}), ConfigError, "do not fit"),
    # ------------------------------------------------------------ config: sweep
    ("config: sweep not a table", _v(FWD, sweep=3), ConfigError, "sweep"),
    ("config: sweep value not a list", _v(FWD, sweep={"network.n": 4}), ConfigError,
     "sweep.network.n"),
    ("config: sweep empty list", _v(FWD, sweep={"network.n": []}), ConfigError,
     "sweep.network.n"),
    ("config: sweep value twice", _v(FWD, sweep={"network.n": [3, 3]}), ConfigError, "twice"),
    ("config: sweep the seed", _v(FWD, sweep={"seed": [1, 2]}), ConfigError, "sweep.seed"),
    ("config: sweep unknown section", _v(FWD, sweep={"nework.n": [1, 2]}), ConfigError,
     "nework"),
    ("config: sweep unknown key", _v(FWD, sweep={"schedule.stesp": [1, 2]}), ConfigError,
     "stesp"),
    ("config: sweep point invalid", _v(FWD, sweep={"network.n": [3, 0]}), ConfigError,
     "sweep point"),
    ("config: sweep too large", _v(FWD, n_seeds=10, sweep={
        "network.n": list(range(3, 103)), "schedule.steps": list(range(1, 101))}),
     ConfigError, "100000 runs.*limit.*LOCALPROP_MAX_RUNS"),
    # ------------------------------------------------------------ config files
    ("config file: missing", lambda t: load_config(t / "none.toml"), ConfigError, "none.toml"),
    ("config file: a directory", lambda t: load_config(t), ConfigError, "cannot read"),
    ("config file: TOML syntax", _toml('experiment = "forward"\n[network\n'), ConfigError,
     "user.toml.*TOML"),
    ("config file: not UTF-8", _toml(b'experiment = "\xff"\n'), ConfigError, "UTF-8"),
    ("config file: duplicate key", _toml('seed = 1\nseed = 2\n'), ConfigError, "TOML"),
    ("config file: empty", _toml(""), ConfigError, "experiment"),
    ("config file: bad stem as name", _toml(FORWARD_TOML, name=".hidden.toml"),
     ConfigError, "'name'"),
    # ------------------------------------------------------------ data
    ("data: dataset typo", lambda t: load_dataset("wien"), ConfigError, "wien"),
    ("data: negative seed", lambda t: load_dataset("moons", seed=-1), ConfigError, "seed"),
    ("data: n_samples = 3 (moons)", lambda t: load_dataset("moons", n_samples=3), ConfigError,
     "n_samples"),
    ("data: test_fraction 0.999 (wine)", lambda t: load_dataset("wine", test_fraction=0.999),
     ConfigError, "test_fraction"),
    ("data: test_fraction for xor", lambda t: load_dataset("xor", test_fraction=0.5),
     ConfigError, "test_fraction"),
    ("data: one class", _ds(y_train=np.zeros(4, int), y_test=np.zeros(2, int)), DataError,
     "only class 0"),
    ("data: n_classes = 1", _ds(y_train=np.zeros(4, int), y_test=np.zeros(2, int),
                                n_classes=1), DataError, "n_classes"),
    ("data: float labels", _ds(y_train=np.array([0.0, 1, 0, 1])), DataError, "y_train"),
    ("data: ragged lists", _ds(X_train=[[0, 1], [1]]), DataError, "X_train"),
    ("data: 1-D inputs", _ds(X_train=np.zeros(4)), DataError, "X_train.*2-D"),
    ("data: one label too few", _ds(y_train=np.array([0, 1, 0])), DataError, "y_train"),
    ("data: string features", _ds(X_train=np.array([["a", "b"]] * 4)), DataError,
     "not numeric"),
    ("data: feature count differs", _ds(X_test=np.zeros((2, 3))), DataError, "features"),
    ("data: infinite test feature", _ds(X_test=np.array([[0, np.inf], [0, 0]])), DataError,
     "X_test"),
    ("data: negative label", _ds(y_test=np.array([0, -1])), DataError, "y_test"),
    ("data: bad split name", lambda t: load_dataset("xor").inputs("valid"), ConfigError,
     "'valid'"),
    # ------------------------------------------------------------ API
    ("api: train unknown method", _train("lq"), ConfigError, "lq"),
    ("api: train epochs = 0", _train(schedule={"epochs": 0}), ConfigError, "epochs"),
    ("api: train negative rate", _train(params={"eta_w": -1.0}), ConfigError, "eta_w"),
    ("api: train net does not fit", _train(sizes=(3, 2, 1)), DataError, "input"),
    ("api: train saturating rate", _train("bp", params={"eta": 1e6},
                                          schedule={"epochs": 20}), LocalpropError,
     "saturated|no longer finite"),
    ("api: sweep unknown executor", _sweep(executor="threads"), ConfigError, "threads"),
    ("api: sweep workers = 0", _sweep(workers=0), ConfigError, "workers.*0"),
    ("api: sweep workers = -1", _sweep(workers=-1), ConfigError, "workers.*-1"),
    ("api: sweep out is a file", _out_is_file, ConfigError, "is a file"),
    ("api: snapshots of '../x'", lambda t: _snap(t, "../x"), DataError, "'../x'"),
    ("api: snapshots of ''", lambda t: _snap(t, ""), DataError, "run id"),
]


def test_catalogue_size():
    assert len(CASES) >= 80 and len(CLI) >= 15


@pytest.mark.parametrize(("what", "make", "kind", "match"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_one_line_named_error(what, make, kind, match, tmp_path):
    with pytest.raises(kind, match=match) as info:
        make(tmp_path)
    assert isinstance(info.value, LocalpropError)
    assert "\n" not in str(info.value), str(info.value)


def _cli_files(t):
    (t / "ok.toml").write_text(FORWARD_TOML)
    (t / "afile").write_text("x")
    (t / "bad.toml").write_text("[network\n")
    (t / "g.json").write_text("{")
    res = t / "res"
    (res / "runs").mkdir(parents=True)
    (res / "manifest.json").write_text(json.dumps({"config": {"experiment": "forward"},
                                                   "runs": [{"run_id": "../../x"}]}))
    other = t / "other"
    assert main(["run", "ok.toml", "--out", str(other), "--quiet"]) == 0
    (t / "ok.toml").write_text(FORWARD_TOML.replace("steps = 2", "steps = 3"))


CLI = [
    (["run", "missing.toml"], "missing.toml"),
    (["run", "bad.toml"], "bad.toml"),
    (["run", "afile"], "afile"),
    (["run", "ok.toml", "--out", "afile"], "afile"),
    (["run", "ok.toml", "--out", "afile/sub"], "afile"),
    (["run", "ok.toml", "--out", "other"], "another sweep"),
    (["sweep", "ok.toml", "--out", "other", "--sequential"], "another sweep"),
    (["sweep", "ok.toml", "--workers", "-1"], "--workers"),
    (["sweep", "ok.toml", "--workers", "0"], "--workers"),
    (["sweep", "ok.toml", "--workers", "two"], "--workers"),
    (["sweep", "missing.toml"], "missing.toml"),
    (["forward", "--steps", "0"], "--steps"),
    (["forward", "g.json"], "g.json"),
    (["forward", "nope.json"], "nope.json"),
    (["plot", "."], "not a results folder"),
    (["plot", "res"], "'../../x'"),
    (["plot", "nowhere"], "nowhere"),
    (["frobnicate"], "frobnicate"),
]


@pytest.mark.parametrize(("argv", "named"), CLI, ids=[" ".join(c[0]) for c in CLI])
def test_cli_bad_input_exits_2_with_one_line(argv, named, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _cli_files(tmp_path)
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as e:  # argparse refuses the arguments themselves
        code = e.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and named in err
    assert err.strip().splitlines()[-1].startswith(("localprop: error:",
                                                    "usage:")) or "error:" in err
    assert sum(line.startswith("localprop") for line in err.splitlines()) == 1, err
