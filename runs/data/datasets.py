"""Built-in classification data: XOR, two moons, scikit-learn's bundled sets, OpenML sets.

Every dataset comes standardised with the training statistics and split with a seeded,
stratified train/test split (XOR: its 4 points are both the training and the test set).
Arrays are row-per-example as in scikit-learn; :meth:`Dataset.inputs` and
:meth:`Dataset.targets` give the (n_in, B) / (n_out, B) column layout of the engines.
Nothing is downloaded for wine, digits and breast_cancer (they ship with scikit-learn);
the OpenML sets of :data:`runs.data.openml.OPENML_IDS` (pima, ionosphere, letter, adult,
ozone, dermatology) are read from scikit-learn's cache, or downloaded once online
(:func:`runs.data.openml.load_openml`; offline and not cached: a DataError naming the
data set and the cache folder).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.errors import ConfigError, DataError
from runs.data.bundled import read_bundled
from runs.data.openml import OPENML_IDS

#: Data sets bundled with scikit-learn (nothing to download).
BUNDLED = ("wine", "digits", "breast_cancer")
DATASETS = ("xor", "moons", *BUNDLED, *OPENML_IDS)


@dataclass(frozen=True)
class Dataset:
    """A standardised classification dataset with a train/test split.

    Attributes:
        name: dataset name.
        X_train: inputs, shape (n_train, d).
        X_test: inputs, shape (n_test, d).
        y_train: integer labels in ``0 .. n_classes-1``, shape (n_train,).
        y_test: labels, shape (n_test,).
        n_classes: number of classes.
    """

    name: str
    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    n_classes: int

    def __post_init__(self):
        for field_name in ("X_train", "X_test", "y_train", "y_test"):
            value = getattr(self, field_name)
            if not isinstance(value, np.ndarray):  # lists, tuples: convert
                try:
                    value = np.asarray(value)
                except ValueError as e:
                    raise DataError(f"dataset {self.name!r}: {field_name} is not a "
                                    f"rectangular array: {e}") from None
                object.__setattr__(self, field_name, value)
        if isinstance(self.n_classes, bool) or not isinstance(self.n_classes, int | np.integer) \
                or self.n_classes < 2:
            raise DataError(f"dataset {self.name!r}: n_classes must be an integer >= 2 (one "
                            f"class leaves nothing to learn), got {self.n_classes!r}")
        for split in ("train", "test"):
            X = np.asarray(getattr(self, f"X_{split}"))
            y = np.asarray(getattr(self, f"y_{split}"))
            if X.ndim != 2:
                raise DataError(f"dataset {self.name!r}: X_{split} must be 2-D (examples × "
                                f"features), got shape {X.shape}")
            if X.shape[0] == 0:
                raise DataError(f"dataset {self.name!r}: X_{split} is empty (no example)")
            if y.shape != (X.shape[0],):
                raise DataError(f"dataset {self.name!r}: y_{split} must have shape "
                                f"({X.shape[0]},) — one label per row of X_{split} — got "
                                f"{y.shape}")
            if not np.issubdtype(X.dtype, np.number) or not np.isfinite(X).all():
                bad = np.argwhere(~np.isfinite(X.astype(float)))[0] if np.issubdtype(
                    X.dtype, np.number) else None
                where = f"X_{split}[{bad[0]}, {bad[1]}] is {X[tuple(bad)]}" \
                    if bad is not None else f"X_{split} is not numeric ({X.dtype})"
                raise DataError(f"dataset {self.name!r}: {where}; features must be finite")
            if not np.issubdtype(y.dtype, np.integer) or (y.min() < 0) or \
                    (y.max() >= self.n_classes):
                raise DataError(f"dataset {self.name!r}: y_{split} labels must be integers "
                                f"in 0..{self.n_classes - 1}, got {y.dtype} in "
                                f"{y.min()}..{y.max()}")
        if len(np.unique(self.y_train)) < 2:
            raise DataError(f"dataset {self.name!r}: y_train holds only class "
                            f"{self.y_train[0]}; a classifier needs at least two classes to "
                            f"learn from")
        if self.X_train.shape[1] != self.X_test.shape[1]:
            raise DataError(f"dataset {self.name!r}: X_train has {self.X_train.shape[1]} "
                            f"features but X_test has {self.X_test.shape[1]}")

    def check_fits(self, net) -> None:
        """Raise a :class:`DataError` unless ``net`` fits the data.

        It needs one input neuron per feature and :attr:`n_outputs` output neurons.
        """
        n_in, n_out = len(net.input_idx), len(net.output_idx)
        if (n_in, n_out) != (self.n_inputs, self.n_outputs):
            raise DataError(
                f"dataset {self.name!r} needs {self.n_inputs} input and {self.n_outputs} "
                f"output neurons ({self.n_classes} classes), but the network has {n_in} "
                f"inputs and {n_out} outputs")

    @property
    def n_inputs(self) -> int:
        """d, the number of input neurons needed."""
        return self.X_train.shape[1]

    @property
    def n_outputs(self) -> int:
        """1 output neuron for 2 classes, else one per class."""
        return 1 if self.n_classes == 2 else self.n_classes

    def inputs(self, split: str = "train") -> np.ndarray:
        """Inputs in engine layout, shape (d, n) for ``split`` in {"train", "test"}."""
        return self._x(split).T.copy()

    def labels(self, split: str = "train") -> np.ndarray:
        """Integer labels of ``split``, shape (n,)."""
        return self.y_train if self._check(split) == "train" else self.y_test

    def targets(self, split: str = "train") -> np.ndarray:
        """Targets in engine layout, shape (n_out, n), see :func:`one_hot`."""
        return one_hot(self.labels(split), self.n_classes)

    def _check(self, split: str) -> str:
        if split not in ("train", "test"):
            raise ConfigError(f"split must be 'train' or 'test', got {split!r}")
        return split

    def _x(self, split: str) -> np.ndarray:
        return self.X_train if self._check(split) == "train" else self.X_test


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Targets for integer labels, shape (n_out, n).

    Two classes: one output neuron with target ``label`` in {0, 1}; more classes: one-hot
    columns (target 1 on the label's neuron, 0 elsewhere).
    """
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise DataError(f"labels must lie in 0..{n_classes - 1}, got range "
                        f"{labels.min()}..{labels.max()}")
    if n_classes == 2:
        return labels[None, :].astype(np.float64)
    out = np.zeros((n_classes, labels.size))
    out[labels, np.arange(labels.size)] = 1.0
    return out


