"""The LP paper's table by one command: shortened runs write both tables, offline skips."""

import csv
from pathlib import Path

import pytest

from agents.errors import ConfigError
from runs.cli import main
from runs.data.datasets import load_dataset
from runs.studies.lp_paper import PUBLISHED, PaperParams, cv_folds, lp_variants
from tests.runs.data.test_openml import adult_home, offline  # noqa: F401 - fixtures

CONFIG = Path(__file__).parents[3] / "runs" / "configs" / "lp_paper.toml"


def _short_config(tmp_path: Path, datasets, folds=2, epochs=5) -> Path:
    text = CONFIG.read_text(encoding="utf-8")
    lines = []
    for line in text.splitlines():
        key = line.split("=")[0].strip()
        value = {"datasets": repr(list(datasets)).replace("'", '"'), "folds": str(folds),
                 "epochs": str(epochs), "out": f'"{tmp_path / "tables"}"'}.get(key)
        lines.append(f"{key} = {value}" if value is not None else line)
    path = tmp_path / "lp_paper.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_one_command_writes_both_tables_and_names_skipped_rows(tmp_path, monkeypatch,
                                                                offline, capsys):  # noqa: F811
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "empty_home"))
    cfg = _short_config(tmp_path, ["wine", "pima"])
    assert main(["run", str(cfg), "--out", str(tmp_path / "res")]) == 0
    md = (tmp_path / "tables" / "lp_paper.md").read_text(encoding="utf-8")
    with (tmp_path / "tables" / "lp_paper.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    # the published columns beside ours, for wine (run) and pima (skipped)
    assert "| data set | BP H=1 | paper | LP H=1 | paper |" in md
    assert "| wine | " in md and "97.16 ± 1.88" in md and "98.86 ± 1.97" in md
    assert "| pima | skipped | 76.17 ± 1.62 | skipped | 77.21 ± 2.79 |" in md
    skip = [line for line in md.splitlines() if line.startswith("- pima: skipped")]
    assert len(skip) == 1 and str(tmp_path / "empty_home" / "openml") in skip[0]
    assert "pima: skipped" in capsys.readouterr().out
    # CSV: BP + 8 LP variants per arch, 2 folds each; published values on BP and best LP
    assert {r["dataset"] for r in rows} == {"wine"} and len(rows) == 2 * 9
    assert all(r["folds"] == "2" for r in rows)
    for arch, col in (("H=1", 0), ("H=3", 2)):
        bp = next(r for r in rows if r["arch"] == arch and r["method"] == "BP")
        assert float(bp["published_mean"]) == PUBLISHED["wine"][col][0]
        best = [r for r in rows if r["arch"] == arch and r["best_lp"] == "True"]
        assert len(best) == 1 and float(best[0]["published_mean"]) == \
            PUBLISHED["wine"][col + 1][0]
        assert 0 <= float(bp["test_mean"]) <= 100


def test_openml_path_on_the_shipped_adult_cache(adult_home, offline, monkeypatch):  # noqa: F811
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(adult_home))
    ds = load_dataset("adult", seed=0, test_fraction=0.5)
    assert ds.n_classes == 2 and ds.X_train.shape[1] == ds.X_test.shape[1] > 14
    folds = cv_folds("adult", 2, seed=0)
    assert len(folds) == 2 and sum(f.X_test.shape[0] for f in folds) == 10
    assert offline == []  # the cache only


def test_variants_and_bad_parameters():
    v = lp_variants(PaperParams())
    assert len(v) == 8 and {p.constraint for p in v.values()} == {"abs-eps", "lin-eps"}
    assert {(p.eps, p.alpha) for p in v.values()} == {(0, 0), (0, 1e-4), (0.01, 0), (0.01, 1e-4)}
    for bad in ({"datasets": ["iris"]}, {"constraints": ["lin"]}, {"folds": 1},
                {"eps": 0.0}, {"epochs": 0}):
        with pytest.raises(ConfigError, match="lp_paper"):
            PaperParams(**bad)
