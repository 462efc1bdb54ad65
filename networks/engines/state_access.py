"""Reading, setting, inspecting and perturbing an engine's state by name and node id.

:class:`StateAccess` is a part of :class:`~networks.engines.base.EngineBase`. It is the
public state API of both engines, built on five engine-specific methods that read and
write one variable in canonical order (:mod:`networks.compile`): node variables as
(N, B) arrays — (N, 1) for variables without an example axis or with ``batch=None`` —
and edge variables as (E,) arrays. What a user sees drops the example axis when the
engine has none: (N,) for node variables.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np

from agents.errors import ConfigError, DataError, did_you_mean
from networks.engines.checks import real_array, short


class StateAccess(ABC):
    """The state API of an engine (module doc).

    Expects the engine's ``net``, ``rule``, ``batch``, ``n_batch``, ``dtype``,
    ``node_var_names``, ``edge_var_names`` and its ``_fit_dtype``.
    """

    # ----------------------------------------------------------------- engine-specific
    @abstractmethod
    def _get_node(self, name: str) -> np.ndarray:
        """Node variable in canonical order, shape (N, B) or (N, 1)."""

    @abstractmethod
    def _set_node(self, name: str, value: np.ndarray) -> None:
        """Set a node variable from a canonical (N, B) or (N, 1) array."""

    @abstractmethod
    def _get_edge(self, name: str) -> np.ndarray:
        """Edge variable in canonical order, shape (E,)."""

    @abstractmethod
    def _set_edge(self, name: str, value: np.ndarray) -> None:
        """Set an edge variable from a canonical (E,) array."""

    @abstractmethod
    def _perturb(self, i: int, noise) -> None:
        """Add ``noise(shape)`` to every state array of neuron i (canonical index)."""

    # ----------------------------------------------------------------- public API
    def _public(self, name: str) -> np.ndarray:
        """A copy of a variable as users see it: (N, B), (N,) or (E,)."""
        if name in self.edge_var_names:
            return self._get_edge(name).copy()
        value = self._get_node(name).copy()
        var = next(v for v in self.rule.all_node_vars if v.name == name)
        if self.batch is None or not var.batched:
            return value[:, 0]
        return value

    def state(self, name: str) -> np.ndarray:
        """Current value of a node variable (N, B), (N,), or of an edge variable (E,)."""
        self._check_var(name)
        return self._public(name)

    def _check_var(self, name) -> None:
        if name not in self.node_var_names and name not in self.edge_var_names:
            raise ConfigError(
                f"unknown variable {name!r}"
                f"{did_you_mean(name, self.node_var_names + self.edge_var_names, False)} "
                f"(node variables {list(self.node_var_names)}, edge variables "
                f"{list(self.edge_var_names)})")

    def set_state(self, name: str, value: Any) -> None:
        """Set a node variable or an edge variable.

        Args:
            name: the variable.
            value: node variable: a scalar, (N,), (N, 1) or (N, B) (B = 1 for variables
                without an example axis); edge variable: a scalar or (E,). Values must be
                finite and fit the engine's dtype.

        Raises:
            ConfigError: for an unknown variable.
            DataError: for a value of another shape, not numbers, non-finite, or
                overflowing the dtype (names the neuron or edge).
        """
        self._check_var(name)
        what = f"set_state({name!r})"
        ids = self.net.node_ids
        if name in self.edge_var_names:
            E = self.net.n_edges
            value = real_array(value, what)
            if value.shape not in ((), (E,)):
                raise DataError(f"{what}: the value must be a scalar or have shape ({E},) "
                                f"(one per edge), got {value.shape}")
            value = self._fit_dtype(value, what, lambda idx: f" for edge "
                                    f"{(ids[self.net.src[idx[0]]], ids[self.net.tgt[idx[0]]])!r}"
                                    if idx else "")
            self._set_edge(name, np.broadcast_to(value, (E,)).copy())
            return
        N = self.net.n_nodes
        width = 1 if name == "bias" else self._width(name)
        value = real_array(value, what)
        if value.shape not in ((), (N,), (N, 1), (N, width)):
            shapes = ", ".join(str(s) for s in dict.fromkeys([(N,), (N, 1), (N, width)]))
            raise DataError(f"{what}: the value must be a scalar or have shape {shapes} "
                            f"(neurons first), got {value.shape}")
        value = self._fit_dtype(value, what, lambda idx: f" for neuron {ids[idx[0]]!r}"
                                if idx else "")
        if value.ndim == 1:
            value = value[:, None]
        self._set_node(name, np.broadcast_to(value, (N, width)).copy())

    def load_examples(self, values: Mapping[str, np.ndarray]) -> None:
        """Set per-example node variables from a trainer's copy of this engine's state.

        What a mini-batch trainer that keeps every example's state between its visits
        does before a step (:mod:`runs.methods.lp`): the same as ``set_state(name,
        value)`` for every item, without that method's checks of the values and its
        copies (they cost as much as a small network's step): the values are this
        engine's own state (what :meth:`save_examples` wrote, or what the trainer
        started from), so only the names, dtype and shapes are checked. The arrays are
        not kept: the trainer may change them afterwards.

        Args:
            values: ``{name: (N, B) array of the engine's dtype}`` for per-example node
                variables (those with an example axis; B = the engine's batch).

        Raises:
            ConfigError: for an unknown variable or one without an example axis.
            DataError: for an array of another dtype or shape.
        """
        for name, value in values.items():
            self._check_examples(name, value)
            self._set_node(name, value)

    def save_examples(self, out: Mapping[str, np.ndarray]) -> None:
        """Write per-example node variables into a trainer's arrays (after a step).

        The inverse of :meth:`load_examples`: ``out[name][...] = state(name)`` for every
        item, with no copy in between.

        Raises:
            ConfigError, DataError: as :meth:`load_examples`.
        """
        for name, value in out.items():
            self._check_examples(name, value)
            value[...] = self._get_node(name)

    def _check_examples(self, name: str, value: np.ndarray) -> None:
        """The checks of :meth:`load_examples` (cheap: they run every step)."""
        batched = self.__dict__.get("_batched_names")
        if batched is None:
            batched = self._batched_names = frozenset(
                v.name for v in self.rule.all_node_vars
                if v.batched and v.name in self.node_var_names)
        if name not in batched:
            self._check_var(name)
            raise ConfigError(f"variable {name!r} has no example axis; load_examples and "
                              f"save_examples take only {sorted(batched)}")
        shape = (self.net.n_nodes, self.n_batch)
        if getattr(value, "dtype", None) != self.dtype or value.shape != shape:
            raise DataError(
                f"examples of {name!r}: expected a {shape} array of {self.dtype}, got "
                f"{getattr(value, 'dtype', type(value).__name__)} {np.shape(value)}")

    def _width(self, name: str) -> int:
        var = next(v for v in self.rule.all_node_vars if v.name == name)
        return self.n_batch if var.batched else 1

    def neuron(self, node) -> dict[str, Any]:
        """Inspect one neuron by node id: its variables and its in-edge variables.

        Returns:
            ``{var: value (B,)}`` for node variables and ``"in_edges"``:
            ``{source id: {edge var: value}}``.
        """
        if node not in self.net.index:
            raise ConfigError(f"no neuron {node!r} in this network")
        return self._neuron(node)

    def _neuron(self, node) -> dict[str, Any]:
        i = self.net.index[node]
        out: dict[str, Any] = {name: self._get_node(name)[i].copy()
                               for name in self.node_var_names}
        edges = self.net.in_edges(node)
        values = {name: self._get_edge(name) for name in self.edge_var_names}
        out["in_edges"] = {
            self.net.node_ids[self.net.src[e]]: {name: float(v[e]) for name, v in values.items()}
            for e in edges
        }
        return out

    def perturb_neuron(self, node, rng: np.random.Generator, scale: float = 0.1) -> None:
        """Add Gaussian noise to all of one neuron's own state (tests of locality).

        Perturbs the neuron's node variables, its delay buffers and its in-edge variables.
        """
        if node not in self.net.index:
            raise ConfigError(f"no neuron {node!r} in this network")
        if not isinstance(rng, np.random.Generator):
            raise ConfigError(f"rng must be a numpy Generator, got {short(rng)}")
        self._perturb(self.net.index[node],
                      lambda shape: scale * rng.standard_normal(shape).astype(self.dtype))
