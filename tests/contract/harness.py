"""The engine contract, checked the same way for every rule of ``agents.RULES``.

(1) **Equality**: the agent and the vectorised engine produce the same trajectory of
every node and edge variable (float64, rtol 1e-10). (2) **Locality by perturbation**:
after perturbing one neuron's whole state (variables, delay buffers, in-edges), one step
later every neuron more than S hops away (S = the rule's message rounds per step, hops in
the undirected graph) is bit-for-bit unchanged, in both engines.

A registered rule is covered with its default parameters; :data:`VARIANTS` adds
parameter sets for the library's rules (learning switched on, other losses, constraints
and optimisers) and says which variables must move (so that equality is not vacuous).
The test-only :data:`~tests.contract.probe_rule.PROBE` rule, which uses every feature of
the rule interface, is held to the same contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np

import agents
from agents.errors import DivergenceError
from networks.builders import (
    layered,
    layered_recurrent,
    random_dag,
    random_digraph,
    scale_to_contractive,
)
from networks.compile import CompiledNetwork, compile_graph
from networks.engines import ENGINES, make_engine
from tests.contract.probe_rule import PROBE

RULES = {**agents.RULES, "probe": PROBE}
STEPS = 40          # steps of an equality run
PREFIX = 10         # steps before the perturbation of a locality run


@dataclass(frozen=True)
class Variant:
    """One parameter set of a rule under contract.

    Attributes:
        params: the rule's parameters (None: defaults).
        moving: variables whose trajectory must not be constant (besides the output).
        tight: a neuron exactly S hops away must reach some neuron (the bound is tight).
    """

    params: dict | None = None
    moving: tuple[str, ...] = ()
    tight: bool = False


_LP = {"rho": 0.5, "alpha": 0.01, "mu": 1e-3, "optimizer": "adam", "eta_w": 0.01,
       "eta_x": 0.05, "eta_lam": 0.05}
_LP_MOVING = ("lam", "weight", "bias", "mw", "vw", "vb")


def _lp_variants(two_round: bool) -> dict[str, Variant]:
    tr = {"two_round": two_round}
    return {
        "adam": Variant({**_LP, **tr, "state_optimizer": "adam"}, (*_LP_MOVING, "vx", "ml"),
                        tight=two_round),
        "abs-eps": Variant({**_LP, **tr, "constraint": "abs-eps", "eps": 0.01}, _LP_MOVING),
        "squared-sgd": Variant({**_LP, **tr, "constraint": "squared",
                                "state_optimizer": "sgd"}, _LP_MOVING),
    }


_WAVES = ("delta", "weight", "bias", "dw", "dw_sum", "db_sum")
VARIANTS: dict[str, dict[str, Variant]] = {
    "lp": _lp_variants(False),
    "lp2": _lp_variants(True),
    "diffusion": {"learn": Variant({"eta": 0.05}, _WAVES),
                  "bce": Variant({"eta": 0.05, "loss": "bce"}, _WAVES)},
    "fa": {"learn": Variant({"eta": 0.05}, _WAVES),
           "uniform-bce": Variant({"eta": 0.05, "loss": "bce", "feedback": "uniform"},
                                  _WAVES)},
    "probe": {"default": Variant(None, ("z", "weight", "trace", "bias"), tight=True)},
}


def variants(rule: str) -> dict[str, Variant]:
    """The parameter sets of ``rule`` under contract (defaults for unlisted rules)."""
    return VARIANTS.get(rule, {"default": Variant()})


#: (rule name, variant name) for every rule under contract
CASES = [(r, v) for r in RULES for v in variants(r)]
CASE_IDS = [f"{r}-{v}" for r, v in CASES]


# ----------------------------------------------------------------------------- graphs
def _layered(seed):
    return layered([3, 5, 5, 5, 2], ["tanh", "sigmoid"][seed % 2], "sigmoid", seed=seed,
                   bias_scale=0.3)


def _skip(seed):
    """Layered with skip connections (l → l+2, l+3) and mixed delays on them."""
    G = layered([3, 4, 4, 4, 4, 4, 2], "tanh", "sigmoid", seed=seed, bias_scale=0.3)
    rng = np.random.default_rng(seed)
    layer = nx.get_node_attributes(G, "layer")
    for j in list(G.nodes):
        for i in list(G.nodes):
            if layer[i] - layer[j] in (2, 3) and rng.random() < 0.15:
                G.add_edge(j, i, weight=float(rng.normal(0, 0.4)),
                           delay=int(rng.integers(1, 4)))
    return G


def _delays(seed):
    """A random DAG (skip connections of every length) with delays 1–3."""
    return random_dag(28, 70, n_inputs=3, n_outputs=2, seed=seed, delays=(1, 3),
                      activation=["tanh", "sigmoid"][seed % 2], output_activation="sigmoid",
                      bias_scale=0.3)


def _cyclic(seed):
    """A random digraph with delays 1–3 and self-loops, scaled to be contractive."""
    G = random_digraph(28, 70, n_inputs=3, n_outputs=2, seed=seed, delays=(1, 3),
                       output_activation="sigmoid", bias_scale=0.3)
    hidden = [n for n in G.nodes if G.nodes[n]["role"] == "hidden"]
    for n in hidden[:3]:
        if not G.has_edge(n, n):
            G.add_edge(n, n, weight=0.4, delay=1 + n % 3)
    return scale_to_contractive(G, 0.9)


def _recurrent(seed):
    """Dense layers (delay 2) with self-loops, lateral and feedback edges (delays 1–3)."""
    return layered_recurrent([3, 6, 5, 5, 2], "tanh", "sigmoid", seed=seed, lateral=0.3,
                             feedback=0.3, delays=2, recurrent_delays=(1, 3),
                             bias_scale=0.3)


def _permuted(seed):
    """The cyclic family with the nodes listed in a random order (inputs not first)."""
    return permute_nodes(_cyclic(seed), seed)


def permute_nodes(G0: nx.DiGraph, seed: int) -> nx.DiGraph:
    """``G0`` with its nodes listed in a seeded random order; inputs (and outputs) keep
    their relative order, so the same input columns reach the same neurons."""
    order = list(np.random.default_rng(seed).permutation(list(G0.nodes)))
    for role in ("input", "output"):
        mine = [n for n in G0.nodes if G0.nodes[n]["role"] == role]
        slots = [k for k, n in enumerate(order) if n in mine]
        for k, n in zip(slots, mine, strict=True):
            order[k] = n
    G = nx.DiGraph()
    G.add_nodes_from((n, G0.nodes[n]) for n in order)
    G.add_edges_from(G0.edges(data=True))
    return G


FAMILIES = {"layered": _layered, "skip": _skip, "delays": _delays, "cyclic": _cyclic,
            "recurrent": _recurrent, "permuted": _permuted}


def family_net(family: str, seed: int) -> CompiledNetwork:
    """A compiled network of ``family``, checked to have the family's defining feature."""
    net = compile_graph(FAMILIES[family](seed))
    G, kinds = net.graph, {b.kind for b in net.blocks}
    feature = {
        "layered": net.is_dag and kinds == {"dense"},
        "skip": net.is_dag and kinds == {"dense", "sparse"} and len(set(net.delay)) > 1,
        "delays": net.is_dag and set(net.delay) == {1, 2, 3},
        "cyclic": not net.is_dag and nx.number_of_selfloops(G) > 0 and net.max_delay == 3,
        "recurrent": not net.is_dag and kinds == {"dense", "sparse"}
        and nx.number_of_selfloops(G) > 0,
        "permuted": not net.is_dag
        and list(net.input_idx) != list(range(len(net.input_idx))),
    }[family]
    assert feature, f"family {family!r} (seed {seed}) lacks its defining feature"
    return net


