"""The bad-input catalogue of graphs, graph files, builders, engines and rules.

Every case is something a user does by mistake; each must raise a one-line
:class:`~agents.errors.LocalpropError` of the stated type whose message names the culprit
(node, edge, attribute, argument, value, file or limit). None may be silently accepted.

Print the catalogue (outcome, case → message, then a summary) with::

    python -m tests.reliability.test_bad_inputs_networks [--light]

(``--light`` skips the cases marked ``heavy``, which allocate gigabytes when their limit is
missing, e.g. on an older checkout.)

:data:`CASE_IDS` lists the case names (the pytest ids) for tools that combine catalogues.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import networkx as nx
import numpy as np
import pytest

from agents import DIFFUSION, FORWARD, LP, LPParams
from agents.errors import ConfigError, DataError, GraphError, LocalpropError
from networks.builders import (
    layered,
    layered_recurrent,
    random_dag,
    random_digraph,
    ring,
    scale_to_contractive,
)
from networks.compile import compile_graph
from networks.engines import VectorEngine, make_engine
from networks.graphio import export_graphml, load_graph, save_graph


class Case(NamedTuple):
    """One bad input: ``make(tmp_path)`` must raise ``kind`` with ``culprit`` in its message.

    ``heavy`` marks cases that, without their limit, allocate gigabytes (the catalogue
    printer skips them with ``--light``).
    """

    name: str
    make: object
    kind: type
    culprit: str
    heavy: bool = False


# ------------------------------------------------------------------------- helpers
def _g(**over) -> nx.DiGraph:
    """u (input) → h (hidden) → o (output), weights 1.0; ``over`` edits attributes.

    Keys: ``node_<id>`` or ``edge_<j>_<i>`` → dict of attributes to set (None deletes).
    """
    G = nx.DiGraph()
    G.add_node("u", role="input")
    G.add_node("h", role="hidden")
    G.add_node("o", role="output")
    G.add_edge("u", "h", weight=1.0)
    G.add_edge("h", "o", weight=1.0)
    for key, attrs in over.items():
        kind, *ids = key.split("_")
        d = G.nodes[ids[0]] if kind == "node" else G.edges[ids[0], ids[1]]
        for a, v in attrs.items():
            if v is None:
                d.pop(a, None)
            else:
                d[a] = v
    return G


def _with(G: nx.DiGraph, nodes=(), edges=()) -> nx.DiGraph:
    for n, d in nodes:
        G.add_node(n, **d)
    for j, i, d in edges:
        G.add_edge(j, i, **({"weight": 1.0} | d))
    return G


def _nl(nodes=None, edges=None, **top) -> dict:
    """A node-link dict of u → h → o; ``nodes``/``edges`` replace the entries."""
    base = {"directed": True, "multigraph": False, "graph": {},
            "nodes": nodes if nodes is not None else [
                {"id": "u", "role": "input"}, {"id": "h", "role": "hidden"},
                {"id": "o", "role": "output"}],
            "edges": edges if edges is not None else [
                {"source": "u", "target": "h", "weight": 1.0},
                {"source": "h", "target": "o", "weight": 1.0}]}
    return base | top


def _file(tmp: Path, name: str, content) -> Path:
    p = tmp / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content if isinstance(content, str) else json.dumps(content))
    return p


def _load(tmp: Path, content, name: str = "g.json"):
    return load_graph(_file(tmp, name, content))


GRAPHML_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n'
                '<key id="r" for="node" attr.name="role" attr.type="string"/>\n'
                '<key id="w" for="edge" attr.name="weight" attr.type="double"/>\n')


def _graphml(edgedefault="directed", role_h="hidden", extra_edge="", parallel=False):
    edges = ('<edge source="u" target="h"><data key="w">1.0</data></edge>\n'
             '<edge source="h" target="o"><data key="w">1.0</data>' + extra_edge + '</edge>\n')
    if parallel:
        edges += '<edge source="u" target="h"><data key="w">2.0</data></edge>\n'
    return (GRAPHML_HEAD
            + ('<key id="dl" for="edge" attr.name="dealy" attr.type="int"/>\n'
               if extra_edge else "")
            + f'<graph edgedefault="{edgedefault}">\n'
            + '<node id="u"><data key="r">input</data></node>\n'
            + f'<node id="h"><data key="r">{role_h}</data></node>\n'
            + '<node id="o"><data key="r">output</data></node>\n' + edges
            + '</graph>\n</graphml>\n')


@contextmanager
def _env(**values):
    """Set environment variables (the documented way to change a limit) for a block."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update({k: str(v) for k, v in values.items()})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _limited(fn, **limits):
    def make(tmp):
        with _env(**{f"LOCALPROP_{k.upper()}": v for k, v in limits.items()}):
            return fn(tmp)
    return make


NET = layered([3, 4, 2], seed=0)   # 9 neurons, 20 edges; inputs 0-2, outputs 7-8


def _eng(kind="vector", batch=2, dtype=np.float64, rule=FORWARD, net=None, **kw):
    return make_engine(kind, NET if net is None else net, rule, batch=batch, dtype=dtype, **kw)


def _advance(*args, batch=2, dtype=np.float64, **kw):
    return _eng(batch=batch, dtype=dtype).advance(*args, **kw)


def _set(name, value, batch=2, dtype=np.float64, rule=FORWARD):
    return _eng(batch=batch, dtype=dtype, rule=rule).set_state(name, value)


U2 = np.zeros((3, 2))


