"""Member networks of one shape from one compiled template: only the parameters differ.

The members of an ensemble (e.g. the seeds of a sweep) share their nodes, roles,
activations, edges and delays, and differ in their weights and biases. Compiling each
member from its graph (building it, validating it, sorting its edges) costs far more than
its share of the ensemble's training, so :func:`with_parameters` makes a member from a
compiled template and the member's own arrays: every array of the template is shared
(read-only by convention, as for any compiled network) except ``weight`` and ``bias``.
Its ``graph`` — which the engines never read — is built from the template's graph on
first use (:func:`graph_with_params`), so a member equals ``compile_graph`` of its own
graph in every attribute.
"""

from __future__ import annotations

from dataclasses import fields

import networkx as nx
import numpy as np

from agents.errors import GraphError
from networks.compile import CompiledNetwork


def graph_with_params(net: CompiledNetwork, weight, bias) -> nx.DiGraph:
    """A copy of ``net.graph`` carrying the given weights (E,) and biases (N,)."""
    G = net.graph.copy()
    for e, (j, i) in enumerate(zip(net.src, net.tgt, strict=True)):
        G.edges[net.node_ids[j], net.node_ids[i]]["weight"] = float(weight[e])
    for k, node in enumerate(net.node_ids):
        G.nodes[node]["bias"] = 0.0 if net.is_input[k] else float(bias[k])
    return G


class Pending:
    """A graph not built yet: ``build()`` makes it (base of what :class:`LazyGraph` holds)."""

    __slots__ = ()

    def build(self) -> nx.DiGraph:
        """The networkx graph."""
        raise NotImplementedError


class _Pending(Pending):
    """A member's graph not built yet: its template and its parameters."""

    __slots__ = ("template", "weight", "bias")

    def __init__(self, template, weight, bias):
        self.template, self.weight, self.bias = template, weight, bias

    def build(self) -> nx.DiGraph:
        return graph_with_params(self.template, self.weight, self.bias)


class LazyGraph:
    """A network's ``graph`` attribute, built on first use from the Pending it holds.

    Used by ensemble members and the ensemble's union: the engines never read it.
    """

    def __set_name__(self, owner, name):
        self.slot = "_" + name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        value = obj.__dict__[self.slot]
        if isinstance(value, Pending):
            value = value.build()
            obj.__dict__[self.slot] = value
        return value

    def __set__(self, obj, value):
        obj.__dict__[self.slot] = value


class MemberNetwork(CompiledNetwork):
    """A compiled network made by :func:`with_parameters` (graph built lazily).

    ``structure_of`` is its template: the oracles' per-network memo (topological plan,
    activation map: structure only) is the template's.
    """

    graph = LazyGraph()

    @property
    def is_dag(self) -> bool:
        """True when the graph has no directed cycle (the template's answer: one shape)."""
        return self.structure_of.is_dag


def with_parameters(template: CompiledNetwork, weight, bias) -> MemberNetwork:
    """The network of ``template``'s shape with weights ``weight`` (E,), biases ``bias`` (N,).

    Args:
        template: a compiled network.
        weight: canonical edge weights, shape (E,), finite.
        bias: biases, shape (N,), finite (those of input nodes are set to 0, as
            :func:`networks.compile.compile_graph` does).

    Raises:
        GraphError: arrays of the wrong shape or with a non-finite value.
    """
    weight = np.array(weight, dtype=np.float64)
    bias = np.array(bias, dtype=np.float64)
    for name, arr, size in (("weight", weight, template.n_edges),
                            ("bias", bias, template.n_nodes)):
        if arr.shape != (size,) or not np.all(np.isfinite(arr)):
            raise GraphError(f"member {name}s must be {size} finite numbers (the template's "
                             f"shape), got shape {arr.shape}")
    bias[template.is_input] = 0.0
    values = {f.name: getattr(template, f.name) for f in fields(CompiledNetwork)
              if f.name != "graph"}
    member = MemberNetwork(**values | {"weight": weight, "bias": bias,
                                       "graph": _Pending(template, weight, bias)})
    member.__dict__["structure_of"] = getattr(template, "structure_of", None) or template
    return member
