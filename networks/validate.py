"""Validation of network graphs and their default attributes (docs/math/notation.md).

A network is a :class:`networkx.DiGraph`. Node attributes: ``role`` (required, one of
:data:`ROLES`), ``activation`` (a key of :data:`agents.activations.ACTIVATIONS`, default
``"tanh"``; an input node may only say ``"identity"``: inputs are clamped to the data),
``bias`` (finite real, default 0.0; an input node may only say 0) and an optional
integer ``layer`` (>= 0; lets the vectorised engine use dense layer blocks). Edge
``(j, i)`` means j is presynaptic to i; attributes ``weight`` (required, finite real) and
``delay`` (integer >= 1, default 1, at most the limit ``max_delay`` of
:mod:`networks.limits`).

Any other attribute is refused (a misspelt ``"dealy"`` would otherwise be ignored and
the default used), with a did-you-mean hint, except the descriptive attributes
:data:`EXTRA_NODE_ATTRIBUTES` / :data:`EXTRA_EDGE_ATTRIBUTES` (``label``, ``pos``,
``color``, ``description``), which localprop keeps but never interprets, and any
attribute whose name starts with ``"user_"`` (:data:`USER_PREFIX`), free for your own
annotations. Node ids may be any hashable, but no two ids may print the same (``0`` and
``"0"``): files store ids as text, and messages name neurons by them. The graph's own
attributes (``G.graph``) are free.

:func:`validate_graph` raises a :class:`~agents.errors.GraphError` whose message names the
node or edge at fault; :func:`default_attributes` returns a copy with the defaults filled
in, which is what builders, the compiler and the engines work from.
"""

from __future__ import annotations

import math
import numbers
import os

import networkx as nx
import numpy as np

from agents.activations import ACTIVATIONS
from agents.errors import GraphError, did_you_mean
from networks.limits import check_limit, get_limit

ROLES: tuple[str, ...] = ("input", "hidden", "output")
DEFAULT_ACTIVATION = "tanh"
INPUT_ACTIVATION = "identity"
DEFAULT_BIAS = 0.0
DEFAULT_DELAY = 1

#: Node attributes with a meaning in the model.
NODE_ATTRIBUTES: tuple[str, ...] = ("role", "activation", "bias", "layer")
#: Edge attributes with a meaning in the model.
EDGE_ATTRIBUTES: tuple[str, ...] = ("weight", "delay")
#: Descriptive node attributes that are kept (files, plots) but never interpreted.
EXTRA_NODE_ATTRIBUTES: tuple[str, ...] = ("label", "pos", "color", "description")
#: Descriptive edge attributes that are kept but never interpreted.
EXTRA_EDGE_ATTRIBUTES: tuple[str, ...] = ("label", "color", "description")
#: Attributes whose name starts with this prefix are the user's own (never interpreted).
USER_PREFIX = "user_"


def is_real(x: object) -> bool:
    """Return True if ``x`` is a finite real number (Python or numpy; not a bool or str)."""
    if isinstance(x, bool | np.bool_) or not isinstance(x, numbers.Real):
        return False
    try:
        return math.isfinite(x)
    except OverflowError:  # an int too large for a float
        return False


def is_delay(x: object) -> bool:
    """Return True if ``x`` is a valid delay: a Python or numpy integer >= 1, not a bool."""
    return isinstance(x, int | np.integer) and not isinstance(x, bool) and x >= 1


def _check_attribute_names(what: str, d: dict, model: tuple, extra: tuple) -> None:
    """Refuse an attribute that is neither meaningful, descriptive nor ``user_...``."""
    for a in d:
        if a in model or a in extra or (isinstance(a, str) and a.startswith(USER_PREFIX)):
            continue
        hint = did_you_mean(a, model + extra, listing=False) or (
            f"; known attributes: {list(model)}, descriptive: {list(extra)}")
        raise GraphError(f"{what} has unknown attribute {a!r}{hint} (name your own "
                         f"annotations {USER_PREFIX}...)")


def _check_node(G: nx.DiGraph, n) -> None:
    d = G.nodes[n]
    _check_attribute_names(f"node {n!r}", d, NODE_ATTRIBUTES, EXTRA_NODE_ATTRIBUTES)
    if "role" not in d:
        raise GraphError(f"node {n!r} has no 'role'; expected one of {list(ROLES)}")
    role = d["role"]
    if not isinstance(role, str) or role not in ROLES:
        raise GraphError(f"node {n!r} has role {role!r}{did_you_mean(role, ROLES)}")
    if "activation" in d:
        act = d["activation"]
        if not isinstance(act, str) or act not in ACTIVATIONS:
            raise GraphError(f"node {n!r} has unknown activation {act!r}"
                             f"{did_you_mean(act, ACTIVATIONS)}")
        if role == "input" and act != INPUT_ACTIVATION:
            raise GraphError(f"input node {n!r} has activation {act!r}; inputs are clamped "
                             f"to the data and apply none (omit it or say 'identity')")
    if "bias" in d and not is_real(d["bias"]):
        raise GraphError(
            f"node {n!r} has bias {d['bias']!r}; the bias must be a finite real number"
        )
    if role == "input" and d.get("bias", 0.0) != 0.0:
        raise GraphError(f"input node {n!r} has bias {d['bias']!r}; inputs are clamped to "
                         f"the data and have no bias (omit it or say 0)")
    if "layer" in d:
        layer = d["layer"]
        if isinstance(layer, bool) or not isinstance(layer, int | np.integer) or layer < 0:
            raise GraphError(
                f"node {n!r} has layer {layer!r}; the layer must be an integer >= 0"
            )


