"""The vectorised engine: the rule's state as arrays, aggregation by blocks.

Node variables are arrays of shape (N, B) (or (N, 1) without an example axis); edge
variables are flat arrays of shape (E,) in *block order* (see :mod:`networks.compile`):
a dense block's weights are viewed as an (n_tgt, n_src) matrix, a sparse block's as the
data of a CSR matrix. Delayed channel sources keep a ring buffer of shape (D, N, B):
after step t, ``buffer[t % D]`` holds the value at time t, so the value at time t − d is
``buffer[(t − d) % D]``. Neurons stay inspectable by node id (:meth:`neuron`).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp

from agents.activations import ActivationMap
from agents.errors import ConfigError
from agents.rule import Rule, Stage
from networks.engines.base import EngineBase


class VectorEngine(EngineBase):
    """Executes a rule on all neurons at once with numpy (see :class:`EngineBase`)."""

    kind = "vector"

    def __init__(self, net, rule: Rule, params=None, *, batch=None, dtype=np.float64,
                 record=(), check_finite=True):
        self._setup(net, rule, params, batch, dtype, record, check_finite)
        net, n, width = self.net, self.net.n_nodes, self.n_batch
        self._nodes: dict[str, np.ndarray] = {}
        for var in rule.all_node_vars:
            cols = width if var.batched else 1
            self._nodes[var.name] = np.full((n, cols), var.init, dtype=self.dtype)
        self._nodes["bias"] = net.bias.astype(self.dtype)[:, None].copy()
        self._edges: dict[str, np.ndarray] = {"weight": net.weight[net.block_order].astype(
            self.dtype)}
        for var in rule.edge_vars:
            self._edges[var.name] = np.full(net.n_edges, var.init, dtype=self.dtype)
        self._inverse_order = np.empty_like(net.block_order)
        self._inverse_order[net.block_order] = np.arange(net.n_edges)
        self.depth = net.max_delay
        self._buffers = {
            name: np.full((self.depth, n, width), self._init_of(name), dtype=self.dtype)
            for name in rule.delayed_sources
        }
        self._csr = {}
        for k, blk in enumerate(net.blocks):
            if blk.kind == "sparse":
                m = sp.csr_array((np.ones(blk.stop - blk.start, dtype=self.dtype),
                                  (blk.tgt, blk.src)), shape=(n, n))
                m.sort_indices()
                self._csr[k] = m
        self._neurons = SimpleNamespace(
            act=ActivationMap(net.activation),
            is_input=net.is_input[:, None],
            is_output=net.is_output[:, None],
            target=np.zeros((n, width), dtype=self.dtype),
            has_target=np.zeros((n, 1), dtype=bool),
            t=0,
            batch=width,
        )

    def _init_of(self, name: str) -> float:
        return next(v.init for v in self.rule.all_node_vars if v.name == name)

    # ----------------------------------------------------------------- aggregation
    def _sparse(self, k: int, blk) -> sp.csr_array:
        m = self._csr[k]
        m.data = self._edges["weight"][blk.start:blk.stop]
        return m

    def _sent(self, channel) -> callable:
        """The values a channel carries: a function of the edge delay d → (N, B)."""
        if channel.delayed:
            buf, t, depth = self._buffers[channel.source], self.t, self.depth
            return lambda d: buf[(t - d) % depth]
        now = self._nodes[channel.source]
        return lambda d: now

    def _aggregate(self, channel, sent) -> np.ndarray:
        n = self.net.n_nodes
        out = np.zeros((n, self._nodes[channel.source].shape[1]), dtype=self.dtype)
        w = self._edges["weight"]
        forward = channel.direction == "forward"
        for k, blk in enumerate(self.net.blocks):
            vals = sent(blk.delay)
            if blk.kind == "dense":
                (t0, t1), (s0, s1) = blk.tgt_range, blk.src_range
                W = w[blk.start:blk.stop].reshape(t1 - t0, s1 - s0)
                if forward:
                    out[t0:t1] += W @ vals[s0:s1]
                else:
                    out[s0:s1] += W.T @ vals[t0:t1]
            else:
                m = self._sparse(k, blk)
                out += (m @ vals) if forward else (m.T @ vals)
        return out

    def _hebb(self, post: np.ndarray, sent) -> np.ndarray:
        out = np.empty(self.net.n_edges, dtype=self.dtype)
        for blk in self.net.blocks:
            pre = sent(blk.delay)
            if blk.kind == "dense":
                (t0, t1), (s0, s1) = blk.tgt_range, blk.src_range
                out[blk.start:blk.stop] = (post[t0:t1] @ pre[s0:s1].T).ravel()
            else:
                out[blk.start:blk.stop] = np.einsum("eb,eb->e", post[blk.tgt], pre[blk.src])
        return out

    # ----------------------------------------------------------------- stepping
    def _step_arrays(self, u, y, y_mask) -> None:
        nodes, net, out = self._nodes, self.net, self.rule.output_var
        self._neurons.t = self.t
        if y is not None:
            self._neurons.target[net.output_idx] = y
        self._neurons.has_target[net.output_idx, 0] = y_mask
        nodes[out][net.input_idx] = u
        for stage in self.rule.stages:
            self._round(stage, u)
        for name, buf in self._buffers.items():
            buf[self.t % self.depth] = nodes[name]

    def _round(self, stage: Stage, u) -> None:
        nodes, net = self._nodes, self.net
        sent = {ch.name: self._sent(ch) for ch in stage.channels}
        inbox = {ch.name: self._aggregate(ch, sent[ch.name]) for ch in stage.channels}
        new = stage.node_update(nodes, inbox, self._neurons, self.params)
        self._store_nodes(new)
        if self.rule.output_var in new:
            nodes[self.rule.output_var][net.input_idx] = u
        if stage.edge_update is not None:
            hebb = {name: self._hebb(nodes[post], sent[chan])
                    for name, (post, chan) in stage.hebb.items()}
            new_edges = stage.edge_update(self._edges, hebb, self._neurons, self.params)
            for name, value in new_edges.items():
                if name not in self._edges:
                    raise ConfigError(f"rule {self.rule.name!r} updated undeclared edge "
                                      f"variable {name!r}")
                self._edges[name] = np.asarray(value, dtype=self.dtype)

    def _store_nodes(self, new: dict) -> None:
        for name, value in new.items():
            old = self._nodes.get(name)
            if old is None:
                raise ConfigError(f"rule {self.rule.name!r} updated undeclared node "
                                  f"variable {name!r}")
            value = np.asarray(value, dtype=self.dtype)
            if value.shape != old.shape:
                value = np.broadcast_to(value, old.shape).copy()
            self._nodes[name] = value

    # ----------------------------------------------------------------- state access
    def _get_node(self, name):
        return self._nodes[name]

    def _set_node(self, name, value):
        self._nodes[name] = value

    def _get_edge(self, name):
        return self._edges[name][self._inverse_order]

    def _set_edge(self, name, value):
        self._edges[name] = np.asarray(value, dtype=self.dtype)[self.net.block_order]

    def _perturb(self, i, noise):
        for arr in self._nodes.values():
            arr[i] += noise(arr[i].shape)
        for buf in self._buffers.values():
            buf[:, i] += noise(buf[:, i].shape)
        mine = self._inverse_order[self.net.in_ptr[i]:self.net.in_ptr[i + 1]]
        for arr in self._edges.values():
            arr[mine] += noise(len(mine))

    def fill_history(self, name: str | None = None) -> None:
        """Set the delay buffers of ``name`` (default: all) to the variable's current value."""
        for var, buf in self._buffers.items():
            if name is None or var == name:
                buf[:] = self._nodes[var]
