import re

import networkx as nx
import numpy as np
import pytest

from agents.errors import GraphError, LocalpropError
from networks.validate import (
    default_attributes,
    is_dag,
    is_delay,
    is_real,
    nodes_with_role,
    validate_graph,
)


def small_graph() -> nx.DiGraph:
    """Inputs 0, 1 -> hidden 2 -> output 3, plus a delayed self-loop on 2."""
    G = nx.DiGraph()
    G.add_node(0, role="input")
    G.add_node(1, role="input")
    G.add_node(2, role="hidden", activation="sigmoid", bias=0.5)
    G.add_node(3, role="output", activation="identity")
    G.add_edge(0, 2, weight=1.0)
    G.add_edge(1, 2, weight=-0.5, delay=2)
    G.add_edge(2, 2, weight=0.1, delay=np.int64(1))
    G.add_edge(2, 3, weight=np.float64(2.0))
    return G


def test_valid_graph_passes():
    assert validate_graph(small_graph()) is None


def test_string_ids_and_numpy_numbers_pass():
    G = nx.relabel_nodes(small_graph(), {0: "a", 1: "b", 2: "h", 3: "y"})
    G.nodes["h"]["bias"] = np.float32(0.25)
    G.nodes["h"]["layer"] = np.int64(1)
    validate_graph(G)


def test_graph_error_is_a_localprop_value_error():
    with pytest.raises(LocalpropError):
        validate_graph(nx.DiGraph())
    with pytest.raises(ValueError):
        validate_graph(nx.DiGraph())


@pytest.mark.parametrize("G, match", [
    (nx.Graph(), "got Graph"),
    (nx.MultiDiGraph(), "got MultiDiGraph"),
    ("not a graph", "got str"),
    (nx.DiGraph(), "no nodes"),
])
def test_wrong_container(G, match):
    with pytest.raises(GraphError, match=match):
        validate_graph(G)


def _mutate_node(n, **attrs):
    def f(G):
        for k, v in attrs.items():
            if v is _DELETE:
                del G.nodes[n][k]
            else:
                G.nodes[n][k] = v
    return f


def _mutate_edge(u, v, **attrs):
    def f(G):
        for k, x in attrs.items():
            if x is _DELETE:
                del G.edges[u, v][k]
            else:
                G.edges[u, v][k] = x
    return f


_DELETE = object()

NODE_CASES = [
    (_mutate_node(2, role=_DELETE), "node 2 has no 'role'"),
    (_mutate_node(2, role="neuron"), "node 2 has role 'neuron'"),
    (_mutate_node(1, role=None), "node 1 has role None"),
    (_mutate_node(2, role=["hidden"]), re.escape("node 2 has role ['hidden']")),
    (_mutate_node(2, activation="softplus"), "node 2 has unknown activation 'softplus'"),
    (_mutate_node(0, activation=3), "node 0 has unknown activation 3"),
    (_mutate_node(2, bias=float("nan")), "node 2 has bias nan"),
    (_mutate_node(3, bias=float("inf")), "node 3 has bias inf"),
    (_mutate_node(2, bias="0.5"), "node 2 has bias '0.5'"),
    (_mutate_node(2, bias=True), "node 2 has bias True"),
    (_mutate_node(2, bias=None), "node 2 has bias None"),
    (_mutate_node(2, bias=10**400), "node 2 has bias 1000"),
    (_mutate_node(2, layer=1.0), "node 2 has layer 1.0"),
    (_mutate_node(2, layer=-1), "node 2 has layer -1"),
]

