import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.errors import GraphError
from networks.builders import (
    MAX_SLOPE,
    layered,
    layered_recurrent,
    random_dag,
    random_digraph,
    recurrent_block,
    ring,
    scale_to_contractive,
)
from networks.validate import is_dag, nodes_with_role, validate_graph

BUILDERS = {
    "layered": lambda seed, **kw: layered([3, 5, 4, 2], seed=seed, bias_scale=0.1, **kw),
    "layered_recurrent": lambda seed, **kw: layered_recurrent(
        [3, 5, 4, 2], seed=seed, lateral=0.3, feedback=0.3, bias_scale=0.1, **kw),
    "ring": lambda seed, **kw: ring(6, n_inputs=2, n_outputs=2, seed=seed, bias_scale=0.1,
                                    **kw),
    "random_dag": lambda seed, **kw: random_dag(15, 40, n_inputs=3, n_outputs=2, seed=seed,
                                                **kw),
    "random_digraph": lambda seed, **kw: random_digraph(15, 40, n_inputs=3, n_outputs=2,
                                                        seed=seed, **kw),
}


def as_data(G):
    return (list(G.nodes(data=True)), list(G.edges(data=True)),
            [list(G.predecessors(v)) for v in G])


@pytest.mark.parametrize("name", BUILDERS)
def test_common_conventions(name):
    G = BUILDERS[name](0)
    validate_graph(G)
    assert list(G.nodes) == list(range(G.number_of_nodes()))
    roles = [r for _, r in G.nodes(data="role")]
    # inputs first, outputs last, contiguous
    assert roles == sorted(roles, key=["input", "hidden", "output"].index)
    for n, d in G.nodes(data=True):
        assert type(d["bias"]) is float and isinstance(d["activation"], str)
        if d["role"] == "input":
            assert d["activation"] == "identity" and d["bias"] == 0.0
            assert G.in_degree(n) == 0
        else:
            assert G.in_degree(n) >= 1
    for _, _, d in G.edges(data=True):
        assert type(d["weight"]) is float and type(d["delay"]) is int and d["delay"] >= 1
    # edges inserted sorted by (source, target)
    assert list(G.edges) == sorted(G.edges)


@pytest.mark.parametrize("name", BUILDERS)
def test_reproducible(name):
    assert as_data(BUILDERS[name](7)) == as_data(BUILDERS[name](7))
    assert as_data(BUILDERS[name](7)) == as_data(BUILDERS[name](np.random.default_rng(7)))
    assert as_data(BUILDERS[name](7)) != as_data(BUILDERS[name](8))


@pytest.mark.parametrize("name", BUILDERS)
def test_random_delays_in_range(name):
    G = BUILDERS[name](3, delays=(2, 4))
    delays = {d for *_, d in G.edges(data="delay")}
    assert delays <= {1, 2, 3, 4} and len(delays & {2, 3, 4}) >= 2
    G = BUILDERS[name](3, delays=3)
    if name != "layered_recurrent":  # its recurrent edges use recurrent_delays
        assert {d for *_, d in G.edges(data="delay")} == {3}


def test_layered_shapes_and_layers():
    G = layered([3, 5, 2], "relu", "sigmoid", seed=0)
    assert G.number_of_nodes() == 10 and G.number_of_edges() == 3 * 5 + 5 * 2
    assert [G.nodes[n]["layer"] for n in G] == [0] * 3 + [1] * 5 + [2] * 2
    assert nodes_with_role(G, "input") == [0, 1, 2]
    assert nodes_with_role(G, "hidden") == list(range(3, 8))
    assert nodes_with_role(G, "output") == [8, 9]
    assert {G.nodes[n]["activation"] for n in range(3, 8)} == {"relu"}
    assert {G.nodes[n]["activation"] for n in (8, 9)} == {"sigmoid"}
    assert set(G.predecessors(8)) == set(range(3, 8))
    assert is_dag(G)
    assert all(G.nodes[n]["bias"] == 0.0 for n in G)  # bias_scale=0


