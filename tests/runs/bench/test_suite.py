"""The benchmark suite runs and reports under its protocol; its baselines compute the same
thing as the engines (so the ratios compare like with like). No speed is asserted here."""

import numpy as np
import pytest

from agents.diffusion import DIFFUSION
from networks.engines import VectorEngine
from runs.bench import agent, dense, protocol, sparse, suite


def test_timing_ratios_are_per_round():
    t = protocol.Timing({"base": np.array([1.0, 2.0, 4.0]), "x": np.array([2.0, 2.0, 2.0])},
                        "base")
    np.testing.assert_allclose(t.ratios("x"), [2.0, 1.0, 0.5])
    assert t.ratio("x") == (0.5, 1.0)
    assert t.best("base") == 1.0 and t.median("base") == 2.0
    assert t.fmt_ratio("x") == "0.50–1.00x"


def test_interleaved_times_every_contender_every_round():
    calls = {"a": 0, "b": 0}

    def work(name, n):
        def fn():
            calls[name] += 1
            sum(range(n))
        return fn

    t = protocol.interleaved({"a": work("a", 2000), "b": work("b", 20000)}, "a", rounds=3,
                             seconds_per_call=0.002)
    assert set(t.seconds) == {"a", "b"} and all(len(v) == 3 for v in t.seconds.values())
    assert calls["a"] > 3 and calls["b"] > 3
    assert np.all(t.ratios("b") > 1.0)          # 10× the work takes longer in every round
    with pytest.raises(KeyError, match="baseline"):
        protocol.interleaved({"a": work("a", 1)}, "missing")


def test_machine_info_names_cpu_blas_and_threads():
    info = protocol.machine_info()
    assert info["cores"] >= 1 and info["blas"], info
    text = "\n".join(protocol.format_machine(info))
    assert "machine:" in text and "kernel" in text and "thread" in text


def test_gemm_floor_runs_the_steps_products():
    Ws = [np.ones((4, 3)), np.ones((2, 4))]
    floor = dense.GemmFloor(Ws, batch=5, dtype=np.float64)
    floor.step()
    assert floor.n_products == 5
    np.testing.assert_allclose(floor.fw[1], Ws[1] @ floor.xs[1])
    np.testing.assert_allclose(floor.bw[1], Ws[1].T @ floor.ss[1])
    np.testing.assert_allclose(floor.gw[0], floor.ss[0] @ floor.xs[0].T)


