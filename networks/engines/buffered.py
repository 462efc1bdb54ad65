"""The vectorised engine's step without temporaries: buffers and folded weight updates.

:class:`BufferedStep` is a part of :class:`~networks.engines.vector.VectorEngine`:

* **Buffers.** The rule's update functions compute into arrays the engine hands out
  (:class:`Neurons` ``.out``, ``agents.rule``'s "who may write where"): its spare arrays
  of the node variables (:mod:`networks.engines.arena`), or scratch arrays kept per name.
  (A temporary of a large array costs more than a pass over it: freed and re-allocated
  memory is page-faulted in again.)
* **Linear edge updates** (``Stage.edge_linear``): ``v ← (1 − decay) v + coef · hebb`` is
  folded into the Hebbian product's GEMM (``beta = 1 − decay``, in place), or the
  product is written once into the variable that *is* it and the others follow by
  ``axpy``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from agents.errors import ConfigError
from agents.rule import Stage


def writable(arrays: dict, name: str) -> np.ndarray:
    """``arrays[name]``, replaced first by a writable copy if it is a lazy constant."""
    arr = arrays[name]
    if not arr.flags.writeable:
        arrays[name] = arr = arr.copy()
    return arr


class Neurons:
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
        self.all_targets = False   # every output has a target this step (see agents.rule)
        self.t, self.batch = 0, width
        self.spare: dict[str, np.ndarray] = {}

    def out(self, name: str, like: np.ndarray) -> np.ndarray:
        """The spare array of node variable ``name``, or the scratch array ``name``."""
        buf = self.spare.get(name)
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
            buf = self.spare[name] = np.empty(like.shape, like.dtype)
        return buf


class StageReads(Mapping):
    """The node variables a stage declared it reads (``Stage.reads``), of ``nodes``.

    Reading any other variable raises :class:`ConfigError` naming it.
    """

    def __init__(self, nodes: dict, reads: frozenset, rule_name: str):
        self._nodes, self._reads, self._rule = nodes, reads, rule_name

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._reads:
            raise ConfigError(f"rule {self._rule!r} read node variable {name!r}, not in "
                              f"its stage's reads {sorted(self._reads)}")
        return self._nodes[name]

    def __iter__(self):
        return (name for name in self._nodes if name in self._reads)

    def __len__(self) -> int:
        return sum(1 for name in self._nodes if name in self._reads)


def gemm_into(gemm, coef, post, pre, beta, view) -> None:
    """``view ← coef · post @ preᵀ + beta · view`` in place by one BLAS call.

    ``view`` (n_post, n_pre), ``post`` (n_post, B) and ``pre`` (n_pre, B) are C-contiguous,
    so their transposes are Fortran-contiguous and BLAS reads and writes them directly.
    """
    c = view.T
    out = gemm(coef, pre.T, post.T, beta, c, 1, 0, 1)   # (positional: faster to parse)
    if out is not c and not np.shares_memory(out, view):  # never: a copy would be lost
        view[...] = out.T


def in_place(view, post, pre) -> bool:
    """Whether :func:`gemm_into`'s BLAS call reads and writes the arrays without a copy.

    True when ``view``, ``post`` and ``pre`` are C-contiguous, aligned and of one dtype:
    the engine may then call ``gemm`` directly, its result being ``view.T`` itself.
    """
    return all(a.flags.c_contiguous and a.flags.aligned and a.dtype == view.dtype
               for a in (view, post, pre)) and view.flags.writeable


class BufferedStep:
    """The stage-reads and linear-update methods of the vectorised engine.

    Expects the engine's ``_nodes``, ``_edges``, ``_neurons`` (a :class:`Neurons`),
    ``_retired``, ``_written`` (node and edge variables written by the rule since the
    last check), ``_dirty_nodes``/``_dirty_edges`` (written from outside), ``_blas``,
    ``_all_dense``, ``blocks``, ``n_in``, ``rule``, ``params``.
    """

    def _reads_view(self, stage: Stage) -> StageReads:
        """The mapping of node variables ``stage.node_update`` gets (cached per stage)."""
        views = self.__dict__.setdefault("_stage_reads", {})
        view = views.get(id(stage))
        if view is None:
            view = views[id(stage)] = StageReads(self._nodes, stage.reads, self.rule.name)
        return view

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
        for post_name, chan, fold, carrier, targets in groups:
            post, pre = self._nodes[post_name], sent[chan]
            dense_hebb = self._dense_hebb if not self._bindable else \
                lambda post, pre, out, coef, beta, chan=chan: self._bound_hebb(
                    post, chan, pre, out, coef, beta)
            if fold:
                name, coef, decay = targets[0]
                dense_hebb(post, pre, writable(edges, name), coef, 1.0 - decay)
            else:
                if carrier is not None and self._all_dense:
                    product = dense_hebb(post, pre, writable(edges, carrier), 1.0, 0.0)
                else:
                    product = self._hebb_into(post, pre, carrier, chan)
                for name, coef, decay in targets:
                    arr = writable(edges, name)
                    if decay != 0.0:
                        scal(1.0 - decay, arr)
                    axpy(product, arr, a=coef)
            self._bound_linear(post_name, chan, pre, carrier, targets,
                               None if fold else product)
        self._written.update(names)

    def _dense_hebb(self, post, sent, out, coef: float, beta: float) -> np.ndarray:
        """``out ← coef · Σ_κ post_iκ m_jκ + beta · out`` per edge, all blocks dense."""
        n_in = self.n_in
        gemm = self._blas["gemm"]
        for blk in self.blocks:
            (t0, t1), (s0, s1) = blk.tgt_range, blk.src_range
            view = out[blk.start:blk.stop].reshape(t1 - t0, s1 - s0)
            gemm_into(gemm, coef, post[t0 - n_in:t1 - n_in], sent(blk.delay)[s0:s1], beta,
                       view)
        return out
