"""scikit-learn's bundled data sets (wine, digits, breast_cancer), read once per process.

A sweep's runs load the same file again and again (one run per seed, each with its own
split): :func:`read_bundled` keeps the arrays, keyed on the file's path, modification
time and size, so a changed file is read again.
"""

from __future__ import annotations

import os

import numpy as np

#: the file each bundled data set is read from, in ``sklearn.datasets.data``
BUNDLED_FILES = {"wine": "wine_data.csv", "digits": "digits.csv.gz",
                 "breast_cancer": "breast_cancer.csv"}
#: per process: ``{name: ((path, mtime_ns, size), X, y)}``, arrays read-only
_BUNDLED_CACHE: dict = {}


def read_bundled(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A bundled data set's ``(X, y)`` as scikit-learn loads it, read once per process.

    The arrays are read-only (shared by every run of the process): callers copy what
    they change.
    """
    from importlib.resources import files

    from sklearn import datasets as skd

    path = files("sklearn.datasets.data") / BUNDLED_FILES[name]
    try:
        stat = os.stat(path)
        key = (str(path), stat.st_mtime_ns, stat.st_size)
    except (OSError, TypeError):   # not a plain file: read it every time
        key = None
    hit = _BUNDLED_CACHE.get(name)
    if key is not None and hit is not None and hit[0] == key:
        return hit[1], hit[2]
    loader = {"wine": skd.load_wine, "digits": skd.load_digits,
              "breast_cancer": skd.load_breast_cancer}[name]
    X, y = loader(return_X_y=True)
    X, y = np.asarray(X), np.asarray(y)
    X.flags.writeable = y.flags.writeable = False
    if key is not None:
        _BUNDLED_CACHE[name] = (key, X, y)
    return X, y