EDGE_CASES = [
    (_mutate_edge(0, 2, weight=_DELETE), re.escape("edge (0, 2) has no 'weight'")),
    (_mutate_edge(0, 2, weight=float("nan")), re.escape("edge (0, 2) has weight nan")),
    (_mutate_edge(2, 3, weight=-np.inf), re.escape("edge (2, 3) has weight -inf")),
    (_mutate_edge(2, 3, weight="1.0"), re.escape("edge (2, 3) has weight '1.0'")),
    (_mutate_edge(2, 3, weight=False), re.escape("edge (2, 3) has weight False")),
    (_mutate_edge(2, 3, weight=1 + 2j), re.escape("edge (2, 3) has weight (1+2j)")),
    (_mutate_edge(1, 2, delay=0), re.escape("edge (1, 2) has delay 0; delay must be an "
                                            "integer >= 1")),
    (_mutate_edge(1, 2, delay=-3), re.escape("edge (1, 2) has delay -3")),
    (_mutate_edge(1, 2, delay=1.0), re.escape("edge (1, 2) has delay 1.0")),
    (_mutate_edge(1, 2, delay=True), re.escape("edge (1, 2) has delay True")),
    (_mutate_edge(2, 2, delay="2"), re.escape("edge (2, 2) has delay '2'")),
    (_mutate_edge(2, 2, delay=np.float64(2.0)), re.escape("edge (2, 2) has delay")),
]


@pytest.mark.parametrize("mutate, match", NODE_CASES + EDGE_CASES)
def test_attribute_errors_name_the_culprit(mutate, match):
    G = small_graph()
    mutate(G)
    with pytest.raises(GraphError, match=match):
        validate_graph(G)


def test_no_input_node():
    G = small_graph()
    G.remove_nodes_from([0, 1])
    with pytest.raises(GraphError, match="no input node"):
        validate_graph(G)


def test_no_output_node():
    G = small_graph()
    G.nodes[3]["role"] = "hidden"
    with pytest.raises(GraphError, match="no output node"):
        validate_graph(G)


def test_edge_into_input_is_named():
    G = small_graph()
    G.add_edge(3, 0, weight=1.0)
    with pytest.raises(GraphError, match=re.escape("edge (3, 0) points into input node 0")):
        validate_graph(G)


def test_string_ids_are_shown_with_repr():
    G = nx.relabel_nodes(small_graph(), {0: "x0", 1: "x1", 2: "h", 3: "y"})
    G.add_edge("y", "x1", weight=1.0)
    with pytest.raises(GraphError, match=re.escape("edge ('y', 'x1') points into input "
                                                   "node 'x1'")):
        validate_graph(G)


def test_unreachable_output_is_named():
    G = small_graph()
    G.add_node(4, role="output")
    G.add_node(5, role="hidden")
    G.add_edge(5, 4, weight=1.0)
    G.add_edge(4, 5, weight=1.0)  # a cycle with no way in from an input
    with pytest.raises(GraphError, match="output node 4 is not reachable from any input"):
        validate_graph(G)


def test_checks_run_in_documented_order():
    G = small_graph()
    G.nodes[2]["role"] = "bogus"
    G.edges[0, 2]["weight"] = float("nan")
    with pytest.raises(GraphError, match="role 'bogus'"):
        validate_graph(G)  # node checks come before edge checks


def test_default_attributes_fills_and_copies():
    G = small_graph()
    H = default_attributes(G)
    assert H is not G
    assert H.nodes[0]["activation"] == "identity" and H.nodes[0]["bias"] == 0.0
    assert H.nodes[2]["activation"] == "sigmoid" and H.nodes[2]["bias"] == 0.5
    assert H.nodes[3]["activation"] == "identity" and H.nodes[3]["bias"] == 0.0
    assert H.edges[0, 2]["delay"] == 1 and H.edges[1, 2]["delay"] == 2
    assert list(H.nodes) == list(G.nodes) and list(H.edges) == list(G.edges)
    assert "delay" not in G.edges[0, 2] and "bias" not in G.nodes[0]  # G untouched
    G2 = nx.DiGraph()
    G2.add_node("h", role="hidden")
    assert default_attributes(G2).nodes["h"]["activation"] == "tanh"


def test_helpers():
    G = small_graph()
    assert nodes_with_role(G, "input") == [0, 1]
    assert nodes_with_role(G, "output") == [3]
    assert not is_dag(G)
    G.remove_edge(2, 2)
    assert is_dag(G)
    assert is_real(1) and is_real(np.float32(0.5)) and not is_real(True)
    assert not is_real(np.bool_(True)) and not is_real("1") and not is_real(float("nan"))
    assert is_delay(1) and is_delay(np.int32(3)) and not is_delay(True)
    assert not is_delay(0) and not is_delay(2.0)
