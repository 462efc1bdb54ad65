"""What both engines share: construction arguments, data checks, recording, the run loop.

An engine executes a :class:`~agents.rule.Rule` on a network. Public arrays use the
canonical orders of :mod:`networks.compile`: node variables have shape (N, B) — or (N,)
when the engine was made with ``batch=None`` — and edge variables shape (E,).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import networkx as nx
import numpy as np

from agents.errors import ConfigError, DataError, DivergenceError, did_you_mean
from agents.rule import Rule
from networks.compile import CompiledNetwork, compile_graph
from networks.engines.checks import (
    check_graph_fits_dtype,
    check_memory,
    fit_dtype,
    real_array,
    resolve_rule,
    short,
)
from networks.engines.initial import engine_rng, initial_state


def as_compiled(net: nx.DiGraph | CompiledNetwork) -> CompiledNetwork:
    """Compile ``net`` if it is a graph; pass a :class:`CompiledNetwork` through."""
    return net if isinstance(net, CompiledNetwork) else compile_graph(net)


@np.errstate(all="ignore")
def _quiet_step(engine: EngineBase, u, y, mask) -> None:
    """One step and the finiteness check, with numpy's floating-point warnings off.

    A step that overflows is reported by the check (step, neuron, variable), not by a
    warning. (all="ignore": over, invalid, divide, and underflow, which numpy ignores by
    default anyway. Used as a decorator, the error state is made once per call without
    a context-manager object: half the cost of ``with np.errstate(...)`` per step.)
    """
    engine._step_arrays(u, y, mask)
    engine._check_finite()  # (its sums may overflow: no warning)


class EngineBase(ABC):
    """Shared behaviour of the agent engine and the vectorised engine.

    Args:
        net: a network graph or a compiled network.
        rule: the rule to execute, or its name in ``agents.RULES`` (e.g. ``"lp"``).
        params: the rule's parameters (instance, mapping or None for defaults).
        batch: number of examples B processed in parallel, or None for no batch axis.
        dtype: float dtype of all state (float64 or float32).
        record: names (or one name) of node or edge variables to record after every step.
        check_finite: stop with a :class:`DivergenceError` when state becomes NaN/inf.
        rng: seed (default 0) or ``numpy.random.Generator``; the engine's Generator is
            the attribute ``rng`` (:func:`engine_rng`). State variables with a random
            initial value (:data:`agents.rule.InitFn`) draw it from ``rng`` before
            anything else uses it, in canonical order, so both engines start from the
            same values for the same seed.

    Every argument is checked before anything is allocated (one-line ``ConfigError`` /
    ``GraphError`` naming it, see :mod:`networks.engines.checks`), including the size of
    the engine's state against the limit ``max_state_mb`` of :mod:`networks.limits` and,
    for float32, weights and biases beyond its range.
    """

    kind = "base"

    def _setup(self, net, rule: Rule | str, params, batch, dtype, record, check_finite,
               rng) -> None:
        rule = resolve_rule(rule)
        if params is not None and not isinstance(params, rule.params | Mapping):
            raise ConfigError(f"params got {type(params).__name__} {short(params)}, which "
                              f"does not fit rule {rule.name!r}; give a "
                              f"{rule.params.__name__}, a mapping of its fields, or None")
        if batch is not None and (isinstance(batch, bool | np.bool_)
                                  or not isinstance(batch, int | np.integer) or batch < 1):
            raise ConfigError(f"batch must be a positive integer or None, got {batch!r}")
        try:
            self.dtype = np.dtype(dtype)
        except TypeError:
            raise ConfigError(f"dtype must be float64 or float32, got {dtype!r}") from None
        if self.dtype not in (np.float64, np.float32):
            raise ConfigError(f"dtype must be float64 or float32, got {self.dtype}")
        if not isinstance(check_finite, bool | np.bool_):
            raise ConfigError(f"check_finite must be True or False, got {check_finite!r}")
        if isinstance(record, str):
            record = (record,)
        try:
            record = tuple(record)
        except TypeError:
            raise ConfigError(f"record must be a list of variable names, got "
                              f"{short(record)}") from None
        self.net = as_compiled(net)
        self.rule = rule
        self.params = rule.make_params(params)
        self.rng = engine_rng(rng)
        self.batch = None if batch is None else int(batch)
        self.n_batch = 1 if batch is None else int(batch)
        self.node_var_names = tuple(v.name for v in rule.all_node_vars)
        self.edge_var_names = tuple(v.name for v in rule.all_edge_vars)
        for name in record:
            if name not in self.node_var_names and name not in self.edge_var_names:
                raise ConfigError(
                    f"cannot record unknown variable {name!r}"
                    f"{did_you_mean(name, self.node_var_names + self.edge_var_names, False)}"
                    f" (rule {rule.name!r} has node variables {list(self.node_var_names)} "
                    f"and edge variables {list(self.edge_var_names)})"
                )
        check_memory(self.net, rule, self.n_batch, self.dtype)
        check_graph_fits_dtype(self.net, self.dtype)
        self.record_vars = tuple(record)
        self._records: dict[str, list[np.ndarray]] = {name: [] for name in self.record_vars}
        self.check_finite = check_finite
        self.t = 0
        self._masks: dict[bool, np.ndarray] = {}  # the y_mask of "all" and "no" targets

    def _initial_state(self) -> dict[str, np.ndarray]:
        """Initial values of all variables in canonical order (:func:`initial_state`).

        Engines call this once, right after :meth:`_setup`.
        """
        return initial_state(self.net, self.rule, self.params, self.rng, self.n_batch,
                             self.dtype)

    def _fit_dtype(self, values: np.ndarray, what: str, where) -> np.ndarray:
        return fit_dtype(values, self.dtype, what, where)

    # ----------------------------------------------------------------- engine-specific
    @abstractmethod
    def _step_arrays(self, u: np.ndarray, y: np.ndarray | None, y_mask: np.ndarray) -> None:
        """Run one step with input u (n_in, B), target y (n_out, B) or None.

        ``y_mask`` (n_out,) marks the outputs whose target is present this step.
        """

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

    # ----------------------------------------------------------------- data checks
    def _check_step_array(self, arr, rows: int, what: str, idx: np.ndarray) -> np.ndarray:
        """Copy and check a step array for the nodes ``idx`` (canonical indices).

        Node ids are looked up only for an error message (not on every step).
        """
        if arr.__class__ is np.ndarray and arr.dtype == self.dtype and self.batch is not None \
                and arr.shape == (rows, self.batch):
            # the common case, in two calls: a copy (the engine never aliases user data)
            # and one sum of squares that is finite unless a value is NaN/inf (or it
            # overflows: then the full check below names the value)
            copy = arr.copy()
            flat = copy.reshape(-1)
            if math.isfinite(np.dot(flat, flat)):
                return copy

        def where(pos):
            if not pos or pos[0] >= len(idx):
                return f" at index {list(pos)}"
            return f" for node {self.net.node_ids[idx[pos[0]]]!r}" + (
                f", example {pos[1]}" if self.batch is not None and len(pos) > 1 else "")

        arr = real_array(arr, what, where)  # a copy: the engine never aliases user data
        if self.batch is None:
            if arr.shape != (rows,):
                ids = [self.net.node_ids[k] for k in idx]
                raise DataError(f"{what} must have shape ({rows},) — one value per "
                                f"{what.split()[0]} node {ids} — got {arr.shape}")
            arr = arr[:, None]
        elif arr.shape != (rows, self.batch):
            raise DataError(f"{what} must have shape ({rows}, {self.batch}) "
                            f"(nodes × batch), got {arr.shape}")
        return self._fit_dtype(arr, what, where)

    def _step_data(self, u, y) -> tuple[np.ndarray, np.ndarray | None]:
        """The checked copies of a step's input u and target y (None stays None)."""
        return self._inputs(u), self._targets(y)

    def _inputs(self, u) -> np.ndarray:
        idx = self.net.input_idx
        return self._check_step_array(u, len(idx), "input u", idx)

    def _targets(self, y) -> np.ndarray | None:
        if y is None:
            return None
        idx = self.net.output_idx
        return self._check_step_array(y, len(idx), "output target y", idx)

    # ----------------------------------------------------------------- public API
    def advance(self, u, y=None, y_mask=None) -> None:
        """Advance one step with input ``u`` and optional target ``y``.

        Args:
            u: input, shape (n_in, B) — (n_in,) when ``batch=None``.
            y: target of the output neurons, shape (n_out, B) — (n_out,) — or None.
            y_mask: which outputs have a target this step, bool (n_out,); default: all
                when ``y`` is given, none otherwise. Rules see it as ``has_target``.
        """
        n_out = len(self.net.output_idx)
        if y_mask is None:
            mask = self._masks.get(y is not None)
            if mask is None:  # one read-only array per case, made once
                mask = self._masks[y is not None] = np.full(n_out, y is not None)
                mask.flags.writeable = False
        else:
            raw = np.asarray(y_mask)
            if raw.dtype.kind not in "biu" or (raw.dtype.kind != "b"
                                               and not np.isin(raw, (0, 1)).all()):
                raise DataError(f"y_mask must be True/False per output node, got "
                                f"{short(y_mask)}")
            mask = raw.astype(bool)
            if mask.shape != (n_out,):
                raise DataError(f"y_mask must have shape ({n_out},), got {mask.shape}")
            if y is None and mask.any():
                raise DataError("y_mask marks outputs as having a target, but the target y "
                                "is None")
        u, y = self._step_data(u, y)
        self.t += 1
        if self.check_finite:  # overflow is detected by the check, which names it
            _quiet_step(self, u, y, mask)
        else:
            self._step_arrays(u, y, mask)
        for name in self.record_vars:
            self._records[name].append(self._public(name))

    def run(self, inputs, targets=None, *, steps: int | None = None) -> dict[str, np.ndarray]:
        """Run several steps and return the recording.

        Args:
            inputs: a sequence of inputs, shape (T, n_in, B) — (T, n_in) — or, with
                ``steps``, one input held constant for ``steps`` steps.
            targets: matching targets (sequence or constant) or None.
            steps: number of steps (an integer >= 1) when inputs are constant.

        Returns:
            The recording so far (see :attr:`recording`).

        Raises:
            ConfigError: if ``steps`` is not an integer >= 1.
            DataError: for inputs/targets that are not arrays of numbers, hold no step, or
                whose lengths differ (and see :meth:`advance`).
        """
        if steps is None:
            seq_u = real_array(inputs, "inputs")
            if seq_u.ndim == 0 or len(seq_u) == 0:
                raise DataError(f"inputs hold no step (shape {seq_u.shape}); give shape "
                                f"(T, n_in, B) — (T, n_in) — with T >= 1, or steps=")
            seq_y = None if targets is None else real_array(targets, "targets")
            if seq_y is not None and (seq_y.ndim == 0 or len(seq_y) != len(seq_u)):
                raise DataError(f"targets have {len(seq_y) if seq_y.ndim else 0} steps but "
                                f"inputs have {len(seq_u)}")
            for k in range(len(seq_u)):
                self.advance(seq_u[k], None if seq_y is None else seq_y[k])
        else:
            if isinstance(steps, bool | np.bool_) or not isinstance(steps, int | np.integer) \
                    or steps < 1:
                raise ConfigError(f"steps must be an integer >= 1, got {steps!r}")
            for _ in range(steps):
                self.advance(inputs, targets)
        return self.recording

    @property
    def recording(self) -> dict[str, np.ndarray]:
        """Recorded variables: node vars (T, N, B) — (T, N) — and edge vars (T, E)."""
        return {k: np.array(v) for k, v in self._records.items()}

    def _public(self, name: str) -> np.ndarray:
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

    @abstractmethod
    def _perturb(self, i: int, noise) -> None:
        """Add ``noise(shape)`` to every state array of neuron i (canonical index)."""

    def _check_finite(self) -> None:
        for name in self.node_var_names:
            value = self._get_node(name)
            if not np.all(np.isfinite(value)):
                i = int(np.argwhere(~np.isfinite(value))[0][0])
                raise DivergenceError(
                    f"step {self.t}: variable {name!r} of neuron "
                    f"{self.net.node_ids[i]!r} became {value[i].ravel()[0]} (non-finite); "
                    "lower the step sizes or the weight scale"
                )
        for name in self.edge_var_names:
            value = self._get_edge(name)
            if not np.all(np.isfinite(value)):
                e = int(np.flatnonzero(~np.isfinite(value))[0])
                j, i = self.net.node_ids[self.net.src[e]], self.net.node_ids[self.net.tgt[e]]
                raise DivergenceError(
                    f"step {self.t}: edge variable {name!r} of edge ({j!r}, {i!r}) (owned "
                    f"by neuron {i!r}) became {value[e]} (non-finite)"
                )
