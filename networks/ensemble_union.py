"""Ensemble pieces: the union of K member networks, per-member parameters, shape check.

The union of members ``m_0 … m_{K−1}`` (each N nodes, E edges, the same node ids, roles
and edge list) is one :class:`~networks.compile.CompiledNetwork` of K·N nodes whose node
ids are ``(k, node)``, in member-major canonical order: node ``i`` of member k is union
node ``k·N + i`` and edge ``e`` of member k is union edge ``k·E + e`` (the canonical
(target, source) order keeps each member's edges contiguous and in its own order). So a
union array of shape (K·N, …) reshapes to (K, N, …) with no copy.

Layers: when every member's nodes carry a ``layer``, member k's layer l becomes union layer
``k·L + l`` so that the vectorised engine plans one dense block per member and layer pair
(a dense block over all members would multiply K disjoint copies by a K-times larger
matrix); otherwise the union has no layers and its edges form sparse (CSR) blocks.
"""

from __future__ import annotations

import numbers
from dataclasses import fields, replace

import networkx as nx
import numpy as np

from agents.errors import ConfigError, GraphError
from agents.rule import Rule, Stage, StateVar
from networks.compile import CompiledNetwork, plan_blocks
from networks.ensemble_members import LazyGraph, Pending

#: prefix of the state variables that carry per-member parameter values
CARRIER = "ensemble_"
#: suffix of the edge variable carrying a parameter (node: ``ensemble_f``)
EDGE = "_edge"


def check_same_shape(members: list[CompiledNetwork]) -> None:
    """Raise a GraphError naming the first member whose shape differs from member 0's.

    One shape: the same node ids in the same order, the same roles and the same edges
    (source, target). Weights, biases, delays, activations and layers may differ.
    """
    ref = members[0]
    for k, m in enumerate(members[1:], start=1):
        what = f"ensemble member {k} does not have the shape of member 0"
        if m.n_nodes != ref.n_nodes:
            raise GraphError(f"{what}: it has {m.n_nodes} nodes, member 0 has {ref.n_nodes}")
        if m.node_ids != ref.node_ids:
            i = next(i for i, (a, b) in enumerate(zip(m.node_ids, ref.node_ids, strict=True))
                     if a != b)
            raise GraphError(f"{what}: node {i} is {m.node_ids[i]!r}, in member 0 "
                             f"{ref.node_ids[i]!r}")
        for role, mask in (("input", "is_input"), ("output", "is_output")):
            diff = np.flatnonzero(getattr(m, mask) != getattr(ref, mask))
            if len(diff):
                node = m.node_ids[diff[0]]
                has = "is" if getattr(m, mask)[diff[0]] else "is not"
                raise GraphError(f"{what}: node {node!r} {has} an {role}, unlike in member 0")
        if np.array_equal(m.src, ref.src) and np.array_equal(m.tgt, ref.tgt):
            continue  # canonical order: equal arrays are equal edge sets
        mine = set(zip(m.src.tolist(), m.tgt.tolist(), strict=True))
        theirs = set(zip(ref.src.tolist(), ref.tgt.tolist(), strict=True))
        if mine != theirs:
            extra, missing = sorted(mine - theirs), sorted(theirs - mine)
            j, i = (extra or missing)[0]
            edge = (m.node_ids[j], m.node_ids[i])
            raise GraphError(f"{what}: it {'has' if extra else 'lacks'} edge {edge!r} "
                             f"({len(extra)} extra, {len(missing)} missing edges)")


def union_network(members: list[CompiledNetwork]) -> CompiledNetwork:
    """The disjoint union of members of one shape (module doc), compiled.

    Built from the members' arrays (they were validated when compiled); its graph has
    nodes ``(k, node)`` with the members' attributes.
    """
    K, ref = len(members), members[0]
    n, e = ref.n_nodes, ref.n_edges
    node_off = np.repeat(np.arange(K) * n, e)
    src = np.concatenate([m.src for m in members]) + node_off
    tgt = np.concatenate([m.tgt for m in members]) + node_off
    delay = np.concatenate([m.delay for m in members])
    layered = all(np.all(m.layer >= 0) for m in members)
    if layered:
        depth = 1 + max(int(m.layer.max(initial=0)) for m in members)
        layer = np.concatenate([m.layer + k * depth for k, m in enumerate(members)])
    else:
        layer = np.full(K * n, -1, dtype=np.int64)
    is_input, is_output = np.tile(ref.is_input, K), np.tile(ref.is_output, K)
    blocks, block_order = (_member_blocks(members) if layered else
                           plan_blocks(layer, src, tgt, delay))
    in_ptr = np.zeros(K * n + 1, dtype=np.intp)
    np.cumsum(np.bincount(tgt, minlength=K * n), out=in_ptr[1:])
    out_ptr = np.zeros(K * n + 1, dtype=np.intp)
    np.cumsum(np.bincount(src, minlength=K * n), out=out_ptr[1:])
    node_ids = tuple((k, v) for k in range(K) for v in ref.node_ids)
    return UnionNetwork(
        graph=_PendingUnion(members), node_ids=node_ids,
        index={v: i for i, v in enumerate(node_ids)}, is_input=is_input,
        is_output=is_output, input_idx=np.flatnonzero(is_input),
        output_idx=np.flatnonzero(is_output),
        activation=tuple(a for m in members for a in m.activation),
        bias=np.concatenate([m.bias for m in members]), layer=layer, src=src, tgt=tgt,
        weight=np.concatenate([m.weight for m in members]), delay=delay, in_ptr=in_ptr,
        out_edges=np.lexsort((tgt, src)).astype(np.intp), out_ptr=out_ptr,
        max_delay=max(m.max_delay for m in members), blocks=blocks, block_order=block_order)


