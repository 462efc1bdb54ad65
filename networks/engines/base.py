"""What both engines share: construction arguments, the run loop, recording, divergence.

An engine executes a :class:`~agents.rule.Rule` on a network. Public arrays use the
canonical orders of :mod:`networks.compile`: node variables have shape (N, B) — or (N,)
when the engine was made with ``batch=None`` — and edge variables shape (E,).

:class:`EngineBase` checks its construction arguments, runs steps (:meth:`~EngineBase.advance`,
:meth:`~EngineBase.run`), records variables after every step and reports divergence (the
first non-finite value by step, neuron or edge, and variable). Its other parts:

* :class:`~networks.engines.step_data.StepData`: the checked copies of a step's input
  and target;
* :class:`~networks.engines.state_access.StateAccess`: reading, setting, inspecting and
  perturbing the state by variable name and node id.

An engine implements one step (``_step_arrays``) and the accessors of
:class:`~networks.engines.state_access.StateAccess`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping

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
from networks.engines.state_access import StateAccess
from networks.engines.step_data import StepData


def as_compiled(net: nx.DiGraph | CompiledNetwork) -> CompiledNetwork:
    """Compile ``net`` if it is a graph; pass a :class:`CompiledNetwork` through."""
    return net if isinstance(net, CompiledNetwork) else compile_graph(net)


def _step_and_check(engine: EngineBase, u, y, mask) -> None:
    engine._step_arrays(u, y, mask)
    engine._check_finite()  # (its sums may overflow: no warning)


try:   # numpy >= 2 keeps its error state in a context variable
    from numpy._core._ufunc_config import _extobj_contextvar, _make_extobj
    _IGNORE_ALL = _make_extobj(all="ignore")
except (ImportError, TypeError):   # (older numpy: the public decorator)
    _extobj_contextvar = None


def _quiet_step(engine: EngineBase, u, y, mask) -> None:
    """One step and the finiteness check, with numpy's floating-point warnings off.

    A step that overflows is reported by the check (step, neuron, variable), not by a
    warning. (all="ignore": over, invalid, divide, and underflow, which numpy ignores by
    default anyway.) ``np.errstate(all="ignore")`` builds its error state on every
    entry; on numpy >= 2 the state is built once here and set in numpy's context
    variable for the step, exactly what ``np.errstate`` does, at a third of its cost.
    """
    token = _extobj_contextvar.set(_IGNORE_ALL)
    try:
        engine._step_arrays(u, y, mask)
        engine._check_finite()
    finally:
        _extobj_contextvar.reset(token)


if _extobj_contextvar is None:
    _quiet_step = np.errstate(all="ignore")(_step_and_check)  # noqa: F811


class EngineBase(StepData, StateAccess, ABC):
    """Shared behaviour of the agent engine and the vectorised engine (module doc).

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

    def _check_finite(self) -> None:
        """Raise a :class:`DivergenceError` naming the first non-finite value, if any.

        Searches every variable in canonical order: the step, the neuron (or the edge and
        the neuron owning it) and the variable. The engines override it with a cheaper
        check of what a step wrote and call it once that check has seen a NaN or inf.
        """
        for name in self.node_var_names:
            value = self._get_node(name)
            if not np.all(np.isfinite(value)):
                at = tuple(np.argwhere(~np.isfinite(value))[0])
                raise DivergenceError(
                    f"step {self.t}: variable {name!r} of neuron "
                    f"{self.net.node_ids[at[0]]!r} became {value[at]} (non-finite); "
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