def test_layered_activation_list_and_errors():
    G = layered([2, 3, 3, 1], ["tanh", "relu", "identity"], seed=0)
    assert [G.nodes[n]["activation"] for n in (2, 5, 8)] == ["tanh", "relu", "identity"]
    with pytest.raises(GraphError, match="need one per non-input layer"):
        layered([2, 3, 1], ["tanh"], seed=0)
    with pytest.raises(GraphError, match="unknown activation 'swish'"):
        layered([2, 3, 1], "swish", seed=0)
    with pytest.raises(GraphError, match="sizes needs at least"):
        layered([2], seed=0)
    with pytest.raises(GraphError, match="got 0"):
        layered([2, 0, 1], seed=0)
    with pytest.raises(GraphError, match="seed"):
        layered([2, 1], seed=None)
    with pytest.raises(GraphError, match="delays"):
        layered([2, 1], seed=0, delays=0)
    with pytest.raises(GraphError, match="lo <= hi"):
        layered([2, 1], seed=0, delays=(3, 2))
    with pytest.raises(GraphError, match="weight_scale"):
        layered([2, 1], seed=0, weight_scale=-1.0)


def test_layered_weight_variance_follows_fan_in():
    G = layered([400, 300, 1], seed=1, weight_scale=2.0)
    w = np.array([G.edges[j, i]["weight"] for i in range(400, 700) for j in range(400)])
    assert abs(w.mean()) < 0.01
    assert w.var() == pytest.approx(4.0 / 400, rel=0.02)


def test_layered_recurrent_structure():
    sizes = [2, 6, 5, 3]
    G = layered_recurrent(sizes, seed=0, lateral=0.5, feedback=0.5, recurrent_delays=2)
    F = layered(sizes, seed=0)
    layer = nx.get_node_attributes(G, "layer")
    for j, i in F.edges:  # the feedforward part is exactly `layered` with the same seed
        assert G.edges[j, i] == F.edges[j, i]
    rec = [(j, i) for j, i in G.edges if not F.has_edge(j, i)]
    assert rec and not is_dag(G)
    assert all(G.nodes[i]["role"] == "hidden" for _, i in rec)
    for j, i in rec:
        assert layer[j] - layer[i] in (0, 1) and G.edges[j, i]["delay"] == 2
    assert {(i, i) for i in nodes_with_role(G, "hidden")} <= set(rec)
    assert any(layer[j] == layer[i] and j != i for j, i in rec)  # lateral
    assert any(layer[j] == 3 and layer[i] == 2 for j, i in rec)  # output feedback
    H = layered_recurrent(sizes, seed=0, self_loops=False)
    assert as_data(H) == as_data(F)
    with pytest.raises(GraphError, match="lateral"):
        layered_recurrent(sizes, seed=0, lateral=1.5)


def test_ring_structure():
    G = ring(5, n_inputs=2, n_outputs=3, seed=0, weight_scale=0.8)
    ring_ids = list(range(2, 7))
    assert nodes_with_role(G, "hidden") == ring_ids
    assert nodes_with_role(G, "output") == [7, 8, 9]
    for p in range(5):
        assert abs(G.edges[ring_ids[p], ring_ids[(p + 1) % 5]]["weight"]) == 0.8
    assert set(G.successors(0)) == {2} and set(G.successors(1)) == {4}
    assert [next(iter(G.predecessors(o))) for o in (7, 8, 9)] == [6, 5, 3]
    assert G.number_of_edges() == 5 + 2 + 3
    cycles = list(nx.simple_cycles(G))
    assert cycles and sorted(cycles[0]) == ring_ids
    _, W = recurrent_block(G)
    assert np.linalg.norm(W[:5, :5], 2) == pytest.approx(0.8)
    single = ring(1, seed=0)
    assert single.has_edge(1, 1) and not is_dag(single)


def test_random_dag_properties():
    for seed in range(5):
        G = random_dag(20, 45, n_inputs=3, n_outputs=2, seed=seed)
        assert is_dag(G)
        assert G.number_of_nodes() == 20 and G.number_of_edges() == 45
        assert nodes_with_role(G, "input") == [0, 1, 2]
        assert nodes_with_role(G, "output") == [18, 19]
    # too few edges requested: one in-edge per non-input node
    G = random_dag(10, 0, seed=0)
    assert G.number_of_edges() == 8
    # too many: all forward pairs not ending in an input
    G = random_dag(6, 10**6, n_inputs=2, seed=0)
    assert G.number_of_edges() == 6 * 5 // 2 - 1
    with pytest.raises(GraphError, match="n_nodes=3 is less than"):
        random_dag(3, 5, n_inputs=2, n_outputs=2, seed=0)