# ------------------------------------------------------------------------- the catalogue
GRAPHS = [
    Case("graph: misspelt node attribute 'activaton'",
         lambda t: compile_graph(_g(node_h={"activaton": "relu"})), GraphError,
         r"'h'.*'activaton'.*did you mean 'activation'"),
    Case("graph: misspelt edge attribute 'dealy'",
         lambda t: compile_graph(_g(edge_u_h={"dealy": 5})), GraphError,
         r"\('u', 'h'\).*'dealy'.*did you mean 'delay'"),
    Case("graph: 'weigth' instead of 'weight'",
         lambda t: compile_graph(_g(edge_u_h={"weight": None, "weigth": 0.5})), GraphError,
         r"\('u', 'h'\).*'weigth'.*'weight'"),
    Case("graph: 'Role' instead of 'role'",
         lambda t: compile_graph(_g(node_h={"role": None, "Role": "hidden"})), GraphError,
         r"'h'.*'Role'.*'role'"),
    Case("graph: unknown node attribute with no near name",
         lambda t: compile_graph(_g(node_h={"temperature": 3.0})), GraphError,
         r"'h'.*'temperature'"),
    Case("graph: unknown edge attribute with no near name",
         lambda t: compile_graph(_g(edge_h_o={"plasticity": 0.1})), GraphError,
         r"\('h', 'o'\).*'plasticity'"),
    Case("graph: role 'Input' in capitals",
         lambda t: compile_graph(_g(node_u={"role": "Input"})), GraphError,
         r"'u'.*'Input'.*did you mean 'input'"),
    Case("graph: role is None", lambda t: compile_graph(_g(node_h={"role": None})),
         GraphError, r"'h'"),
    Case("graph: activation 'ReLU'", lambda t: compile_graph(_g(node_h={"activation": "ReLU"})),
         GraphError, r"'h'.*'ReLU'.*did you mean 'relu'"),
    Case("graph: ids 0 and '0' coexist",
         lambda t: compile_graph(_with(nx.DiGraph(), [(0, {"role": "input"}),
                                                      ("0", {"role": "hidden"}),
                                                      (1, {"role": "output"})],
                                       [(0, "0", {}), ("0", 1, {})])),
         GraphError, r"0 and '0'"),
    Case("graph: delay 10**9", lambda t: compile_graph(_g(edge_u_h={"delay": 10**9})),
         GraphError, r"\('u', 'h'\).*1000000000.*max_delay.*LOCALPROP_MAX_DELAY"),
    Case("graph: negative delay", lambda t: compile_graph(_g(edge_u_h={"delay": -1})),
         GraphError, r"\('u', 'h'\).*-1"),
    Case("graph: delay True", lambda t: compile_graph(_g(edge_u_h={"delay": True})),
         GraphError, r"\('u', 'h'\).*True"),
    Case("graph: delay 2.0 (a float)", lambda t: compile_graph(_g(edge_u_h={"delay": 2.0})),
         GraphError, r"\('u', 'h'\).*2\.0"),
    Case("graph: weight '0.5' (a string)",
         lambda t: compile_graph(_g(edge_u_h={"weight": "0.5"})), GraphError,
         r"\('u', 'h'\).*'0\.5'"),
    Case("graph: infinite weight", lambda t: compile_graph(_g(edge_h_o={"weight": np.inf})),
         GraphError, r"\('h', 'o'\).*inf"),
    Case("graph: weight True", lambda t: compile_graph(_g(edge_h_o={"weight": True})),
         GraphError, r"\('h', 'o'\).*True"),
    Case("graph: NaN bias", lambda t: compile_graph(_g(node_h={"bias": float("nan")})),
         GraphError, r"'h'.*nan"),
    Case("graph: bias 'zero'", lambda t: compile_graph(_g(node_o={"bias": "zero"})),
         GraphError, r"'o'.*'zero'"),
    Case("graph: activation on an input node",
         lambda t: compile_graph(_g(node_u={"activation": "relu"})), GraphError,
         r"input node 'u'.*'relu'"),
    Case("graph: bias on an input node", lambda t: compile_graph(_g(node_u={"bias": 0.5})),
         GraphError, r"input node 'u'.*0\.5"),
    Case("graph: negative layer", lambda t: compile_graph(_g(node_h={"layer": -1})),
         GraphError, r"'h'.*-1"),
    Case("graph: layer 1.5", lambda t: compile_graph(_g(node_h={"layer": 1.5})),
         GraphError, r"'h'.*1\.5"),
    Case("graph: self-loop on an input",
         lambda t: compile_graph(_with(_g(), edges=[("u", "u", {})])), GraphError,
         r"\('u', 'u'\).*input"),
    Case("graph: cycle back into an input",
         lambda t: compile_graph(_with(_g(), edges=[("o", "u", {})])), GraphError,
         r"\('o', 'u'\).*input"),
    Case("graph: output with no path from any input",
         lambda t: compile_graph(_with(_g(), [("h2", {"role": "hidden"}),
                                              ("o2", {"role": "output"})],
                                       [("h2", "o2", {})])), GraphError, r"'o2'"),
    Case("graph: no input node",
         lambda t: compile_graph(_g(node_u={"role": "hidden"})),
         GraphError, "no input"),
    Case("graph: no output node", lambda t: compile_graph(_g(node_o={"role": "hidden"})),
         GraphError, "no output"),
    Case("graph: empty graph", lambda t: compile_graph(nx.DiGraph()), GraphError, "no nodes"),
    Case("graph: undirected nx.Graph", lambda t: compile_graph(nx.Graph(_g())), GraphError,
         r"\bGraph\b"),
    Case("graph: nx.MultiDiGraph", lambda t: compile_graph(nx.MultiDiGraph(_g())),
         GraphError, "MultiDiGraph"),
    Case("graph: a file name instead of a graph", lambda t: compile_graph("net.json"),
         GraphError, r"'net\.json'.*load_graph"),
    Case("graph: None instead of a graph", lambda t: compile_graph(None), GraphError,
         "None"),
    Case("graph: 'weight' set on a node",
         lambda t: compile_graph(_g(node_h={"weight": 0.5})), GraphError,
         r"node 'h'.*'weight'.*known attributes"),
    Case("graph: 'bias' set on an edge",
         lambda t: compile_graph(_g(edge_u_h={"bias": 0.5})), GraphError,
         r"edge \('u', 'h'\).*'bias'"),
    Case("graph: weight as a numpy array",
         lambda t: compile_graph(_g(edge_u_h={"weight": np.array([0.5])})), GraphError,
         r"\('u', 'h'\).*array"),
    Case("graph: layer True", lambda t: compile_graph(_g(node_h={"layer": True})),
         GraphError, r"'h'.*True"),
    Case("graph: more nodes than max_nodes",
         _limited(lambda t: compile_graph(_g()), max_nodes=2), GraphError,
         r"3.*max_nodes=2.*LOCALPROP_MAX_NODES"),
    Case("graph: more edges than max_edges",
         _limited(lambda t: compile_graph(_g()), max_edges=1), GraphError,
         r"2.*max_edges=1"),
]

