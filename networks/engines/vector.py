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

import numpy as np
import scipy.sparse as sp
from scipy.linalg import blas

from agents.activations import ActivationMap
from agents.errors import ConfigError
from agents.rule import Rule, Stage
from networks.compile import plan_blocks
from networks.engines.base import EngineBase

#: Rows × batch of the largest (E, B) gather the sparse Hebbian product makes at once.
HEBB_CHUNK = 1 << 17


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


class _Neurons:
    """What the rule's update functions see of all active neurons (``agents.rule.Neurons``).

    ``out(name, like)`` hands out the engine's spare array of node variable ``name``
    (its new value is meant to go there; the engine swaps it with the current one) or a
    scratch array kept per name: no allocation per step.
    """

    def __init__(self, act, is_output, outputs, width, dtype):
        n = len(is_output)
        self.act, self.is_output, self.outputs = act, is_output, outputs
        self.is_input = np.zeros_like(is_output)
        self.target = np.zeros((n, width), dtype=dtype)
        self.has_target = np.zeros((n, 1), dtype=bool)
        self.t, self.batch = 0, width
        self.spare: dict[str, np.ndarray] = {}

    def out(self, name: str, like: np.ndarray) -> np.ndarray:
        buf = self.spare.get(name)
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
            buf = self.spare[name] = np.empty(like.shape, like.dtype)
        return buf


