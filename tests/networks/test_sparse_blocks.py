"""The vectorised engine's sparse blocks (networks/engines/sparse_blocks.py) against dense
references: forward ``W m``, backward ``Wᵀ m`` on the active rows and the per-edge
Hebbian product, on random patterns (self-loops, cycles, edges from inputs or not), batch
1 and wider, float64 and float32, whole arrays and head/active row views, several chunks;
and the engine built on them against the agent engine on graphs with delays > 1."""

import numpy as np
import pytest

from agents.diffusion import DIFFUSION
from agents.lp import LP
from networks.builders import random_dag, random_digraph
from networks.compile import compile_graph, plan_blocks
from networks.engines import AgentEngine, VectorEngine, sparse_hebb
from networks.engines import sparse_blocks as sb
from networks.engines.block_products import _Rows


def _pattern(rng, n_in, n, n_edges, from_inputs=True):
    """Random distinct (src, tgt) pairs, targets active, sorted by (tgt, src)."""
    lo = 0 if from_inputs else n_in
    pairs = {(int(rng.integers(lo, n)), int(rng.integers(n_in, n))) for _ in range(n_edges)}
    src, tgt = np.array(sorted(pairs, key=lambda p: (p[1], p[0]))).T
    return src.astype(np.intp), tgt.astype(np.intp)


def _block(src, tgt, n_in, n):
    """A SparseBlock with its edges put inputs-first, and that edge order."""
    idx = np.argsort(src >= n_in, kind="stable")
    return sb.SparseBlock(src[idx], tgt[idx], n_in, n), src[idx], tgt[idx]


CASES = [(seed, batch, dtype, from_inputs, small_part, coo)
         for seed in range(4) for batch in (1, 3, 16)
         for dtype in (np.float64, np.float32) for from_inputs in (True, False)
         for small_part in ((0, sb.SMALL_PART) if seed < 2 else (sb.SMALL_PART,))
         for coo in ((0, sb.COO_BLOCK) if seed % 2 else (sb.COO_BLOCK,))]


@pytest.mark.parametrize(("seed", "batch", "dtype", "from_inputs", "small_part", "coo"),
                         CASES)
