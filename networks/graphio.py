"""Network graph files: node-link JSON (the localprop format) and GraphML export.

The JSON file is ``networkx.node_link_data(G, edges="edges")``: an object with keys
``directed`` (true), ``multigraph`` (false), ``graph`` (graph attributes), ``nodes`` (a
list of ``{"id": ..., **attributes}`` in ``G.nodes`` order) and ``edges`` (a list of
``{"source": ..., "target": ..., **attributes}`` in ``G.edges`` order). Node ids must be
ints or strings, so they come back unchanged; node order, successor order and every
attribute value (floats included, written with ``repr`` precision) are preserved. The key
``links`` (networkx < 3.4 default) is accepted in place of ``edges`` when loading; any
other top-level key is refused (with a did-you-mean), and the other JSON layouts of
networkx (adjacency, Cytoscape) are recognised and named.

GraphML (:func:`export_graphml`) stores node ids as text. :func:`load_graph` also reads
GraphML, recognised by the extension ``.graphml`` / ``.xml`` or by content starting with
``<``: a graph exported by localprop comes back with its int ids (the export records
that every id was an int); other GraphML files keep their text ids.
"""

from __future__ import annotations

import json
import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import numpy as np

from agents.errors import GraphError, did_you_mean
from networks.limits import check_limit
from networks.validate import validate_graph

#: Top-level keys of a node-link JSON graph.
NODE_LINK_KEYS = ("directed", "multigraph", "graph", "nodes", "edges", "links")
#: Graph attribute written by :func:`export_graphml` when every node id is an int.
GRAPHML_INT_IDS = "localprop_node_ids"
_GRAPHML_SCALARS = (str, int, float, bool, np.integer, np.floating, np.bool_)


def _json_default(x):
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    raise TypeError(f"value {x!r} of type {type(x).__name__} is not JSON serializable")


def _is_id(n) -> bool:
    return isinstance(n, str | int | np.integer) and not isinstance(n, bool)


def save_graph(G: nx.DiGraph, path: str | os.PathLike) -> None:
    """Validate ``G`` and write it to ``path`` as node-link JSON, atomically.

    The file is written to a temporary file in the same directory, then moved over
    ``path`` with ``os.replace``, so a crash never leaves a half-written graph file.
    numpy scalar attributes are written as plain numbers.

    Args:
        G: a valid network graph whose node ids are ints or strings.
        path: the file to write.

    Raises:
        GraphError: if ``G`` is invalid, a node id is neither int nor str (names the
            node), an attribute cannot be written as JSON, or the file cannot be written.

    """
    path = Path(path)
    validate_graph(G)
    for n in G.nodes:
        if not _is_id(n):
            raise GraphError(
                f"node {n!r} has an id of type {type(n).__name__}; node ids must be int or "
                f"str to be saved"
            )
    for n, d in G.nodes(data=True):
        if "id" in d:
            raise GraphError(f"node {n!r} has an attribute 'id', which the file format uses")
    for u, v, d in G.edges(data=True):
        if "source" in d or "target" in d:
            raise GraphError(f"edge {(u, v)!r} has an attribute 'source' or 'target', which "
                             f"the file format uses")
    data = nx.node_link_data(G, edges="edges")
    try:
        text = json.dumps(data, indent=1, allow_nan=False, default=_json_default)
    except (TypeError, ValueError) as e:
        raise GraphError(f"cannot save graph to {str(path)!r}: {e}") from None
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise GraphError(f"cannot write graph file {str(path)!r}: {e.strerror or e}") from None


