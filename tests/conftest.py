"""Strict numerics for the whole suite: numpy floating-point errors raise."""

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _strict_numpy():
    old = np.seterr(all="raise", under="ignore")
    yield
    np.seterr(**old)
