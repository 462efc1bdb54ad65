"""Builders of valid network graphs: layered, layered-recurrent, ring, random graphs.

Every builder returns a :class:`networkx.DiGraph` that is valid by construction (it
checks its arguments, so :func:`~networks.validate.validate_graph` holds of what it
returns; the tests check that, and :func:`~networks.compile.compile_graph`, where any
graph enters the engines, validates every graph once), with node ids ``0 .. N-1``
inserted in id order:
inputs first, then hidden nodes, outputs last (input column k of the data feeds node k).
Every node has ``role``, ``activation`` (``"identity"`` on inputs) and ``bias`` (a float,
0.0 on inputs); the layered builders also set ``layer``. Every edge has ``weight`` (float)
and ``delay`` (int >= 1). Edges are inserted sorted by ``(source, target)``, so successor
and predecessor lists are in id order (and survive a node-link JSON round trip).

Randomness comes only from ``seed`` (int or ``np.random.Generator``, passed through
``np.random.default_rng``): same arguments and seed, identical graph. Unless a builder
says otherwise, weights into node i are i.i.d. ``N(0, weight_scale² / fan_in(i))``, biases
of non-input nodes ``N(0, bias_scale²)``, and ``delays`` is an int (every edge) or a tuple
``(lo, hi)`` (uniform random integers in ``[lo, hi]``). Bad arguments raise ``GraphError``.

Node and edge counts (and the candidate edges a builder draws from) are checked against
the limits ``max_nodes``/``max_edges``, and delays against ``max_delay``, before anything
is allocated (:mod:`networks.limits` says how to raise them).
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from agents.activations import ACTIVATIONS
from agents.errors import GraphError, did_you_mean
from networks.limits import check_limit
from networks.validate import INPUT_ACTIVATION, is_real, validate_graph

#: max over a of σ'(a), used by :func:`scale_to_contractive`.
MAX_SLOPE = {"tanh": 1.0, "identity": 1.0, "relu": 1.0, "sigmoid": 0.25}
Delays = int | tuple[int, int]


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise GraphError(f"seed must be an int >= 0 or a numpy Generator, got {seed!r}")
    return np.random.default_rng(seed)


def _limits(builder: str, n_nodes: int, n_edges: int, edges_what: str = "edges") -> None:
    """Check node and edge counts against the machine-protecting limits before allocating."""
    check_limit("max_nodes", n_nodes, f"{builder} would build {n_nodes} nodes", GraphError)
    check_limit("max_edges", n_edges, f"{builder} would build {n_edges} {edges_what}",
                GraphError)


def _flag(name: str, value) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise GraphError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _count(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise GraphError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _scales(**scales) -> None:
    for name, x in scales.items():
        if isinstance(x, bool) or not isinstance(x, int | float) or not 0 <= x < np.inf:
            raise GraphError(f"{name} must be a finite number >= 0, got {x!r}")


def _draw_delays(delays, k: int, rng: np.random.Generator, name: str = "delays") -> list[int]:
    """Return ``k`` delays from an int (constant) or ``(lo, hi)`` (uniform in [lo, hi])."""
    if isinstance(delays, tuple | list) and len(delays) == 2:
        lo, hi = (_count(name, d, 1) for d in delays)
        if lo > hi:
            raise GraphError(f"{name}=({lo}, {hi}) needs lo <= hi")
        check_limit("max_delay", hi, f"{name}=({lo}, {hi}) allows a delay of {hi}", GraphError)
        return [int(d) for d in rng.integers(lo, hi + 1, size=k)]
    d = _count(name, delays, 1)
    check_limit("max_delay", d, f"{name}={d}", GraphError)
    return [d] * k


def _activations(activation, output_activation, n: int) -> list[str]:
    """Return one validated activation name per non-input layer (``n`` of them)."""
    if isinstance(activation, str):
        acts = [activation] * n
    elif isinstance(activation, list | tuple):
        acts = list(activation)
    else:
        raise GraphError(f"activation must be a name or a list of names (one per non-input "
                         f"layer), got {activation!r}")
    if len(acts) != n:
        raise GraphError(f"activation lists {len(acts)} entries; need one per non-input "
                         f"layer ({n})")
    if output_activation is not None:
        acts[-1] = output_activation
    for a in acts:
        if not isinstance(a, str) or a not in ACTIVATIONS:
            raise GraphError(f"unknown activation {a!r}{did_you_mean(a, ACTIVATIONS)}")
    return acts


def _draw_biases(n: int, bias_scale: float, rng: np.random.Generator) -> np.ndarray:
    """The biases of ``n`` non-input nodes: ``N(0, bias_scale²)``, or zeros (no draw)."""
    return bias_scale * rng.standard_normal(n) if bias_scale else np.zeros(n)


def _init_graph(n_in: int, rest: list[tuple[str, str, int | None]], bias_scale: float,
                rng: np.random.Generator, b: np.ndarray | None = None) -> nx.DiGraph:
    """Add inputs 0..n_in-1, then ``rest`` as (role, activation, layer); None: no layer.

    ``b``: the biases of ``rest`` if already drawn (:func:`_draw_biases`).
    """
    G = nx.DiGraph()
    layer = 0 if rest[-1][2] is not None else None
    nodes = [("input", INPUT_ACTIVATION, layer)] * n_in + rest
    b = _draw_biases(len(rest), bias_scale, rng) if b is None else b
    biases = [0.0] * n_in + [float(x) for x in b]
    for i, ((role, act, layer), bias) in enumerate(zip(nodes, biases, strict=True)):
        G.add_node(i, role=role, activation=act, bias=bias)
        if layer is not None:
            G.nodes[i]["layer"] = layer
    return G


def _finish(G: nx.DiGraph, pairs, weights, delays) -> nx.DiGraph:
    """Add edges (j, i) with their weights and delays sorted by (j, i).

    Not validated again: the builder checked its arguments, and the compiler validates.
    """
    edges = dict(zip(pairs, zip(weights, delays, strict=True), strict=True))
    for j, i in sorted(edges):
        G.add_edge(j, i, weight=float(edges[j, i][0]), delay=int(edges[j, i][1]))
    return G


def _fan_in_weights(pairs, weight_scale: float, rng: np.random.Generator) -> list[float]:
    """Return one weight per (j, i): N(0, weight_scale²/fan_in(i)), fan-in over ``pairs``."""
    fan_in: dict[int, int] = {}
    for _, i in pairs:
        fan_in[i] = fan_in.get(i, 0) + 1
    z = rng.standard_normal(len(pairs))
    return [weight_scale * zk / np.sqrt(fan_in[i]) for zk, (_, i) in zip(z, pairs, strict=True)]


def _sizes(sizes) -> list[int]:
    if not isinstance(sizes, list | tuple | np.ndarray):
        raise GraphError(f"sizes must be a list of layer sizes [n_in, ..., n_out], got "
                         f"{sizes!r}")
    sizes = [_count("each layer size", s, 1) for s in sizes]
    if len(sizes) < 2:
        raise GraphError(f"sizes needs at least [n_in, n_out], got {sizes!r}")
    return sizes


def _layered_checks(sizes, activation, output_activation, weight_scale,
                    bias_scale) -> list[int]:
    """The arguments of :func:`layered` checked, limits before allocating; the sizes."""
    s = _sizes(sizes)
    _limits(f"layered({s})", sum(s), sum(a * b for a, b in zip(s, s[1:], strict=False)))
    _scales(weight_scale=weight_scale, bias_scale=bias_scale)
    _activations(activation, output_activation, len(s) - 1)
    return s


def _layered(sizes, activation, output_activation, weight_scale, bias_scale, delays, rng):
    sizes = _sizes(sizes)
    _scales(weight_scale=weight_scale, bias_scale=bias_scale)
    acts = _activations(activation, output_activation, len(sizes) - 1)
    starts = np.cumsum([0, *sizes])
    ranges = [range(starts[k], starts[k + 1]) for k in range(len(sizes))]
    rest = [("output" if k == len(sizes) - 1 else "hidden", acts[k - 1], k)
            for k in range(1, len(sizes)) for _ in ranges[k]]
    b, Ws, ds = _layered_draws(sizes, weight_scale, bias_scale, delays, rng)
    G = _init_graph(sizes[0], rest, bias_scale, rng, b)
    pairs, weights = [], []
    for k in range(1, len(sizes)):
        pairs += [(int(j), int(i)) for i in ranges[k] for j in ranges[k - 1]]
        weights += Ws[k - 1].ravel().tolist()
    return G, pairs, weights, ds, ranges


def _layered_draws(sizes, weight_scale, bias_scale, delays, rng):
    """The random draws of :func:`layered`, in its order.

    Biases, then per layer pair its weights (n_l, n_{l-1}) and delays. Returns
    ``(biases, [W_l], delays (list))``.
    """
    b = _draw_biases(sum(sizes[1:]), bias_scale, rng)
    Ws, ds = [], []
    for k in range(1, len(sizes)):
        W = rng.normal(0.0, weight_scale / np.sqrt(sizes[k - 1]), size=(sizes[k], sizes[k - 1]))
        Ws.append(W)
        ds += _draw_delays(delays, W.size, rng)
    return b, Ws, ds


def layered(sizes: Sequence[int], activation: str | Sequence[str] = "tanh",
            output_activation: str | None = None, *, seed, weight_scale: float = 1.0,
            bias_scale: float = 0.0, delays: Delays = 1) -> nx.DiGraph:
    """Build a fully connected feedforward net with layer sizes ``[n_in, h1, ..., n_out]``.

    Layer l has the contiguous ids ``sum(sizes[:l]) .. sum(sizes[:l+1]) - 1`` and
    ``layer=l``. Every node of layer l-1 feeds every node of layer l with weight
    ``N(0, weight_scale² / sizes[l-1])``.

    Args:
        sizes: layer sizes, length >= 2, each >= 1.
        activation: one name for all non-input layers, or a list of len(sizes)-1 names.
        output_activation: overrides the output layer's activation if given.
        seed: int or ``np.random.Generator``.
        weight_scale: weight standard deviation times sqrt(fan-in).
        bias_scale: bias standard deviation (0: zero biases).
        delays: int or ``(lo, hi)``.

    Returns:
        A valid acyclic DiGraph with ``sum(sizes)`` nodes and
        ``sum(sizes[l-1] * sizes[l])`` edges.

    """
    _layered_checks(sizes, activation, output_activation, weight_scale, bias_scale)
    G, *edges, _ = _layered(sizes, activation, output_activation, weight_scale, bias_scale,
                            delays, _rng(seed))
    return _finish(G, *edges)


def layered_parameters(sizes: Sequence[int], activation: str | Sequence[str] = "tanh",
                       output_activation: str | None = None, *, seed,
                       weight_scale: float = 1.0, bias_scale: float = 0.0,
                       delays: Delays = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The seeded arrays of :func:`layered` without building its graph.

    Arguments as :func:`layered` (checked the same way). Networks of one ``sizes`` differ
    only in these arrays, so a sweep over seeds can compile one of them and give the
    others their own (:func:`networks.ensemble_members.with_parameters`).

    Returns:
        ``(weight (E,), bias (N,), delay (E,))``, equal to the ``weight``, ``bias`` and
        ``delay`` of ``compile_graph(layered(...))`` with the same arguments (canonical
        orders: layer l's weights row-major, target by source, after layer l−1's).
    """
    s = _layered_checks(sizes, activation, output_activation, weight_scale, bias_scale)
    b, Ws, ds = _layered_draws(s, weight_scale, bias_scale, delays, _rng(seed))
    bias = np.concatenate([np.zeros(s[0]), b]).astype(np.float64)
    return (np.concatenate([W.ravel() for W in Ws]).astype(np.float64), bias,
            np.asarray(ds, dtype=np.int64))