# ----------------------------------------------------------------------------- running
@dataclass
class Drive:
    """Inputs, targets and target masks for ``steps`` steps (batch None: no batch axis)."""

    u: np.ndarray
    y: np.ndarray
    mask: np.ndarray
    steps: int = field(init=False)

    def __post_init__(self):
        self.steps = len(self.u)


def make_drive(net: CompiledNetwork, steps: int, batch: int | None, seed: int) -> Drive:
    """Random inputs N(0, 1), targets U(0, 1), each output's target present w.p. 0.8."""
    rng = np.random.default_rng(1000 + seed)
    tail = () if batch is None else (batch,)
    return Drive(rng.normal(size=(steps, len(net.input_idx), *tail)),
                 rng.uniform(size=(steps, len(net.output_idx), *tail)),
                 rng.random((steps, len(net.output_idx))) < 0.8)


def all_vars(rule) -> list[str]:
    """Every node and edge variable of ``rule`` (built-ins included)."""
    return [v.name for v in rule.all_node_vars] + [v.name for v in rule.all_edge_vars]


def engine(kind: str, net, rule: str, variant: str, batch, *, record=(), seed: int = 0):
    """An engine of ``kind`` running a rule under contract (engine seed ``seed``)."""
    return make_engine(kind, net, RULES[rule], variants(rule)[variant].params, batch=batch,
                       record=record, rng=seed)


def drive(eng, d: Drive, start: int = 0, stop: int | None = None) -> None:
    """Advance ``eng`` through steps [start, stop) of ``d``."""
    for k in range(start, d.steps if stop is None else stop):
        eng.advance(d.u[k], d.y[k], d.mask[k])