def sklearn_seed(seed: int) -> int:
    """scikit-learn's ``random_state`` (0 … 2**32 − 1) for any run seed >= 0.

    A seed in that range is used as is; a larger one (derived seeds are 63-bit) gives the
    first 32-bit word of ``np.random.SeedSequence(seed)``: reproducible, and seeds that
    differ by a multiple of 2**32 still give different splits.
    """
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"seed must be an integer >= 0, got {seed!r}")
    if seed < 2**32:
        return int(seed)
    return int(np.random.SeedSequence(int(seed)).generate_state(1)[0])


def _raw(name: str, seed: int, n_samples: int | None):
    from sklearn import datasets as skd

    sk_seed = sklearn_seed(seed)

    if name == "xor":
        X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        return X, np.array([0, 1, 1, 0])
    if name == "moons":
        return skd.make_moons(n_samples=n_samples or 200, noise=0.1, random_state=sk_seed)
    if name in OPENML_IDS:
        from runs.data.openml import load_openml

        data = load_openml(name)
        return data.X, data.y
    X, y = read_bundled(name)
    return X.astype(np.float64), y.copy()   # copies: the cached arrays stay unshared


def _check_split(name: str, y: np.ndarray, n_samples: int | None,
                 test_fraction: float) -> None:
    """Refuse a size or fraction that leaves a class without a train or test example.

    The stratified splits of scikit-learn need, for k classes of n examples, at least k
    examples on each side of each split (the test side has ceil(fraction · n)).
    """
    k = len(np.unique(y))
    if n_samples is not None and name != "moons" and n_samples < len(y):
        if n_samples < 2 * k:
            raise ConfigError(f"key 'data.n_samples' = {n_samples} is too small for dataset "
                              f"{name!r}: its {k} classes need at least {2 * k} examples "
                              f"(one train and one test example each)")
        if len(y) - n_samples < k:
            raise ConfigError(f"key 'data.n_samples' = {n_samples}: keep all {len(y)} "
                              f"examples of dataset {name!r} (omit it) or at most "
                              f"{len(y) - k}")
        n = n_samples
    else:
        n = n_samples or len(y)
    n_test = int(np.ceil(test_fraction * n))
    if n_test < k or n - n_test < k:
        side, count = ("test", n_test) if n_test < k else ("training", n - n_test)
        raise ConfigError(f"key 'data.test_fraction' = {test_fraction} leaves {count} "
                          f"{side} example(s) of {n} for the {k} classes of dataset {name!r}; "
                          f"each class needs a train and a test example: use a fraction in "
                          f"[{k / n:.3g}, {1 - k / n:.3g}]")