def test_products_equal_dense_reference(monkeypatch, seed, batch, dtype, from_inputs,
                                        small_part, coo):
    """Native and (small_part = 0) 32-bit index arrays; the forward product of a whole
    message array as one COO call and (coo = 0) per CSR part."""
    monkeypatch.setattr(sb, "SMALL_PART", small_part)
    monkeypatch.setattr(sb, "COO_BLOCK", coo)
    rng = np.random.default_rng(seed)
    n_in, n = int(rng.integers(1, 5)), int(rng.integers(12, 40))
    blk, src, tgt = _block(*_pattern(rng, n_in, n, 4 * n, from_inputs), n_in, n)
    part = blk.parts[-1]
    assert part.cols.dtype == (np.int32 if small_part == 0 else np.intp)
    assert part.t_cols.dtype == part.t_indptr.dtype == np.int32   # the batch-1 CSC kernel
    assert (blk.whole is None) == (small_part == 0)
    assert (blk.coo is None) == (coo == 0)
    w = rng.normal(size=len(src)).astype(dtype)
    W = np.zeros((n, n))
    W[tgt, src] = w
    m = rng.normal(size=(n, batch)).astype(dtype)
    post = rng.normal(size=(n - n_in, batch)).astype(dtype)
    start = rng.normal(size=(n - n_in, batch)).astype(dtype)
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    out = start.copy()
    blk.forward(w, m, out)                       # adds into the inbox
    np.testing.assert_allclose(out, start + (W @ m)[n_in:], rtol=rtol, atol=rtol)
    out = start.copy()
    blk.backward(w, m, out)                      # only the active rows' messages count
    expect = start + (W[n_in:].T @ m[n_in:])[n_in:]
    np.testing.assert_allclose(out, expect, rtol=rtol, atol=rtol)
    hebb = np.full(len(src), np.nan, dtype=dtype)
    blk.hebb(post, m, hebb)
    np.testing.assert_allclose(hebb, np.einsum("eb,eb->e", post[tgt - n_in], m[src]),
                               rtol=rtol, atol=rtol)
    assert out.dtype == hebb.dtype == dtype


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("batch", [1, 5])
def test_head_and_active_row_views_equal_whole_array(seed, batch):
    """The engine's undelayed messages come as inputs' rows + active rows (never joined)."""
    rng = np.random.default_rng(10 + seed)
    n_in, n = 3, 30
    blk, src, tgt = _block(*_pattern(rng, n_in, n, 120), n_in, n)
    w = rng.normal(size=len(src))
    m = rng.normal(size=(n, batch))
    rows = _Rows(m[:n_in].copy(), m[n_in:].copy())
    post = rng.normal(size=(n - n_in, batch))
    for name in ("forward", "backward"):
        a, b = np.zeros((n - n_in, batch)), np.zeros((n - n_in, batch))
        getattr(blk, name)(w, m, a)
        getattr(blk, name)(w, rows, b)
        np.testing.assert_array_equal(a, b)
    a, b = np.empty(len(src)), np.empty(len(src))
    blk.hebb(post, m, a)
    blk.hebb(post, rows, b)
    np.testing.assert_array_equal(a, b)
    assert rows._full is None            # nothing concatenated the two parts


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("rows", [False, True])
def test_bound_calls_repeat_the_products_on_new_values(seed, batch, rows):
    """Calls bound once to (w, m, out) compute with the values those arrays hold later."""
    rng = np.random.default_rng(40 + seed)
    n_in, n = int(rng.integers(1, 5)), 35
    blk, src, tgt = _block(*_pattern(rng, n_in, n, 140), n_in, n)
    w = np.empty(len(src))
    m = np.empty((n, batch))
    msgs = _Rows(m[:n_in], m[n_in:]) if rows else m
    out = np.empty((n - n_in, batch))
    calls = {"forward": blk.bound_forward(w, msgs, out),
             "backward": blk.bound_backward(w, msgs, out)}
    post, hebb = np.empty((n - n_in, batch)), np.empty(len(src))
    hebb_calls = blk.bound_hebb(post, msgs, hebb)
    for _ in range(3):   # new values in the same arrays
        w[:] = rng.normal(size=len(src))
        m[:] = rng.normal(size=(n, batch))
        post[:] = rng.normal(size=post.shape)
        for name, bound in calls.items():
            out.fill(0.0)
            for fn, args in bound:
                fn(*args)
            expect = np.zeros_like(out)
            getattr(blk, name)(w.copy(), m.copy(), expect)
            np.testing.assert_array_equal(out, expect)
        hebb.fill(np.nan)
        for fn, args in hebb_calls:
            fn(*args)
        np.testing.assert_allclose(hebb, np.einsum("eb,eb->e", post[tgt - n_in], m[src]),
                                   rtol=1e-12)
    if rows:
        assert msgs._full is None


@pytest.mark.parametrize("seed", range(3))
def test_constant_messages_weights_and_unbatched_sides(seed):
    """Zero-stride constants (lazy initial values) and a side without example axis."""
    rng = np.random.default_rng(20 + seed)
    n_in, n, batch = 2, 25, 4
    blk, src, tgt = _block(*_pattern(rng, n_in, n, 90), n_in, n)
    W = np.zeros((n, n))
    W[tgt, src] = 0.5
    w = np.broadcast_to(0.5, (len(src),))
    m = np.broadcast_to(rng.normal(size=(1, batch)), (n, batch))
    out = np.zeros((n - n_in, batch))
    blk.forward(w, m, out)
    np.testing.assert_allclose(out, (W @ m)[n_in:], rtol=1e-12)
    post = rng.normal(size=(n - n_in, 1))              # post without example axis
    hebb = np.empty(len(src))
    blk.hebb(post, m, hebb)
    np.testing.assert_allclose(hebb, post[tgt - n_in, 0] * m[src].sum(1), rtol=1e-12)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("small_part", [0, sb.SMALL_PART])
def test_hebb_with_post_of_another_dtype(monkeypatch, seed, small_part):
    """A post variable of another dtype than the product takes the general gather."""
    monkeypatch.setattr(sb, "SMALL_PART", small_part)
    rng = np.random.default_rng(30 + seed)
    n_in, n = 3, 40
    blk, src, tgt = _block(*_pattern(rng, n_in, n, 150), n_in, n)
    m = rng.normal(size=(n, 1))
    post = rng.normal(size=(n - n_in, 1)).astype(np.float32)
    hebb = np.full(len(src), np.nan)
    blk.hebb(post, m, hebb)
    np.testing.assert_allclose(hebb, post[tgt - n_in, 0] * m[src, 0], rtol=1e-12)