def _read_text(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GraphError(f"graph file {str(path)!r} does not exist") from None
    except UnicodeDecodeError as e:
        raise GraphError(f"graph file {str(path)!r} is not UTF-8 text: {e.reason}") from None
    except OSError as e:
        raise GraphError(f"cannot read graph file {str(path)!r}: {e.strerror or e}") from None
    if not text.strip():
        raise GraphError(f"graph file {str(path)!r} is empty")
    return text


def _parse_json(path: Path, text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise GraphError(
            f"graph file {str(path)!r} is not valid JSON: {e.msg} at line {e.lineno}, "
            f"column {e.colno}"
        ) from None


def _graph_from_data(data) -> nx.DiGraph:
    """Build a DiGraph from node-link data; raise GraphError (without the file name)."""
    if not isinstance(data, dict):
        raise GraphError(f"not a node-link graph: the top level is a {type(data).__name__}, "
                         f"not an object")
    if "adjacency" in data:
        raise GraphError("this is networkx adjacency JSON, not node-link JSON; convert it "
                         "with networkx.adjacency_graph and save it with save_graph")
    if "elements" in data:
        raise GraphError("this is Cytoscape JSON, not node-link JSON; convert it with "
                         "networkx.cytoscape_graph and save it with save_graph")
    for key in data:
        if key not in NODE_LINK_KEYS:
            raise GraphError(f"not a node-link graph: unknown top-level key {key!r}"
                             f"{did_you_mean(key, NODE_LINK_KEYS)}")
    edges_key = "edges" if "edges" in data or "links" not in data else "links"
    for key in ("directed", "nodes", edges_key):
        if key not in data:
            raise GraphError(f"not a node-link graph: missing key {key!r}")
    for key in ("directed", "multigraph"):
        if key in data and not isinstance(data[key], bool):
            raise GraphError(f"{key!r} must be true or false, got {data[key]!r}")
    if "edges" in data and "links" in data:
        raise GraphError("the file has both 'edges' and 'links' (the old name of 'edges'); "
                         "keep one")
    if data["directed"] is not True:
        raise GraphError(f"the graph is undirected ('directed': {data['directed']!r}); a "
                         f"network must be directed")
    if data.get("multigraph", False) is not False:
        raise GraphError("the graph is a multigraph ('multigraph': true); a network allows "
                         "at most one edge per ordered pair of nodes")
    if not isinstance(data.get("graph", {}), dict):
        raise GraphError("not a node-link graph: 'graph' is not an object")
    for key in ("nodes", edges_key):
        if not isinstance(data[key], list):
            raise GraphError(f"not a node-link graph: {key!r} is not a list")
    check_limit("max_nodes", len(data["nodes"]), f"the file lists {len(data['nodes'])} nodes",
                GraphError)
    check_limit("max_edges", len(data[edges_key]),
                f"the file lists {len(data[edges_key])} edges", GraphError)
    G = nx.DiGraph()
    G.graph.update(data.get("graph", {}))
    for k, d in enumerate(data["nodes"]):
        if not isinstance(d, dict):
            raise GraphError(f"node entry {k} is {d!r}, not an object with an 'id'")
        if "id" not in d:
            raise GraphError(f"node entry {k} has no 'id'")
        n = d["id"]
        if not _is_id(n):
            raise GraphError(f"node entry {k} has id {n!r}; node ids must be int or str")
        if n in G:
            raise GraphError(f"node {n!r} appears twice (node entry {k})")
        G.add_node(n, **{a: v for a, v in d.items() if a != "id"})
    for k, d in enumerate(data[edges_key]):
        if not isinstance(d, dict) or "source" not in d or "target" not in d:
            missing = "an object" if not isinstance(d, dict) else \
                " and ".join(repr(a) for a in ("source", "target") if a not in d)
            raise GraphError(f"edge entry {k} needs 'source' and 'target' (missing "
                             f"{missing})")
        u, v = d["source"], d["target"]
        for end in (u, v):
            if not _is_id(end) or end not in G:
                raise GraphError(f"edge ({u!r}, {v!r}) (edge entry {k}) refers to unknown "
                                 f"node {end!r}")
        if G.has_edge(u, v):
            raise GraphError(f"edge ({u!r}, {v!r}) appears twice (edge entry {k})")
        G.add_edge(u, v, **{a: x for a, x in d.items() if a not in ("source", "target")})
    return G


def _is_graphml(path: Path, text: str) -> bool:
    """Tell GraphML from JSON: by the first character (``<`` / ``{`` ``[``), else the extension."""
    start = text.lstrip("\ufeff \t\r\n")[:1]
    if start in ("<", "{", "["):
        return start == "<"
    return path.suffix.lower() in (".graphml", ".xml")


def _graph_from_graphml(text: str) -> nx.DiGraph:
    """Parse GraphML text; raise GraphError (without the file name)."""
    try:
        root = ET.fromstring(text.lstrip("\ufeff \t\r\n"))
    except ET.ParseError as e:
        raise GraphError(f"not valid GraphML (XML error: {e})") from None
    tag = root.tag.rsplit("}", 1)[-1]
    if tag != "graphml":
        raise GraphError(f"an XML file whose root element is <{tag}>, not GraphML (<graphml>)"
                         f" or node-link JSON")
    try:
        G = nx.parse_graphml(text.lstrip("\ufeff \t\r\n"))
    except (nx.NetworkXError, ET.ParseError, ValueError, KeyError, TypeError) as e:
        raise GraphError(f"not valid GraphML: {e}") from None
    if not G.is_directed():
        raise GraphError("the graph is undirected (edgedefault=\"undirected\"); a network "
                         "must be directed")
    if G.is_multigraph():
        raise GraphError("the graph has parallel edges (a multigraph); a network allows at "
                         "most one edge per ordered pair of nodes")
    for key in ("node_default", "edge_default"):  # added by networkx's reader
        G.graph.pop(key, None)
    if G.graph.pop(GRAPHML_INT_IDS, None) == "int":
        try:
            mapping = {n: int(n) for n in G}
        except ValueError:
            raise GraphError(f"the file says ({GRAPHML_INT_IDS}='int') that every node id is "
                             f"an int, but not all are") from None
        G = nx.relabel_nodes(G, mapping)
    return G


def load_graph(path: str | os.PathLike) -> nx.DiGraph:
    """Read a graph file (node-link JSON, or GraphML) and validate it.

    Args:
        path: the file to read. GraphML is recognised by the extension ``.graphml`` or
            ``.xml`` or by content starting with ``<`` (see the module doc).

    Returns:
        The graph, with node ids, node order, successor order and attributes as saved.

    Raises:
        GraphError: naming the file, for a path that is not a str or path, a missing,
            unreadable or empty file, invalid JSON (with line and column), JSON that is
            not a directed, non-multigraph node-link graph (naming the missing or unknown
            key or bad entry), XML that is not valid GraphML, or a graph that fails
            :func:`~networks.validate.validate_graph` (naming the node or edge).

    """
    if not isinstance(path, str | os.PathLike):
        shown = "" if isinstance(path, nx.Graph) else f" {path!r}"[:60]
        raise GraphError(f"load_graph takes the path of a graph file; got "
                         f"{type(path).__name__}{shown}")
    path = Path(path)
    text = _read_text(path)
    graphml = _is_graphml(path, text)
    data = None if graphml else _parse_json(path, text)
    try:
        G = _graph_from_graphml(text) if graphml else _graph_from_data(data)
        validate_graph(G)
    except GraphError as e:
        raise GraphError(f"graph file {str(path)!r}: {e}") from None
    return G


def export_graphml(G: nx.DiGraph, path: str | os.PathLike) -> None:
    """Validate ``G`` and write it as GraphML (for Gephi, yEd, Cytoscape...).

    GraphML stores node ids as strings; attributes keep their int/float/str/bool types.
    When every id is an int the file says so (graph attribute ``localprop_node_ids``), and
    :func:`load_graph` reads it back with the int ids.

    Args:
        G: a valid network graph whose attribute values are single numbers, strings or
            bools (GraphML has no lists or tuples).
        path: the file to write.

    Raises:
        GraphError: if ``G`` is invalid, an attribute value cannot be stored in GraphML
            (names the node or edge and the attribute), or the file cannot be written.

    """
    validate_graph(G)
    items = [(f"node {n!r}", d) for n, d in G.nodes(data=True)]
    items += [(f"edge {(u, v)!r}", d) for u, v, d in G.edges(data=True)]
    items.append(("the graph", G.graph))
    for what, d in items:
        for a, value in d.items():
            if not isinstance(value, _GRAPHML_SCALARS):
                raise GraphError(f"{what} has attribute {a!r} of type {type(value).__name__}"
                                 f", which GraphML cannot store (only numbers, strings and "
                                 f"bools); save it as node-link JSON with save_graph")
    H = G.copy()
    if all(isinstance(n, int | np.integer) and not isinstance(n, bool) for n in G):
        H.graph[GRAPHML_INT_IDS] = "int"
    try:
        nx.write_graphml(H, os.fspath(path))
    except nx.NetworkXError as e:
        raise GraphError(f"cannot write GraphML file {str(path)!r}: {e}") from None
    except OSError as e:
        raise GraphError(f"cannot write GraphML file {str(path)!r}: {e.strerror or e}") from None
