"""LP rule (DESIGN §4): saddle point = backprop, gradient formulas, dynamics, engines."""

import networkx as nx
import numpy as np
import pytest

from agents.constraints import CONSTRAINTS
from agents.errors import ConfigError
from agents.lp import LP, LP_TWO_ROUND, LPParams, lp_rule
from networks.builders import random_dag, random_digraph, scale_to_contractive
from networks.compile import compile_graph
from networks.engines import make_engine
from networks.oracles import bp_gradient, finite_difference, recurrent_gradient, total_loss
from runs.methods.lagrangian import lagrangian, lagrangian_gradient, lp_terms
from tests.locality import perturbation_reaches

B = 3


def _dag(seed, n=14, loss="squared", **kw):
    out = "sigmoid" if loss == "bce" else "identity"
    return compile_graph(random_dag(n, 3 * n, n_inputs=3, n_outputs=2, seed=seed,
                                    output_activation=out, bias_scale=0.3, delays=(1, 3),
                                    **kw))


def _cyclic(seed, n=14, loss="squared", gain=None):
    out = "sigmoid" if loss == "bce" else "tanh"
    G = random_digraph(n, 3 * n, n_inputs=3, n_outputs=2, seed=seed, output_activation=out,
                       bias_scale=0.3, delays=(1, 3))
    return compile_graph(G if gain is None else scale_to_contractive(G, gain))


def _data(net, seed, loss="squared", batch=B):
    rng = np.random.default_rng(seed + 50)
    u = rng.normal(size=(len(net.input_idx), batch))
    n_out = len(net.output_idx)
    y = (rng.uniform(0.1, 0.9, size=(n_out, batch)) if loss == "bce"
         else rng.normal(size=(n_out, batch)))
    return u, y


def _all_vars(rule):
    return [v.name for v in rule.all_node_vars] + [v.name for v in rule.all_edge_vars]


# ----------------------------------------------------------------------------- params
@pytest.mark.parametrize(("field", "value", "match"), [
    ("constraint", "hinge", "unknown constraint 'hinge'"),
    ("loss", "mse", "unknown loss 'mse'"),
    ("optimizer", "rmsprop", "unknown optimizer 'rmsprop'"),
    ("state_optimizer", "lbfgs", "unknown optimizer 'lbfgs'"),
    ("eps", -0.1, "'eps' must be >= 0"),
    ("rho", -1.0, "'rho' must be >= 0"),
    ("eta_x", float("nan"), "'eta_x' must be a finite number"),
    ("eta_w", "0.1", "'eta_w' must be a finite number"),
    ("beta2", 1.0, r"'beta2' must be in \[0, 1\)"),
    ("adam_eps", 0.0, "'adam_eps' must be > 0"),
    ("reduce", "max", "'reduce' must be one of"),
    ("two_round", 1, "'two_round' must be a bool"),
])
def test_params_are_validated_naming_the_field(field, value, match):
    with pytest.raises(ConfigError, match=match):
        LPParams(**{field: value})
    with pytest.raises(ConfigError, match="unknown parameter 'eta'"):
        LP.make_params({"eta": 0.1})


def test_rule_variant_must_match_params():
    net = _dag(0)
    u, y = _data(net, 0)
    for rule, two in ((LP, True), (LP_TWO_ROUND, False)):
        eng = make_engine("vector", net, rule, LPParams(two_round=two), batch=B)
        with pytest.raises(ConfigError, match="lp_rule"):
            eng.advance(u, y)
    assert lp_rule(True) is LP_TWO_ROUND and lp_rule(False) is LP
    assert len(LP.stages) == 1 and len(LP_TWO_ROUND.stages) == 2


