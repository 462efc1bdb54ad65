"""Block planning: edges grouped by (target layer, source layer, delay)."""

import numpy as np
import pytest

from networks.builders import layered, layered_recurrent
from networks.compile import _edge_groups, compile_graph


def _reference_groups(lt, ls, delay):
    uniq, inverse = np.unique(np.stack([lt, ls, delay], axis=1), axis=0, return_inverse=True)
    return [(int(a), int(b), int(d), np.flatnonzero(inverse.ravel() == k))
            for k, (a, b, d) in enumerate(uniq)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_edge_groups_are_the_unique_rows_in_order(seed):
    rng = np.random.default_rng(seed)
    lt, ls = rng.integers(0, 5, 300), rng.integers(0, 5, 300)
    delay = rng.integers(1, 4, 300)
    mine = list(_edge_groups(lt, ls, delay))
    ref = _reference_groups(lt, ls, delay)
    assert [g[:3] for g in mine] == [g[:3] for g in ref]
    for a, b in zip(mine, ref, strict=True):
        np.testing.assert_array_equal(a[3], b[3])


def test_huge_keys_fall_back_to_unique_rows():
    lt, ls = np.array([0, 2**40, 0]), np.array([1, 0, 1])
    delay = np.array([2**30, 1, 2**30])
    mine = list(_edge_groups(lt, ls, delay))
    assert [g[:3] for g in mine] == [(0, 1, 2**30), (2**40, 0, 1)]
    np.testing.assert_array_equal(mine[0][3], [0, 2])


@pytest.mark.parametrize("seed", [0, 4])
def test_layered_nets_plan_dense_blocks(seed):
    net = compile_graph(layered([3, 5, 2], "tanh", seed=seed, delays=(1, 2)))
    rec = compile_graph(layered_recurrent([3, 5, 2], "tanh", seed=seed, lateral=0.5))
    for n in (net, rec):
        assert sorted(n.block_order.tolist()) == list(range(n.n_edges))
    dense = compile_graph(layered([3, 5, 2], "tanh", seed=seed))
    assert [b.kind for b in dense.blocks] == ["dense", "dense"]