def _check_edge(G: nx.DiGraph, u, v, d: dict, max_delay: int) -> None:
    edge = (u, v)
    if any(a not in EDGE_ATTRIBUTES for a in d):  # (the common case checks nothing more)
        _check_attribute_names(f"edge {edge!r}", d, EDGE_ATTRIBUTES, EXTRA_EDGE_ATTRIBUTES)
    if G.nodes[v]["role"] == "input":
        raise GraphError(f"edge {edge!r} points into input node {v!r}; inputs take no edges")
    if "weight" not in d:
        raise GraphError(f"edge {edge!r} has no 'weight'")
    if not is_real(d["weight"]):
        raise GraphError(
            f"edge {edge!r} has weight {d['weight']!r}; the weight must be a finite real number"
        )
    if "delay" in d and not is_delay(d["delay"]):
        raise GraphError(
            f"edge {edge!r} has delay {d['delay']!r}; delay must be an integer >= 1"
        )
    if "delay" in d and d["delay"] > max_delay:
        check_limit("max_delay", int(d["delay"]), f"edge {edge!r} has delay {d['delay']!r}",
                    GraphError)


def _check_ids(G: nx.DiGraph) -> None:
    """Refuse two node ids with the same text (``0`` and ``"0"``)."""
    seen: dict[str, object] = {}
    for n in G.nodes:
        key = str(n)
        if key in seen:
            raise GraphError(f"nodes {seen[key]!r} and {n!r} have the same name as text "
                             f"({key!r}); files store ids as text and messages name neurons "
                             f"by them, so rename one")
        seen[key] = n


def nodes_with_role(G: nx.DiGraph, role: str) -> list:
    """Return the nodes of ``G`` with the given role, in ``G.nodes`` order."""
    return [n for n, r in G.nodes(data="role") if r == role]


def validate_graph(G: nx.DiGraph) -> None:
    """Check that ``G`` is a valid localprop network; return None or raise.

    Checks, in order: ``G`` is a ``DiGraph`` (not a multigraph) with at least one node,
    within the limits ``max_nodes`` and ``max_edges`` (:mod:`networks.limits`); no two
    node ids print the same; every node has only known attributes (see the module doc), a
    valid role, a known activation (if given; "identity" on inputs), a finite real bias (if
    given; 0 on inputs) and an integer layer >= 0 (if given); there is at least one input
    and one output node; no edge points into an input node; every edge has only known
    attributes, a finite real weight and, if given, an integer delay in
    [1, ``max_delay``] (so a cycle of zero total delay cannot exist); every output node is
    reachable from some input node.

    Args:
        G: the graph to check.

    Raises:
        GraphError: naming the node or edge at fault (ids shown with ``repr``).

    """
    if isinstance(G, str | os.PathLike):
        raise GraphError(f"a network must be a networkx.DiGraph; got {type(G).__name__} "
                         f"{str(G)!r} (read a graph file with networks.graphio.load_graph)")
    if not isinstance(G, nx.DiGraph) or G.is_multigraph():
        raise GraphError(
            f"a network must be a networkx.DiGraph (not a multigraph); got {type(G).__name__}"
        )
    if G.number_of_nodes() == 0:
        raise GraphError("the graph has no nodes")
    check_limit("max_nodes", G.number_of_nodes(),
                f"the graph has {G.number_of_nodes()} nodes", GraphError)
    check_limit("max_edges", G.number_of_edges(),
                f"the graph has {G.number_of_edges()} edges", GraphError)
    _check_ids(G)
    for n in G.nodes:
        _check_node(G, n)
    inputs = nodes_with_role(G, "input")
    if not inputs:
        raise GraphError("the graph has no input node (role 'input')")
    outputs = nodes_with_role(G, "output")
    if not outputs:
        raise GraphError("the graph has no output node (role 'output')")
    max_delay = get_limit("max_delay")  # read once, not per edge
    for u, v, d in G.edges(data=True):
        _check_edge(G, u, v, d, max_delay)
    seen = set(inputs)
    stack = list(inputs)
    while stack:
        for s in G.successors(stack.pop()):
            if s not in seen:
                seen.add(s)
                stack.append(s)
    for o in outputs:
        if o not in seen:
            raise GraphError(f"output node {o!r} is not reachable from any input node")


def default_attributes(G: nx.DiGraph) -> nx.DiGraph:
    """Return a copy of ``G`` with absent attributes set to their defaults.

    Fills ``activation`` ("identity" on input nodes, "tanh" elsewhere), ``bias`` (0.0) and
    edge ``delay`` (1). Attributes already present are kept. Node and edge order are
    preserved. ``G`` itself is not modified; call :func:`validate_graph` first.

    Args:
        G: a network graph.

    Returns:
        A new ``DiGraph`` with every node carrying role/activation/bias and every edge
        weight/delay.

    """
    H = G.copy()
    for _, d in H.nodes(data=True):
        default = INPUT_ACTIVATION if d.get("role") == "input" else DEFAULT_ACTIVATION
        d.setdefault("activation", default)
        d.setdefault("bias", DEFAULT_BIAS)
    for _, _, d in H.edges(data=True):
        d.setdefault("delay", DEFAULT_DELAY)
    return H


def is_dag(G: nx.DiGraph) -> bool:
    """Return True if ``G`` has no directed cycle (a self-loop counts as a cycle)."""
    return nx.is_directed_acyclic_graph(G)
