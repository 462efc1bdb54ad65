"""BLAS thread capping (networks.threads): the caps take effect and are restored."""

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from agents.errors import ConfigError
from networks import threads


def _blas_counts():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


@pytest.fixture
def restore():
    with threadpool_limits(limits=None):   # snapshot; restored on exit
        yield


def test_limit_threads_caps_and_restores(restore):
    threadpool_limits(limits=2, user_api="blas")
    before = _blas_counts()
    assert before, "numpy should load a BLAS library"
    with threads.limit_threads(1):
        assert _blas_counts() == [1] * len(before)
        assert threads.blas_threads() == 1
        a = np.ones((64, 64))
        assert (a @ a)[0, 0] == 64.0          # products still run under the cap
    assert _blas_counts() == before


def test_cap_threads_explicit_and_from_environment(restore, monkeypatch):
    monkeypatch.delenv(threads.ENV_VAR, raising=False)
    assert threads.cap_threads() == 1 and threads.blas_threads() == 1
    monkeypatch.setenv(threads.ENV_VAR, "2")
    assert threads.configured_threads() == 2
    assert threads.cap_threads() == 2
    assert max(_blas_counts()) <= 2
    assert threads.cap_threads(1) == 1 and threads.blas_threads() == 1


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5"])
def test_bad_environment_value_is_named(monkeypatch, bad):
    monkeypatch.setenv(threads.ENV_VAR, bad)
    with pytest.raises(ConfigError, match=threads.ENV_VAR):
        threads.configured_threads()


@pytest.mark.parametrize("bad", [0, -2, 1.0, True, "1"])
def test_bad_counts_are_refused(bad):
    with pytest.raises(ConfigError, match="positive integer"):
        threads.cap_threads(bad)
    with pytest.raises(ConfigError, match="positive integer"), threads.limit_threads(bad):
        pass


@pytest.mark.parametrize(("workers", "cores", "share"), [(1, 2, 2), (2, 2, 1), (3, 2, 1),
                                                          (2, 8, 4)])
def test_threads_per_worker(workers, cores, share):
    assert threads.threads_per_worker(workers, cores) == share