@pytest.mark.parametrize("chunk", [1, 7, 64])
@pytest.mark.parametrize("batch", [1, 2, 16])
@pytest.mark.parametrize("small_part", [0, sb.SMALL_PART])
def test_hebb_in_chunks_covers_every_edge(monkeypatch, chunk, batch, small_part):
    """Chunks smaller than a batch row, uneven last chunks, many chunks."""
    monkeypatch.setattr(sparse_hebb, "HEBB_CHUNK", chunk)
    monkeypatch.setattr(sb, "SMALL_PART", small_part)
    rng = np.random.default_rng(chunk + batch)
    n_in, n = 4, 50
    blk, src, tgt = _block(*_pattern(rng, n_in, n, 300), n_in, n)
    m, post = rng.normal(size=(n, batch)), rng.normal(size=(n - n_in, batch))
    hebb = np.full(len(src), np.nan)
    blk.hebb(post, m, hebb)
    np.testing.assert_allclose(hebb, np.einsum("eb,eb->e", post[tgt - n_in], m[src]),
                               rtol=1e-12)


def test_inputs_first_reorders_sparse_blocks_only():
    net = compile_graph(random_digraph(40, 160, n_inputs=5, n_outputs=3, seed=4,
                                       delays=(1, 3)))
    n_in = len(net.input_idx)
    perm = np.concatenate([net.input_idx, np.flatnonzero(~net.is_input)])
    pos = np.empty_like(perm)
    pos[perm] = np.arange(net.n_nodes)
    blocks, order = plan_blocks(net.layer[perm], pos[net.src], pos[net.tgt], net.delay)
    new_blocks, new_order, ops = sb.sparse_blocks(blocks, order, n_in, net.n_nodes)
    assert sorted(new_order) == list(range(net.n_edges))
    assert len(ops) == len(blocks) == 3          # one sparse block per delay
    for k, (old, new) in enumerate(zip(blocks, new_blocks, strict=True)):
        ids = new_order[new.start:new.stop]
        assert set(ids) == set(order[old.start:old.stop])
        assert (net.delay[ids] == new.delay).all()
        s, t = pos[net.src[ids]], pos[net.tgt[ids]]
        split = int(np.count_nonzero(s < n_in))
        assert 0 < split < len(ids)
        assert (s[:split] < n_in).all() and (s[split:] >= n_in).all()
        for part in (slice(0, split), slice(split, None)):  # each part in CSR order
            key = t[part] * net.n_nodes + s[part]
            assert (np.diff(key) > 0).all()
        assert ops[k].parts[0].hi == split


def _graph(kind, seed):
    build = random_digraph if kind == "cyclic" else random_dag
    return compile_graph(build(60, 300, n_inputs=4, n_outputs=3, seed=seed,
                               delays=(1, 3), weight_scale=0.6))


@pytest.mark.parametrize("kind", ["cyclic", "dag"])
@pytest.mark.parametrize("batch", [None, 1, 6])
@pytest.mark.parametrize("seed", [0, 5])
def test_engine_on_sparse_blocks_equals_agent_engine(monkeypatch, kind, batch, seed):
    """Diffusion (delayed channels, delays 1–3) and LP (undelayed) with learning, the
    Hebbian product in several chunks."""
    monkeypatch.setattr(sparse_hebb, "HEBB_CHUNK", 96)
    net = _graph(kind, seed)
    assert all(b.kind == "sparse" for b in VectorEngine(net, DIFFUSION).blocks)
    rng = np.random.default_rng(seed)
    width = 1 if batch is None else batch
    U = rng.normal(size=(25, 4, width))
    Y = rng.normal(size=(25, 3, width))
    if batch is None:
        U, Y = U[..., 0], Y[..., 0]
    for rule, params in ((DIFFUSION, {"eta": 0.05}), (LP, {"eta_w": 0.05, "rho": 1.0})):
        engines = [cls(net, rule, params, batch=batch) for cls in (AgentEngine, VectorEngine)]
        for eng in engines:
            eng.run(U, Y)
        for name in ("x", "weight", "bias"):
            np.testing.assert_allclose(engines[1].state(name), engines[0].state(name),
                                       rtol=1e-10, atol=1e-13)
