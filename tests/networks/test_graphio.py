import json
import os
import re

import networkx as nx
import numpy as np
import pytest

from agents.errors import GraphError
from networks.builders import layered, layered_recurrent, random_dag, random_digraph, ring
from networks.graphio import export_graphml, load_graph, save_graph


def snapshot(G):
    """Everything a round trip must keep, with types (so 1 and 1.0 differ)."""
    def typed(d):
        return sorted((k, type(v).__name__, v) for k, v in d.items())
    return ([(n, type(n).__name__, typed(d)) for n, d in G.nodes(data=True)],
            [(u, v, typed(d)) for u, v, d in G.edges(data=True)],
            [list(G.predecessors(n)) for n in G], dict(G.graph))


GRAPHS = {
    "layered": lambda: layered([3, 4, 2], seed=0, bias_scale=0.3, delays=(1, 3)),
    "layered_recurrent": lambda: layered_recurrent([2, 4, 3, 2], seed=1, lateral=0.4,
                                                   feedback=0.4, recurrent_delays=(1, 4)),
    "ring": lambda: ring(5, n_inputs=2, seed=2),
    "random_dag": lambda: random_dag(12, 30, seed=3, delays=(1, 5)),
    "random_digraph": lambda: random_digraph(12, 40, seed=4),
    "string_ids": lambda: nx.relabel_nodes(random_digraph(10, 30, seed=5),
                                           lambda n: f"n{n}"),
    "mixed_ids": lambda: nx.relabel_nodes(random_dag(8, 16, seed=6),
                                          lambda n: n if n % 2 else str(n)),
    "shuffled": lambda: nx.relabel_nodes(random_digraph(9, 25, seed=7),
                                         {i: (i * 5) % 9 for i in range(9)}),
}


@pytest.mark.parametrize("name", GRAPHS)
def test_round_trip_is_exact(name, tmp_path):
    G = GRAPHS[name]()
    G.graph["title"] = name
    path = tmp_path / "g.json"
    save_graph(G, path)
    H = load_graph(path)
    assert type(H) is nx.DiGraph
    assert snapshot(H) == snapshot(G)
    save_graph(H, str(path))  # str path, and a second save gives the same text
    text = path.read_text()
    save_graph(load_graph(path), path)
    assert path.read_text() == text


def test_file_is_node_link_with_edges_key(tmp_path):
    G = layered([2, 1], seed=0)
    save_graph(G, tmp_path / "g.json")
    data = json.loads((tmp_path / "g.json").read_text())
    assert data["directed"] is True and data["multigraph"] is False
    assert [d["id"] for d in data["nodes"]] == [0, 1, 2]
    assert {(d["source"], d["target"]) for d in data["edges"]} == {(0, 2), (1, 2)}
    assert nx.node_link_graph(data, edges="edges").edges[0, 2]["weight"] == G.edges[0, 2][
        "weight"]


def test_numpy_scalars_are_saved_as_numbers(tmp_path):
    G = layered([2, 1], seed=0)
    G.edges[0, 2]["weight"] = np.float32(0.5)
    G.edges[0, 2]["delay"] = np.int64(2)
    G.nodes[2]["layer"] = np.int32(1)
    G.nodes[2]["user_flag"] = np.bool_(True)
    save_graph(G, tmp_path / "g.json")
    H = load_graph(tmp_path / "g.json")
    assert H.edges[0, 2]["weight"] == 0.5 and H.edges[0, 2]["delay"] == 2
    assert H.nodes[2]["layer"] == 1 and H.nodes[2]["user_flag"] is True


def test_save_is_atomic_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "g.json"
    path.write_text("old")
    save_graph(layered([2, 1], seed=0), path)
    assert os.listdir(tmp_path) == ["g.json"]
    bad = layered([2, 1], seed=0)
    bad.nodes[0]["user_extra"] = object()  # not JSON serializable: nothing is written
    with pytest.raises(GraphError, match="cannot save graph"):
        save_graph(bad, path)
    assert os.listdir(tmp_path) == ["g.json"] and load_graph(path)


def test_save_rejects_bad_ids_and_invalid_graphs(tmp_path):
    G = nx.relabel_nodes(layered([2, 1], seed=0), {0: (0, "a")})
    with pytest.raises(GraphError, match=re.escape("node (0, 'a') has an id of type tuple")):
        save_graph(G, tmp_path / "g.json")
    G = layered([2, 1], seed=0)
    G.edges[0, 2]["weight"] = float("nan")
    with pytest.raises(GraphError, match=re.escape("edge (0, 2) has weight nan")):
        save_graph(G, tmp_path / "g.json")
    with pytest.raises(GraphError, match="cannot write graph file"):
        save_graph(layered([2, 1], seed=0), tmp_path / "missing_dir" / "g.json")
    assert not (tmp_path / "g.json").exists()


def write(tmp_path, obj, name="bad.json"):
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return path


