"""The LP papers' tabular data sets from OpenML, through scikit-learn's ``fetch_openml``.

Six classification data sets of the IJCNN 2020 LP paper, by OpenML id (stable, unlike
names and "active" versions):

=============  =====  ====================================================
name           id     OpenML data set
=============  =====  ====================================================
pima           37     diabetes (Pima Indians), 768 × 8, 2 classes
ionosphere     59     ionosphere, 351 × 34, 2 classes
letter         6      letter, 20000 × 16, 26 classes
adult          1590   adult (version 2), 48842 × 14 (8 nominal), 2 classes
ozone          1487   ozone-level-8hr, 2534 × 72, 2 classes
dermatology    35     dermatology, 366 × 34, 6 classes
=============  =====  ====================================================

``fetch_openml`` keeps what it downloads in ``<data_home>/openml`` (``data_home``: the
argument, else scikit-learn's ``get_data_home()``, i.e. ``$SCIKIT_LEARN_DATA`` or
``~/scikit_learn_data``) and reads it from there afterwards, offline. Encoding (all
columns, no row dropped):

* nominal columns: one-hot over the categories OpenML declares (the columns do not depend
  on which rows are present); a missing value is a row of zeros;
* numeric columns: float; a missing value is replaced by the column's median over the
  whole data set (0 if the column is entirely missing);
* the target: integer labels ``0 .. K-1`` in the sorted order of the class names.
"""

from __future__ import annotations

import gzip
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError

import numpy as np

from agents.errors import DataError

#: Data set name → OpenML data id.
OPENML_IDS = {"pima": 37, "ionosphere": 59, "letter": 6, "adult": 1590, "ozone": 1487,
              "dermatology": 35}


@dataclass(frozen=True)
class OpenMLData:
    """An encoded OpenML data set.

    Attributes:
        name: the data set's name here (a key of :data:`OPENML_IDS`).
        X: features, float64, shape (n, d).
        y: integer labels in ``0 .. K-1``, shape (n,).
        feature_names: column names of X, length d (``column=category`` for one-hot).
        class_names: class name of each label, length K.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]


def openml_folder(data_home: str | Path | None = None) -> Path:
    """The folder ``fetch_openml`` caches into: ``<data_home>/openml``."""
    from sklearn.datasets import get_data_home

    return Path(get_data_home(data_home=None if data_home is None else str(data_home))) \
        / "openml"


def is_cached(name: str, data_home: str | Path | None = None) -> bool:
    """True when the data set's description is in the cache folder.

    The description is what ``fetch_openml`` reads first; the other files follow it.
    """
    data_id = _id(name)
    return _json_path(openml_folder(data_home), data_id).exists()


def _id(name: str) -> int:
    if name not in OPENML_IDS:
        raise DataError(f"unknown OpenML data set {name!r}; choose one of "
                        f"{sorted(OPENML_IDS)}")
    return OPENML_IDS[name]


def load_openml(name: str, *, data_home: str | Path | None = None,
                download: bool = True) -> OpenMLData:
    """Load and encode an OpenML data set, from the cache or (if allowed) from openml.org.

    Args:
        name: a key of :data:`OPENML_IDS`.
        data_home: scikit-learn data home (default: ``get_data_home()``).
        download: allow a download when the data set is not cached.

    Returns:
        The :class:`OpenMLData` (module doc for the encoding).

    Raises:
        DataError: for an unknown name, or a data set that is neither cached nor
            downloadable (offline, or ``download=False``), naming the data set and the
            cache folder.
    """
    data_id = _id(name)
    folder = openml_folder(data_home)
    if not download and not is_cached(name, data_home):
        raise DataError(f"OpenML data set {name!r} (id {data_id}) is not in the cache "
                        f"folder {folder} and download=False")
    from sklearn.datasets import fetch_openml

    try:
        with warnings.catch_warnings():  # its retry notices: the error below says it all
            warnings.filterwarnings("ignore", module=r"sklearn\.datasets\._openml")
            bunch = fetch_openml(data_id=data_id, data_home=str(folder.parent),
                                 as_frame=True, parser="auto", n_retries=1, delay=0.1)
    except (URLError, OSError) as exc:
        raise DataError(f"OpenML data set {name!r} (id {data_id}) is not in the cache "
                        f"folder {folder} and openml.org could not be reached ({exc}); "
                        f"run once online or copy the cache there") from None
    X, names = encode_features(bunch.data, _declared_categories(folder, data_id))
    y, classes = encode_target(bunch.target)
    return OpenMLData(name, X, y, names, classes)


def _json_path(folder: Path, data_id: int, kind: str = "") -> Path:
    """Cache file of the OpenML JSON API answer (description, or ``features``)."""
    return (folder / "openml.org" / "api" / "v1" / "json" / "data" / kind
            / f"{data_id}.gz")


def _declared_categories(folder: Path, data_id: int) -> dict[str, list[str]]:
    """Nominal values OpenML declares per column, from the cached features answer."""
    with gzip.open(_json_path(folder, data_id, "features"), "rt", encoding="utf-8") as f:
        feats = json.load(f)["data_features"]["feature"]
    return {f["name"]: list(f["nominal_value"]) for f in feats if "nominal_value" in f}


def encode_features(frame, categories: dict | None = None
                    ) -> tuple[np.ndarray, tuple[str, ...]]:
    """Encode a pandas feature frame: one-hot nominal columns, median-filled numerics.

    Args:
        frame: a ``pandas.DataFrame`` (nominal columns of ``category`` dtype).
        categories: declared categories per column name (default: the frame's own);
            one-hot columns follow them, so they do not depend on the rows present.

    Returns:
        ``(X, names)``: float64 array (n, d) and the d column names.

    Raises:
        DataError: for a column that is neither numeric nor categorical.
    """
    import pandas as pd

    cols, names = [], []
    for col in frame.columns:
        s = frame[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            if categories and col in categories:
                s = s.cat.set_categories(categories[col])
            codes = s.cat.codes.to_numpy()  # −1 for a missing value
            cats = list(s.cat.categories)
            cols.append((codes[:, None] == np.arange(len(cats))[None]).astype(np.float64))
            names += [f"{col}={c}" for c in cats]
        elif pd.api.types.is_numeric_dtype(s.dtype):
            v = s.to_numpy(dtype=np.float64, na_value=np.nan).copy()
            miss = np.isnan(v)
            if miss.any():
                v[miss] = np.median(v[~miss]) if (~miss).any() else 0.0
            cols.append(v[:, None])
            names.append(str(col))
        else:
            raise DataError(f"OpenML column {col!r} has type {s.dtype}, neither numeric nor "
                            "nominal")
    X = np.hstack(cols) if cols else np.zeros((len(frame), 0))
    return X, tuple(names)


def encode_target(target) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer labels ``0 .. K-1`` (sorted class names) from a pandas Series.

    Raises:
        DataError: if a target value is missing.
    """
    if target.isna().any():
        raise DataError(f"OpenML target has {int(target.isna().sum())} missing values")
    classes, y = np.unique(target.astype(str).to_numpy(), return_inverse=True)
    return y.astype(np.intp), tuple(str(c) for c in classes)