# ----------------------------------------------------------------------------- saddle = BP
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("loss", ["squared", "bce"])
def test_saddle_point_is_backprop_global_formula(seed, loss):
    """G = lin, ρ = α = μ = 0; x = forward pass, λ = −dx ⇒ ∂L/∂w = BP gradient."""
    net = _dag(seed, n=12 + 4 * seed, loss=loss)
    u, y = _data(net, seed, loss)
    gr = bp_gradient(net, u, y, loss)
    p = LPParams(loss=loss)
    d = lagrangian_gradient(net, gr.x, gr.lam, net.weight, net.bias, u, y, p)
    np.testing.assert_allclose(d["weight"], gr.dw, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(d["bias"], gr.db, rtol=1e-10, atol=1e-14)
    assert np.abs(d["x"]).max() < 1e-12 and np.abs(d["lam"]).max() < 1e-14
    # at a feasible point L is the loss (G(0) = 0), whatever λ
    assert lagrangian(net, gr.x, 7 * gr.lam, net.weight, net.bias, u, y, p) == \
        pytest.approx(total_loss(net, gr.x, y, loss), rel=1e-12)
    # and it is a genuine check: a wrong λ sign gives the wrong gradient
    bad = lagrangian_gradient(net, gr.x, -gr.lam, net.weight, net.bias, u, y, p)
    assert not np.allclose(bad["weight"], gr.dw)


@pytest.mark.parametrize("engine", ["agent", "vector"])
@pytest.mark.parametrize("two_round", [False, True])
@pytest.mark.parametrize(("seed", "reduce"), [(0, "sum"), (1, "mean"), (2, "sum")])
def test_saddle_point_one_rule_step_is_backprop(engine, two_round, seed, reduce):
    """One step with η_x = η_λ = 0: Δw / η_w = −dw (sum) or −dw / B (mean)."""
    net = _dag(seed)
    u, y = _data(net, seed)
    gr = bp_gradient(net, u, y)
    p = LPParams(eta_w=1.0, eta_x=0.0, eta_lam=0.0, reduce=reduce, two_round=two_round)
    eng = make_engine(engine, net, lp_rule(two_round), p, batch=B)
    eng.set_state("x", gr.x)
    eng.set_state("lam", np.where(net.is_input[:, None], 0.0, gr.lam))
    w0, b0 = eng.state("weight"), eng.state("bias")
    eng.advance(u, y)
    scale = B if reduce == "mean" else 1
    dw, db = (eng.state("weight") - w0) * scale, (eng.state("bias") - b0) * scale
    np.testing.assert_allclose(dw, -gr.dw, rtol=1e-10, atol=1e-13 * np.abs(gr.dw).max())
    np.testing.assert_allclose(db, -gr.db, rtol=1e-10, atol=1e-13 * np.abs(gr.db).max())
    np.testing.assert_allclose(eng.state("x"), gr.x, rtol=0, atol=0)
    np.testing.assert_allclose(eng.state("s"), np.where(net.is_input[:, None], 0, -gr.delta),
                               rtol=1e-10, atol=1e-14)


# ----------------------------------------------------------------------------- formulas
def _generic_point(net, seed, loss, eps):
    """A state away from every kink: |c| ≠ 0, ||c| − ε| and |x| bounded away from 0."""
    rng = np.random.default_rng(seed)
    for _ in range(200):
        x = rng.choice([-1.0, 1.0], size=(net.n_nodes, B)) * rng.uniform(0.2, 1.2,
                                                                         (net.n_nodes, B))
        if loss == "bce":
            x[net.output_idx] = rng.uniform(0.2, 0.8, (len(net.output_idx), B))
        lam = rng.normal(size=(net.n_nodes, B))
        w = net.weight * rng.uniform(0.5, 1.5, net.n_edges)
        b = rng.normal(scale=0.3, size=net.n_nodes)
        u, y = _data(net, seed, loss)
        c = np.abs(lp_terms(net, x, lam, w, b, u, LPParams())["c"][~net.is_input])
        if c.min() > 1e-3 and np.abs(c - eps).min() > 1e-3:
            x[net.input_idx] = u
            return x, lam, w, b, u, y
    raise AssertionError("no generic point found")


@pytest.mark.parametrize("constraint", sorted(CONSTRAINTS))
@pytest.mark.parametrize(("graph", "loss"), [("dag", "squared"), ("dag", "bce"),
                                             ("cyclic", "squared")])
def test_every_gradient_formula_matches_finite_differences(constraint, graph, loss):
    net = (_dag if graph == "dag" else _cyclic)(5, n=9, loss=loss)
    eps = 0.05 if constraint.endswith("eps") else 0.0
    p = LPParams(constraint=constraint, eps=eps, rho=0.7, alpha=0.3, mu=0.2, loss=loss)
    x, lam, w, b, u, y = _generic_point(net, 11, loss, eps)
    d = lagrangian_gradient(net, x, lam, w, b, u, y, p)
    args = {"x": x, "lam": lam, "weight": w, "bias": b}
    for name, value in args.items():
        def fn(theta, name=name, shape=value.shape):
            a = dict(args, **{name: theta.reshape(shape)})
            return lagrangian(net, a["x"], a["lam"], a["weight"], a["bias"], u, y, p)
        fd = finite_difference(fn, value, eps=1e-6)
        scale = np.abs(d[name]).max()
        assert scale > 1e-3, name  # the check is not vacuous
        np.testing.assert_allclose(d[name], fd, rtol=1e-6, atol=1e-7 * scale, err_msg=name)


@pytest.mark.parametrize("constraint", sorted(CONSTRAINTS))
@pytest.mark.parametrize("two_round", [False, True])
def test_one_rule_step_is_the_exact_descent_ascent_step(constraint, two_round):
    """From a generic state, one SGD step of the rule = (x, w, b) − η ∂L, λ + η_λ G.

    The one-round rule uses the children's s of the previous step; it is preset to the
    current s here, so both variants must give the exact step."""
    net = _dag(4, n=11)
    eps = 0.05 if constraint.endswith("eps") else 0.0
    p = LPParams(constraint=constraint, eps=eps, rho=0.4, alpha=0.2, mu=0.1, eta_w=0.3,
                 eta_x=0.2, eta_lam=0.1, reduce="sum", two_round=two_round)
    x, lam, w, b, u, y = _generic_point(net, 3, "squared", eps)
    lam[net.input_idx] = 0.0
    b[net.input_idx] = 0.0
    d = lagrangian_gradient(net, x, lam, w, b, u, y, p)
    for engine in ("vector", "agent"):
        eng = make_engine(engine, net, lp_rule(two_round), p, batch=B)
        for name, value in (("x", x), ("lam", lam), ("weight", w), ("bias", b),
                            ("s", lp_terms(net, x, lam, w, b, u, p)["s"])):
            eng.set_state(name, value)
        eng.advance(u, y)
        hid = ~net.is_input
        np.testing.assert_allclose(eng.state("x")[hid], (x - 0.2 * d["x"])[hid], rtol=1e-12)
        np.testing.assert_allclose(eng.state("lam"), lam + 0.1 * d["lam"], rtol=1e-12)
        np.testing.assert_allclose(eng.state("weight"), w - 0.3 * d["weight"], rtol=1e-12)
        np.testing.assert_allclose(eng.state("bias"), b - 0.3 * d["bias"], rtol=1e-12)


def test_input_neurons_are_clamped_and_carry_no_multiplier():
    net = _dag(6)
    u, y = _data(net, 6)
    eng = make_engine("vector", net, LP, LPParams(rho=1.0, optimizer="adam"), batch=B)
    eng.run(u, y, steps=20)
    inp = net.input_idx
    np.testing.assert_array_equal(eng.state("x")[inp], u)
    for name in ("lam", "c", "g", "s"):
        assert np.all(eng.state(name)[inp] == 0.0), name
        assert np.abs(eng.state(name)[~net.is_input]).max() > 0, name
    assert np.all(eng.state("bias")[inp] == 0.0)


# ----------------------------------------------------------------------------- dynamics
def _residual(eng, net, x_star, lam_star):
    hid = ~net.is_input
    return max(np.abs(eng.state("x") - x_star)[hid].max(),
               np.abs(eng.state("lam") - lam_star)[hid].max())


@pytest.mark.parametrize("two_round", [False, True])
@pytest.mark.parametrize("graph", ["dag", "cyclic"])
def test_frozen_weights_converge_to_forward_pass_and_adjoint(graph, two_round):
    """η_w = 0, G = lin, ρ = 1 (the augmented term does not move the saddle point):
    from x = λ = 0, (x, λ) → (forward pass or fixed point, −BP or −recurrent adjoint)."""
    if graph == "dag":
        net = _dag(7, n=16)
        gr = bp_gradient(net, *_data(net, 7))
    else:
        net = _cyclic(7, n=16, gain=0.5)
        assert not net.is_dag
        gr = recurrent_gradient(net, *_data(net, 7))
    u, y = _data(net, 7)
    p = LPParams(rho=1.0, eta_w=0.0, eta_x=0.2, eta_lam=0.2, two_round=two_round)
    eng = make_engine("vector", net, lp_rule(two_round), p, batch=B)
    residuals = []
    for _ in range(8):
        eng.run(u, y, steps=250)
        residuals.append(_residual(eng, net, gr.x, gr.lam))
    print(f"\n{graph} two_round={two_round}: residual every 250 steps "
          + " ".join(f"{r:.1e}" for r in residuals))
    assert residuals[-1] < 1e-8
    assert residuals[0] > residuals[-1]
    np.testing.assert_allclose(eng.state("weight"), net.weight)


# ----------------------------------------------------------------------------- engines
ADAM = {"rho": 0.5, "alpha": 0.01, "mu": 1e-3, "optimizer": "adam", "eta_w": 0.01,
        "eta_x": 0.05, "eta_lam": 0.05}


@pytest.mark.parametrize("two_round", [False, True])
@pytest.mark.parametrize(("graph", "constraint", "state_opt"),
                         [("dag", "lin", "adam"), ("cyclic", "abs-eps", "adam"),
                          ("cyclic", "squared", "sgd")])
def test_engines_agree_on_lp(two_round, graph, constraint, state_opt):
    net = (_dag if graph == "dag" else _cyclic)(8, n=13)
    p = LPParams(constraint=constraint, eps=0.01 if constraint == "abs-eps" else 0.0,
                 state_optimizer=state_opt, two_round=two_round, **ADAM)
    rule = lp_rule(two_round)
    rng = np.random.default_rng(3)
    U = rng.normal(size=(30, len(net.input_idx), B))
    Y = rng.normal(size=(30, len(net.output_idx), B))
    recs = [make_engine(k, net, rule, p, batch=B, record=_all_vars(rule)).run(U, Y)
            for k in ("agent", "vector")]
    for name in recs[0]:
        a, v = recs[0][name], recs[1][name]
        np.testing.assert_allclose(a, v, rtol=1e-10, atol=1e-12 * max(np.abs(v).max(), 1),
                                   err_msg=name)
    moving = ("x", "lam", "weight", "bias", "mw", "vw", "vb")
    for name in moving + (("vx", "ml") if state_opt == "adam" else ()):
        assert np.ptp(recs[1][name][-5:], axis=0).max() > 1e-8, name  # not trivial


def _hops(G, i):
    return nx.single_source_shortest_path_length(G.to_undirected(as_view=True), i)


@pytest.mark.parametrize("engine", ["agent", "vector"])
@pytest.mark.parametrize("two_round", [False, True])
@pytest.mark.parametrize("graph", ["dag", "cyclic"])
def test_locality(engine, two_round, graph):
    """Perturbing a neuron more than S hops away (S = rounds per step) leaves neuron i
    (state and in-edges) unchanged after one step; perturbing a parent or a child does not."""
    net = (_dag if graph == "dag" else _cyclic)(9, n=30)
    G, rule = net.graph, lp_rule(two_round)
    p = LPParams(two_round=two_round, **ADAM)
    S = len(rule.stages)
    rng = np.random.default_rng(7)
    U = rng.normal(size=(12, len(net.input_idx), 2))
    Y = rng.normal(size=(12, len(net.output_idx), 2))
    names = [v.name for v in rule.all_node_vars]
    far_checked = near_checked = 0
    for i in [n for n in net.node_ids if not net.is_input[net.index[n]]][:6]:
        hops = _hops(G, i)
        far = [m for m in net.node_ids if hops.get(m, 10**6) > S][:2]
        inner = [m for m in G.predecessors(i) if m != i and not net.is_input[net.index[m]]]
        near = inner[:1] + [m for m in G.successors(i) if m != i][:1]  # inputs are clamped
        if S == 2:  # a co-parent (2 hops) reaches i: its x changes a child's s in round 1
            near += [m for h in G.successors(i) for m in G.predecessors(h)
                     if hops.get(m) == 2 and not net.is_input[net.index[m]]][:1]
        for m, expect_same in [(m, False) for m in near] + [(m, True) for m in far]:
            same = not perturbation_reaches(
                lambda: make_engine(engine, net, rule, p, batch=2), U, Y, i, m, names)
            assert same == expect_same, (i, m, hops.get(m))
            far_checked += expect_same
            near_checked += not expect_same
    assert far_checked >= 3 and near_checked >= 3


# ----------------------------------------------------------------------------- optimisers
@pytest.mark.parametrize("two_round", [False, True])
@pytest.mark.parametrize("state_optimizer", ["default", None])
def test_adam_on_weights_leaves_plain_steps_on_x_and_lambda(two_round, state_optimizer):
    """optimizer="adam" puts Adam on w and b only: x and λ take the exact plain step
    x − η_x ∂L/∂x, λ + η_λ G(c), and their Adam moments stay 0; Adam on the states only
    with state_optimizer="adam"."""
    net = _dag(4, n=11)
    kw = {} if state_optimizer == "default" else {"state_optimizer": state_optimizer}
    p = LPParams(rho=0.4, eta_x=0.2, eta_lam=0.1, eta_w=0.3, optimizer="adam",
                 reduce="sum", two_round=two_round, **kw)
    x, lam, w, b, u, y = _generic_point(net, 3, "squared", 0.0)
    lam[net.input_idx] = 0.0
    b[net.input_idx] = 0.0
    d = lagrangian_gradient(net, x, lam, w, b, u, y, p)
    hid = ~net.is_input
    for opt, plain in ((p, True), (LPParams(**{**p.__dict__, "state_optimizer": "adam"}),
                                   False)):
        eng = make_engine("vector", net, lp_rule(two_round), opt, batch=B)
        for name, value in (("x", x), ("lam", lam), ("weight", w), ("bias", b),
                            ("s", lp_terms(net, x, lam, w, b, u, p)["s"])):
            eng.set_state(name, value)
        eng.advance(u, y)
        exact_x = np.allclose(eng.state("x")[hid], (x - 0.2 * d["x"])[hid], rtol=1e-12)
        exact_lam = np.allclose(eng.state("lam"), lam + 0.1 * d["lam"], rtol=1e-12)
        assert exact_x == plain and exact_lam == plain
        assert (np.abs(eng.state("vx")).max() == 0) == plain
        assert np.abs(eng.state("vw")).max() > 0  # Adam on the weights either way
