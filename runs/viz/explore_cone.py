"""The locality cone: a perturbed twin of the agent engine compared with the original.

A twin is an exact copy of the engine (:func:`copy_engine_state`) in which one neuron is
perturbed (:meth:`~networks.engines.state_access.StateAccess.perturb_neuron`); both run
on the same inputs, and the neurons whose own state differs (:func:`neuron_differences`)
form the cone, each with its hop distance from the perturbed neuron.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from networks.compile import CompiledNetwork

CONE_TOL = 1e-12  # a neuron is in the cone when some own state differs by more than this


@dataclass(frozen=True)
class Cone:
    """The locality cone of a perturbation after ``steps`` steps.

    Attributes:
        node: the perturbed neuron.
        steps: steps since the perturbation.
        rounds: message rounds since then (steps × stages of the rule).
        diff: per neuron, the largest |perturbed − unperturbed| over its own state, (N,).
        hops: per neuron, its undirected graph distance from ``node`` (-1: unreachable).
        reached: neurons whose state differs, bool (N,).
    """

    node: object
    steps: int
    rounds: int
    diff: np.ndarray
    hops: np.ndarray
    reached: np.ndarray

    @property
    def farthest(self) -> int:
        """The largest hop distance among the reached neurons."""
        return int(self.hops[self.reached].max(initial=0))

    def text(self) -> str:
        """One line for the page."""
        return (f"perturbed {self.node!r}: {self.steps} step(s) = {self.rounds} message "
                f"round(s) later, {int(self.reached.sum())} neuron(s) differ, farthest at "
                f"hop {self.farthest} (locality allows ≤ {self.rounds})")


def hop_distances(net: CompiledNetwork, node) -> np.ndarray:
    """Undirected graph distance of every neuron from ``node``, (N,) (-1: unreachable)."""
    dist = nx.single_source_shortest_path_length(net.graph.to_undirected(as_view=True), node)
    return np.array([dist.get(n, -1) for n in net.node_ids])


def copy_engine_state(src, dst) -> None:
    """Make agent engine ``dst`` an exact copy of ``src`` (same network and rule).

    Copies what :meth:`~networks.engines.state_access.StateAccess.perturb_neuron`
    perturbs — every neuron's node variables, delay buffers and in-edge variables — and
    the clock.
    """
    for node in src.net.node_ids:
        a, b = src.agent(node), dst.agent(node)
        for name, value in a.state.items():
            b.state[name] = value.copy()
        for name, value in a.buffers.items():
            b.set_buffer(name, value)
        for name, value in a.edge_state.items():
            b.edge_state[name] = value.copy()
    dst.t = src.t


def neuron_differences(a, b) -> np.ndarray:
    """Per neuron, max |a − b| over its node variables and in-edge variables, shape (N,)."""
    net = a.net
    out = np.zeros(net.n_nodes)
    for name in a.node_var_names:
        d = np.abs(a.state(name) - b.state(name))
        out = np.maximum(out, d.reshape(net.n_nodes, -1).max(axis=1))
    for name in a.edge_var_names:
        np.maximum.at(out, net.tgt, np.abs(a.state(name) - b.state(name)))
    return out
