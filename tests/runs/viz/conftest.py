import networkx as nx
import pytest

from networks.graphio import save_graph


def hand_built_cyclic() -> nx.DiGraph:
    """A small cyclic net with every edge kind the explorer draws.

    in0, in1 → h0 → h1 → h2 → out, with in1 → h3 → h1 beside h0; a lateral edge h0 → h3,
    a self-loop on h2 and a feedback edge out → h1 of delay 2.
    """
    G = nx.DiGraph()
    for n in ("in0", "in1"):
        G.add_node(n, role="input", activation="identity", bias=0.0)
    for n, b in (("h0", 0.1), ("h1", -0.1), ("h2", 0.05), ("h3", 0.0)):
        G.add_node(n, role="hidden", activation="tanh", bias=b)
    G.add_node("out", role="output", activation="sigmoid", bias=0.0)
    edges = [("in0", "h0", 0.8, 1), ("in1", "h0", -0.5, 1), ("in1", "h3", 0.7, 1),
             ("h0", "h1", 0.9, 1), ("h3", "h1", -0.6, 1), ("h1", "h2", 0.8, 1),
             ("h2", "out", 1.2, 1),
             ("h0", "h3", 0.3, 1),   # lateral
             ("h2", "h2", 0.3, 1),   # self-loop
             ("out", "h1", 0.4, 2)]  # feedback, delay 2
    for j, i, w, d in edges:
        G.add_edge(j, i, weight=w, delay=d)
    return G


@pytest.fixture
def cyclic_graph_file(tmp_path):
    path = tmp_path / "cyclic.json"
    save_graph(hand_built_cyclic(), path)
    return path
