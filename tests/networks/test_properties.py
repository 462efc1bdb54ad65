"""Property-based tests (Hypothesis) on random graphs, for every rule of the library:
the two engines agree, and a neuron's state after one step depends only on neurons
within S hops (S = message rounds per step; in- and out-neighbours for S = 1)."""

import networkx as nx
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents import RULES
from networks.builders import random_dag, random_digraph
from networks.compile import compile_graph
from networks.engines import AgentEngine, VectorEngine

PARAMS = {"forward": None, "diffusion": {"eta": 0.05}, "fa": {"eta": 0.05},
          "lp": {"eta_w": 0.05, "eta_x": 0.2, "eta_lam": 0.2, "rho": 0.5},
          "lp2": {"eta_w": 0.05, "eta_x": 0.2, "eta_lam": 0.2, "rho": 0.5, "two_round": True}}
SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def graphs(draw):
    n = draw(st.integers(6, 24))
    cyclic = draw(st.booleans())
    build = random_digraph if cyclic else random_dag
    return build(n, draw(st.integers(n, 3 * n)), n_inputs=draw(st.integers(1, 3)),
                 n_outputs=draw(st.integers(1, 2)), seed=draw(st.integers(0, 10**6)),
                 delays=(1, draw(st.integers(1, 3))), weight_scale=0.8,
                 activation=draw(st.sampled_from(["tanh", "sigmoid"])))


def _data(net, steps, batch, seed):
    rng = np.random.default_rng(seed)
    U = rng.normal(size=(steps, len(net.input_idx), batch))
    Y = rng.uniform(size=(steps, len(net.output_idx), batch))
    return U, Y


@SETTINGS
@given(G=graphs(), rule=st.sampled_from(sorted(RULES)), batch=st.integers(1, 3),
       seed=st.integers(0, 1000))
def test_engines_agree_on_random_graphs(G, rule, batch, seed):
    net = compile_graph(G)
    r = RULES[rule]
    names = [v.name for v in r.all_node_vars] + [v.name for v in r.all_edge_vars]
    U, Y = _data(net, 12, batch, seed)
    recs = [cls(net, r, PARAMS[rule], batch=batch, record=names).run(U, Y)
            for cls in (AgentEngine, VectorEngine)]
    for name in names:
        scale = max(1.0, float(np.abs(recs[1][name]).max()))
        np.testing.assert_allclose(recs[0][name], recs[1][name], rtol=1e-10,
                                   atol=1e-12 * scale, err_msg=name)


@SETTINGS
@given(G=graphs(), rule=st.sampled_from(sorted(RULES)), pick=st.integers(0, 10**6),
       engine=st.sampled_from([AgentEngine, VectorEngine]))
def test_locality_on_random_graphs(G, rule, pick, engine):
    net = compile_graph(G)
    r = RULES[rule]
    hops_allowed = len(r.stages)
    rng = np.random.default_rng(pick)
    targets = [n for n in net.node_ids if not net.is_input[net.index[n]]]
    i = targets[pick % len(targets)]
    dist = nx.single_source_shortest_path_length(G.to_undirected(as_view=True), i)
    far = [m for m in net.node_ids if dist.get(m, 10**9) > hops_allowed]
    U, Y = _data(net, 6, 2, pick)
    names = [v.name for v in r.all_node_vars]

    def after_one_step(perturb):
        eng = engine(net, r, PARAMS[rule], batch=2)
        eng.run(U[:-1], Y[:-1])
        if perturb is not None:
            eng.perturb_neuron(perturb, rng)
        eng.advance(U[-1], Y[-1])
        return eng.neuron(i)

    base = after_one_step(None)
    for m in far[:3]:
        other = after_one_step(m)
        for k in names:
            assert np.array_equal(base[k], other[k]), (rule, i, m, k)
        assert base["in_edges"] == other["in_edges"]