FILES = [
    Case("json: misspelt node attribute 'activaton'",
         lambda t: _load(t, _nl(nodes=[{"id": "u", "role": "input"},
                                       {"id": "h", "role": "hidden", "activaton": "relu"},
                                       {"id": "o", "role": "output"}])), GraphError,
         r"g\.json.*'h'.*'activaton'.*'activation'"),
    Case("json: misspelt edge attribute 'dealy'",
         lambda t: _load(t, _nl(edges=[{"source": "u", "target": "h", "weight": 1.0,
                                        "dealy": 5},
                                       {"source": "h", "target": "o", "weight": 1.0}])),
         GraphError, r"g\.json.*\('u', 'h'\).*'dealy'.*'delay'"),
    Case("json: ids 0 and \"0\"",
         lambda t: _load(t, _nl(nodes=[{"id": 0, "role": "input"},
                                       {"id": "0", "role": "hidden"},
                                       {"id": 1, "role": "output"}],
                                edges=[{"source": 0, "target": "0", "weight": 1.0},
                                       {"source": "0", "target": 1, "weight": 1.0}])),
         GraphError, r"0 and '0'"),
    Case("json: delay 10**9",
         lambda t: _load(t, _nl(edges=[{"source": "u", "target": "h", "weight": 1.0,
                                        "delay": 10**9},
                                       {"source": "h", "target": "o", "weight": 1.0}])),
         GraphError, r"\('u', 'h'\).*max_delay"),
    Case("json: delay \"2\" (a string)",
         lambda t: _load(t, _nl(edges=[{"source": "u", "target": "h", "weight": 1.0,
                                        "delay": "2"},
                                       {"source": "h", "target": "o", "weight": 1.0}])),
         GraphError, r"\('u', 'h'\).*'2'"),
    Case("json: NaN weight literal",
         lambda t: _load(t, json.dumps(_nl()).replace('"weight": 1.0', '"weight": NaN', 1)),
         GraphError, r"\('u', 'h'\).*nan"),
    Case("json: top level is a list", lambda t: _load(t, [1, 2]), GraphError,
         r"g\.json.*list"),
    Case("json: top level is a number", lambda t: _load(t, "42"), GraphError,
         r"g\.json.*int"),
    Case("json: empty file", lambda t: _load(t, ""), GraphError, r"g\.json.*empty"),
    Case("json: undirected graph", lambda t: _load(t, _nl(directed=False)), GraphError,
         r"g\.json.*undirected"),
    Case("json: multigraph", lambda t: _load(t, _nl(multigraph=True)), GraphError,
         r"g\.json.*multigraph"),
    Case("json: 'directed' as the string \"true\"",
         lambda t: _load(t, _nl(directed="true")), GraphError, r"'directed'.*'true'"),
    Case("json: 'multigraph' as the string \"false\"",
         lambda t: _load(t, _nl(multigraph="false")), GraphError, r"'multigraph'.*'false'"),
    Case("json: both 'edges' and 'links' (old and new networkx)",
         lambda t: _load(t, _nl(links=[])), GraphError, r"'edges' and 'links'"),
    Case("json: missing 'nodes'",
         lambda t: _load(t, {k: v for k, v in _nl().items() if k != "nodes"}), GraphError,
         r"g\.json.*'nodes'"),
    Case("json: misspelt top-level key 'edgs'",
         lambda t: _load(t, {("edgs" if k == "edges" else k): v for k, v in _nl().items()}),
         GraphError, r"g\.json.*'edgs'.*did you mean 'edges'"),
    Case("json: 'nodes' is an object", lambda t: _load(t, _nl(nodes={"u": "input"})),
         GraphError, r"g\.json.*'nodes'"),
    Case("json: node entry is a number",
         lambda t: _load(t, _nl(nodes=[{"id": "u", "role": "input"}, 7])), GraphError,
         r"node entry 1"),
    Case("json: node entry without 'id'",
         lambda t: _load(t, _nl(nodes=[{"id": "u", "role": "input"}, {"role": "hidden"}])),
         GraphError, r"node entry 1.*'id'"),
    Case("json: node id 1.5", lambda t: _load(t, _nl(nodes=[{"id": 1.5, "role": "input"}])),
         GraphError, r"1\.5"),
    Case("json: node id null", lambda t: _load(t, _nl(nodes=[{"id": None, "role": "input"}])),
         GraphError, r"None"),
    Case("json: node id true", lambda t: _load(t, _nl(nodes=[{"id": True, "role": "input"}])),
         GraphError, r"True"),
    Case("json: edge to an unknown node",
         lambda t: _load(t, _nl(edges=[{"source": "u", "target": "x", "weight": 1.0}])),
         GraphError, r"'x'"),
    Case("json: duplicate edge",
         lambda t: _load(t, _nl(edges=[{"source": "u", "target": "h", "weight": 1.0},
                                       {"source": "u", "target": "h", "weight": 2.0},
                                       {"source": "h", "target": "o", "weight": 1.0}])),
         GraphError, r"\('u', 'h'\).*twice"),
    Case("json: edge entry without 'target'",
         lambda t: _load(t, _nl(edges=[{"source": "u", "weight": 1.0}])), GraphError,
         r"edge entry 0.*'target'"),
    Case("json: networkx adjacency format",
         lambda t: _load(t, nx.adjacency_data(_g())), GraphError, r"g\.json.*adjacency"),
    Case("json: Cytoscape format",
         lambda t: _load(t, nx.cytoscape_data(_g())), GraphError, r"g\.json.*Cytoscape"),
    Case("json: edge into an input",
         lambda t: _load(t, _nl(edges=[{"source": "u", "target": "h", "weight": 1.0},
                                       {"source": "h", "target": "o", "weight": 1.0},
                                       {"source": "h", "target": "u", "weight": 1.0}])),
         GraphError, r"g\.json.*\('h', 'u'\)"),
    Case("json: no output node",
         lambda t: _load(t, _nl(nodes=[{"id": "u", "role": "input"},
                                       {"id": "h", "role": "hidden"},
                                       {"id": "o", "role": "hidden"}])),
         GraphError, r"g\.json.*no output"),
    Case("json: more nodes than max_nodes", _limited(lambda t: _load(t, _nl()), max_nodes=2),
         GraphError, r"g\.json.*max_nodes=2"),
    Case("file: missing file in a missing folder",
         lambda t: load_graph(t / "nowhere" / "net.json"), GraphError,
         r"nowhere.*net\.json.*does not exist"),
    Case("file: a directory", lambda t: load_graph(t), GraphError, r"directory"),
    Case("file: a path through a regular file",
         lambda t: load_graph(_file(t, "plain.txt", "x") / "g.json"), GraphError,
         r"plain\.txt"),
    Case("file: binary, not text", lambda t: _load(t, b"\x89PNG\r\n\x1a\n\xff\xfe"),
         GraphError, r"g\.json.*UTF-8"),
    Case("file: None as the path", lambda t: load_graph(None), GraphError, r"None"),
    Case("file: a DiGraph instead of a path", lambda t: load_graph(_g()), GraphError,
         r"DiGraph"),
    Case("graphml: truncated file",
         lambda t: _load(t, _graphml()[:-40], "g.graphml"), GraphError,
         r"g\.graphml.*GraphML"),
    Case("graphml: XML that is GEXF, not GraphML",
         lambda t: _load(t, '<?xml version="1.0"?>\n<gexf version="1.3"><graph/></gexf>\n',
                         "g.xml"), GraphError, r"g\.xml.*gexf"),
    Case("graphml: undirected", lambda t: _load(t, _graphml("undirected"), "g.graphml"),
         GraphError, r"g\.graphml.*undirected"),
    Case("graphml: misspelt attribute 'dealy'",
         lambda t: _load(t, _graphml(extra_edge='<data key="dl">5</data>'), "g.graphml"),
         GraphError, r"g\.graphml.*\('h', 'o'\).*'dealy'"),
    Case("graphml: weight stored as text (attr.type string)",
         lambda t: _load(t, _graphml().replace('attr.name="weight" attr.type="double"',
                                               'attr.name="weight" attr.type="string"'),
                         "g.graphml"), GraphError, r"g\.graphml.*\('u', 'h'\).*'1\.0'"),
    Case("graphml: parallel edges", lambda t: _load(t, _graphml(parallel=True), "g.graphml"),
         GraphError, r"g\.graphml.*parallel"),
    Case("graphml: GraphML saved as .json, bad role",
         lambda t: _load(t, _graphml(role_h="hiden")), GraphError,
         r"g\.json.*'h'.*'hiden'.*'hidden'"),
    Case("graphml: export with ids 0 and '0'",
         lambda t: export_graphml(_with(nx.DiGraph(), [(0, {"role": "input"}),
                                                       ("0", {"role": "output"})],
                                        [(0, "0", {})]), t / "g.graphml"),
         GraphError, r"0 and '0'"),
    Case("graphml: export a tuple 'pos'",
         lambda t: export_graphml(_g(node_h={"pos": (0.0, 1.0)}), t / "g.graphml"),
         GraphError, r"'h'.*'pos'.*tuple"),
    Case("graphml: export into a missing folder",
         lambda t: export_graphml(_g(), t / "nowhere" / "g.graphml"), GraphError,
         r"nowhere"),
    Case("save: into a directory", lambda t: save_graph(_g(), t), GraphError,
         r"directory"),
]