def _gemm_into(gemm, coef, post, pre, beta, view) -> None:
    """``view ← coef · post @ preᵀ + beta · view`` in place by one BLAS call.

    ``view`` (n_post, n_pre), ``post`` (n_post, B) and ``pre`` (n_pre, B) are C-contiguous,
    so their transposes are Fortran-contiguous and BLAS reads and writes them directly.
    """
    c = view.T
    out = gemm(coef, pre.T, post.T, beta=beta, c=c, trans_a=1, overwrite_c=1)
    if out is not c and not np.shares_memory(out, view):  # never: a copy would be lost
        view[...] = out.T


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
        self.blocks, self.block_order = plan_blocks(
            net.layer[self.perm], self.position[net.src], self.position[net.tgt], net.delay)
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
        # non-finite): by the rule, and from outside (all of them at first)
        self._written_nodes: set[str] = set()
        self._written_edges: set[str] = set()
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
        self._csr, self._small = {}, {}
        for k, blk in enumerate(self.blocks):
            if blk.kind != "sparse":
                continue
            nnz = blk.stop - blk.start
            if (n - n_in) * n <= 16 * nnz + 20_000:
                # small: a dense matrix refilled each step beats scipy's per-call overhead
                self._small[k] = (np.zeros((n - n_in, n), dtype=self.dtype),
                                  blk.tgt - n_in, blk.src)
            else:
                m = sp.csr_array((np.ones(nnz, dtype=self.dtype),
                                  (blk.tgt - n_in, blk.src)), shape=(n - n_in, n))
                m.sort_indices()
                self._csr[k] = m
        self._out_rows = self.position[net.output_idx] - n_in
        if len(self._out_rows) == 0:
            self._out_rows = slice(0, 0)
        elif np.array_equal(self._out_rows,
                            np.arange(self._out_rows[0], self._out_rows[-1] + 1)):
            self._out_rows = slice(int(self._out_rows[0]), int(self._out_rows[-1]) + 1)
        self._neurons = _Neurons(ActivationMap([net.activation[k] for k in active]),
                                 net.is_output[active][:, None], self._out_rows, width,
                                 self.dtype)
        self._last_mask = None
        self._retired: dict[str, np.ndarray] = {}   # arrays replaced this step → spares
        self._inbox: dict[str, np.ndarray] = {}     # one reused array per channel
        self._all_dense = all(blk.kind == "dense" for blk in self.blocks)
        self._blas = {name: blas.get_blas_funcs(name, dtype=self.dtype)
                      for name in ("gemm", "axpy", "scal")}
        self._linear_for = None  # (params, {stage index: linear plan}) of the last step
        self._slots = None       # {var: its two arena slots}, set after the first step
        self._finite_plan()

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
        n_in, n = self.n_in, self.net.n_nodes
        forward = channel.direction == "forward"
        plan, zero_rows = self._plans.get("fwd" if forward else "bwd") or self._plan(forward)
        out = self._inbox_array(channel)
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
            blk, vals = self.blocks[k], sent(delay)
            if k in self._small:
                m, rows, cols = self._small[k]
                m[rows, cols] = w[blk.start:blk.stop]
            else:
                m = self._csr[k]
                m.data = w[blk.start:blk.stop]
            if forward:
                out += m @ vals[0:n]
            else:
                out += (m.T @ vals[n_in:n])[n_in:]
        return out

    def _inbox_array(self, channel) -> np.ndarray:
        """The array a channel's inbox is aggregated into, reused from step to step.

        The rule may overwrite it; the engine copies whatever it returns.
        """
        like = self._nodes[channel.source]
        out = self._inbox.get(channel.name)
        if out is None or out.shape != like.shape:
            out = self._inbox[channel.name] = np.empty(like.shape, self.dtype)
        return out

    def _hebb(self, post: np.ndarray, sent) -> np.ndarray:
        """Per-edge Σ_κ post_iκ m_jκ in block order, shape (E,)."""
        n_in = self.n_in
        out = np.empty(self.net.n_edges, dtype=self.dtype)
        for blk in self.blocks:
            pre = sent(blk.delay)
            if blk.kind == "dense":
                (t0, t1), (s0, s1) = blk.tgt_range, blk.src_range
                view = out[blk.start:blk.stop].reshape(t1 - t0, s1 - s0)
                np.matmul(post[t0 - n_in:t1 - n_in], pre[s0:s1].T, out=view)
            else:
                # in chunks of edges: no (E, B) temporaries on large sparse graphs
                pre = pre[0:self.net.n_nodes]
                tgt, src = blk.tgt - n_in, blk.src
                step = max(1, HEBB_CHUNK // post.shape[1])
                for lo in range(0, len(src), step):
                    hi = min(lo + step, len(src))
                    np.einsum("eb,eb->e", post[tgt[lo:hi]], pre[src[lo:hi]],
                              out=out[blk.start + lo:blk.start + hi])
        return out

    # ----------------------------------------------------------------- stepping
    def _step_arrays(self, u, y, y_mask) -> None:
        nrn = self._neurons
        nrn.t = self.t
        if y is not None:
            nrn.target[self._out_rows] = y
        mask = y_mask.tobytes()
        if mask != self._last_mask:
            nrn.has_target[self._out_rows, 0] = y_mask
            self._last_mask = mask
        self._head[self.rule.output_var] = u
        self._step_sent = {}  # what each channel carried this step (hebb may use earlier rounds)
        for stage in self.rule.stages:
            self._round(stage)
        self._step_sent = {}  # drop this step's messages (and any (N, B) copies) now
        self._recycle()
        pos = self.t % self.depth
        for name, buf in self._buffers.items():
            buf[pos, :self.n_in] = self._head[name]
            buf[pos, self.n_in:] = self._nodes[name]

    def _recycle(self) -> None:
        """End of step: the arrays the rule replaced become the spares of the next step.

        After the first step, the batched node variables the rule writes get two slots
        each in one arena (checked ones first), so that the finiteness check reads them
        with one reduction: the next value goes to the slot the current one is not in.
        """
        spare, nodes, slots = self._neurons.spare, self._nodes, self._slots
        if slots is None:
            self._build_arena()
            slots = self._slots
        for name, old in self._retired.items():
            if name in slots:
                s0, s1 = slots[name]
                spare[name] = s1 if nodes[name] is s0 else s0
            elif old.flags.writeable:   # (not a read-only initial constant)
                spare.setdefault(name, old)
        self._retired.clear()

    def _build_arena(self) -> None:
        written = frozenset(self._written_nodes | self._written_edges)
        checked = self._to_check(written)[0]
        width = self.n_batch
        shape = self._nodes[self.rule.output_var].shape
        names = [n for n in self.node_var_names if n in self._written_nodes
                 and self._nodes[n].shape == shape and width > 1]
        names.sort(key=lambda n: n not in checked)  # stable: declaration order kept
        arena = np.empty((2, len(names), *shape), dtype=self.dtype)
        self._arena, self._arena_index = arena, {n: k for k, n in enumerate(names)}
        self._slots = {n: (arena[0, k], arena[1, k]) for k, n in enumerate(names)}

    def _round(self, stage: Stage) -> None:
        nodes, nrn = self._nodes, self._neurons
        sent = self._step_sent
        sent.update({ch.name: self._sent(ch) for ch in stage.channels})
        inbox = {ch.name: self._aggregate(ch, sent[ch.name]) for ch in stage.channels}
        new = stage.node_update(nodes, inbox, nrn, self.params)
        spare, retired, written = nrn.spare, self._retired, self._written_nodes
        for name, value in new.items():
            old = nodes.get(name)
            if old is None:
                raise ConfigError(f"rule {self.rule.name!r} updated undeclared node "
                                  f"variable {name!r}")
            if value is not spare.get(name):
                target = nrn.out(name, old)
                np.copyto(target, value)
                value = target
            # the old array may still be read this step (messages sent, hebb): it becomes
            # the spare only when the step is over
            del spare[name]
            retired.setdefault(name, old)
            nodes[name] = value
        written.update(new)
        if stage.edge_update is not None:
            linear = self._linear(stage)
            if linear is not None:
                self._edge_linear(stage, linear, sent)
                return
            hebb = {name: self._hebb(nodes[post], sent[chan])
                    for name, (post, chan) in stage.hebb.items()}
            new_edges = stage.edge_update(self._edges, hebb, nrn, self.params)
            for name, value in new_edges.items():
                if name not in self._edges:
                    raise ConfigError(f"rule {self.rule.name!r} updated undeclared edge "
                                      f"variable {name!r}")
                self._edges[name] = np.asarray(value, dtype=self.dtype)
                self._written_edges.add(name)

    def _linear(self, stage: Stage):
        """The stage's linear edge update for the current params, compiled.

        None when the update is not linear, else ``(groups, variables written)``, a group
        per product ``(post var, channel, fold, carrier, [(var, coef, decay)])`` (see
        :meth:`_edge_linear`).
        """
        if stage.edge_linear is None:
            return None
        if self._linear_for is None or self._linear_for[0] is not self.params:
            self._linear_for = (self.params, {})
        cache, key = self._linear_for[1], id(stage)
        if key not in cache:
            linear = stage.edge_linear(self.params, self.n_batch)
            if linear is not None:
                by_hebb: dict[str, list] = {}
                for name, (h, coef, decay) in linear.items():
                    if name not in self._edges:
                        raise ConfigError(f"rule {self.rule.name!r} updated undeclared "
                                          f"edge variable {name!r}")
                    by_hebb.setdefault(h, []).append((name, float(coef), float(decay)))
                groups = []
                for h, targets in by_hebb.items():
                    carrier = next((name for name, coef, decay in targets
                                    if coef == 1.0 and decay == 1.0), None)
                    fold = self._all_dense and carrier is None and len(targets) == 1
                    groups.append((*stage.hebb[h], fold, carrier,
                                   [t for t in targets if t[0] != carrier]))
                linear = (groups, tuple(linear))
            cache[key] = linear
        return cache[key]

    def _edge_linear(self, stage: Stage, linear, sent) -> None:
        """``v ← (1 − decay) v + coef · hebb`` in place (``agents.rule.apply_linear``).

        Per Hebbian product: a variable that *is* the product (coef 1, decay 1) receives
        it from the GEMMs; with no such variable and a single target on a network of dense
        blocks, the update is folded into the GEMMs (``beta = 1 − decay``); otherwise the
        product is made once and the variables follow by ``axpy``.
        """
        edges, axpy, scal = self._edges, self._blas["axpy"], self._blas["scal"]
        groups, names = linear
        for post, chan, fold, carrier, targets in groups:
            post, pre = self._nodes[post], sent[chan]
            if fold:
                name, coef, decay = targets[0]
                self._dense_hebb(post, pre, _writable(edges, name), coef, 1.0 - decay)
                continue
            if carrier is not None and self._all_dense:
                product = self._dense_hebb(post, pre, _writable(edges, carrier), 1.0, 0.0)
            else:
                product = self._hebb(post, pre)
                if carrier is not None:
                    edges[carrier] = product
            for name, coef, decay in targets:
                arr = _writable(edges, name)
                if decay != 0.0:
                    scal(1.0 - decay, arr)
                axpy(product, arr, a=coef)
        self._written_edges.update(names)

    def _dense_hebb(self, post, sent, out, coef: float, beta: float) -> np.ndarray:
        """``out ← coef · Σ_κ post_iκ m_jκ + beta · out`` per edge, all blocks dense."""
        n_in = self.n_in
        gemm = self._blas["gemm"]
        for blk in self.blocks:
            (t0, t1), (s0, s1) = blk.tgt_range, blk.src_range
            view = out[blk.start:blk.stop].reshape(t1 - t0, s1 - s0)
            _gemm_into(gemm, coef, post[t0 - n_in:t1 - n_in], sent(blk.delay)[s0:s1], beta,
                       view)
        return out

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

    def _finite_plan(self) -> None:
        """Prepare the finiteness check: which written variable vouches for which."""
        self._checked_for: dict = {}
        implied = self.rule.finite_implied

        def vouched(name, written, seen=()):
            """Whether a non-finite ``name`` cannot go unseen by the checked variables."""
            if name not in implied:
                return False
            witness = implied[name]
            if witness is None:
                return True
            if witness not in written or witness in seen:
                return False
            return witness not in implied or vouched(witness, written, (*seen, name))

        self._vouched = vouched

    def _to_check(self, written: frozenset) -> tuple[list, list]:
        """Node and edge variables to check after a step writing ``written`` (cached)."""
        plan = self._checked_for.get(written)
        if plan is None:
            keep = {name for name in written if not self._vouched(name, written)}
            plan = self._checked_for[written] = (
                [n for n in self.node_var_names if n in keep],
                [n for n in self.edge_var_names if n in keep], None)
        return plan

    def _arena_plan(self, written: frozenset, check_nodes: list):
        """(first arena var, slice of arena rows, the other checked node vars) or None."""
        key = ("arena", written)
        if key not in self._checked_for:
            index = getattr(self, "_arena_index", {})
            mine = sorted(index[n] for n in check_nodes if n in index)
            plan = None
            if len(mine) > 1 and mine == list(range(mine[0], mine[-1] + 1)):
                inside = [n for n in check_nodes if n in index]
                plan = (inside, slice(mine[0], mine[-1] + 1),
                        [n for n in check_nodes if n not in index])
            self._checked_for[key] = plan
        return self._checked_for[key]

    def _nodes_finite(self, written: frozenset, check_nodes: list) -> bool:
        nodes = self._nodes
        plan = self._arena_plan(written, check_nodes) if self._slots else None
        if plan is not None:
            inside, rows, rest = plan
            first = nodes[inside[0]]
            s0, s1 = self._slots[inside[0]]
            parity = 0 if first is s0 else 1 if first is s1 else None
            if parity is not None and all(nodes[n] is self._slots[n][parity]
                                          for n in inside):
                return _square_sum_finite(self._arena[parity, rows]) and \
                    all(_square_sum_finite(nodes[n]) for n in rest)
        return all(_square_sum_finite(nodes[n]) for n in check_nodes)

    def _check_finite(self) -> None:
        # one reduction per variable written since the last check — the sum of squares
        # (a BLAS dot, twice as fast as a sum): a NaN or inf anywhere makes it non-finite.
        # Of the variables the rule wrote, those another written variable vouches for
        # (Rule.finite_implied) are skipped; what was written from outside is always
        # checked. Only on a non-finite sum (or one overflowing on finite values) is the
        # culprit sought, by the same search as the agent engine's (same message)
        nodes, edges = self._nodes, self._edges
        written = frozenset(self._written_nodes | self._written_edges)
        check_nodes, check_edges, _ = self._to_check(written)
        ok = self._nodes_finite(written, check_nodes) and \
            all(_square_sum_finite(edges[n]) for n in check_edges)
        if ok and self._dirty_nodes:
            ok = all(_square_sum_finite(nodes[n]) for n in self._dirty_nodes)
        if ok and self._dirty_edges:
            ok = all(_square_sum_finite(edges[n]) for n in self._dirty_edges)
        if not ok:
            super()._check_finite()   # raises naming the step, neuron/edge and variable
        self._written_nodes.clear()
        self._written_edges.clear()
        self._dirty_nodes.clear()
        self._dirty_edges.clear()

    def fill_history(self, name: str | None = None) -> None:
        """Set the delay buffers of ``name`` (default: all) to the variable's current value."""
        for var, buf in self._buffers.items():
            if name is None or var == name:
                buf[:, :self.n_in] = self._head[var]
                buf[:, self.n_in:] = self._nodes[var]
