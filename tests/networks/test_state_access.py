"""A trainer's swap of per-example state (load_examples / save_examples) against set_state
and state, in both engines, and its named errors."""

import numpy as np
import pytest

from agents.errors import ConfigError, DataError
from agents.lp import LPParams, lp_rule
from networks.builders import layered, random_digraph
from networks.compile import compile_graph
from networks.engines import make_engine

PARAMS = LPParams(constraint="lin", rho=1.0, eta_x=0.2, eta_lam=0.2, state_optimizer="adam")
VARS = ("x", "lam", "s", "mx", "age")


def _net(kind: str, seed: int):
    if kind == "layered":
        return compile_graph(layered([3, 5, 2], "sigmoid", seed=seed))
    return compile_graph(random_digraph(8, 20, n_inputs=3, n_outputs=2, seed=seed,
                                        delays=(1, 2), weight_scale=0.5))


def _store(net, n: int, dtype, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {v: rng.uniform(0.1, 1.0, (net.n_nodes, n)).astype(dtype) for v in VARS}


@pytest.mark.parametrize("engine_kind", ["agent", "vector"])
@pytest.mark.parametrize("kind", ["layered", "cyclic"])
@pytest.mark.parametrize(("seed", "dtype"), [(0, np.float64), (3, np.float32),
                                              (7, np.float64)])
def test_swap_equals_set_state_and_state(engine_kind, kind, seed, dtype):
    """Steps after load_examples equal steps after set_state; save_examples writes state()."""
    net, B, n = _net(kind, seed), 4, 11
    rng = np.random.default_rng(50 + seed)
    ours, theirs = (make_engine(engine_kind, net, lp_rule(False), PARAMS, batch=B,
                                dtype=dtype, rng=np.random.default_rng(seed))
                      for _ in range(2))
    store = _store(net, n, dtype, seed)
    copy = {v: a.copy() for v, a in store.items()}
    for _ in range(3):
        idx = rng.permutation(n)[:B]
        u, y = rng.uniform(-1, 1, (3, B)), rng.uniform(0, 1, (2, B))
        batch = {v: store[v][:, idx] for v in VARS}
        ours.load_examples(batch)
        for v in VARS:
            theirs.set_state(v, copy[v][:, idx])
            np.testing.assert_array_equal(ours.state(v), theirs.state(v))
        ours.advance(u, y)
        theirs.advance(u, y)
        ours.save_examples(batch)
        for v in VARS:
            store[v][:, idx] = batch[v]
        for v in VARS:
            copy[v][:, idx] = theirs.state(v)
    for v in VARS:
        np.testing.assert_array_equal(store[v], copy[v])
        assert store[v].dtype == dtype
    for v in ("weight", "bias"):
        np.testing.assert_array_equal(ours.state(v), theirs.state(v))


@pytest.mark.parametrize("engine_kind", ["agent", "vector"])
def test_swap_errors_are_named(engine_kind):
    net = _net("layered", 0)
    eng = make_engine(engine_kind, net, lp_rule(False), PARAMS, batch=4)
    batch = {v: a[:, :4].copy() for v, a in _store(net, 9, np.float64, 0).items()}
    with pytest.raises(ConfigError, match="unknown variable 'lamb'"):
        eng.load_examples({"lamb": batch["lam"]})
    with pytest.raises(ConfigError, match="'bias' has no example axis"):
        eng.save_examples({"bias": batch["x"]})
    with pytest.raises(DataError, match="examples of 'x'.*float32"):
        eng.load_examples({"x": batch["x"].astype(np.float32)})
    with pytest.raises(DataError, match=r"examples of 'lam'.*\(3, 4\)"):
        eng.load_examples({"lam": batch["lam"][:3]})
    with pytest.raises(DataError, match=r"examples of 'x'.*\(10, 3\)"):
        eng.save_examples({"x": batch["x"][:, :3]})