BUILDERS = [
    Case("ring: n = 10**8", lambda t: ring(10**8, seed=0), GraphError,
         r"100000002.*max_nodes.*LOCALPROP_MAX_NODES", heavy=True),
    Case("layered: a layer of 10**7 neurons", lambda t: layered([10**7, 10], seed=0),
         GraphError, r"max_nodes", heavy=True),
    Case("layered: 4e10 edges", lambda t: layered([200_000, 200_000, 1], seed=0),
         GraphError, r"max_edges", heavy=True),
    Case("random_dag: n_nodes = 10**8", lambda t: random_dag(10**8, 10, seed=0), GraphError,
         r"max_nodes", heavy=True),
    Case("random_digraph: n_edges = 10**9", lambda t: random_digraph(10**5, 10**9, seed=0),
         GraphError, r"max_edges", heavy=True),
    Case("layered_recurrent: lateral on a 10**5 layer",
         lambda t: layered_recurrent([1, 100_000, 1], seed=0, lateral=1e-6), GraphError,
         r"lateral.*max_edges", heavy=True),
    Case("ring: delays = 10**9", lambda t: ring(4, seed=0, delays=10**9), GraphError,
         r"delays.*max_delay"),
    Case("layered: delays = (1, 10**9)", lambda t: layered([2, 1], seed=0, delays=(1, 10**9)),
         GraphError, r"delays.*max_delay"),
    Case("layered: sizes = 5", lambda t: layered(5, seed=0), GraphError, r"sizes.*5"),
    Case("layered: sizes = '2,3,1'", lambda t: layered("2,3,1", seed=0), GraphError,
         r"sizes.*'2,3,1'"),
    Case("layered: activation = 5", lambda t: layered([2, 1], 5, seed=0), GraphError,
         r"activation.*5"),
    Case("layered: activation 'ReLU'", lambda t: layered([2, 1], "ReLU", seed=0),
         GraphError, r"'ReLU'.*did you mean 'relu'"),
    Case("layered_recurrent: lateral = '0.1'",
         lambda t: layered_recurrent([2, 3, 1], seed=0, lateral="0.1"), GraphError,
         r"lateral.*'0\.1'"),
    Case("layered_recurrent: self_loops = 'no'",
         lambda t: layered_recurrent([2, 3, 1], seed=0, self_loops="no"), GraphError,
         r"self_loops.*'no'"),
    Case("ring: seed = 'abc'", lambda t: ring(4, seed="abc"), GraphError, r"seed.*'abc'"),
    Case("ring: seed = 1.5", lambda t: ring(4, seed=1.5), GraphError, r"seed.*1\.5"),
    Case("ring: seed = -1", lambda t: ring(4, seed=-1), GraphError, r"seed.*-1"),
    Case("ring: n = '4'", lambda t: ring("4", seed=0), GraphError, r"\bn\b.*'4'"),
    Case("ring: weight_scale = nan", lambda t: ring(4, seed=0, weight_scale=float("nan")),
         GraphError, r"weight_scale.*nan"),
    Case("random_dag: n_edges = -1", lambda t: random_dag(5, -1, seed=0), GraphError,
         r"n_edges.*-1"),
    Case("scale_to_contractive: gain = '0.5'",
         lambda t: scale_to_contractive(ring(3, seed=0), "0.5"), GraphError,
         r"gain.*'0\.5'"),
]