#: Builders whose structure does not follow the seed, with a function drawing a seed's
#: arrays (``(weight, bias, delay)``, canonical orders) given the builder's arguments.
PARAMETERS = {"layered": layered_parameters}


def layered_recurrent(sizes: Sequence[int], activation: str | Sequence[str] = "tanh",
                      output_activation: str | None = None, *, seed, self_loops: bool = True,
                      lateral: float = 0.0, feedback: float = 0.0, weight_scale: float = 1.0,
                      recurrent_scale: float = 0.5, bias_scale: float = 0.0,
                      delays: Delays = 1, recurrent_delays: Delays = 1) -> nx.DiGraph:
    """Build the :func:`layered` net plus recurrent edges among the hidden layers.

    Recurrent edges: a self-loop on every hidden node (if ``self_loops``); each ordered
    pair of distinct nodes of one hidden layer with probability ``lateral``; each pair
    (node of layer l+1 → node of hidden layer l) with probability ``feedback`` (so outputs
    may feed the last hidden layer; nothing enters the inputs). A recurrent edge out of a
    layer of n nodes gets weight ``N(0, recurrent_scale² / n)`` and a delay from
    ``recurrent_delays``. The feedforward part is drawn first, so it equals
    ``layered(...)`` with the same seed. Without hidden layers no recurrent edge exists.

    Args:
        sizes: as in :func:`layered`.
        activation: as in :func:`layered`.
        output_activation: as in :func:`layered`.
        seed: int or ``np.random.Generator``.
        self_loops: add a self-loop on every hidden node.
        lateral: probability in [0, 1] of each within-layer hidden edge.
        feedback: probability in [0, 1] of each edge from layer l+1 to hidden layer l.
        weight_scale: feedforward weight std times sqrt(fan-in).
        recurrent_scale: recurrent weight std times sqrt(source layer size).
        bias_scale: bias standard deviation.
        delays: int or ``(lo, hi)`` for the feedforward edges.
        recurrent_delays: int or ``(lo, hi)`` for the recurrent edges.

    Returns:
        A valid DiGraph (cyclic as soon as one recurrent edge exists).

    """
    for name, p in (("lateral", lateral), ("feedback", feedback)):
        if not is_real(p) or not 0.0 <= p <= 1.0:
            raise GraphError(f"{name} must be a probability in [0, 1], got {p!r}")
    self_loops = _flag("self_loops", self_loops)
    _scales(recurrent_scale=recurrent_scale)
    s = _sizes(sizes)
    hidden = s[1:-1]
    _limits(f"layered_recurrent({s})", sum(s),
            sum(a * b for a, b in zip(s, s[1:], strict=False)) + sum(hidden))
    for name, p, pairs in (("lateral", lateral, sum(h * h for h in hidden)),
                           ("feedback", feedback,
                            sum(a * b for a, b in zip(hidden, s[2:], strict=False)))):
        if p > 0:
            check_limit("max_edges", pairs, f"layered_recurrent({s}) with {name}={p} draws "
                        f"from {pairs} candidate edges", GraphError)
    rng = _rng(seed)
    G, pairs, weights, ds, ranges = _layered(sizes, activation, output_activation,
                                             weight_scale, bias_scale, delays, rng)
    rec = []  # (j, i, size of j's layer)
    for k in range(1, len(ranges) - 1):
        layer, upper = ranges[k], ranges[k + 1]
        if self_loops:
            rec += [(i, i, len(layer)) for i in layer]
        for p, src in ((lateral, layer), (feedback, upper)):
            if p > 0:
                hit = rng.random((len(layer), len(src))) < p
                rec += [(j, i, len(src)) for a, i in enumerate(layer)
                        for b, j in enumerate(src) if hit[a, b] and i != j]
    z = rng.standard_normal(len(rec))
    pairs += [(int(j), int(i)) for j, i, _ in rec]
    weights += [recurrent_scale * zk / np.sqrt(n) for zk, (_, _, n) in zip(z, rec, strict=True)]
    ds += _draw_delays(recurrent_delays, len(rec), rng, "recurrent_delays")
    return _finish(G, pairs, weights, ds)