@pytest.mark.parametrize("seed", [0, 3])
def test_scipy_baseline_is_the_engines_diffusion_step(seed):
    net = sparse.sparse_net(400, seed=seed)
    rng = np.random.default_rng(seed)
    ref = sparse.ScipyDiffusion(net, batch=3, eta=0.05)
    eng = VectorEngine(net, DIFFUSION, {"eta": 0.05}, batch=3)
    for _ in range(4):
        u = rng.normal(size=(len(net.input_idx), 3))
        y = rng.normal(size=(len(net.output_idx), 3))
        ref.step(u, y)
        eng.advance(u, y)
    np.testing.assert_allclose(eng.state("x"), ref.x, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(eng.state("delta"), ref.delta, rtol=1e-12, atol=1e-14)
    w = ref.W.toarray()[net.tgt, net.src]
    np.testing.assert_allclose(eng.state("weight"), w, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(ref.WT.toarray(), ref.W.toarray().T)  # a view, in step


@pytest.mark.parametrize(("seed", "batch"), [(0, 1), (2, 4), (7, 16)])
def test_engine_products_are_the_engines_step_products(seed, batch):
    """The floor contender computes the step's forward, backward and Hebbian products."""
    net = sparse.sparse_net(500, seed=seed)
    eng = VectorEngine(net, DIFFUSION, {"eta": 0.05}, batch=batch)
    eng.advance(np.ones((len(net.input_idx), batch)))     # weights as the engine has them
    prod = sparse.EngineProducts(eng, seed=seed)
    prod.step()
    prod.step()                                            # inboxes zeroed, not summed
    W = np.zeros((net.n_nodes, net.n_nodes))
    W[net.tgt, net.src] = eng.state("weight")
    W = W[np.ix_(eng.perm, eng.perm)]                      # internal order: inputs first
    n_in = len(net.input_idx)
    np.testing.assert_allclose(prod.net_in, (W @ prod.x)[n_in:], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(prod.back_in, W[n_in:, n_in:].T @ prod.delta[n_in:],
                               rtol=1e-12, atol=1e-14)
    internal_src = eng.position[net.src][eng.block_order]
    internal_tgt = eng.position[net.tgt][eng.block_order]
    np.testing.assert_allclose(
        prod.dw, np.einsum("eb,eb->e", prod.post[internal_tgt - n_in], prod.x[internal_src]),
        rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("seed", "batch", "edges"), [(0, 1, 500), (3, 4, 500), (5, 2, 3000)])
def test_call_floor_is_the_engines_step(seed, batch, edges):
    """The floor contender is a whole diffusion step: the engine's trajectory (x, δ,
    weights, biases, Σ dw) with inputs and targets changing every step."""
    net = sparse.sparse_net(edges, seed=seed)
    rng = np.random.default_rng(seed)
    eng = VectorEngine(net, DIFFUSION, {"eta": 0.05}, batch=batch)
    u = np.empty((len(net.input_idx), batch))
    y = np.empty((len(net.output_idx), batch))
    floor = sparse.CallFloor(eng, u, y)
    n_in = len(net.input_idx)
    for _ in range(5):
        u[...] = rng.normal(size=u.shape)
        y[...] = rng.normal(size=y.shape)
        eng.advance(u, y)
        floor.step()
        x = np.concatenate([u, floor.x])[eng.position]       # canonical order
        np.testing.assert_allclose(eng.state("x"), x, rtol=1e-12, atol=1e-14)
        delta = np.concatenate([np.zeros_like(u), floor.delta])[eng.position]
        np.testing.assert_allclose(eng.state("delta"), delta, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(eng.state("weight"), floor.w[eng._inverse_order],
                                   rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(eng.state("dw_sum"), floor.dw_sum[eng._inverse_order],
                                   rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(eng.state("bias")[eng.perm[n_in:]].reshape(-1, 1),
                                   floor.bias,
                                   rtol=1e-12, atol=1e-14)


def test_minimal_mesa_model_is_the_forward_rule():
    r = agent.bench_agent(60, rounds=2, seconds_per_call=0.002, diffusion=False)
    assert r["max_abs_diff"] < 1e-12
    assert r["msgs_per_s"]["forward"][0] > 0 and r["engine_over_mesa"][0] > 0


@pytest.mark.parametrize("seed", [0, 5])
def test_minimal_mesa_model_matches_the_engine_step_by_step(seed):
    from agents.forward import FORWARD
    from networks.engines import AgentEngine

    net = sparse.sparse_net(300, seed=seed)
    rng = np.random.default_rng(seed)
    eng, ref = AgentEngine(net, FORWARD), agent.MinimalMesa(net)
    for _ in range(3):      # from the first step on, with an input changing every step
        u = rng.normal(size=len(net.input_idx))
        eng.advance(u)
        ref.advance(u)
        np.testing.assert_allclose(ref.x, eng.state("x"), rtol=1e-12, atol=1e-14)


def test_small_suite_prints_every_figure():
    lines = []
    res = suite.run(("dense", "sparse", "agent"), "small", lines.append)
    text = "\n".join(lines)
    for needle in ("machine:", "BLAS:", "kernel", "1 thread(s) while timing", "LP/BP",
                   "diffusion/BP", "check_finite on", "bare", "GEMM fraction reached",
                   "engine/scipy", "products alone", "calls alone", "max/min",
                   "page faults/step",
                   "LP memory", "messages/s", "minimal Mesa", "build"):
        assert needle in text, needle
    dense_rows = [v for k, v in res.items() if k.startswith("dense_")]
    assert len(dense_rows) == 2
    for r in dense_rows:
        lo, med = r["timing"].ratio("lp")
        assert 0 < lo <= med
    assert res["sparse_lp_memory"]["total_mb"] > 0


def test_cli_refuses_unknown_benchmark(capsys):
    with pytest.raises(SystemExit):
        suite.main(["nonsense"])
    assert "unknown benchmark" in capsys.readouterr().err


@pytest.mark.slow  # spawns eight processes that each build a 784-256-256-10 net (~1 min)
def test_sharing_benchmark_runs_capped_and_uncapped_pairs():
    from runs.bench import threads

    r = threads.bench_sharing(steps=1)
    assert r["share"] == max(1, r["cores"] // 2)
    for key in ("solo_s", "solo_one_thread_s", "pair_uncapped_s", "pair_capped_s"):
        assert r[key] > 0
    assert "capped" in threads.format_sharing(r)[0]


def test_page_faults_count_fresh_pages_only():
    """A fresh 80 MB array (always mapped anew) faults its pages in (at least 40 even
    with 2 MB transparent huge pages); memory in use does not."""
    buf = np.ones(10**7)
    fresh = sparse.page_faults(lambda: np.ones(10**7).sum())
    assert fresh >= 40
    assert sparse.page_faults(lambda: buf.fill(1.0)) < fresh / 10


def test_ensemble_sweep_benchmark_checks_equal_records(tmp_path):
    """The small ensemble figure: both sweeps run, their records compared (and found equal)."""
    lines = []
    res = suite.run(("ensemble",), "small", lines.append)
    text = "\n".join(lines)
    assert "ensembles vs one run per task" in text and "throughput ratio" in text
    r = res["ensemble"]
    assert r["runs"] == suite.ENSEMBLE_SWEEP["small"][0] and r["gap"] <= 1e-12
    assert r["wall"]["ratio_min"] > 0 and r["task"]["single"] > 0


def test_records_gap_sees_a_changed_number(tmp_path):
    import json
    import shutil

    from runs.bench.ensemble import records_gap, sweep_config
    from runs.sweeps.sweep import run_sweep

    cfg = sweep_config(tmp_path, 2, 1, 16)
    run_sweep(cfg, tmp_path / "a", executor="sequential", progress=False)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    assert records_gap(tmp_path / "a", tmp_path / "b") == (0.0, True, 2)
    path = next((tmp_path / "b" / "runs").glob("*.json"))
    rec = json.loads(path.read_text())
    rec["rows"][-1]["loss"] += 1e-9
    rec["rows"][-1]["test_acc"] += 0.5
    path.write_text(json.dumps(rec))
    gap, same_acc, _ = records_gap(tmp_path / "a", tmp_path / "b")
    assert gap >= 1e-9 and not same_acc
