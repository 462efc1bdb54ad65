"""Validation of network graphs and their default attributes (DESIGN §3).

A network is a :class:`networkx.DiGraph`. Node attributes: ``role`` (required, one of
:data:`ROLES`), ``activation`` (a key of :data:`agents.activations.ACTIVATIONS`, default
``"tanh"``; input nodes ignore it), ``bias`` (finite real, default 0.0) and an optional
integer ``layer``. Edge ``(j, i)`` means j is presynaptic to i; attributes ``weight``
(required, finite real) and ``delay`` (integer >= 1, default 1).

:func:`validate_graph` raises a :class:`~agents.errors.GraphError` whose message names the
node or edge at fault; :func:`default_attributes` returns a copy with the defaults filled
in, which is what builders, the compiler and the engines work from.
"""

from __future__ import annotations

import math
import numbers

import networkx as nx
import numpy as np

from agents.activations import ACTIVATIONS
from agents.errors import GraphError

ROLES: tuple[str, ...] = ("input", "hidden", "output")
DEFAULT_ACTIVATION = "tanh"
INPUT_ACTIVATION = "identity"
DEFAULT_BIAS = 0.0
DEFAULT_DELAY = 1


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


def _check_node(G: nx.DiGraph, n) -> None:
    d = G.nodes[n]
    if "role" not in d:
        raise GraphError(f"node {n!r} has no 'role'; expected one of {list(ROLES)}")
    role = d["role"]
    if not isinstance(role, str) or role not in ROLES:
        raise GraphError(f"node {n!r} has role {role!r}; expected one of {list(ROLES)}")
    if "activation" in d:
        act = d["activation"]
        if not isinstance(act, str) or act not in ACTIVATIONS:
            raise GraphError(
                f"node {n!r} has unknown activation {act!r}; "
                f"choose one of {sorted(ACTIVATIONS)}"
            )
    if "bias" in d and not is_real(d["bias"]):
        raise GraphError(
            f"node {n!r} has bias {d['bias']!r}; the bias must be a finite real number"
        )
    if "layer" in d:
        layer = d["layer"]
        if isinstance(layer, bool) or not isinstance(layer, int | np.integer) or layer < 0:
            raise GraphError(
                f"node {n!r} has layer {layer!r}; the layer must be an integer >= 0"
            )


def _check_edge(G: nx.DiGraph, u, v) -> None:
    edge = (u, v)
    d = G.edges[u, v]
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


def nodes_with_role(G: nx.DiGraph, role: str) -> list:
    """Return the nodes of ``G`` with the given role, in ``G.nodes`` order."""
    return [n for n, r in G.nodes(data="role") if r == role]


def validate_graph(G: nx.DiGraph) -> None:
    """Check that ``G`` is a valid localprop network; return None or raise.

    Checks, in order: ``G`` is a ``DiGraph`` (not a multigraph) with at least one node;
    every node has a valid role, known activation (if given), finite real bias (if given)
    and integer layer >= 0 (if given); there is at least one input and one output node;
    no edge points into an input node; every edge has a finite real weight and, if given,
    an integer delay >= 1 (so a cycle of zero total delay cannot exist); every output node
    is reachable from some input node.

    Args:
        G: the graph to check.

    Raises:
        GraphError: naming the node or edge at fault (ids shown with ``repr``).

    """
    if not isinstance(G, nx.DiGraph) or G.is_multigraph():
        raise GraphError(
            f"a network must be a networkx.DiGraph (not a multigraph); got {type(G).__name__}"
        )
    if G.number_of_nodes() == 0:
        raise GraphError("the graph has no nodes")
    for n in G.nodes:
        _check_node(G, n)
    inputs = nodes_with_role(G, "input")
    if not inputs:
        raise GraphError("the graph has no input node (role 'input')")
    outputs = nodes_with_role(G, "output")
    if not outputs:
        raise GraphError("the graph has no output node (role 'output')")
    for u, v in G.edges:
        _check_edge(G, u, v)
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