ENGINES = [
    Case("run: steps = 1.5", lambda t: _eng().run(U2, steps=1.5), ConfigError,
         r"steps.*1\.5"),
    Case("run: steps = '10'", lambda t: _eng().run(U2, steps="10"), ConfigError,
         r"steps.*'10'"),
    Case("run: steps = 0", lambda t: _eng().run(U2, steps=0), ConfigError, r"steps.*0"),
    Case("run: steps = True", lambda t: _eng().run(U2, steps=True), ConfigError,
         r"steps.*True"),
    Case("run: steps = -3", lambda t: _eng().run(U2, steps=-3), ConfigError, r"steps.*-3"),
    Case("run: a sequence of inputs and steps=",
         lambda t: _eng().run(np.zeros((5, 3, 2)), steps=5), DataError,
         r"input u.*\(5, 3, 2\)"),
    Case("run: an empty sequence of inputs", lambda t: _eng().run(np.zeros((0, 3, 2))),
         DataError, r"inputs.*no step"),
    Case("run: ragged inputs", lambda t: _eng(batch=None).run([[0, 0, 0], [0, 0]]),
         DataError, r"inputs"),
    Case("run: a string as inputs", lambda t: _eng().run("data.csv"), DataError,
         r"inputs.*'data\.csv'"),
    Case("engine: dtype = 'foo'", lambda t: _eng(dtype="foo"), ConfigError,
         r"dtype.*'foo'"),
    Case("engine: dtype = int", lambda t: _eng(dtype=int), ConfigError, r"dtype.*int"),
    Case("engine: dtype = float16", lambda t: _eng(dtype=np.float16), ConfigError,
         r"dtype.*float16"),
    Case("engine: unknown rule name 'lpp'", lambda t: _eng(rule="lpp"), ConfigError,
         r"'lpp'.*did you mean 'lp'"),
    Case("engine: rule = None", lambda t: _eng(rule=None), ConfigError, r"rule.*None"),
    Case("engine: parameters where the rule goes", lambda t: _eng(rule=LPParams()),
         ConfigError, r"rule.*LPParams"),
    Case("engine: params = 'fast'",
         lambda t: make_engine("vector", NET, LP, "fast"), ConfigError, r"params.*'fast'"),
    Case("engine: LP parameters for the diffusion rule",
         lambda t: make_engine("vector", NET, DIFFUSION, LPParams()), ConfigError,
         r"LPParams.*'diffusion'"),
    Case("engine: batch = True", lambda t: _eng(batch=True), ConfigError, r"batch.*True"),
    Case("engine: batch = 0", lambda t: _eng(batch=0), ConfigError, r"batch.*0"),
    Case("engine: batch = 2.0", lambda t: _eng(batch=2.0), ConfigError, r"batch.*2\.0"),
    Case("engine: batch = '4'", lambda t: _eng(batch="4"), ConfigError, r"batch.*'4'"),
    Case("engine: record = 5", lambda t: _eng(record=5), ConfigError, r"record.*5"),
    Case("engine: check_finite = 'no'", lambda t: _eng(check_finite="no"), ConfigError,
         r"check_finite.*'no'"),
    Case("engine: kind 'Vector'", lambda t: make_engine("Vector", NET, FORWARD),
         ConfigError, r"'Vector'.*did you mean 'vector'"),
    Case("engine: misspelt keyword 'bacth'",
         lambda t: make_engine("vector", NET, FORWARD, bacth=2), ConfigError,
         r"'bacth'.*did you mean 'batch'"),
    Case("engine: the graph's float64 weight overflows float32",
         lambda t: _eng(dtype=np.float32, net=_g(edge_u_h={"weight": 1e39})), GraphError,
         r"\('u', 'h'\).*1e\+39.*float32"),
    Case("engine: the graph's bias overflows float32",
         lambda t: _eng(dtype=np.float32, net=_g(node_o={"bias": -1e39})), GraphError,
         r"'o'.*-1e\+39.*float32"),
    Case("engine: net = None", lambda t: VectorEngine(None, FORWARD), GraphError, r"None"),
    Case("engine: state memory above max_state_mb",
         lambda t: _eng(batch=10**8, rule=LP), ConfigError,
         r"max_state_mb.*LOCALPROP_MAX_STATE_MB", heavy=True),
    Case("engine: state('lamda')", lambda t: _eng(rule=LP).state("lamda"), ConfigError,
         r"'lamda'.*did you mean 'lam'"),
    Case("engine: perturb an unknown neuron",
         lambda t: _eng().perturb_neuron("n9", np.random.default_rng(0)), ConfigError,
         r"'n9'"),
    Case("data: string inputs", lambda t: _advance(["a", "b", "c"], batch=None), DataError,
         r"input u.*text.*'a'"),
    Case("data: None as input", lambda t: _advance(None), DataError, r"input u.*None"),
    Case("data: a dict as input", lambda t: _advance({"x": 1}), DataError,
         r"input u.*dict"),
    Case("data: complex inputs", lambda t: _advance(U2 + 1j), DataError,
         r"input u.*complex"),
    Case("data: input 10**400 (a Python int)",
         lambda t: _advance([10**400, 0, 0], batch=None), DataError, r"input u.*node 0"),
    Case("data: input 1e39 with float32",
         lambda t: _advance(np.array([[0, 0], [1e39, 0], [0, 0]]), dtype=np.float32),
         DataError, r"input u.*1e\+39.*node 1.*overflows float32"),
    Case("data: target -1e39 with float32",
         lambda t: _advance(U2, np.array([[0, 0], [0, -1e39]]), dtype=np.float32), DataError,
         r"target y.*-1e\+39.*node 8.*example 1.*overflows float32"),
    Case("data: y_mask without targets",
         lambda t: _advance(U2, None, y_mask=[True, True]), DataError, r"y_mask.*y"),
    Case("data: y_mask of 0.5", lambda t: _advance(U2, np.zeros((2, 2)), y_mask=[0.5, 1]),
         DataError, r"y_mask.*0\.5"),
    Case("data: a batch axis on an unbatched engine",
         lambda t: _advance(np.zeros((3, 1)), batch=None), DataError, r"input u.*\(3, 1\)"),
    Case("set_state: wrong shape", lambda t: _set("x", np.zeros(5)), DataError,
         r"'x'.*\(5,\)"),
    Case("set_state: transposed (B, N)", lambda t: _set("x", np.zeros((2, 9))), DataError,
         r"'x'.*\(2, 9\)"),
    Case("set_state: wrong number of edges", lambda t: _set("weight", np.zeros(3)),
         DataError, r"'weight'.*\(3,\)"),
    Case("set_state: NaN weight", lambda t: _set("weight", np.full(20, np.nan)), DataError,
         r"'weight'.*nan"),
    Case("set_state: inf in x", lambda t: _set("x", np.full((9, 2), np.inf)), DataError,
         r"'x'.*inf"),
    Case("set_state: strings", lambda t: _set("bias", "zero"), DataError, r"'bias'.*'zero'"),
    Case("set_state: 1e39 with float32", lambda t: _set("bias", 1e39, dtype=np.float32),
         DataError, r"'bias'.*overflows float32"),
    Case("set_state: unknown variable 'lamda'", lambda t: _set("lamda", 0.0, rule=LP),
         ConfigError, r"'lamda'.*did you mean 'lam'"),
]