def good_data():
    return nx.node_link_data(layered([2, 1], seed=0), edges="edges")


def test_load_missing_file(tmp_path):
    with pytest.raises(GraphError, match="nope.json' does not exist"):
        load_graph(tmp_path / "nope.json")
    with pytest.raises(GraphError, match="cannot read graph file"):
        load_graph(tmp_path)  # a directory


def test_load_truncated_json_reports_line_and_column(tmp_path):
    save_graph(layered([2, 1], seed=0), tmp_path / "g.json")
    text = (tmp_path / "g.json").read_text()
    path = write(tmp_path, text[: len(text) // 2])
    with pytest.raises(GraphError, match=r"bad\.json' is not valid JSON: .* at line \d+, "
                                         r"column \d+"):
        load_graph(path)
    with pytest.raises(GraphError, match="line 1, column 1"):
        load_graph(write(tmp_path, "hello"))
    with pytest.raises(GraphError, match="not UTF-8"):
        (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00")
        load_graph(tmp_path / "bin.json")


def _drop(key):
    def f(d):
        del d[key]
    return f


def _set(key, value):
    def f(d):
        d[key] = value
    return f


@pytest.mark.parametrize("mutate, match", [
    (lambda d: d.clear() or d.update(x=[1]), "unknown top-level key 'x'"),
    (_drop("nodes"), "missing key 'nodes'"),
    (_drop("edges"), "missing key 'edges'"),
    (_set("directed", False), "undirected"),
    (_set("multigraph", True), "multigraph"),
    (_set("nodes", {"0": {}}), "'nodes' is not a list"),
    (_set("graph", [1]), "'graph' is not an object"),
    (lambda d: d["nodes"].append({"role": "hidden"}), "node entry 3 has no 'id'"),
    (lambda d: d["nodes"].append({"id": [1, 2]}), re.escape("node entry 3 has id [1, 2]")),
    (lambda d: d["nodes"].append({"id": 1.5}), "node entry 3 has id 1.5"),
    (lambda d: d["nodes"].append({"id": 1, "role": "hidden"}), "node 1 appears twice"),
    (lambda d: d["edges"].append({"source": 0}), "edge entry 2 needs 'source' and 'target'"),
    (lambda d: d["edges"].append({"source": 0, "target": 7, "weight": 1.0}),
     re.escape("edge (0, 7) (edge entry 2) refers to unknown node 7")),
    (lambda d: d["edges"].append({"source": "0", "target": 2, "weight": 1.0}),
     re.escape("refers to unknown node '0'")),
    (lambda d: d["edges"].append(dict(d["edges"][0])), re.escape("edge (0, 2) appears twice")),
    (lambda d: d["edges"][0].pop("weight"), re.escape("edge (0, 2) has no 'weight'")),
    (lambda d: d["edges"][1].update(delay=0), re.escape("edge (1, 2) has delay 0")),
    (lambda d: d["edges"].append({"source": 2, "target": 0, "weight": 1.0}),
     re.escape("edge (2, 0) points into input node 0")),
    (lambda d: d["nodes"][2].update(role="neuron"), "node 2 has role 'neuron'"),
])
def test_load_errors_name_file_and_culprit(tmp_path, mutate, match):
    data = good_data()
    mutate(data)
    path = write(tmp_path, data)
    with pytest.raises(GraphError, match=r"bad\.json'.*" + match):
        load_graph(path)


def test_load_rejects_non_object_top_level(tmp_path):
    with pytest.raises(GraphError, match="top level is a list"):
        load_graph(write(tmp_path, [1, 2]))


def test_load_nan_weight_written_by_hand(tmp_path):
    text = json.dumps(good_data()).replace('"weight": ', '"weight": NaN, "user_w": ', 1)
    with pytest.raises(GraphError, match=r"edge \(0, 2\) has weight nan"):
        load_graph(write(tmp_path, text))


def test_load_accepts_legacy_links_key(tmp_path):
    data = good_data()
    data["links"] = data.pop("edges")
    G = load_graph(write(tmp_path, data))
    assert G.number_of_edges() == 2


def test_export_graphml_reads_back(tmp_path):
    G = layered_recurrent([2, 3, 2], seed=0, lateral=0.5, recurrent_delays=(1, 3))
    path = tmp_path / "g.graphml"
    export_graphml(G, path)
    H = nx.read_graphml(path, node_type=int)
    assert list(H.nodes) == list(G.nodes)
    assert set(H.edges) == set(G.edges)
    for u, v, d in G.edges(data=True):
        assert H.edges[u, v]["weight"] == d["weight"] and H.edges[u, v]["delay"] == d["delay"]
    assert H.nodes[3]["role"] == "hidden" and H.nodes[3]["layer"] == 1
    bad = layered([2, 1], seed=0)
    bad.edges[0, 2]["weight"] = "heavy"
    with pytest.raises(GraphError, match="edge"):
        export_graphml(bad, tmp_path / "bad.graphml")
