"""Built-in datasets: standardised, seeded stratified splits, engine layout."""

import numpy as np
import pytest

from agents.errors import ConfigError, DataError
from runs.data.datasets import DATASETS, load_dataset, one_hot


def test_xor_is_four_points_train_equals_test():
    ds = load_dataset("xor")
    assert ds.X_train.shape == (4, 2) and ds.n_classes == 2 and ds.n_outputs == 1
    np.testing.assert_array_equal(ds.X_train, ds.X_test)
    np.testing.assert_array_equal(ds.y_train, [0, 1, 1, 0])
    np.testing.assert_allclose(np.abs(ds.X_train), 1.0)  # standardised {0,1} -> {-1,1}
    np.testing.assert_array_equal(ds.targets(), [[0.0, 1.0, 1.0, 0.0]])
    assert ds.inputs().shape == (2, 4)


@pytest.mark.parametrize(("name", "d", "k", "n"), [("moons", 2, 2, 200), ("wine", 13, 3, 178),
                                                   ("digits", 64, 10, 1797)])
def test_shapes_standardisation_and_stratification(name, d, k, n):
    ds = load_dataset(name, seed=3)
    assert ds.n_inputs == d and ds.n_classes == k
    assert len(ds.y_train) + len(ds.y_test) == n
    assert len(ds.y_test) == pytest.approx(0.25 * n, abs=1)
    np.testing.assert_allclose(ds.X_train.mean(axis=0), 0.0, atol=1e-12)
    std = ds.X_train.std(axis=0)
    assert np.all((np.abs(std - 1.0) < 1e-12) | (std == 0.0))  # digits has constant pixels
    # stratified: class proportions agree between train and test
    p_tr = np.bincount(ds.y_train, minlength=k) / len(ds.y_train)
    p_te = np.bincount(ds.y_test, minlength=k) / len(ds.y_test)
    assert np.abs(p_tr - p_te).max() < 0.05
    T = ds.targets("test")
    assert T.shape == (ds.n_outputs, len(ds.y_test))
    if k > 2:
        np.testing.assert_array_equal(T.argmax(axis=0), ds.y_test)
        np.testing.assert_array_equal(T.sum(axis=0), 1.0)


def test_split_is_seeded():
    a, b, c = (load_dataset("wine", seed=s) for s in (0, 0, 1))
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.y_test, c.y_test) or not np.array_equal(a.X_test, c.X_test)


def test_subsets_and_options():
    ds = load_dataset("digits", seed=0, n_samples=200, test_fraction=0.5)
    assert len(ds.y_train) + len(ds.y_test) == 200 and len(ds.y_test) == 100
    assert len(load_dataset("moons", seed=0, n_samples=40).y_train) == 30


def test_errors_are_named():
    with pytest.raises(ConfigError, match=r"unknown dataset 'iris'.*wine"):
        load_dataset("iris")
    with pytest.raises(ConfigError, match="test_fraction"):
        load_dataset("wine", test_fraction=1.0)
    with pytest.raises(ConfigError, match="split"):
        load_dataset("xor").inputs("valid")
    with pytest.raises(DataError, match="labels"):
        one_hot(np.array([0, 3]), 3)
    assert set(DATASETS) == {"xor", "moons", "wine", "digits", "breast_cancer", "pima",
                             "ionosphere", "letter", "adult", "ozone", "dermatology"}


def test_run_seeds_beyond_scikit_learns_range_work():
    """Derived run seeds are up to 2**63; the split seed is derived from them, not cut."""
    big = load_dataset("moons", seed=2**62 + 5, n_samples=40)
    again = load_dataset("moons", seed=2**62 + 5, n_samples=40)
    small = load_dataset("moons", seed=(2**62 + 5) % 2**32, n_samples=40)
    np.testing.assert_array_equal(big.X_train, again.X_train)
    assert not np.array_equal(big.X_train, small.X_train)


@pytest.mark.parametrize("name", ["wine", "breast_cancer", "digits"])
def test_bundled_file_is_read_once_and_no_run_can_change_anothers(name, monkeypatch):
    """The raw arrays are cached per process, keyed on the file; runs get copies."""
    from sklearn import datasets as skd

    from runs.data import bundled

    X_ref, y_ref = getattr(skd, f"load_{name}")(return_X_y=True)
    first = [load_dataset(name, seed=s) for s in (0, 1)]
    calls = []
    monkeypatch.setattr(skd, f"load_{name}", lambda **kw: calls.append(kw) or (X_ref, y_ref))
    for ds in first:                 # a run scribbles over its own data
        ds.X_train[:] = np.nan
        ds.y_train[:] = 0
    again = [load_dataset(name, seed=s) for s in (0, 1)]
    assert calls == []               # served from the cache
    cached_X, cached_y = bundled.read_bundled(name)
    assert not cached_X.flags.writeable and not cached_y.flags.writeable
    np.testing.assert_array_equal(cached_X, X_ref)
    np.testing.assert_array_equal(cached_y, y_ref)
    for ds, seed in zip(again, (0, 1), strict=True):
        assert np.isfinite(ds.X_train).all() and len(np.unique(ds.y_train)) > 1
        bundled._BUNDLED_CACHE.pop(name)          # a fresh read gives the same data
        fresh = load_dataset(name, seed=seed)
        np.testing.assert_array_equal(ds.X_train, fresh.X_train)
        np.testing.assert_array_equal(ds.y_test, fresh.y_test)
    # a file that changed (another modification time or size) is read again
    key, X, y = bundled._BUNDLED_CACHE[name]
    bundled._BUNDLED_CACHE[name] = ((key[0], key[1] - 1, key[2]), X * 0, y)
    calls.clear()
    np.testing.assert_array_equal(load_dataset(name, seed=0).X_test, again[0].X_test)
    assert len(calls) == 1
