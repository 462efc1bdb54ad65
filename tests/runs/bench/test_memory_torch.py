"""The full-batch LP memory benchmark and the PyTorch peer of the LP speed benchmark.

The torch tests run ``runs/bench/torch_peer.py`` under a separate interpreter (PyTorch exists
here only for Python 3.11) and are skipped with a reason when there is none; the numpy
reference step below is also checked against the engine's exact two-round LP step, so the
torch peer is shown to compute the repository's LP step.
"""

import ast
import sys
from pathlib import Path

import numpy as np
import pytest

from agents.lp import LP_TWO_ROUND
from networks.builders import layered
from networks.compile import compile_graph
from networks.engines import VectorEngine
from runs.bench import memory as bench_memory
from runs.bench.memory import (
    bench_lp_memory,
    bench_torch_peer,
    run_torch_script,
    torch_python,
    torch_unavailable_reason,
)
from runs.bench.torch_peer import make_problem

SIZES = (5, 4, 3, 2)
BATCH = 3
RHO, ETA_W, ETA_X, ETA_LAM = 1.0, 0.5, 0.2, 0.2


def _sigmoid(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def lagrangian(pb, rho=RHO):
    """L = Σ ½ (x_L − y)² + Σ_l Σ [λ c + ρ/2 c²], G = lin."""
    x_prev, total = pb["u"], 0.0
    for W, b, X, lam in zip(pb["W"], pb["b"], pb["X"], pb["lam"], strict=True):
        c = X - _sigmoid(W @ x_prev + b)
        total += float((lam * c).sum() + 0.5 * rho * (c * c).sum())
        x_prev = X
    return total + 0.5 * float(((pb["X"][-1] - pb["y"]) ** 2).sum())


def numpy_lp_step(pb, rho=RHO, eta_w=ETA_W, eta_x=ETA_X, eta_lam=ETA_LAM, reduce="mean"):
    """One simultaneous LP step (docs/math/lp.md gradients, G = lin), returning a new problem."""
    xs = [pb["u"], *pb["X"]]
    n_layers, batch = len(pb["W"]), pb["u"].shape[1]
    cs, gs, ss = [], [], []
    for k in range(n_layers):
        sig = _sigmoid(pb["W"][k] @ xs[k] + pb["b"][k])
        c = pb["X"][k] - sig
        g = pb["lam"][k] + rho * c            # (λ + ρ G(c)) G'(c)
        cs.append(c)
        gs.append(g)
        ss.append(g * sig * (1.0 - sig))      # s = g σ'(a)
    lr_w = eta_w / batch if reduce == "mean" else eta_w
    new = {"u": pb["u"], "y": pb["y"], "W": [], "b": [], "X": [], "lam": []}
    for k in range(n_layers):
        dx = gs[k].copy()
        if k + 1 < n_layers:
            dx -= pb["W"][k + 1].T @ ss[k + 1]
        else:
            dx += pb["X"][k] - pb["y"]
        new["W"].append(pb["W"][k] + lr_w * ss[k] @ xs[k].T)        # ∂L/∂W = −s xᵀ
        new["b"].append(pb["b"][k] + lr_w * ss[k].sum(axis=1, keepdims=True))
        new["X"].append(pb["X"][k] - eta_x * dx)
        new["lam"].append(pb["lam"][k] + eta_lam * cs[k])           # ascent, ∂L/∂λ = c
    return new


def norms(pb):
    return {k: [float(np.linalg.norm(a)) for a in pb[k]] for k in ("W", "b", "X", "lam")}


# --------------------------------------------------------------------------- memory
def test_memory_benchmark_smoke():
    rows = bench_lp_memory(("wine",), hidden=(4,), steps=3)
    assert [r["dtype"] for r in rows] == ["float64", "float32"]
    f64, f32 = rows
    assert f32["peak_bytes"] < f64["peak_bytes"]
    assert f32["f32_over_f64"] == pytest.approx(f32["peak_bytes"] / f64["peak_bytes"])
    for r in rows:
        assert r["n_train"] == 133 and r["n_nodes"] == 13 + 4 + 3
        # x, λ, a, c, g, s, age; no Adam moments of x, λ under state_optimizer="sgd"
        assert r["n_batched_vars"] == 7
        assert r["predicted_bytes"] == r["n_nodes"] * r["n_train"] * 7 * \
            np.dtype(r["dtype"]).itemsize
        assert 0 < r["predicted_bytes"] <= r["peak_bytes"]
    assert "peak MB" in bench_memory.format_memory(rows)


# --------------------------------------------------------------------------- reference
def test_numpy_reference_is_the_engine_two_round_lp_step():
    """The step the torch peer computes is the repository's exact LP step (LP_TWO_ROUND)."""
    pb = make_problem(SIZES, BATCH, seed=3, init="random")
    net = compile_graph(layered(list(SIZES), "sigmoid", seed=0))
    eng = VectorEngine(net, LP_TWO_ROUND, {"constraint": "lin", "rho": RHO,
                                           "optimizer": "sgd", "eta_w": ETA_W,
                                           "eta_x": ETA_X, "eta_lam": ETA_LAM,
                                           "two_round": True}, batch=BATCH)
    offsets = np.cumsum([0, *SIZES])
    W_full = np.zeros((net.n_nodes, net.n_nodes))
    bias, x, lam = np.zeros(net.n_nodes), np.zeros((net.n_nodes, BATCH)), \
        np.zeros((net.n_nodes, BATCH))
    for k in range(len(SIZES) - 1):
        rows, cols = slice(offsets[k + 1], offsets[k + 2]), slice(offsets[k], offsets[k + 1])
        W_full[rows, cols] = pb["W"][k]
        bias[rows] = pb["b"][k][:, 0]
        x[rows], lam[rows] = pb["X"][k], pb["lam"][k]
    assert list(net.node_ids) == list(range(net.n_nodes))
    eng.set_state("weight", W_full[net.tgt, net.src])
    eng.set_state("bias", bias)
    eng.set_state("x", x)
    eng.set_state("lam", lam)
    eng.advance(pb["u"], pb["y"])
    ref = numpy_lp_step(pb)
    W_new = np.zeros_like(W_full)
    W_new[net.tgt, net.src] = eng.state("weight")
    for k in range(len(SIZES) - 1):
        rows, cols = slice(offsets[k + 1], offsets[k + 2]), slice(offsets[k], offsets[k + 1])
        np.testing.assert_allclose(W_new[rows, cols], ref["W"][k], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(eng.state("bias")[rows], ref["b"][k][:, 0], rtol=1e-12,
                                   atol=1e-14)
        np.testing.assert_allclose(eng.state("x")[rows], ref["X"][k], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(eng.state("lam")[rows], ref["lam"][k], rtol=1e-12,
                                   atol=1e-14)


# --------------------------------------------------------------------------- torch peer
def test_bench_torch_is_standalone():
    """torch_peer.py runs under another interpreter: stdlib, numpy and torch only."""
    tree = ast.parse(Path(bench_memory.TORCH_SCRIPT).read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots.add((node.module or "").split(".")[0])
    assert roots <= {"__future__", "argparse", "json", "os", "sys", "time", "numpy", "torch"}


def test_torch_python_lookup(monkeypatch, tmp_path):
    monkeypatch.setenv(bench_memory.ENV_VAR, str(tmp_path / "missing-python"))
    assert torch_python() is None
    assert bench_torch_peer((3, 2), 2, "float64", 0.01) is None
    assert "missing-python" in torch_unavailable_reason()
    # an interpreter without torch (this one): unavailable, not an error
    monkeypatch.setenv(bench_memory.ENV_VAR, sys.executable)
    assert torch_python() == sys.executable and torch_unavailable_reason() is None
    assert bench_torch_peer((3, 2), 2, "float64", 0.01) is None


@pytest.fixture(scope="module")
def torch_available():
    if torch_python() is None:
        pytest.skip(torch_unavailable_reason())


@pytest.mark.parametrize(("steps", "reduce", "init"),
                         [(1, "mean", "random"), (3, "sum", "zero")])
def test_torch_lp_step_matches_numpy(torch_available, steps, reduce, init):
    out = run_torch_script("--check", "--sizes", *map(str, SIZES), "--batch", str(BATCH),
                           "--dtype", "float64", "--seed", "3", "--init", init,
                           "--steps", str(steps), "--reduce", reduce, "--rho", str(RHO),
                           "--eta-w", str(ETA_W), "--eta-x", str(ETA_X),
                           "--eta-lam", str(ETA_LAM))
    if out is None:
        pytest.skip(f"torch does not import under {torch_python()}")
    pb = make_problem(SIZES, BATCH, seed=3, init=init)
    assert out["lagrangian"] == pytest.approx(lagrangian(pb), rel=1e-6)
    for _ in range(steps):
        pb = numpy_lp_step(pb, reduce=reduce)
    expected = norms(pb)
    assert out["steps"] == steps and out["dtype"] == "float64"
    for key in ("W", "b", "X", "lam"):
        assert out[key] == pytest.approx(expected[key], rel=1e-6, abs=1e-12), key
    assert max(expected["lam"]) > 0        # the multipliers moved


def test_torch_timing_is_positive(torch_available):
    r = bench_torch_peer((20, 16, 3), batch=8, dtype="float32", seconds=0.05)
    if r is None:
        pytest.skip(f"torch does not import under {torch_python()}")
    assert r["seconds_per_step"] > 0 and r["steps"] >= 5
    assert r["median_seconds_per_step"] >= r["seconds_per_step"]
    assert r["dtype"] == "float32" and r["threads"] >= 1 and r["torch"]