def load_dataset(name: str, *, seed: int = 0, test_fraction: float | None = None,
                 n_samples: int | None = None) -> Dataset:
    """Load a built-in dataset, standardised, with a seeded stratified split.

    Args:
        name: one of :data:`DATASETS`: ``"xor"``, ``"moons"``, the bundled ``"wine"``,
            ``"digits"``, ``"breast_cancer"`` or an OpenML set (``"pima"`` ...).
        seed: seed of the split (and of the moons noise); any int >= 0 (mapped into
            scikit-learn's range by :func:`sklearn_seed`).
        test_fraction: fraction of examples in the test set, in (0, 1) (default 0.25);
            XOR has no split (its 4 points are both sets) and refuses it.
        n_samples: number of moons points (default 200); for wine/digits, keep a seeded
            stratified subset of this size (default: all, at most all); XOR refuses it.

    Returns:
        The :class:`Dataset`. Features are standardised with the training mean and
        standard deviation (constant features are left centred, not divided).

    Raises:
        ConfigError: for an unknown name (listing the known ones), a bad fraction/size,
            or an argument the dataset cannot honour.
    """
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset {name!r}; choose one of {list(DATASETS)}")
    if name == "xor" and (test_fraction is not None or n_samples is not None):
        key = "test_fraction" if test_fraction is not None else "n_samples"
        raise ConfigError(f"dataset 'xor' takes no {key}: its 4 points are both the "
                          f"training and the test set")
    test_fraction = 0.25 if test_fraction is None else test_fraction
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    if n_samples is not None and (not isinstance(n_samples, int) or n_samples < 8):
        raise ConfigError(f"n_samples must be an integer >= 8 or None, got {n_samples!r}")
    from sklearn.model_selection import train_test_split

    X, y = _raw(name, seed, n_samples)
    sk_seed = sklearn_seed(seed)
    y = np.asarray(y, dtype=np.intp)
    if name == "xor":
        Xtr, Xte, ytr, yte = X, X.copy(), y, y.copy()
    else:
        if n_samples is not None and name != "moons" and n_samples > len(y):
            raise ConfigError(f"n_samples = {n_samples} but dataset {name!r} has only "
                              f"{len(y)} examples")
        _check_split(name, y, n_samples, test_fraction)
        if n_samples is not None and name != "moons" and n_samples < len(y):
            X, _, y, _ = train_test_split(X, y, train_size=n_samples, stratify=y,
                                          random_state=sk_seed)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=test_fraction, stratify=y,
                                              random_state=sk_seed)
    return standardised(name, Xtr, Xte, ytr, yte, n_classes=int(y.max()) + 1)


def load_arrays(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The whole raw data set ``(X (n, d) float64, y (n,) integer labels)``, unsplit.

    For the bundled and OpenML sets (not ``xor`` / ``moons``, which are generated).

    Raises:
        ConfigError: for an unknown or generated data set.
        DataError: for an OpenML set neither cached nor downloadable.
    """
    if name not in DATASETS or name in ("xor", "moons"):
        raise ConfigError(f"load_arrays takes a stored data set, one of "
                          f"{[n for n in DATASETS if n not in ('xor', 'moons')]}; got {name!r}")
    X, y = _raw(name, 0, None)
    return np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.intp)


def standardised(name: str, X_train, X_test, y_train, y_test, *,
                 n_classes: int) -> Dataset:
    """A :class:`Dataset` of a given split, standardised with the training statistics.

    Constant training features are centred, not divided.
    """
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return Dataset(name=name, X_train=(X_train - mean) / std, X_test=(X_test - mean) / std,
                   y_train=y_train, y_test=y_test, n_classes=n_classes)
