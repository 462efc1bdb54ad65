"""OpenML loaders: the real fetch_openml parsing path on a shipped cache, and offline errors.

No test touches the network: the shipped files are laid out as ``fetch_openml``'s cache,
and the offline case replaces scikit-learn's ``urlopen`` by one that refuses.
"""

import gzip
import hashlib
import json
import shutil
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest

from agents.errors import DataError
from runs.data.openml import OPENML_IDS, is_cached, load_openml, openml_folder

SHIPPED = Path(__file__).parent / "openml_adult"


def _put(root: Path, openml_path: str, data: bytes) -> None:
    """Write ``data`` where fetch_openml caches ``https://…/<openml_path>``."""
    target = root / "openml" / "openml.org" / (openml_path + ".gz")
    target.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(target, "wb") as f:
        f.write(data)


@pytest.fixture
def adult_home(tmp_path):
    """A data home holding the shipped 10-row Adult (OpenML 1590) in the cache layout."""
    arff = (SHIPPED / "adult.arff").read_bytes()
    desc = json.loads((SHIPPED / "description.json").read_text())
    desc["data_set_description"]["md5_checksum"] = hashlib.md5(arff).hexdigest()
    _put(tmp_path, "api/v1/json/data/1590", json.dumps(desc).encode())
    for kind in ("features", "qualities"):
        _put(tmp_path, f"api/v1/json/data/{kind}/1590", (SHIPPED / f"{kind}.json").read_bytes())
    _put(tmp_path, "data/v1/download/1595261/adult.arff", arff)
    return tmp_path


@pytest.fixture
def offline(monkeypatch):
    calls = []

    def refuse(req, *a, **k):
        calls.append(getattr(req, "full_url", req))
        raise URLError("network is unreachable (test)")

    monkeypatch.setattr("sklearn.datasets._openml.urlopen", refuse)
    return calls


def test_cached_adult_is_parsed_and_encoded(adult_home, offline):
    assert is_cached("adult", adult_home) and not is_cached("pima", adult_home)
    d = load_openml("adult", data_home=adult_home, download=False)
    assert offline == []  # read from the cache only
    n_nominal = {"workclass": 8, "education": 16, "marital-status": 7, "occupation": 14,
                 "relationship": 6, "race": 5, "sex": 2, "native-country": 41}
    assert d.X.shape == (10, 6 + sum(n_nominal.values())) and d.X.dtype == np.float64
    assert np.isfinite(d.X).all() and d.y.dtype.kind == "i"
    assert d.class_names == ("<=50K", ">50K")
    np.testing.assert_array_equal(d.y, [0, 0, 1, 1, 0, 0, 0, 1, 0, 0])
    col = {n: k for k, n in enumerate(d.feature_names)}
    # numeric column with one missing value → the median of the nine others
    ages = [25, 38, 28, 44, 18, 34, 29, 63, 55]
    np.testing.assert_array_equal(d.X[:, col["age"]], ages[:8] + [np.median(ages)] + [55])
    assert d.X[3, col["capital-gain"]] == 7688
    # one-hot over the declared categories; a missing category is a row of zeros
    wc = [k for n, k in col.items() if n.startswith("workclass=")]
    assert len(wc) == 8
    np.testing.assert_array_equal(d.X[:, wc].sum(axis=1), [1, 1, 1, 1, 0, 1, 0, 1, 1, 1])
    assert d.X[2, col["workclass=Local-gov"]] == 1 and d.X[0, col["workclass=Private"]] == 1
    assert d.X[8, [k for n, k in col.items() if n.startswith("native-country=")]].sum() == 0
    assert d.X[9, col["sex=Male"]] == 1 and d.X[9, col["sex=Female"]] == 0


@pytest.mark.parametrize("download", [True, False])
def test_uncached_offline_request_is_one_clear_error(tmp_path, offline, download):
    folder = openml_folder(tmp_path)
    with pytest.raises(DataError, match=r"OpenML data set 'pima' \(id 37\) is not in the "
                       rf"cache folder {folder}") as err:
        load_openml("pima", data_home=tmp_path, download=download)
    assert len(str(err.value).splitlines()) == 1
    assert (len(offline) > 0) == download  # only a download attempt reaches urlopen
    assert not is_cached("pima", tmp_path)


def test_unknown_name_lists_the_known_ones(tmp_path):
    with pytest.raises(DataError, match="unknown OpenML data set 'iris'.*'pima'"):
        load_openml("iris", data_home=tmp_path)
    assert sorted(OPENML_IDS) == ["adult", "dermatology", "ionosphere", "letter", "ozone",
                                  "pima"]


def test_data_home_defaults_to_scikit_learn_data(monkeypatch, tmp_path):
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "skl"))
    assert openml_folder() == tmp_path / "skl" / "openml"
    shutil.rmtree(tmp_path / "skl")
