"""Ensembles: K networks of one shape run as one vectorised engine, member by member exact.

An :class:`Ensemble` runs K members — the same network shape with different weights and
biases (seeds), possibly different numeric rule parameters (the points of a sweep), each
with its own data — as the disjoint union of the members compiled into one
:class:`~networks.engines.vector.VectorEngine` (:mod:`networks.ensemble_union`), whose
dense blocks run as one batched product per layer pair and direction
(:mod:`networks.ensemble_stacked`). Every update function then runs once on all K·N
neurons instead of K times on N, and each
member's trajectory (every state and weight) equals its single run
``make_engine("vector", nets[k], rule, params[k], batch=B, rng=rngs[k])`` (to rounding,
≤ 1e-12 in float64 — the aggregation may sum in another order).

Arrays carry a member axis first: inputs (K, n_in, B), targets (K, n_out, B), node
variables (K, N, B), edge variables (K, E); a (n_in, B) input without it is given to every
member. :meth:`Ensemble.member` views one member by its own node ids.

What a member may vary: weights, biases, delays, activations (its network), its initial
random state (``rngs``), its data, and every numeric rule parameter (e.g. ``eta_w``,
``rho``); a rule function using a parameter as a switch (``if p.eta:``) requires it to be
zero in all members or in none. Non-numeric parameters (constraint, optimiser, loss ...)
and the network's nodes, roles and edges must be the same (one shape); else a
ConfigError / GraphError names the member and what differs.

Speed (measured with ``python -m runs.bench.ensemble``): the union saves the engine's
per-step Python overhead, not arithmetic, so it pays for small batches and networks: one
LP step of 13-100-3 at batch 16 costs a member about a third of a single engine's step
(``--steps``). Past a few MiB of state the arrays leave the cache and the per-member
cost rises again: run a large sweep as several ensembles of ~16–32 members
(:func:`chunks`).
"""

from __future__ import annotations

import numpy as np

from agents.errors import ConfigError, DataError
from agents.rule import Rule
from networks.engines import as_compiled, engine_rng
from networks.engines.checks import resolve_rule
from networks.engines.initial import initial_state
from networks.ensemble_stacked import StackedEngine
from networks.ensemble_union import (
    CARRIER,
    EDGE,
    carrier_rule,
    check_same_shape,
    split_params,
    union_network,
)