def check_equal(rule: str, variant: str, net, batch, seed: int, steps: int = STEPS) -> dict:
    """Run both engines on the same drive; assert equal trajectories of every variable.

    Returns:
        The vectorised engine's recording.
    """
    names = all_vars(RULES[rule])
    d = make_drive(net, steps, batch, seed)
    recs, errors = [], []
    for kind in sorted(ENGINES):
        eng = engine(kind, net, rule, variant, batch, record=names, seed=seed)
        try:
            drive(eng, d)
            errors.append(None)
        except DivergenceError as exc:  # equal behaviour: same error, same step, same state
            errors.append(str(exc))
        recs.append(eng.recording)
    assert errors[0] == errors[1], errors
    for name in names:
        a, v = recs[0][name], recs[1][name]
        assert a.shape == v.shape and (errors[0] or a.shape[0] == steps), name
        scale = max(float(np.abs(v).max(initial=0.0)), 1.0)
        np.testing.assert_allclose(a, v, rtol=1e-10, atol=1e-12 * scale,
                                   err_msg=f"{rule}-{variant}: {name}")
    return recs[1]


def assert_moving(rec: dict, rule: str, variant: str) -> None:
    """The trajectory is not trivially constant: the output and the listed variables."""
    for name in (RULES[rule].output_var, *variants(rule)[variant].moving):
        value = rec[name][-5:].reshape(5, -1)
        assert np.ptp(value, axis=0).max() > 1e-8, f"{rule}-{variant}: {name} is constant"


def hops_from(net: CompiledNetwork, node) -> np.ndarray:
    """Undirected hop distance from ``node`` to every neuron (canonical order; inf if
    unreachable)."""
    dist = nx.single_source_shortest_path_length(net.graph.to_undirected(as_view=True), node)
    return np.array([dist.get(n, np.inf) for n in net.node_ids], dtype=float)


def _snapshot(eng) -> tuple[dict, dict]:
    """Every node variable (N, …) and edge variable (E,) of an engine, canonical order."""
    return ({name: eng.state(name) for name in eng.node_var_names},
            {name: eng.state(name) for name in eng.edge_var_names})


def perturbation_reach(kind: str, rule: str, variant: str, net, victim, d: Drive,
                       seed: int = 0) -> np.ndarray:
    """Which neurons' state after the last step of ``d`` changes when ``victim``'s whole
    state is perturbed before that step (bool (N,), canonical order). A neuron's state is
    its node variables and its in-edges' variables (it owns them)."""
    snaps = []
    for perturb in (False, True):
        eng = engine(kind, net, rule, variant, 2, seed=seed)
        drive(eng, d, stop=d.steps - 1)
        if perturb:
            eng.perturb_neuron(victim, np.random.default_rng(seed))
        drive(eng, d, start=d.steps - 1)
        snaps.append(_snapshot(eng))
    (nodes0, edges0), (nodes1, edges1) = snaps
    changed = np.zeros(net.n_nodes, dtype=bool)
    for name, value in nodes0.items():
        changed |= (value != nodes1[name]).reshape(net.n_nodes, -1).any(axis=1)
    for name, value in edges0.items():
        changed[net.tgt[value != edges1[name]]] = True
    return changed


def check_locality(kind: str, rule: str, variant: str, net, seed: int,
                   n_victims: int = 4, strict: bool = True) -> None:
    """Perturb up to ``n_victims`` non-input neurons that have neurons more than S hops
    away; every such neuron must be unchanged after one step. With ``strict`` (for the
    graph families, which are large enough), at least 3 far neurons must have been
    checked and a perturbation must have reached some neighbour (the check can fail)
    and, for tight variants, a neuron exactly S hops away."""
    S = len(RULES[rule].stages)
    d = make_drive(net, PREFIX + 1, 2, seed)
    rng = np.random.default_rng(seed)
    hidden = [net.node_ids[k] for k in rng.permutation(np.flatnonzero(~net.is_input))]
    far_checked = reached_near = reached_at_S = 0
    for victim in hidden:
        hops = hops_from(net, victim)
        far = hops > S
        if not far.any():
            continue
        changed = perturbation_reach(kind, rule, variant, net, victim, d, seed)
        bad = [net.node_ids[k] for k in np.flatnonzero(changed & far)]
        assert not bad, (f"{rule}-{variant} ({kind}): perturbing {victim!r} changed "
                         f"{bad!r}, more than {S} hops away, in one step")
        far_checked += int(far.sum())
        reached_near += bool((changed & (hops >= 1)).any())
        reached_at_S += bool((changed & (hops == S)).any())
        n_victims -= 1
        if n_victims == 0:
            break
    if not strict:
        return
    assert far_checked >= 3, f"too few far neurons checked ({far_checked})"
    assert reached_near >= 1, f"{rule}-{variant}: no perturbation reached any neighbour"
    if variants(rule)[variant].tight:
        assert reached_at_S >= 1, f"{rule}-{variant}: nothing reached at exactly {S} hops"
