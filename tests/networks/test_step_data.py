"""The vectorised engine's step data path: u and y copied into its own arrays and checked
by one reduction each. It must accept and refuse exactly what the full check does, name
the same value, and leave the state untouched when it refuses."""

import numpy as np
import pytest

from agents.errors import DataError
from agents.lp import LP
from networks.builders import layered
from networks.compile import compile_graph
from networks.engines import make_engine


def _engines(seed, batch=4):
    net = compile_graph(layered([3, 5, 2], "sigmoid", seed=seed))
    return [make_engine(kind, net, LP, {"eta_w": 0.1}, batch=batch) for kind in
            ("agent", "vector")]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_views_copies_and_other_dtypes_give_the_same_trajectory(seed):
    """C-contiguous, strided, float32 and list inputs: same states as the agent engine."""
    rng = np.random.default_rng(seed)
    big_u, big_y = rng.normal(size=(3, 12)), rng.uniform(size=(2, 12))
    agent, vector = _engines(seed)
    for k, (u, y) in enumerate([(big_u[:, :4].copy(), big_y[:, :4].copy()),
                                (big_u[:, ::3], big_y[:, ::3]),            # strided views
                                (big_u[:, 4:8].astype(np.float32), big_y[:, 4:8]),
                                (big_u[:, 8:].tolist(), None)]):
        for eng in (agent, vector):
            eng.advance(u, y)
        for name in ("x", "lam", "weight", "bias"):
            np.testing.assert_allclose(vector.state(name), agent.state(name), rtol=1e-10,
                                       atol=1e-12, err_msg=f"{name} after step {k + 1}")


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("which", ["u", "y"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_non_finite_value_is_named_and_changes_nothing(seed, which, bad):
    rng = np.random.default_rng(seed)
    u, y = rng.normal(size=(3, 4)), rng.uniform(size=(2, 4))
    messages, states = [], []
    for eng in _engines(seed):
        eng.advance(u, y)
        before = {n: eng.state(n) for n in ("x", "lam", "weight")}
        bad_u, bad_y = u.copy(), y.copy()
        (bad_u if which == "u" else bad_y)[1, 2] = bad
        with pytest.raises(DataError) as info:
            eng.advance(bad_u, bad_y)
        messages.append(str(info.value))
        assert eng.t == 1
        for n, value in before.items():
            np.testing.assert_array_equal(eng.state(n), value)   # inputs' x included
        eng.advance(u, y)   # and the next step is as if the bad one never came
        states.append(eng.state("x"))
    assert "example 2" in messages[1] and messages[0] == messages[1]
    np.testing.assert_allclose(states[1], states[0], rtol=1e-10, atol=1e-12)


def test_the_input_array_is_never_aliased():
    """The engine copies u: changing the caller's array afterwards changes nothing."""
    agent, vector = _engines(3)
    u, y = np.ones((3, 4)), np.zeros((2, 4))
    vector.advance(u, y)
    x = vector.state("x")
    u[:] = 7.0
    y[:] = 7.0
    np.testing.assert_array_equal(vector.state("x"), x)