class Ensemble:
    """K members of one shape stepped together (module doc).

    Args:
        nets: K network graphs or compiled networks of one shape.
        rule: the rule (or its name in ``agents.RULES``).
        params: one params object / mapping for all members, or a sequence of K.
        batch: B, the batch size of every member, or None for no batch axis.
        dtype: float64 or float32.
        record: variables to record after every step (see :attr:`recording`).
        check_finite: stop with a DivergenceError naming ``(member, node)``.
        rng: one seed or Generator seed *per member* (a sequence of K), or one int seed
            used by every member; member k draws its random initial state as its single
            engine made with ``rng=rng[k]`` would.

    Raises:
        ConfigError: no members, wrong number of params/seeds, or a parameter that differs
            between members and cannot vary (non-numeric).
        GraphError: a member whose nodes, roles or edges differ from member 0's.
    """

    def __init__(self, nets, rule: Rule | str, params=None, *, batch=None,
                 dtype=np.float64, record=(), check_finite=True, rng=0):
        self.rule = rule = resolve_rule(rule)
        self.nets = [as_compiled(n) for n in nets]
        self.K = K = len(self.nets)
        if K < 1:
            raise ConfigError("an ensemble needs at least one member network")
        check_same_shape(self.nets)
        self.params = [rule.make_params(p) for p in _per_member(params, K, "params")]
        base, varied = split_params(rule, self.params)
        self.varied = tuple(varied)
        if isinstance(rng, np.random.Generator) and K > 1:
            raise ConfigError("rng: give one seed or Generator per member (a list of K), "
                              "or one integer seed; one Generator cannot serve K members")
        seeds = [rng] * K if isinstance(rng, int | np.integer) else _per_member(rng, K, "rng")
        self.rngs = [engine_rng(s) for s in seeds]
        self.n_nodes, self.n_edges = self.nets[0].n_nodes, self.nets[0].n_edges
        self.union = union_network(self.nets)
        self.record_vars = (record,) if isinstance(record, str) else tuple(record)
        self.engine = StackedEngine(self.union, carrier_rule(rule, base, self.varied), base,
                                    members=K, batch=batch, dtype=dtype,
                                    record=self.record_vars, check_finite=check_finite,
                                    rng=0)
        self.batch = self.engine.batch
        starts = [initial_state(net, rule, p, r, self.engine.n_batch, self.engine.dtype)
                  for net, p, r in zip(self.nets, self.params, self.rngs, strict=True)]
        for name in (*self.engine.node_var_names, *self.engine.edge_var_names):
            if not name.startswith(CARRIER):
                self.engine.set_state(name, np.concatenate([s[name] for s in starts]))
        for f, values in varied.items():
            self.engine.set_state(CARRIER + f, np.repeat(values, self.n_nodes))
            self.engine.set_state(CARRIER + f + EDGE, np.repeat(values, self.n_edges))
        self.engine.fill_history()  # delay buffers hold the members' initial values
        self.var_names = tuple(n for n in (*self.engine.node_var_names,
                                           *self.engine.edge_var_names)
                               if not n.startswith(CARRIER))

    @property
    def t(self) -> int:
        """Steps done."""
        return self.engine.t

    # ----------------------------------------------------------------- stepping
    def _stack(self, arr, rows: int, what: str) -> np.ndarray | None:
        """Member arrays (K, rows, B) — or one (rows, B) for all — as (K·rows, B)."""
        if arr is None:
            return None
        arr = np.asarray(arr)
        one = (rows,) if self.batch is None else (rows, self.batch)
        if arr.shape == one:
            arr = np.broadcast_to(arr, (self.K, *one))
        elif arr.shape != (self.K, *one):
            raise DataError(f"{what} must have shape {(self.K, *one)} (members × nodes"
                            f"{'' if self.batch is None else ' × batch'}) or {one} for "
                            f"every member, got {arr.shape}")
        return arr.reshape(self.K * rows, *one[1:])

    def advance(self, u, y=None, y_mask=None) -> None:
        """One step: inputs (K, n_in, B), targets (K, n_out, B) or None, y_mask (K, n_out).

        Each may also be given once for every member, without the member axis.
        """
        n_in, n_out = len(self.nets[0].input_idx), len(self.nets[0].output_idx)
        if y_mask is not None:
            mask = np.asarray(y_mask, dtype=bool)
            if mask.shape == (n_out,):
                mask = np.broadcast_to(mask, (self.K, n_out))
            if mask.shape != (self.K, n_out):
                raise DataError(f"y_mask must have shape ({self.K}, {n_out}) or ({n_out},), "
                                f"got {mask.shape}")
            y_mask = mask.reshape(-1)
        self.engine.advance(self._stack(u, n_in, "input u"),
                            self._stack(y, n_out, "target y"), y_mask)

    def run(self, inputs, targets=None, *, steps: int | None = None) -> dict:
        """Several steps (as :meth:`EngineBase.run`, arrays with the member axis after T).

        Returns:
            :attr:`recording`.
        """
        if steps is None:
            targets = [None] * len(inputs) if targets is None else targets
            if len(targets) != len(inputs):
                raise DataError(f"targets have {len(targets)} steps but inputs have "
                                f"{len(inputs)}")
            for u, y in zip(inputs, targets, strict=True):
                self.advance(u, y)
        else:
            if steps < 0:
                raise ConfigError(f"steps must be >= 0, got {steps}")
            for _ in range(steps):
                self.advance(inputs, targets)
        return self.recording

    # ----------------------------------------------------------------- state
    def _split(self, name: str, value: np.ndarray) -> np.ndarray:
        size = self.n_edges if name in self.engine.edge_var_names else self.n_nodes
        return value.reshape(self.K, size, *value.shape[1:])

    def _check_name(self, name: str) -> None:
        if name not in self.var_names:
            raise ConfigError(f"unknown variable {name!r}; variables of rule "
                              f"{self.rule.name!r}: {list(self.var_names)}")

    def state(self, name: str) -> np.ndarray:
        """A variable of every member: node (K, N, B) — (K, N) — or edge (K, E)."""
        self._check_name(name)
        return self._split(name, self.engine.state(name))

    def set_state(self, name: str, value) -> None:
        """Set a variable: per member (K, N, B), (K, N), (K, E), or one value for all."""
        self._check_name(name)
        size = self.n_edges if name in self.engine.edge_var_names else self.n_nodes
        value = np.asarray(value, dtype=self.engine.dtype)
        if value.ndim == 0:
            self.engine.set_state(name, value)
            return
        if value.ndim < 2 or value.shape[:2] != (self.K, size):
            if value.shape[0] != size:
                raise DataError(f"{name}: expected shape ({self.K}, {size}, ...) or "
                                f"({size}, ...), got {value.shape}")
            value = np.broadcast_to(value, (self.K, *value.shape))
        self.engine.set_state(name, value.reshape(self.K * size, *value.shape[2:]))

    @property
    def recording(self) -> dict[str, np.ndarray]:
        """Recorded variables: node (T, K, N, B) — (T, K, N) — and edge (T, K, E)."""
        out = {}
        for name, arr in self.engine.recording.items():
            size = self.n_edges if name in self.engine.edge_var_names else self.n_nodes
            out[name] = arr.reshape(arr.shape[0], self.K, size, *arr.shape[2:])
        return out

    def member(self, k: int) -> Member:
        """A view of member k (0 <= k < K) by its own node ids."""
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 0 <= k < self.K:
            raise ConfigError(f"no ensemble member {k!r}; members are 0..{self.K - 1}")
        return Member(self, int(k))