def ring(n: int, *, n_inputs: int = 1, n_outputs: int = 1, activation: str = "tanh",
         output_activation: str | None = None, seed, weight_scale: float = 0.9,
         bias_scale: float = 0.0, delays: Delays = 1) -> nx.DiGraph:
    """Build a directed cycle of ``n`` hidden neurons, fed by inputs and read by outputs.

    Ids: inputs ``0 .. n_inputs-1``, ring position p at id ``n_inputs + p``, outputs last.
    Ring edges go p → p+1 (mod n; ``n=1`` gives a self-loop) with weight ``±weight_scale``
    (random sign), so the ring block's spectral norm is exactly ``weight_scale`` (a tanh
    ring is contractive iff ``weight_scale < 1``). Input k feeds ring position
    ``k*n // n_inputs`` (input 0 → position 0); output k reads ring position
    ``n - 1 - k*n // n_outputs`` (output 0 reads the last one). Input and output edges
    weigh ``N(0, 1 / fan_in)``, fan-in counted over those edges. All edges use ``delays``.

    Args:
        n: ring length >= 1.
        n_inputs: number of input nodes >= 1.
        n_outputs: number of output nodes >= 1.
        activation: activation of the ring neurons.
        output_activation: activation of the outputs (default: ``activation``).
        seed: int or ``np.random.Generator``.
        weight_scale: magnitude of every ring weight.
        bias_scale: bias standard deviation of ring and output nodes.
        delays: int or ``(lo, hi)``.

    Returns:
        A valid cyclic DiGraph with ``n_inputs + n + n_outputs`` nodes and as many
        edges.

    """
    n, n_in = _count("n", n, 1), _count("n_inputs", n_inputs, 1)
    n_out = _count("n_outputs", n_outputs, 1)
    _limits(f"ring(n={n}, n_inputs={n_in}, n_outputs={n_out})", n + n_in + n_out,
            n + n_in + n_out)
    _scales(weight_scale=weight_scale, bias_scale=bias_scale)
    rng = _rng(seed)
    act, out_act = _activations(activation, output_activation, 2)
    rest = [("hidden", act, None)] * n + [("output", out_act, None)] * n_out
    G = _init_graph(n_in, rest, bias_scale, rng)
    ring_pairs = [(n_in + p, n_in + (p + 1) % n) for p in range(n)]
    io_pairs = [(k, n_in + k * n // n_in) for k in range(n_in)]
    io_pairs += [(n_in + n - 1 - k * n // n_out, n_in + n + k) for k in range(n_out)]
    ws = (weight_scale * rng.choice([-1.0, 1.0], size=n)).tolist()
    ws += _fan_in_weights(io_pairs, 1.0, rng)
    return _finish(G, ring_pairs + io_pairs, ws, _draw_delays(delays, len(ws), rng))


def _extra_pairs(k, N, n_in, order, acyclic, self_loops, used, n_free, rng):
    """Return ``k`` new distinct pairs (j, i), uniform among the allowed ones not in used.

    Allowed (in positions of ``order``): target b >= n_in and, if acyclic, source a < b,
    else any source with a == b only if ``self_loops``.
    """
    pos, out, seen = np.asarray(order), [], set(used)

    def ok(a, b):
        return a < b if acyclic else (a != b) | self_loops

    def take(a, b):
        for pair in zip(pos[a].tolist(), pos[b].tolist(), strict=True):
            if len(out) < k and pair not in seen:
                seen.add(pair)
                out.append(pair)

    if 4 * k < n_free:  # sparse: rejection sampling from uniform (a, b)
        while len(out) < k:
            a, b = rng.integers(N, size=2 * k + 16), rng.integers(n_in, N, size=2 * k + 16)
            m = ok(a, b)
            take(a[m], b[m])
    elif k > 0:  # dense: all allowed pairs in random order
        a, b = np.nonzero(ok(np.arange(N)[:, None], np.arange(n_in, N)[None, :]))
        perm = rng.permutation(len(a))
        take(a[perm], b[perm] + n_in)
    return out


def _random_graph(n_nodes, n_edges, n_inputs, n_outputs, seed, activation, output_activation,
                  weight_scale, bias_scale, delays, acyclic, self_loops):
    N, n_edges = _count("n_nodes", n_nodes, 2), _count("n_edges", n_edges, 0)
    n_in, n_out = _count("n_inputs", n_inputs, 1), _count("n_outputs", n_outputs, 1)
    if n_in + n_out > N:
        raise GraphError(f"n_nodes={N} is less than n_inputs + n_outputs = {n_in + n_out}")
    self_loops = _flag("self_loops", self_loops)
    builder = f"random_{'dag' if acyclic else 'digraph'}(n_nodes={N}, n_edges={n_edges})"
    if acyclic:  # position pairs a < b with b >= n_in
        n_cand = N * (N - 1) // 2 - n_in * (n_in - 1) // 2
    else:
        n_cand = N * (N - n_in) - (0 if self_loops else N - n_in)
    _limits(builder, N, min(max(n_edges, N - n_in), n_cand))
    _scales(weight_scale=weight_scale, bias_scale=bias_scale)
    rng = _rng(seed)
    act, out_act = _activations(activation, output_activation, 2)
    n_hid = N - n_in - n_out
    rest = [("hidden", act, None)] * n_hid + [("output", out_act, None)] * n_out
    G = _init_graph(n_in, rest, bias_scale, rng)
    # A random order of the non-input nodes (in a DAG: hidden nodes, then outputs).
    perm = rng.permutation(n_hid if acyclic else N - n_in)
    order = list(range(n_in)) + [n_in + int(x) for x in perm]
    order += list(range(n_in + n_hid, N)) if acyclic else []
    # Spanning edges: every non-input node gets a parent earlier in `order`; following
    # parents back ends at an input, so every node is reachable from an input.
    used = {(order[int(rng.integers(p))], order[p]) for p in range(n_in, N)}
    k = min(max(n_edges, len(used)), n_cand) - len(used)
    extra = _extra_pairs(k, N, n_in, order, acyclic, self_loops, used, n_cand - len(used), rng)
    pairs = sorted(used | set(extra))
    ws = _fan_in_weights(pairs, weight_scale, rng)
    return _finish(G, pairs, ws, _draw_delays(delays, len(pairs), rng))


def random_dag(n_nodes: int, n_edges: int, *, n_inputs: int = 2, n_outputs: int = 1, seed,
               activation: str = "tanh", output_activation: str | None = None,
               weight_scale: float = 1.0, bias_scale: float = 0.1,
               delays: Delays = 1) -> nx.DiGraph:
    """Build a random DAG on ``n_nodes`` nodes (inputs and outputs included).

    A random topological order is drawn: inputs, the hidden nodes in random order, then
    outputs (ids stay inputs, hidden, outputs, so ids are *not* topologically sorted).
    First every non-input node gets one in-edge from a uniformly random earlier node (so
    every node is reachable from an input); then distinct forward edges, uniform among
    the rest, are added until there are exactly ``min(max(n_edges, n_nodes - n_inputs),
    n_forward)`` edges, ``n_forward`` being the number of forward pairs not ending in an
    input. An edge from an earlier to a later output can occur. Fan-in = final in-degree.

    Args:
        n_nodes: total number of nodes >= n_inputs + n_outputs.
        n_edges: wanted number of edges (see above).
        n_inputs: number of input nodes >= 1 (ids 0 .. n_inputs-1).
        n_outputs: number of output nodes >= 1 (the last ids).
        seed: int or ``np.random.Generator``.
        activation: activation of the hidden nodes.
        output_activation: activation of the outputs (default: ``activation``).
        weight_scale: weight standard deviation times sqrt(fan-in).
        bias_scale: bias standard deviation.
        delays: int or ``(lo, hi)``.

    Returns:
        A valid acyclic DiGraph.

    """
    return _random_graph(n_nodes, n_edges, n_inputs, n_outputs, seed, activation,
                         output_activation, weight_scale, bias_scale, delays, True, False)


def random_digraph(n_nodes: int, n_edges: int, *, n_inputs: int = 2, n_outputs: int = 1,
                   seed, activation: str = "tanh", output_activation: str | None = None,
                   weight_scale: float = 1.0, bias_scale: float = 0.1,
                   self_loops: bool = True, delays: Delays = 1) -> nx.DiGraph:
    """Build a random directed graph (cycles allowed) on ``n_nodes`` nodes.

    As :func:`random_dag`, but the spanning in-edges follow a random order of all
    non-input nodes and the extra edges are uniform over all pairs (j, i), i not an input
    (any direction; self-loops only if ``self_loops``). Exactly
    ``min(max(n_edges, n_nodes - n_inputs), n_pairs)`` edges. With a few more edges than
    nodes the graph is almost surely cyclic, but a cycle is not guaranteed.

    Args:
        n_nodes: total number of nodes >= n_inputs + n_outputs.
        n_edges: wanted number of edges (see above).
        n_inputs: number of input nodes >= 1 (ids 0 .. n_inputs-1).
        n_outputs: number of output nodes >= 1 (the last ids).
        seed: int or ``np.random.Generator``.
        activation: activation of the hidden nodes.
        output_activation: activation of the outputs (default: ``activation``).
        weight_scale: weight standard deviation times sqrt(fan-in).
        bias_scale: bias standard deviation.
        self_loops: allow self-loops among the extra edges.
        delays: int or ``(lo, hi)``.

    Returns:
        A valid DiGraph.

    """
    return _random_graph(n_nodes, n_edges, n_inputs, n_outputs, seed, activation,
                         output_activation, weight_scale, bias_scale, delays, False,
                         self_loops)


def recurrent_block(G: nx.DiGraph, sparse: bool = False) -> tuple[list, np.ndarray]:
    """Return the non-input nodes (in ``G.nodes`` order) and the weights among them.

    Args:
        G: a network graph.
        sparse: return W as a ``scipy.sparse.csr_array`` (for large graphs).

    Returns:
        ``(nodes, W)``, W of shape (len(nodes), len(nodes)) with ``W[a, b]`` the weight of
        edge nodes[b] → nodes[a] (0 where there is no edge).

    """
    nodes = [v for v, r in G.nodes(data="role") if r != "input"]
    index = {v: k for k, v in enumerate(nodes)}
    rows, cols, vals = [], [], []
    for j, i, w in G.edges(data="weight"):
        if j in index:
            rows.append(index[i])
            cols.append(index[j])
            vals.append(w)
    W = scipy.sparse.csr_array((vals, (rows, cols)), shape=(len(nodes), len(nodes)))
    return nodes, (W if sparse else W.toarray())


def _spectral_norm(W) -> float:
    """‖W‖₂ of a sparse matrix: dense SVD when small, else a Lanczos estimate."""
    if W.nnz == 0:
        return 0.0
    if W.shape[0] <= 2000:
        return float(np.linalg.norm(W.toarray(), 2))
    v0 = np.random.default_rng(0).normal(size=min(W.shape))  # deterministic start
    return float(scipy.sparse.linalg.svds(W, k=1, return_singular_vectors=False, v0=v0,
                                          tol=1e-10)[0])


def scale_to_contractive(G: nx.DiGraph, gain: float = 0.5) -> nx.DiGraph:
    """Return a copy of ``G`` whose non-input block has Lipschitz bound ``gain``.

    Every edge between two non-input nodes is multiplied by one factor so that
    ``‖W‖₂ · max σ' = gain`` (‖W‖₂ exact up to 2,000 non-input nodes, a converged
    Lanczos estimate above), W from :func:`recurrent_block` and max σ' the largest slope
    bound (:data:`MAX_SLOPE`) over the non-input nodes. For ``gain < 1`` the map
    ``x ↦ σ(W x + U u + b)`` is a contraction: the forward fixed point exists, is unique
    and is reached by iteration, whatever the delays. Edges out of inputs are unchanged;
    a graph with no edge among non-input nodes comes back as an unchanged copy.

    Args:
        G: a valid network graph.
        gain: the target bound, a finite number > 0.

    Returns:
        The scaled copy.

    """
    if isinstance(gain, bool) or not isinstance(gain, int | float) or not 0 < gain < np.inf:
        raise GraphError(f"gain must be a finite number > 0, got {gain!r}")
    validate_graph(G)
    H = G.copy()
    nodes, W = recurrent_block(H, sparse=True)
    slope = 0.0
    for v in nodes:
        act = H.nodes[v].get("activation", "tanh")
        if act not in MAX_SLOPE:
            raise GraphError(f"node {v!r}: no slope bound known for activation {act!r}")
        slope = max(slope, MAX_SLOPE[act])
    norm = _spectral_norm(W) * slope
    if norm > 0.0:
        inner = set(nodes)
        for j, _, d in H.edges(data=True):
            if j in inner:
                d["weight"] = float(d["weight"] * gain / norm)
    return H


#: The builders configs can name (``[network] builder = "..."``), by function name.
BUILDERS = {f.__name__: f for f in (layered, layered_recurrent, ring, random_dag,
                                    random_digraph)}
