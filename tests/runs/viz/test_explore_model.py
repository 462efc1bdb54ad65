"""The explorer's model, data, controls and CLI (no browser)."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from agents import RULES
from agents.errors import ConvergenceError
from networks.builders import layered
from networks.oracles import fixed_point
from runs.cli import main
from runs.viz import explore_controls as ctl
from runs.viz.explore_cone import copy_engine_state, neuron_differences
from runs.viz.explore_data import from_graph, load_source
from runs.viz.explore_model import ExplorerModel

from .conftest import hand_built_cyclic

CONFIGS = sorted((Path(__file__).resolve().parents[3] / "runs" / "configs").glob("*.toml"))


def _model(rule, data=None, seed=0, **kw):
    data = data or from_graph(hand_built_cyclic(), "cyclic", seed)
    params = ctl.starting_params(RULES[rule], ExplorerModel(data).net, 4, kw.pop("params", {}))
    return ExplorerModel(data, rule, params, batch=4, seed=seed, **kw)


@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("seed", [0, 3])
def test_twin_copy_is_exact(rule, seed):
    m = _model(rule, seed=seed, params={"eta": 0.05} if rule == "diffusion" else {})
    for _ in range(4):
        m.step()
    twin = m._new_engine()
    copy_engine_state(m.engine, twin)
    u, y = m._current_batch()
    for _ in range(5):
        m.engine.advance(u, y)
        twin.advance(u, y)
    assert neuron_differences(m.engine, twin).max() == 0.0


@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("seed", [1, 2])
def test_cone_respects_locality_and_spreads(rule, seed):
    m = _model(rule, seed=seed)
    for _ in range(3):
        m.step()
    m.perturb("h0", scale=0.3)
    assert m.cone.reached.sum() == 1 and m.cone.farthest == 0
    stages = len(m.rule.stages)
    sizes = []
    for k in range(1, 5):
        m.step()
        c = m.cone
        assert (c.steps, c.rounds) == (k, k * stages)
        assert c.farthest <= c.rounds
        assert not c.reached[c.hops > c.rounds].any()
        sizes.append(int(c.reached.sum()))
    assert sizes[0] > 1 and sizes == sorted(sizes)
    m.clear_perturbation()
    m.step()
    assert m.cone is None and np.isnan(m.node_values("cone")).all()


def test_forward_messages_are_delayed_outputs():
    m = _model("forward")
    xs = []
    for _ in range(6):
        m.step()
        xs.append(m.engine.state("x").mean(axis=1))
    msg = m.edge_values("net")
    net = m.net
    for e in range(net.n_edges):
        d = net.delay[e]
        assert msg[e] == pytest.approx(xs[-1 - d][net.src[e]], abs=1e-15)
    change = m.edge_values("net change")
    assert np.all(change >= 0)


def test_diffusion_update_follows_the_exact_gradient_on_a_dag():
    G = layered([2, 5, 1], activation="tanh", output_activation="sigmoid", seed=4)
    data = from_graph(G, "dag", 4)
    m = ExplorerModel(data, "diffusion", {"eta": 1e-4}, batch=4, hold=30, seed=4)
    for _ in range(12):
        m.step()
    assert m.reference.startswith("BP")
    assert m.metrics[2] > 0.999  # settled waves: the update is the BP gradient
    assert 0.0 <= m.metrics[1] <= 1.0 and m.metrics[0] > 0


def test_cycle_without_fixed_point_has_a_bptt_cosine():
    G = hand_built_cyclic()
    G.edges["h2", "h2"]["weight"] = 4.0  # a self-loop strong enough for oscillation
    G.edges["h1", "h2"]["weight"] = 6.0
    G.edges["out", "h1"]["weight"] = -12.0
    G.edges["h2", "out"]["weight"] = 8.0
    m = ExplorerModel(from_graph(G, "osc", 0), "diffusion", {"eta": 0.05}, batch=4)
    for _ in range(3):  # the error has not reached the weights yet: no update
        m.step()
    assert np.isnan(m.metrics[2])
    for _ in range(5):
        m.step()
    # no fixed point for the static iteration; the cosine is against BPTT of what the
    # delayed network computes with the batch held (settled or over 2000 steps)
    with pytest.raises(ConvergenceError):
        fixed_point(m.net, m._u, m.engine.state("weight"), m.engine.state("bias"),
                    max_iter=2000)
    assert m.reference == "BPTT over 2000 steps (no fixed point)"
    assert np.isfinite(m.metrics[2]) and -1 <= m.metrics[2] <= 1


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_example_configs_load_and_run(path):
    data = load_source(str(path))
    m = ExplorerModel(data, data.rule, data.rule_params, batch=4, hold=data.hold)
    for _ in range(3):
        m.step()
    assert m.error is None
    assert np.isfinite(m.metrics[0])
    frame = m.datacollector.get_model_vars_dataframe()
    assert len(frame) == 4 and list(frame.columns) == ["loss", "accuracy", "cosine"]


def test_controls_come_from_the_rules():
    for name, rule in RULES.items():
        specs = ctl.param_specs(rule)
        fields = [f.name for f in dataclasses.fields(rule.params)]
        assert [s.name for s in specs] == fields
        assert "x" in ctl.colour_choices(rule) and "cone" in ctl.colour_choices(rule)
        chans = [c.name for st in rule.stages for c in st.channels]
        both = [c.direction for st in rule.stages for c in st.channels]
        waves = ["waves"] if {"forward", "backward"} <= set(both) else []
        assert ctl.edge_choices(rule) == ["weight", *[f"{c}{s}" for c in chans
                                                      for s in ("", " change")], *waves]
        m = _model(name)  # the starting parameters are accepted by the rule
        m.step()
        assert m.error is None
    assert "support" in ctl.colour_choices(RULES["lp"])
    assert ctl.default_edges(RULES["diffusion"]) == "waves"
    assert ctl.default_edges(RULES["forward"]) == "weight"
    spec = next(s for s in ctl.param_specs(RULES["lp"]) if s.name == "eta_w")
    assert spec.kind == "text" and spec.parse("0.5") == 0.5


def test_cli_rejects_bad_sources(tmp_path, capsys):
    assert main(["explore", str(tmp_path / "missing.json")]) == 2
    assert "no file" in capsys.readouterr().err
    bad = tmp_path / "g.txt"
    bad.write_text("x")
    assert main(["explore", str(bad)]) == 2
    assert "neither a graph" in capsys.readouterr().err
    assert main(["explore", "--port", "70000"]) == 2


@pytest.mark.parametrize("seed", [0, 5])
def test_delayed_rules_see_targets_after_the_output_latency(seed):
    G = layered([2, 3, 1], activation="tanh", output_activation="sigmoid", seed=seed)
    m = ExplorerModel(from_graph(G, "dag", seed), "diffusion", {"eta": 0.0}, batch=2)
    assert m.latency.tolist() == [2]
    out = m.net.output_idx[0]
    errors = []
    for _ in range(4):
        m.step()
        errors.append(np.abs(m.engine.state("e")[out]).max())
    assert errors[0] == 0.0 and errors[1] == 0.0 and errors[2] > 0 and errors[3] > 0
    lp = ExplorerModel(from_graph(G, "dag", seed), "lp", batch=2)
    assert lp.latency.tolist() == [0]  # undelayed messages: the target at once