RULES = [
    Case("rule: LP constraint 'absolute'",
         lambda t: make_engine("vector", NET, "lp", {"constraint": "absolute"}), ConfigError,
         r"'absolute'"),
    Case("rule: LP optimizer 'Adam'",
         lambda t: make_engine("vector", NET, "lp", {"optimizer": "Adam"}), ConfigError,
         r"'Adam'"),
    Case("rule: LP loss 'mse'", lambda t: make_engine("vector", NET, "lp", {"loss": "mse"}),
         ConfigError, r"'mse'"),
    Case("rule: LP eta_w '0.1' (a string)",
         lambda t: make_engine("vector", NET, "lp", {"eta_w": "0.1"}), ConfigError,
         r"'eta_w'.*'0\.1'"),
    Case("rule: LP parameter 'eta_lambda'",
         lambda t: make_engine("vector", NET, "lp", {"eta_lambda": 0.1}), ConfigError,
         r"'eta_lambda'"),
    Case("rule: parameters for a rule that has none",
         lambda t: make_engine("vector", NET, "forward", {"eta": 0.1}), ConfigError,
         r"'eta'.*'forward'"),
    Case("rule: diffusion eta = -1",
         lambda t: make_engine("vector", NET, "diffusion", {"eta": -1}), ConfigError,
         r"'eta'.*-1"),
    Case("rule: diffusion average = 'yes'",
         lambda t: make_engine("vector", NET, "diffusion", {"average": "yes"}), ConfigError,
         r"'average'.*'yes'"),
    Case("rule: one-round LP parameters to the two-round rule",
         lambda t: make_engine("vector", NET, "lp2", {"two_round": False}).advance(U2[:, 0]),
         ConfigError, r"two_round=False.*two-round"),
]

