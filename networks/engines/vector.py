"""The vectorised engine: the rule's state as arrays, aggregation by blocks.

Internally neurons are ordered inputs first (``perm``: internal position → canonical
index). Input neurons are clamped and run no node update, so every node variable is kept
as a fixed *head* of shape (n_in, w) (the input u for the output variable, the initial
value otherwise) and an *active* part of shape (N − n_in, w) that the rule updates; w is
B for variables with an example axis, 1 otherwise. Edge variables are flat arrays of
shape (E,) in *block order* (see :func:`networks.compile.plan_blocks`): a dense block's
weights are viewed as an (n_tgt, n_src) matrix, a sparse block's as the data of a CSR
matrix. Delayed channel sources keep a ring buffer of shape (D, N, B): after step t,
``buffer[t % D]`` holds the value at time t, so the value at time t − d is
``buffer[(t − d) % D]``. Public arrays are in canonical order; neurons stay inspectable
by node id (:meth:`~networks.engines.base.EngineBase.neuron`).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from agents.activations import ActivationMap
from agents.errors import ConfigError, DivergenceError
from agents.rule import Rule, Stage
from networks.compile import plan_blocks
from networks.engines.base import EngineBase
from networks.engines.sparse_blocks import sparse_blocks


def _constant(value: float, shape: tuple, dtype) -> np.ndarray:
    """A read-only array of ``shape`` filled with ``value`` that takes no memory."""
    return np.broadcast_to(np.asarray(value, dtype=dtype), shape)


def _initial_rows(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Rows ``idx`` of an initial value; a zero-memory constant stays one."""
    if not values.flags.writeable and values.size and not any(values.strides):
        return _constant(values.flat[0], (len(idx), *values.shape[1:]), values.dtype)
    return values[idx]


def _writable(arrays: dict, name: str) -> np.ndarray:
    """``arrays[name]``, replaced first by a writable copy if it is a lazy constant."""
    arr = arrays[name]
    if not arr.flags.writeable:
        arrays[name] = arr = arr.copy()
    return arr


def _square_sum_finite(value: np.ndarray) -> bool:
    """Whether Σ value² is finite: False if any entry is NaN or ±inf (or on overflow)."""
    flat = value.reshape(-1)
    return math.isfinite(np.dot(flat, flat))


def _first_nonfinite(value: np.ndarray):
    """Index of the first non-finite entry of ``value`` (None if all are finite)."""
    bad = np.argwhere(~np.isfinite(value))
    return None if len(bad) == 0 else tuple(bad[0])


class _Rows:
    """Rows of a node variable split into head (inputs) and active part, read by range."""

    __slots__ = ("head", "tail", "n_in", "_full")

    def __init__(self, head: np.ndarray, tail: np.ndarray):
        self.head, self.tail, self.n_in, self._full = head, tail, len(head), None

    def __getitem__(self, idx):
        if isinstance(idx, slice) and idx.start is not None:
            if idx.stop <= self.n_in:
                return self.head[idx]
            if idx.start >= self.n_in:
                return self.tail[idx.start - self.n_in:idx.stop - self.n_in]
        if self._full is None:
            self._full = np.concatenate([self.head, self.tail])
        return self._full[idx]