def _member_blocks(members: list[CompiledNetwork]):
    """The union's blocks: each member's own, shifted to its nodes and edges.

    (What :func:`networks.compile.plan_blocks` gives on a layered union, without
    sorting all K·E edges; sparse blocks stay one per member and delay.)
    """
    n, e = members[0].n_nodes, members[0].n_edges
    blocks, order = [], []
    for k, m in enumerate(members):
        for b in m.blocks:
            shift = {"start": b.start + k * e, "stop": b.stop + k * e}
            if b.kind == "dense":
                shift |= {"tgt_range": (b.tgt_range[0] + k * n, b.tgt_range[1] + k * n),
                          "src_range": (b.src_range[0] + k * n, b.src_range[1] + k * n)}
            else:
                shift |= {"src": b.src + k * n, "tgt": b.tgt + k * n}
            blocks.append(replace(b, **shift))
        order.append(m.block_order + k * e)
    return tuple(blocks), np.concatenate(order).astype(np.intp)


class _PendingUnion(Pending):
    """The union's graph not built yet: its members.

    Building a networkx graph of K·N nodes costs more than a member's steps, so it is
    made only when asked for.
    """

    __slots__ = ("members",)

    def __init__(self, members):
        self.members = members

    def build(self) -> nx.DiGraph:
        return _union_graph(self.members)


class UnionNetwork(CompiledNetwork):
    """A :class:`CompiledNetwork` of an ensemble's union whose graph is built lazily."""

    graph = LazyGraph()


def _union_graph(members: list[CompiledNetwork]) -> nx.DiGraph:
    G = nx.DiGraph()
    for k, m in enumerate(members):
        G.add_nodes_from(((k, v), d) for v, d in m.graph.nodes(data=True))
        G.add_edges_from(((k, j), (k, i), d) for j, i, d in m.graph.edges(data=True))
    return G


# --------------------------------------------------------------------- parameters
class PerMember(np.ndarray):
    """Values of one rule parameter, one per neuron (or edge) after its member's value.

    Arithmetic broadcasts as for a number. Used as a switch (``if p.eta:``) it is true
    when every member's value is true, false when none is, and an error otherwise: the
    members would take different branches of the rule's code.
    """

    field_name = "?"

    def __bool__(self) -> bool:
        if np.all(np.asarray(self)):
            return True
        if not np.any(np.asarray(self)):
            return False
        raise ConfigError(f"parameter {self.field_name!r} is used by the rule as a switch "
                          f"and is zero in some ensemble members only; put the members "
                          f"where it is zero in a separate ensemble")


class MemberParams:
    """A rule's params object whose varied fields hold :class:`PerMember` arrays."""

    def __init__(self, base, varied: dict):
        self._base = base
        self.__dict__.update(varied)

    def __getattr__(self, name):
        return getattr(self._base, name)


def split_params(rule: Rule, params: list) -> tuple[object, dict[str, np.ndarray]]:
    """Member 0's params and ``{field: values (K,)}`` of the fields that differ.

    Raises:
        ConfigError: for a field that differs but is not a number in every member.
    """
    base, varied = params[0], {}
    for f in fields(rule.params):
        values = [getattr(p, f.name) for p in params]
        if all(_same(v, values[0]) for v in values):
            continue
        k = next(k for k, v in enumerate(values) if not _same(v, values[0]))
        if not all(isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_)
                   for v in values):
            raise ConfigError(f"rule parameter {f.name!r} differs between ensemble members "
                              f"(member 0: {values[0]!r}, member {k}: {values[k]!r}) and "
                              f"cannot vary within an ensemble: only numeric parameters "
                              f"can; run these members in separate ensembles")
        varied[f.name] = np.array(values, dtype=np.float64)
    return base, varied


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b


def carrier_rule(rule: Rule, base, varied: list[str]) -> Rule:
    """``rule`` with state variables carrying the varied parameters to its functions.

    Each varied field f gets a node variable ``ensemble_f`` and an edge variable
    ``ensemble_f_edge`` (no example axis) holding every neuron's / edge's member value;
    the wrapped update functions hand the rule a :class:`MemberParams` built from them.
    """
    if not varied:
        return rule
    node_carriers = tuple(StateVar(CARRIER + f, 0.0, batched=False,
                                   doc=f"the member's value of parameter {f}")
                          for f in varied)
    edge_carriers = tuple(StateVar(CARRIER + f + EDGE, 0.0, batched=False,
                                   doc=f"the member's value of parameter {f}")
                          for f in varied)

    def params_from(arrays, suffix=""):
        out = {}
        for f in varied:
            arr = arrays[CARRIER + f + suffix].view(PerMember)
            arr.field_name = f
            out[f] = arr
        return MemberParams(base, out)

    def wrap_node(fn):
        def node_update(state, inbox, nrn, _params):
            return fn(state, inbox, nrn, params_from(state))
        return node_update

    def wrap_edge(fn):
        def edge_update(edge, hebb, nrn, _params):
            return fn(edge, hebb, nrn, params_from(edge, EDGE))
        return edge_update

    stages = tuple(
        Stage(channels=s.channels, node_update=wrap_node(s.node_update),
              edge_update=None if s.edge_update is None else wrap_edge(s.edge_update),
              hebb=s.hebb)
        for s in rule.stages)
    return Rule(name=rule.name, node_vars=(*rule.node_vars, *node_carriers),
                edge_vars=(*rule.edge_vars, *edge_carriers), stages=stages,
                output_var=rule.output_var, params=rule.params)