CATALOGUE: list[Case] = GRAPHS + FILES + BUILDERS + ENGINES + RULES
#: The case names, in order (the pytest ids), for tools that merge catalogues.
CASE_IDS: list[str] = [c.name for c in CATALOGUE]


@pytest.mark.parametrize("case", CATALOGUE, ids=CASE_IDS)
def test_bad_input_is_a_one_line_error_naming_the_culprit(case, tmp_path):
    with pytest.raises(case.kind, match=case.culprit) as info:
        case.make(tmp_path)
    assert isinstance(info.value, LocalpropError)
    message = str(info.value)
    assert "\n" not in message and message.strip() == message and message


def test_catalogue_is_large_and_names_unique():
    assert len(CATALOGUE) >= 60
    assert len(set(CASE_IDS)) == len(CASE_IDS)


def _outcome(case: Case, tmp: Path) -> tuple[str, str]:
    """Classify a case: clear / unclear / traceback / silent, with the message."""
    try:
        case.make(tmp)
    except LocalpropError as e:
        msg = str(e)
        ok = isinstance(e, case.kind) and "\n" not in msg and re.search(case.culprit, msg)
        return ("clear" if ok else "unclear"), f"{type(e).__name__}: {msg}"
    except Exception as e:  # noqa: BLE001 - the point is to report any other failure
        return "traceback", f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    return "silent", "(no error)"