class VectorEngine(EngineBase):
    """Executes a rule on all neurons at once with numpy (see :class:`EngineBase`)."""

    kind = "vector"

    def __init__(self, net, rule: Rule, params=None, *, batch=None, dtype=np.float64,
                 record=(), check_finite=True, rng=0):
        self._setup(net, rule, params, batch, dtype, record, check_finite, rng)
        rule = self.rule  # _setup accepts a rule name too
        initial = self._initial_state()
        net, n, width = self.net, self.net.n_nodes, self.n_batch
        active = np.flatnonzero(~net.is_input)
        self.perm = np.concatenate([net.input_idx, active]).astype(np.intp)
        self.position = np.empty(n, dtype=np.intp)       # canonical index → internal
        self.position[self.perm] = np.arange(n)
        self.n_in = n_in = len(net.input_idx)
        # sparse blocks: their products on prebuilt CSR arrays (networks.engines.sparse_blocks)
        self.blocks, self.block_order, self._sparse = sparse_blocks(
            *plan_blocks(net.layer[self.perm], self.position[net.src],
                         self.position[net.tgt], net.delay), n_in, n)
        self._inverse_order = np.empty_like(self.block_order)
        self._inverse_order[self.block_order] = np.arange(net.n_edges)
        self._head: dict[str, np.ndarray] = {}
        self._nodes: dict[str, np.ndarray] = {}
        # initial values are read-only broadcasts (no memory) until a step or a user
        # writes the variable: Adam moments under SGD never cost memory
        for var in rule.all_node_vars:
            self._head[var.name] = _initial_rows(initial[var.name], net.input_idx)
            self._nodes[var.name] = _initial_rows(initial[var.name], active)
        self._edges: dict[str, np.ndarray] = {
            var.name: _initial_rows(initial[var.name], self.block_order)
            for var in rule.all_edge_vars}
        # variables written since the last finiteness check (only they can have become
        # non-finite): all of them at first
        self._dirty_nodes = set(self._nodes)
        self._dirty_edges = set(self._edges)
        self.depth = net.max_delay
        self._buffers = {  # before t = 1 every slot holds the initial value
            name: np.repeat(np.broadcast_to(initial[name][self.perm], (n, width))[None],
                            self.depth, axis=0)
            for name in rule.delayed_sources
        }
        del initial
        self._plans: dict = {}
        is_output = net.is_output[active][:, None]
        self._neurons = SimpleNamespace(
            act=ActivationMap([net.activation[k] for k in active]),
            is_input=np.zeros_like(is_output), is_output=is_output,
            target=np.zeros((n - n_in, width), dtype=self.dtype),
            has_target=np.zeros((n - n_in, 1), dtype=bool),
            t=0, batch=width,
        )
        self._out_rows = self.position[net.output_idx] - n_in
        if len(self._out_rows) and np.array_equal(
                self._out_rows, np.arange(self._out_rows[0], self._out_rows[-1] + 1)):
            self._out_rows = slice(int(self._out_rows[0]), int(self._out_rows[-1]) + 1)
        self._last_mask = None

    # ----------------------------------------------------------------- aggregation
    def _sent(self, channel):
        """The values a channel carries: a function of the edge delay d → rows (N, B)."""
        if channel.delayed:
            buf, t, depth = self._buffers[channel.source], self.t, self.depth
            return lambda d: buf[(t - d) % depth]
        now = _Rows(self._head[channel.source], self._nodes[channel.source])
        return lambda d: now

    def _plan(self, forward: bool):
        """The block products of one direction, compiled once, and the rows to zero first.

        A dense block whose output rows no earlier dense block wrote is computed straight
        into them (``set``, no temporary, no addition); the others are added. Returns
        ``([op], rows that no set block covers or None)`` where a dense op is ``(True,
        set, delay, weight start, stop, (rows, cols), src lo, src hi, dst lo, dst hi)``
        (the weights transposed for the backward direction) and a sparse op is
        ``(False, block index, delay)``.
        """
        key = "fwd" if forward else "bwd"
        if key not in self._plans:
            n_in, n_act = self.n_in, self.net.n_nodes - self.n_in
            covered = np.zeros(n_act, dtype=bool)
            sets, adds = [], []
            for k, blk in enumerate(self.blocks):
                if blk.kind != "dense":
                    adds.append((False, k, blk.delay))
                    continue
                (t0, t1), (s0, s1) = blk.tgt_range, blk.src_range
                src, dst = ((s0, s1), (t0, t1)) if forward else ((t0, t1), (s0, s1))
                if dst[0] < n_in:
                    continue  # backward into the inputs: nobody listens
                rows = slice(dst[0] - n_in, dst[1] - n_in)
                is_set = not covered[rows].any()
                covered[rows] = True
                (sets if is_set else adds).append(
                    (True, is_set, blk.delay, blk.start, blk.stop, (t1 - t0, s1 - s0),
                     *src, dst[0] - n_in, dst[1] - n_in))
            zero = np.flatnonzero(~covered)
            if len(zero) == 0:
                zero = None
            elif zero[-1] - zero[0] + 1 == len(zero):
                zero = slice(int(zero[0]), int(zero[-1]) + 1)
            self._plans[key] = (sets + adds, zero)
        return self._plans[key]

    def _aggregate(self, channel, sent) -> np.ndarray:
        """Σ_j w_ij m_j (forward) or Σ_h w_hi m_h (backward) for the active neurons.

        ``w`` is the channel's weighting edge variable (``channel.weight``).
        """
        forward = channel.direction == "forward"
        plan, zero_rows = self._plans.get("fwd" if forward else "bwd") or self._plan(forward)
        out = np.empty_like(self._nodes[channel.source])
        if zero_rows is not None:
            out[zero_rows] = 0.0
        w = self._edges[channel.weight]
        for op in plan:
            if op[0]:
                _, is_set, delay, start, stop, shape, s0, s1, d0, d1 = op
                W = w[start:stop].reshape(shape)
                vals = sent(delay)[s0:s1]
                if is_set:
                    np.matmul(W if forward else W.T, vals, out=out[d0:d1])
                else:
                    out[d0:d1] += (W if forward else W.T) @ vals
                continue
            _, k, delay = op
            blk = self.blocks[k]
            product = self._sparse[k].forward if forward else self._sparse[k].backward
            product(w[blk.start:blk.stop], sent(delay), out)
        return out

    def _hebb(self, post: np.ndarray, sent) -> np.ndarray:
        """Per-edge Σ_κ post_iκ m_jκ in block order, shape (E,)."""
        n_in = self.n_in
        out = np.empty(self.net.n_edges, dtype=self.dtype)
        for k, blk in enumerate(self.blocks):
            pre = sent(blk.delay)
            if blk.kind == "dense":
                (t0, t1), (s0, s1) = blk.tgt_range, blk.src_range
                view = out[blk.start:blk.stop].reshape(t1 - t0, s1 - s0)
                np.matmul(post[t0 - n_in:t1 - n_in], pre[s0:s1].T, out=view)
            else:
                self._sparse[k].hebb(post, pre, out[blk.start:blk.stop])
        return out

    # ----------------------------------------------------------------- stepping
    def _step_arrays(self, u, y, y_mask) -> None:
        nrn = self._neurons
        nrn.t = self.t
        if y is not None:
            nrn.target[self._out_rows] = y
        if self._last_mask is None or not np.array_equal(self._last_mask, y_mask):
            nrn.has_target[self._out_rows, 0] = y_mask
            self._last_mask = y_mask.copy()
        self._head[self.rule.output_var] = u
        self._step_sent = {}  # what each channel carried this step (hebb may use earlier rounds)
        for stage in self.rule.stages:
            self._round(stage)
        self._step_sent = {}  # drop this step's messages (and any (N, B) copies) now
        pos = self.t % self.depth
        for name, buf in self._buffers.items():
            buf[pos, :self.n_in] = self._head[name]
            buf[pos, self.n_in:] = self._nodes[name]

    def _round(self, stage: Stage) -> None:
        nodes = self._nodes
        sent = self._step_sent
        sent.update({ch.name: self._sent(ch) for ch in stage.channels})
        inbox = {ch.name: self._aggregate(ch, sent[ch.name]) for ch in stage.channels}
        new = stage.node_update(nodes, inbox, self._neurons, self.params)
        for name, value in new.items():
            old = nodes.get(name)
            if old is None:
                raise ConfigError(f"rule {self.rule.name!r} updated undeclared node "
                                  f"variable {name!r}")
            value = np.asarray(value, dtype=self.dtype)
            nodes[name] = value if value.shape == old.shape else \
                np.broadcast_to(value, old.shape).copy()
            self._dirty_nodes.add(name)
        if stage.edge_update is not None:
            hebb = {name: self._hebb(nodes[post], sent[chan])
                    for name, (post, chan) in stage.hebb.items()}
            new_edges = stage.edge_update(self._edges, hebb, self._neurons, self.params)
            for name, value in new_edges.items():
                if name not in self._edges:
                    raise ConfigError(f"rule {self.rule.name!r} updated undeclared edge "
                                      f"variable {name!r}")
                self._edges[name] = np.asarray(value, dtype=self.dtype)
                self._dirty_edges.add(name)

    # ----------------------------------------------------------------- state access
    def _get_node(self, name):
        return np.concatenate([self._head[name], self._nodes[name]])[self.position]

    def _set_node(self, name, value):
        internal = value[self.perm]
        self._head[name] = internal[:self.n_in].copy()
        self._nodes[name] = internal[self.n_in:].copy()
        self._dirty_nodes.add(name)

    def _get_edge(self, name):
        return self._edges[name][self._inverse_order]

    def _set_edge(self, name, value):
        self._edges[name] = np.asarray(value, dtype=self.dtype)[self.block_order]
        self._dirty_edges.add(name)

    def _perturb(self, i, noise):
        p = self.position[i]
        for name in self._nodes:
            part, row = (self._head, p) if p < self.n_in else (self._nodes, p - self.n_in)
            _writable(part, name)[row] += noise(part[name][row].shape)
        for buf in self._buffers.values():
            buf[:, p] += noise(buf[:, p].shape)
        mine = self._inverse_order[self.net.in_ptr[i]:self.net.in_ptr[i + 1]]
        for name in self._edges:
            _writable(self._edges, name)[mine] += noise(len(mine))
        self._dirty_nodes.update(self._nodes)
        self._dirty_edges.update(self._edges)

    def _check_finite(self) -> None:
        # one reduction per variable written since the last check — the sum of squares
        # (a BLAS dot, twice as fast as a sum): a NaN or inf anywhere makes it non-finite;
        # only then (or when it overflows on finite values) is the culprit sought, in
        # declaration order (so the variable named is always the same)
        nodes, edges = self._nodes, self._edges
        dirty_nodes, dirty_edges = self._dirty_nodes, self._dirty_edges
        bad_nodes = [n for n in nodes if n in dirty_nodes and not _square_sum_finite(nodes[n])]
        bad_edges = [n for n in edges if n in dirty_edges and not _square_sum_finite(edges[n])]
        for name in bad_nodes:
            value = nodes[name]
            bad = _first_nonfinite(value)
            if bad is not None:
                node = self.net.node_ids[self.perm[bad[0] + self.n_in]]
                raise DivergenceError(
                    f"step {self.t}: variable {name!r} of neuron {node!r} became "
                    f"{value[bad]} (non-finite); lower the step sizes or the weight scale")
        if any(_first_nonfinite(edges[name]) is not None for name in bad_edges):
            return super()._check_finite()   # names the edge in canonical terms
        self._dirty_nodes.clear()
        self._dirty_edges.clear()
        return None

    def fill_history(self, name: str | None = None) -> None:
        """Set the delay buffers of ``name`` (default: all) to the variable's current value."""
        for var, buf in self._buffers.items():
            if name is None or var == name:
                buf[:, :self.n_in] = self._head[var]
                buf[:, self.n_in:] = self._nodes[var]
