r"""Compilation of a validated graph to arrays (the layout both engines start from).

Canonical orders, used by every array a user sees:

* **nodes**: ``G.nodes`` iteration order; index ``k`` ↔ ``node_ids[k]``.
* **edges**: sorted by (target index, source index), i.e. CSR "by target": the in-edges
  of node ``i`` are ``in_ptr[i]:in_ptr[i+1]``. Each neuron owns its in-edges (weights are
  state of the postsynaptic neuron).

For the vectorised engine the edges are also partitioned into :class:`Block`\\ s with one
delay each: *dense* blocks where a layer is fully connected to another (weights viewed as
an ``(n_tgt, n_src)`` matrix) and *sparse* blocks for everything else (one per delay).
``block_order`` lists canonical edge ids in block order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx
import numpy as np

from networks.validate import default_attributes, validate_graph


@dataclass(frozen=True)
class Block:
    """A group of edges with one delay, stored contiguously in block order.

    Attributes:
        kind: ``"dense"`` (full layer-to-layer connection) or ``"sparse"``.
        delay: the common delay d of the block's edges.
        start, stop: the block's range in block-ordered edge arrays.
        tgt_range, src_range: (dense) node index ranges [t0, t1), [s0, s1); weights
            ``w[start:stop].reshape(t1 - t0, s1 - s0)``, row = target, column = source.
        src, tgt: (sparse) node indices of the block's edges, shape (stop - start,).
    """

    kind: str
    delay: int
    start: int
    stop: int
    tgt_range: tuple[int, int] = (0, 0)
    src_range: tuple[int, int] = (0, 0)
    src: np.ndarray | None = None
    tgt: np.ndarray | None = None


@dataclass(frozen=True)
class CompiledNetwork:
    """Array form of a network graph (N nodes, E edges).

    Attributes:
        graph: the validated graph with default attributes filled in.
        node_ids: node ids in canonical order, length N.
        index: node id → canonical index.
        is_input, is_output: role masks, shape (N,).
        input_idx, output_idx: indices of input / output nodes in graph order.
        activation: activation name per node, length N.
        bias: b, shape (N,).
        layer: layer attribute per node (−1 when absent), shape (N,).
        src, tgt, weight, delay: canonical edge arrays, shape (E,).
        in_ptr: CSR pointer over canonical edges by target, shape (N + 1,).
        out_edges, out_ptr: canonical edge ids grouped by source (sorted by target):
            out-edges of node j are ``out_edges[out_ptr[j]:out_ptr[j+1]]``.
        max_delay: D = max edge delay (1 for an edgeless graph).
        blocks: block partition for the vectorised engine.
        block_order: canonical edge ids in block order, shape (E,).
    """

    graph: nx.DiGraph
    node_ids: tuple
    index: dict
    is_input: np.ndarray
    is_output: np.ndarray
    input_idx: np.ndarray
    output_idx: np.ndarray
    activation: tuple[str, ...]
    bias: np.ndarray
    layer: np.ndarray
    src: np.ndarray
    tgt: np.ndarray
    weight: np.ndarray
    delay: np.ndarray
    in_ptr: np.ndarray
    out_edges: np.ndarray
    out_ptr: np.ndarray
    max_delay: int
    blocks: tuple[Block, ...] = field(default=())
    block_order: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))

    @property
    def n_nodes(self) -> int:
        """N, the number of neurons (inputs included)."""
        return len(self.node_ids)

    @property
    def n_edges(self) -> int:
        """E, the number of synapses."""
        return len(self.src)

    @cached_property
    def is_dag(self) -> bool:
        """True when the graph has no directed cycle (computed once)."""
        return nx.is_directed_acyclic_graph(self.graph)

    def in_edges(self, node) -> np.ndarray:
        """Canonical ids of the in-edges of ``node`` (a node id)."""
        i = self.index[node]
        return np.arange(self.in_ptr[i], self.in_ptr[i + 1])

    def weight_matrix(self, weight: np.ndarray | None = None) -> np.ndarray:
        """Dense W with ``W[i, j] = w_ij`` (target row, source column), shape (N, N)."""
        w = self.weight if weight is None else weight
        W = np.zeros((self.n_nodes, self.n_nodes), dtype=np.float64)
        W[self.tgt, self.src] = w
        return W


def _contiguous(idx: np.ndarray) -> bool:
    return len(idx) > 0 and bool(np.all(np.diff(idx) == 1))


def _edge_groups(lt, ls, delay):
    """Edges grouped by (target layer, source layer, delay), groups in that order.

    Yields ``(lt, ls, d, edge ids ascending)``. One stable sort of an integer key (the
    triple's lexicographic rank) when it fits in int64, else ``np.unique`` of the rows.
    """
    n_l, n_d = int(max(lt.max(), ls.max())) + 1, int(delay.max()) + 1
    if n_l * n_l * n_d < 2**62 and delay.min() >= 0:
        key = (lt.astype(np.int64) * n_l + ls) * n_d + delay
        order = np.argsort(key, kind="stable")
        bounds = np.flatnonzero(np.diff(key[order])) + 1
        for part in np.split(order, bounds):
            e = part[0]
            yield int(lt[e]), int(ls[e]), int(delay[e]), part
        return
    uniq, inverse = np.unique(np.stack([lt, ls, delay], axis=1), axis=0,
                              return_inverse=True)
    for k, (a, b, d) in enumerate(uniq):
        yield int(a), int(b), int(d), np.flatnonzero(inverse.ravel() == k)


def plan_blocks(layer, src, tgt, delay) -> tuple[tuple[Block, ...], np.ndarray]:
    """Partition edges into dense layer blocks and per-delay sparse blocks.

    Args:
        layer: layer of each node (−1 if unknown), shape (N,).
        src: source node of each edge, shape (E,), indexed by edge id.
        tgt: target node of each edge, shape (E,).
        delay: delay of each edge, shape (E,).

    Returns:
        The blocks and the edge ids in block order (within a block sorted by (tgt, src)).
    """
    n_edges = len(src)
    dense_mask = np.zeros(n_edges, dtype=bool)
    candidates = []
    if n_edges and np.all(layer >= 0):
        for lt, ls, d, members in _edge_groups(layer[tgt], layer[src], delay):
            t_nodes = np.flatnonzero(layer == lt)
            s_nodes = np.flatnonzero(layer == ls)
            if (
                len(members) == len(t_nodes) * len(s_nodes)
                and _contiguous(t_nodes)
                and _contiguous(s_nodes)
                # no duplicate (t, s) pair can exist in a DiGraph, so the count proves fullness
            ):
                dense_mask[members] = True
                candidates.append((int(d), t_nodes, s_nodes, members))
    blocks: list[Block] = []
    order: list[np.ndarray] = []
    pos = 0
    for d, t_nodes, s_nodes, members in candidates:
        members = members[np.lexsort((src[members], tgt[members]))]  # row-major (tgt, src)
        # canonical order within members is (tgt, src) = row-major (n_t, n_s)
        blocks.append(
            Block("dense", d, pos, pos + len(members),
                  tgt_range=(int(t_nodes[0]), int(t_nodes[-1]) + 1),
                  src_range=(int(s_nodes[0]), int(s_nodes[-1]) + 1))
        )
        order.append(members)
        pos += len(members)
    rest = np.flatnonzero(~dense_mask)
    for d in np.unique(delay[rest]):
        members = rest[delay[rest] == d]
        members = members[np.lexsort((src[members], tgt[members]))]  # CSR order
        blocks.append(Block("sparse", int(d), pos, pos + len(members),
                            src=src[members], tgt=tgt[members]))
        order.append(members)
        pos += len(members)
    block_order = np.concatenate(order) if order else np.zeros(0, dtype=np.intp)
    return tuple(blocks), block_order.astype(np.intp)


def compile_graph(G: nx.DiGraph) -> CompiledNetwork:
    """Validate ``G`` and compile it to a :class:`CompiledNetwork`.

    Args:
        G: a network graph with the attributes of docs/math/notation.md.

    Raises:
        GraphError: naming the node or edge at fault when ``G`` is invalid.
    """
    validate_graph(G)
    G = default_attributes(G)
    node_ids = tuple(G.nodes)
    index = {n: k for k, n in enumerate(node_ids)}
    roles = [G.nodes[n]["role"] for n in node_ids]
    is_input = np.array([r == "input" for r in roles], dtype=bool)
    is_output = np.array([r == "output" for r in roles], dtype=bool)
    activation = tuple(
        "identity" if inp else G.nodes[n]["activation"]
        for n, inp in zip(node_ids, is_input, strict=True)
    )
    bias = np.array([float(G.nodes[n]["bias"]) for n in node_ids], dtype=np.float64)
    bias[is_input] = 0.0
    layer = np.array([int(G.nodes[n].get("layer", -1)) for n in node_ids], dtype=np.int64)

    edges = [(index[j], index[i], float(a["weight"]), int(a["delay"]))
             for j, i, a in G.edges(data=True)]
    edges.sort(key=lambda e: (e[1], e[0]))
    src = np.array([e[0] for e in edges], dtype=np.intp)
    tgt = np.array([e[1] for e in edges], dtype=np.intp)
    weight = np.array([e[2] for e in edges], dtype=np.float64)
    delay = np.array([e[3] for e in edges], dtype=np.int64)
    n = len(node_ids)
    in_ptr = np.zeros(n + 1, dtype=np.intp)
    np.cumsum(np.bincount(tgt, minlength=n), out=in_ptr[1:])
    out_edges = np.lexsort((tgt, src)).astype(np.intp)
    out_ptr = np.zeros(n + 1, dtype=np.intp)
    np.cumsum(np.bincount(src, minlength=n), out=out_ptr[1:])
    blocks, block_order = plan_blocks(layer, src, tgt, delay)
    return CompiledNetwork(
        graph=G, node_ids=node_ids, index=index, is_input=is_input, is_output=is_output,
        input_idx=np.flatnonzero(is_input), output_idx=np.flatnonzero(is_output),
        activation=activation, bias=bias, layer=layer, src=src, tgt=tgt, weight=weight,
        delay=delay, in_ptr=in_ptr, out_edges=out_edges, out_ptr=out_ptr,
        max_delay=int(delay.max()) if len(delay) else 1, blocks=blocks,
        block_order=block_order,
    )