def print_catalogue(heavy: bool = True) -> Counter:
    """Print one line per case (outcome, name → message) and a summary; return the counts.

    Args:
        heavy: also run the cases that would allocate gigabytes without their limit
            (``--light`` on the command line skips them, e.g. on an older checkout).
    """
    counts: Counter = Counter()
    old = np.seterr(all="raise", under="ignore")  # as in the test suite
    try:
        for case in CATALOGUE:
            with tempfile.TemporaryDirectory() as d:
                if case.heavy and not heavy:
                    kind, msg = "skipped", "(allocates gigabytes without its limit)"
                else:
                    kind, msg = _outcome(case, Path(d))
            counts[kind] += 1
            print(f"{kind:9s} {case.name:55s} → {msg}")
    finally:
        np.seterr(**old)
    print(f"{len(CATALOGUE)} cases: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    return counts


# ------------------------------------------------------------------------- what stays accepted
@pytest.mark.parametrize("kind", ["agent", "vector"])
@pytest.mark.parametrize("seed", [0, 3])
def test_a_rule_name_runs_the_registered_rule(kind, seed):
    net = layered([3, 4, 2], seed=seed)
    rng = np.random.default_rng(seed)
    U, Y = rng.normal(size=(4, 3, 2)), rng.normal(size=(4, 2, 2))
    runs = [make_engine(kind, net, rule, {"eta_w": 0.1}, batch=2, record=["x", "weight"])
            .run(U, Y) for rule in ("lp", LP)]
    for name in ("x", "weight"):
        np.testing.assert_array_equal(runs[0][name], runs[1][name])
    assert not np.allclose(runs[0]["weight"][0], runs[0]["weight"][-1])  # it did learn


def _typed(G):
    return ([(n, type(n), sorted((k, type(v), v) for k, v in d.items()))
             for n, d in G.nodes(data=True)],
            sorted((u, v, sorted(d.items())) for u, v, d in G.edges(data=True)))


@pytest.mark.parametrize("make", [
    lambda: layered([3, 4, 2], seed=1, bias_scale=0.3, delays=(1, 3)),
    lambda: layered_recurrent([2, 3, 2], seed=2, lateral=0.5, recurrent_delays=(1, 4)),
    lambda: nx.relabel_nodes(random_digraph(9, 25, seed=3), lambda n: f"n{n}"),
], ids=["layered", "layered_recurrent", "string_ids"])
def test_graphml_export_loads_back_with_load_graph(make, tmp_path):
    G = make()
    G.nodes[next(iter(G))]["label"] = "first"
    export_graphml(G, tmp_path / "g.graphml")
    H = load_graph(tmp_path / "g.graphml")
    assert _typed(H) == _typed(G) and list(H) == list(G) and H.graph == G.graph
    (tmp_path / "g.json").write_text((tmp_path / "g.graphml").read_text())  # by content
    assert _typed(load_graph(tmp_path / "g.json")) == _typed(G)


def test_descriptive_and_user_attributes_are_kept(tmp_path):
    G = _g(node_h={"label": "hidden one", "pos": [0.5, 1.0], "color": "red",
                   "user_note": {"any": "thing"}},
           edge_u_h={"label": "in", "user_plastic": False})
    compile_graph(G)
    save_graph(G, tmp_path / "g.json")
    H = load_graph(tmp_path / "g.json")
    assert H.nodes["h"]["pos"] == [0.5, 1.0] and H.nodes["h"]["user_note"] == {"any": "thing"}
    assert H.edges["u", "h"]["user_plastic"] is False


def test_limits_can_be_raised_in_code_and_by_environment(monkeypatch):
    from networks.limits import get_limit, raised_limits, set_limits

    G = _g(edge_u_h={"delay": 200_000})
    with pytest.raises(GraphError, match="max_delay=100000"):
        compile_graph(G)
    with raised_limits(max_delay=300_000):
        assert compile_graph(G).max_delay == 200_000
    monkeypatch.setenv("LOCALPROP_MAX_DELAY", "250000")
    assert compile_graph(G).max_delay == 200_000
    previous = set_limits(max_delay=150_000)  # code wins over the environment
    try:
        with pytest.raises(GraphError, match="max_delay=150000"):
            compile_graph(G)
    finally:
        set_limits(**previous)
    assert get_limit("max_delay") == 250_000
    monkeypatch.setenv("LOCALPROP_MAX_NODES", "lots")
    with pytest.raises(ConfigError, match="LOCALPROP_MAX_NODES='lots'"):
        ring(3, seed=0)
    with pytest.raises(ConfigError, match="'max_node'.*did you mean 'max_nodes'"):
        set_limits(max_node=5)


def test_engine_memory_limit_counts_batch_and_delay():
    from networks.limits import raised_limits

    G = _g(edge_u_h={"delay": 50_000})
    make_engine("vector", G, DIFFUSION, batch=4)  # ~ a few MiB: fine
    with raised_limits(max_state_mb=1), pytest.raises(ConfigError, match="max_state_mb=1"):
        make_engine("agent", G, DIFFUSION, batch=4)


@pytest.mark.parametrize("kind", ["agent", "vector"])
def test_float32_takes_values_up_to_its_largest(kind):
    eng = make_engine(kind, NET, FORWARD, batch=2, dtype=np.float32)
    eng.set_state("bias", 3.0e38)
    assert np.all(eng.state("bias") == np.float32(3.0e38))
    eng.set_state("bias", 0.0)
    eng.advance(np.full((3, 2), 3.0e38), np.full((2, 2), -3.0e38))
    assert eng.t == 1


@pytest.mark.parametrize("kind", ["agent", "vector"])
def test_set_state_takes_every_documented_shape(kind):
    eng = make_engine(kind, NET, LP, batch=2)
    per_neuron = np.arange(9.0)
    full = np.arange(18.0).reshape(9, 2)
    for value, expected in ((1.5, np.full((9, 2), 1.5)),
                            (per_neuron, np.repeat(per_neuron[:, None], 2, axis=1)),
                            (per_neuron[:, None], np.repeat(per_neuron[:, None], 2, axis=1)),
                            (full, full)):
        eng.set_state("lam", value)
        np.testing.assert_array_equal(eng.state("lam"), expected)
    eng.set_state("weight", np.arange(20.0))
    np.testing.assert_array_equal(eng.state("weight"), np.arange(20.0))
    eng.set_state("bias", per_neuron)
    np.testing.assert_array_equal(eng.state("bias"), per_neuron)


def test_a_refused_step_leaves_the_engine_unchanged():
    eng = _eng(rule=LP)
    before = {k: eng.state(k) for k in ("x", "lam", "weight")}
    with pytest.raises(DataError):
        eng.advance(np.full((3, 2), np.nan))
    assert eng.t == 0
    for k, v in before.items():
        np.testing.assert_array_equal(eng.state(k), v)
    eng.run(U2, steps=np.int64(3))
    assert eng.t == 3


def test_the_catalogue_prints(capsys):
    """The printer the lead combines with the runs catalogue: one line per case."""
    counts = print_catalogue()
    assert set(counts) <= {"clear", "skipped"}
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(CATALOGUE) + 1
    assert lines[-1].startswith(f"{len(CATALOGUE)} cases:")
    assert all(line.startswith(("clear", "skipped")) for line in lines[:-1])


def test_content_decides_the_format_before_the_extension(tmp_path):
    G = _g()
    save_graph(G, tmp_path / "g.json")
    (tmp_path / "g.graphml").write_text((tmp_path / "g.json").read_text())  # JSON, .graphml
    assert _typed(load_graph(tmp_path / "g.graphml")) == _typed(G)


if __name__ == "__main__":
    import sys

    print_catalogue(heavy="--light" not in sys.argv)
