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
by node id (:meth:`~networks.engines.state_access.StateAccess.neuron`).

This module builds that layout, runs a step's stages and converts between it and the
canonical order. The other parts of :class:`VectorEngine`, one module each:

* :mod:`networks.engines.block_products`: a channel's messages, its aggregation by block
  products, the per-edge Hebbian products;
* :mod:`networks.engines.sparse_blocks`: the sparse blocks' products on CSR arrays;
* :mod:`networks.engines.sparse_hebb`: their Hebbian products, in chunks;
* :mod:`networks.engines.prebound`: step data and block products bound once;
* :mod:`networks.engines.buffered`: the rule computing into buffers, linear weight
  updates folded into the Hebbian product's GEMM;
* :mod:`networks.engines.arena`: the slots of the node variables the rule writes;
* :mod:`networks.engines.finite`: the finiteness check reading few arrays;
* :mod:`networks.engines.edge_bounds`: bounds sparing it the large edge variables.

A step allocates nothing large.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import blas

from agents.activations import ActivationMap
from agents.errors import ConfigError
from agents.rule import Rule, Stage
from networks.compile import plan_blocks
from networks.engines.arena import Arena
from networks.engines.base import EngineBase
from networks.engines.block_products import BlockProducts
from networks.engines.buffered import BufferedStep, Neurons, writable
from networks.engines.edge_bounds import EdgeBounds
from networks.engines.finite import FiniteCheck
from networks.engines.prebound import Prebound
from networks.engines.sparse_blocks import sparse_blocks


def _constant(value: float, shape: tuple, dtype) -> np.ndarray:
    """A read-only array of ``shape`` filled with ``value`` that takes no memory."""
    return np.broadcast_to(np.asarray(value, dtype=dtype), shape)