class Member:
    """One member of an :class:`Ensemble`, seen as its single engine would show it."""

    def __init__(self, ensemble: Ensemble, k: int):
        self.ensemble, self.k = ensemble, k
        self.net, self.params, self.rng = ensemble.nets[k], ensemble.params[k], \
            ensemble.rngs[k]

    def state(self, name: str) -> np.ndarray:
        """The member's variable, as ``engine.state(name)`` of its single run."""
        return self.ensemble.state(name)[self.k]

    @property
    def weight(self) -> np.ndarray:
        """Weights w in the member's canonical edge order, shape (E,)."""
        return self.state("weight")

    @property
    def bias(self) -> np.ndarray:
        """Biases b, shape (N,)."""
        return self.state("bias")

    @property
    def recording(self) -> dict[str, np.ndarray]:
        """The member's recording: node (T, N, B) — (T, N) — and edge (T, E)."""
        return {name: arr[:, self.k] for name, arr in self.ensemble.recording.items()}

    def neuron(self, node) -> dict:
        """One neuron by the member's node id, as ``engine.neuron(node)`` shows it."""
        if node not in self.net.index:
            raise ConfigError(f"no neuron {node!r} in ensemble member {self.k}")
        view = self.ensemble.engine.neuron((self.k, node))
        out = {name: v for name, v in view.items()
               if name != "in_edges" and not name.startswith(CARRIER)}
        out["in_edges"] = {j: {n: v for n, v in edge.items() if not n.startswith(CARRIER)}
                           for (_, j), edge in view["in_edges"].items()}
        return out


def chunks(n: int, size: int) -> list[range]:
    """Split members 0..n-1 into consecutive ensembles of at most ``size`` members."""
    if size < 1:
        raise ConfigError(f"ensemble size must be >= 1, got {size!r}")
    return [range(i, min(i + size, n)) for i in range(0, n, size)]


def _per_member(value, K: int, what: str) -> list:
    if value is None or isinstance(value, dict) or not isinstance(value, list | tuple):
        return [value] * K
    if len(value) != K:
        raise ConfigError(f"{what}: got {len(value)} values for {K} ensemble members")
    return list(value)