def test_random_dag_ids_are_not_always_topological():
    G = random_dag(30, 80, n_inputs=2, n_outputs=1, seed=0)
    assert any(j > i for j, i in G.edges)


def test_random_digraph_properties():
    G = random_digraph(30, 90, n_inputs=3, n_outputs=2, seed=0)
    assert G.number_of_edges() == 90 and not is_dag(G)
    assert any(j > i for j, i in G.edges) and any(j < i for j, i in G.edges)
    G = random_digraph(5, 10**6, n_inputs=1, seed=0)
    assert G.number_of_edges() == 5 * 4 and any(j == i for j, i in G.edges)
    G = random_digraph(5, 10**6, n_inputs=1, seed=0, self_loops=False)
    assert G.number_of_edges() == 5 * 4 - 4 and nx.number_of_selfloops(G) == 0


@settings(max_examples=60, deadline=None)
@given(n_in=st.integers(1, 4), n_out=st.integers(1, 3), n_hid=st.integers(0, 8),
       n_edges=st.integers(0, 120), acyclic=st.booleans(), self_loops=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_random_graph_invariants(n_in, n_out, n_hid, n_edges, acyclic, self_loops, seed):
    N = n_in + n_hid + n_out
    if acyclic:
        G = random_dag(N, n_edges, n_inputs=n_in, n_outputs=n_out, seed=seed)
        n_max = N * (N - 1) // 2 - n_in * (n_in - 1) // 2
        assert is_dag(G)
    else:
        G = random_digraph(N, n_edges, n_inputs=n_in, n_outputs=n_out, seed=seed,
                           self_loops=self_loops)
        n_max = N * (N - n_in) - (0 if self_loops else N - n_in)
        assert self_loops or nx.number_of_selfloops(G) == 0
    validate_graph(G)
    assert G.number_of_edges() == min(max(n_edges, N - n_in), n_max)
    assert all(G.in_degree(n) >= 1 for n in range(n_in, N))
    reachable = set().union(*(nx.descendants(G, i) for i in range(n_in)))
    assert reachable >= set(range(n_in, N))


def test_random_weights_follow_final_fan_in():
    G = random_digraph(60, 600, seed=2, weight_scale=1.5)
    z = np.array([w * np.sqrt(G.in_degree(i)) for _, i, w in G.edges(data="weight")])
    assert z.var() == pytest.approx(1.5**2, rel=0.15)


@pytest.mark.parametrize("name", ["layered_recurrent", "ring", "random_digraph",
                                  "random_dag"])
@pytest.mark.parametrize("gain", [0.5, 0.9])
def test_scale_to_contractive(name, gain):
    G = BUILDERS[name](1)
    H = scale_to_contractive(G, gain)
    validate_graph(H)
    nodes, W = recurrent_block(H)
    slope = max(MAX_SLOPE[H.nodes[v]["activation"]] for v in nodes)
    assert np.linalg.norm(W, 2) * slope == pytest.approx(gain, rel=1e-12)
    for j, i in G.edges:  # input edges untouched, others scaled by one factor
        if G.nodes[j]["role"] == "input":
            assert H.edges[j, i]["weight"] == G.edges[j, i]["weight"]
    _, W0 = recurrent_block(G)
    ratio = W[W0 != 0] / W0[W0 != 0]
    assert np.allclose(ratio, ratio[0])
    assert as_data(G) == as_data(BUILDERS[name](1))  # G not modified


def test_scale_to_contractive_sigmoid_and_edge_cases():
    G = layered_recurrent([2, 4, 1], "sigmoid", seed=0)
    H = scale_to_contractive(G, 0.5)
    _, W = recurrent_block(H)
    assert np.linalg.norm(W, 2) == pytest.approx(2.0)  # 0.5 / max sigmoid' (0.25)
    F = layered([3, 2], seed=0)  # no edge among non-inputs: unchanged copy
    assert as_data(scale_to_contractive(F)) == as_data(F)
    with pytest.raises(GraphError, match="gain"):
        scale_to_contractive(G, 0.0)