def _initial_rows(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Rows ``idx`` of an initial value; a zero-memory constant stays one."""
    if not values.flags.writeable and values.size and not any(values.strides):
        return _constant(values.flat[0], (len(idx), *values.shape[1:]), values.dtype)
    return values[idx]


class VectorEngine(BlockProducts, Prebound, Arena, BufferedStep, FiniteCheck, EdgeBounds,
                   EngineBase):
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
        # non-finite): by the rule, and from outside (all of them at first)
        self._written: set[str] = set()
        self._dirty_nodes = set(self._nodes)
        self._dirty_edges = set(self._edges)
        self.depth = net.max_delay
        self._buffers = {  # before t = 1 every slot holds the initial value
            name: np.repeat(np.broadcast_to(initial[name][self.perm], (n, width))[None],
                            self.depth, axis=0)
            for name in rule.delayed_sources
        }
        del initial
        # per delayed source: how many ring slots hold its current head (all, at first)
        self._head_fresh = dict.fromkeys(self._buffers, self.depth)
        self._plans: dict = {}
        self._out_rows = self.position[net.output_idx] - n_in
        if len(self._out_rows) == 0:
            self._out_rows = slice(0, 0)
        elif np.array_equal(self._out_rows,
                            np.arange(self._out_rows[0], self._out_rows[-1] + 1)):
            self._out_rows = slice(int(self._out_rows[0]), int(self._out_rows[-1]) + 1)
        self._neurons = Neurons(ActivationMap([net.activation[k] for k in active]),
                                 net.is_output[active][:, None], self._out_rows, width,
                                 self.dtype)
        self._last_mask = self._last_mask_array = None
        self._step_io()
        self._retired: dict[str, np.ndarray] = {}   # arrays replaced this step → spares
        self._inbox: dict[str, np.ndarray] = {}     # one reused array per channel
        self._all_dense = all(blk.kind == "dense" for blk in self.blocks)
        # dense products bound to their arrays once (views, no reshapes per step), kept
        # by the identity of the arrays they read (_sent_key): engines that replace the
        # products (a subclass's own _aggregate, _dense_hebb) run theirs
        self._bindable = (self._all_dense or not any(blk.kind == "dense"
                                                     for blk in self.blocks)) and \
            type(self)._aggregate is VectorEngine._aggregate and \
            type(self)._dense_hebb is BufferedStep._dense_hebb
        self._bound: dict = {}
        self._anchors: dict = {}
        self._sent_keys: dict = {}   # {channel: _sent_key of this step, None: unbound}
        self._blas = {name: blas.get_blas_funcs(name, dtype=self.dtype)
                      for name in ("gemm", "axpy", "scal")}
        self._linear_for = None  # (params, {stage index: linear plan}) of the last step
        self._slots = None       # {var: its two arena slots}, set after the first step
        self._single: dict = {}  # {var: its one array} (no old value read), likewise
        self._one_stage = len(rule.stages) == 1
        self._finite_plan()

    # ----------------------------------------------------------------- stepping
    def _step_arrays(self, u, y, y_mask) -> None:
        nrn = self._neurons
        nrn.t = self.t
        if y is not None and y is not self._y_rows:   # (the fast path copied it there)
            nrn.target[self._out_rows] = y
        if y_mask is not self._last_mask_array:
            mask = y_mask.tobytes()
            if mask != self._last_mask:
                nrn.has_target[self._out_rows, 0] = y_mask
                nrn.all_targets = bool(y_mask.all())
                self._last_mask = mask
            # (the base engine's y_mask of "all" or "no" targets is read-only: the same
            # object means the same values)
            self._last_mask_array = y_mask if not y_mask.flags.writeable else None
        self._head[self.rule.output_var] = u
        self._step_sent = {}  # what each channel carried this step (hebb may use earlier rounds)
        self._checked_in_step = None
        for stage in self.rule.stages:
            self._round(stage)
        self._step_sent = {}  # drop this step's messages (and any (N, B) copies) now
        if self.check_finite and self._slots is not None:
            self._check_in_step()   # (before the delay buffers' copies: finite.py)
        self._recycle()
        pos, fresh = self.t % self.depth, self._head_fresh
        for name, buf in self._buffers.items():
            # a clamped head other than the input changes only from outside: once every
            # slot holds it, it is not copied again
            if name == self.rule.output_var or fresh[name] < self.depth:
                buf[pos, :self.n_in] = self._head[name]
                fresh[name] += 1
            buf[pos, self.n_in:] = self._nodes[name]

    def _round(self, stage: Stage) -> None:
        nodes, nrn = self._nodes, self._neurons
        sent = self._step_sent
        sent.update({ch.name: self._sent(ch) for ch in stage.channels})
        inbox = {ch.name: self._aggregate(ch, sent[ch.name]) for ch in stage.channels}
        state = nodes if stage.reads is None else self._reads_view(stage)
        new = stage.node_update(state, inbox, nrn, self.params)
        if not new.keys() <= nodes.keys():
            name = next(n for n in new if n not in nodes)
            raise ConfigError(f"rule {self.rule.name!r} updated undeclared node "
                              f"variable {name!r}")
        self._swap(new, now=self._slots is not None and self._one_stage)
        self._written.update(new)
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
                self._window_lost()
                self._bounds_lost((name,))
                self._written.add(name)

    def _swap(self, new: dict, now: bool) -> None:
        """Store a stage's new values (copied into an engine array unless one already).

        ``now=False``: the arrays they replace may still be read this step (messages
        sent, hebb, a later stage), so they are retired and become spares only when the
        step is over (_recycle). ``now=True``, for a one-stage rule once the arena
        exists: the spares are set at once to what _recycle would make them, since after
        the only stage's node update nothing asks for an ``out`` array of a node variable
        before its Hebbian products are made, which read the old values (sent) and the
        new ones (nodes). A variable with one slot, written in place, needs nothing.
        """
        nodes, nrn, slots, single = self._nodes, self._neurons, self._slots, self._single
        spare, keep_old = nrn.spare, self._retired.setdefault
        for name, value in new.items():
            old = nodes[name]
            if value is not spare.get(name):
                target = nrn.out(name, old)
                np.copyto(target, value)
                value = target
            if not now:
                del spare[name]
                keep_old(name, old)
                nodes[name] = value
                continue
            if value is old:
                continue
            nodes[name] = value
            pair = slots.get(name)
            if pair is not None:
                spare[name] = pair[1] if value is pair[0] else pair[0]
            elif name in single:
                spare[name] = single[name]
            elif old.flags.writeable:
                spare[name] = old
            else:
                del spare[name]

    # ----------------------------------------------------------------- state access
    def _get_node(self, name):
        return np.concatenate([self._head[name], self._nodes[name]])[self.position]

    def _set_node(self, name, value):
        internal = value[self.perm]
        self._head[name] = internal[:self.n_in].copy()
        self._nodes[name] = internal[self.n_in:].copy()
        self._dirty_nodes.add(name)
        if name in self._head_fresh:
            self._head_fresh[name] = 0

    def _get_edge(self, name):
        return self._edges[name][self._inverse_order]

    def _set_edge(self, name, value):
        value = np.asarray(value, dtype=self.dtype)[self.block_order]
        current = self._edges[name]
        if current.flags.writeable and current.shape == value.shape:
            current[...] = value   # in place: it keeps its place in the arena
        else:
            self._edges[name] = value
        self._dirty_edges.add(name)
        self._bounds_lost((name,))

    def _perturb(self, i, noise):
        p = self.position[i]
        for name in self._nodes:
            part, row = (self._head, p) if p < self.n_in else (self._nodes, p - self.n_in)
            writable(part, name)[row] += noise(part[name][row].shape)
        for buf in self._buffers.values():
            buf[:, p] += noise(buf[:, p].shape)
        mine = self._inverse_order[self.net.in_ptr[i]:self.net.in_ptr[i + 1]]
        for name in self._edges:
            writable(self._edges, name)[mine] += noise(len(mine))
        self._dirty_nodes.update(self._nodes)
        self._dirty_edges.update(self._edges)
        self._bounds_lost()
        self._head_fresh = dict.fromkeys(self._buffers, 0)

    def fill_history(self, name: str | None = None) -> None:
        """Set the delay buffers of ``name`` (default: all) to the variable's current value."""
        for var, buf in self._buffers.items():
            if name is None or var == name:
                buf[:, :self.n_in] = self._head[var]
                buf[:, self.n_in:] = self._nodes[var]
                self._head_fresh[var] = self.depth
