"""Agent-engine benchmark: messages per second against a minimal Mesa model, build time.

:class:`MinimalMesa` is the least a Mesa 3 model can do for the same forward dynamics on
a delay-1 graph: one :class:`mesa.Agent` per neuron holding a float, its in-edge weights
and its mail slots; each step ``agents.do("send")`` writes every neuron's value into the
slots of its out-edges and ``agents.do("receive")`` sets ``x = tanh(w · inbox + b)``
(inputs clamped). The agent engine runs the forward rule on the same graph; both are
timed interleaved (:func:`runs.bench.protocol.interleaved`), and the engine's own
diffusion step beside them. A message is one value sent along one edge on one channel.
"""

from __future__ import annotations

import mesa
import numpy as np

from agents.diffusion import DIFFUSION
from agents.forward import FORWARD
from networks.engines import AgentEngine
from runs.bench.protocol import interleaved
from runs.bench.sparse import sparse_net, timed_build


class _Cell(mesa.Agent):
    """One neuron of :class:`MinimalMesa`."""

    def __init__(self, model, w, lo, hi, out_slots, bias, clamped):
        super().__init__(model)
        self.w, self.lo, self.hi, self.out_slots = w, lo, hi, out_slots
        self.bias, self.clamped, self.x = bias, clamped, 0.0

    def send(self):
        self.model.mail[self.out_slots] = self.x

    def receive(self):
        if not self.clamped:
            self.x = np.tanh(self.w @ self.model.mail[self.lo:self.hi] + self.bias)


class MinimalMesa(mesa.Model):
    """The forward dynamics of a delay-1 tanh network as a bare Mesa model, no batch axis."""

    def __init__(self, net):
        super().__init__(rng=0)
        self.mail = np.zeros(net.n_edges)
        self.cells = []
        for i in range(net.n_nodes):
            lo, hi = int(net.in_ptr[i]), int(net.in_ptr[i + 1])
            outs = net.out_edges[net.out_ptr[i]:net.out_ptr[i + 1]]
            self.cells.append(_Cell(self, net.weight[lo:hi].copy(), lo, hi, outs,
                                    float(net.bias[i]), bool(net.is_input[i])))
        self.inputs = [self.cells[k] for k in net.input_idx]
        self.count = 0


    def advance(self, u) -> None:
        """One step with input u (n_in,)."""
        self.agents.do("send")       # every value of step t − 1 (delay 1)
        for cell, value in zip(self.inputs, u, strict=True):
            cell.x = float(value)    # inputs clamped to u(t), sent next step
        self.agents.do("receive")
        self.count += 1

    @property
    def x(self) -> np.ndarray:
        """Every neuron's value, canonical order (N,)."""
        return np.array([c.x for c in self.cells])


def bench_agent(n_neurons: int, *, rounds: int = 5, seconds_per_call: float = 0.2,
                diffusion: bool = True) -> dict:
    """Forward msgs/s of the agent engine vs :class:`MinimalMesa`, and build times.

    The engine runs with the library defaults and bare (``check_finite=False``).

    Returns:
        ``{"neurons", "edges", "build_s", "mesa_build_s", "msgs_per_s": {name: (best,
        median)}, "engine_over_mesa", "bare_over_mesa": (min, median), "max_abs_diff"}``;
        ``max_abs_diff`` compares the two models' states after the timed steps (same
        dynamics).
    """
    net = sparse_net(n_neurons * 10)
    u = np.random.default_rng(0).normal(size=len(net.input_idx))
    holder = {}
    build = timed_build(lambda: holder.setdefault("fwd", AgentEngine(net, FORWARD)))
    mesa_build = timed_build(lambda: holder.setdefault("mesa", MinimalMesa(net)))
    eng, ref = holder["fwd"], holder["mesa"]
    bare = AgentEngine(net, FORWARD, check_finite=False)
    fns = {"mesa": lambda: ref.advance(u), "forward": lambda: eng.advance(u),
           "forward_bare": lambda: bare.advance(u)}
    channels = {"mesa": 1, "forward": 1, "forward_bare": 1}
    if diffusion:
        y = np.zeros(len(net.output_idx))
        dif = AgentEngine(net, DIFFUSION, {"eta": 1e-4})
        fns["diffusion"] = lambda: dif.advance(u, y)
        channels["diffusion"] = 2
    t = interleaved(fns, "mesa", rounds=rounds, seconds_per_call=seconds_per_call)
    # same input every step: after as many steps both must hold the same state
    while ref.count < eng.t:
        ref.advance(u)
    while eng.t < ref.count:
        eng.advance(u)
    diff = float(np.max(np.abs(eng.state("x") - ref.x)))
    return {"neurons": net.n_nodes, "edges": net.n_edges, "build_s": build,
            "mesa_build_s": mesa_build,
            "msgs_per_s": {n: (net.n_edges * c / t.best(n), net.n_edges * c / t.median(n))
                           for n, c in channels.items()},
            "engine_over_mesa": t.ratio("forward"), "bare_over_mesa": t.ratio("forward_bare"),
            "max_abs_diff": diff}


def format_agent(r: dict) -> list[str]:
    """Report lines of :func:`bench_agent`."""
    m = r["msgs_per_s"]
    lo, med = r["engine_over_mesa"]
    line = (f"{r['neurons']:>7,} neurons {r['edges']:>9,} edges: forward "
            f"{m['forward'][0] / 1e6:.2f} M messages/s (median {m['forward'][1] / 1e6:.2f} M), "
            f"minimal Mesa {m['mesa'][0] / 1e6:.2f} M; engine/Mesa time {lo:.2f}–{med:.2f}x "
            f"(bare: {m['forward_bare'][0] / 1e6:.2f} M, {r['bare_over_mesa'][0]:.2f}–"
            f"{r['bare_over_mesa'][1]:.2f}x)")
    if "diffusion" in m:
        line += f"; diffusion {m['diffusion'][0] / 1e6:.2f} M messages/s"
    line += f"; build {r['build_s']:.2f} s (Mesa {r['mesa_build_s']:.2f} s)"
    line += f"; max |engine − Mesa| {r['max_abs_diff']:.1e}"
    return [line]
