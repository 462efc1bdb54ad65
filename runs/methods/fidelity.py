"""Gradient fidelity of backprop diffusion: its accumulated update vs BPTT, same window.

With frozen weights (η = 0) a run accumulates the diffusion update
``U_ij = Σ_s Σ_κ δ_iκ(s) x_jκ(s − d_ij)`` over the S steps of a stream. The reference is
the exact gradient of what the network actually computed over those same S steps:
backpropagation through time (:func:`networks.oracles.bptt_gradient`) of the loss the
rule was given, ``R = ∇_w Σ_t Σ_o V(x_o(t), y_o(t − τ_o))`` on the same stream, from the
same (zero) initial state, with the presenter's output latencies τ_o (a frame whose target
reaches the outputs after step S is not scored, by either). Fidelity is ``cosine(U, R)``:
"cosine to the BPTT gradient over the same window", a number on any graph, with or
without a forward fixed point. On a layered DAG (every input-to-output path of equal
delay) R equals the BP gradient summed over the scored frames,
``Σ_{s ≤ S − τ} Σ_κ ∇_w E(u_κ(s), y_κ(s))``, exactly.
"""

from dataclasses import dataclass, replace

import numpy as np

from agents.diffusion import DIFFUSION
from agents.rule import Rule
from networks.compile import CompiledNetwork, compile_graph
from networks.engines import as_compiled
from networks.ensemble_members import graph_with_params
from networks.oracles import bptt_gradient
from runs.data.streams import Stream, held_stream, presenter
from runs.methods.metrics import cosine


@dataclass(frozen=True)
class Fidelity:
    """Result of :func:`measure_fidelity` (edge arrays (E,), node arrays (N,)).

    Attributes:
        cosine: cosine(update, reference) over the weights: the cosine to the BPTT
            gradient over the same window.
        cosine_all: the same over weights and biases.
        update, reference: accumulated diffusion update U and BPTT gradient R of w.
        bias_update, bias_reference: the same for the biases.
        steps: number of frames.
    """

    cosine: float
    cosine_all: float
    update: np.ndarray
    reference: np.ndarray
    bias_update: np.ndarray
    bias_reference: np.ndarray
    steps: int


def reference_gradient(net: CompiledNetwork, stream: Stream, loss: str = "squared",
                       weight=None, bias=None, *, latency=None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """BPTT gradient of the stream's windowed loss: ``(dw (E,), db (N,))``.

    Args:
        net: the compiled network.
        stream: the frames (u (S, n_in, B), y (S, n_out, B), frame convention).
        loss: ``"squared"`` or ``"bce"``.
        weight: optional weight override (E,).
        bias: optional bias override (N,).
        latency: output latencies τ_o (default: the shortest path delays, as the
            presenter's).
    """
    g = bptt_gradient(net, stream.u, stream.y, loss, weight, bias, latency=latency)
    return g.dw, g.db


def _frozen(rule, params):
    """The rule's params with η = 0 (weights frozen, updates accumulated)."""
    params = rule.make_params(params)
    return replace(params, eta=0.0)


def measure_fidelity(net, stream: Stream, *, rule: Rule = DIFFUSION, params=None,
                     latency=None, engine: str = "vector", dtype="float64",
                     warn: bool = True, rng=0) -> Fidelity:
    """Run ``stream`` with frozen weights; compare the accumulated update with BPTT.

    Args:
        net: a graph or compiled network.
        stream: the frames (B = the engine's batch).
        rule: a rule with forward and backward waves that accumulates its update in
            ``dw_sum``/``db_sum`` (backprop diffusion, or one like it).
        params: the rule's params object (its ``eta`` is set to 0; ``loss`` is used).
        latency: output latencies (default: shortest path delays).
        engine: ``"vector"`` or ``"agent"``.
        dtype: the engine's float dtype.
        warn: warn about ambiguous latencies.
        rng: the engine's seed or Generator (for rules with random initial state).

    Returns:
        A :class:`Fidelity` (see the module docstring for the definitions).
    """
    net = as_compiled(net)
    params = _frozen(rule, params)
    feed = presenter(net, rule, params, batch=stream.u.shape[2], engine=engine, dtype=dtype,
                     latency=latency, warn=warn, rng=rng)
    feed.run(stream.u, stream.y)
    dw, db = feed.engine.state("dw_sum"), feed.engine.state("db_sum")
    ref_w, ref_b = reference_gradient(net, stream, params.loss, latency=feed.latency)
    return Fidelity(cosine=cosine(dw, ref_w),
                    cosine_all=cosine(np.concatenate([dw, db]), np.concatenate([ref_w, ref_b])),
                    update=dw, reference=ref_w, bias_update=db, bias_reference=ref_b,
                    steps=stream.steps)


def trained_fidelity(net: CompiledNetwork, weight, bias, data, T: int, *,
                     rule: Rule = DIFFUSION, params=None, seed=0) -> float:
    """Cosine of the rule's update to the BPTT gradient at given (trained) weights.

    Weights frozen; 4 streams of 32 training examples each, every example held T steps
    (see :func:`measure_fidelity` for ``rule`` and ``params``); the engine is seeded
    with ``seed``, as in training, so random initial state (feedback alignment's B) is
    the one the run trained with.
    """
    trained = compile_graph(graph_with_params(net, weight, bias))
    stream = held_stream(data.inputs("train").T, data.targets("train"), T, n_examples=32,
                         batch=4, seed=seed)
    return measure_fidelity(trained, stream, rule=rule, params=params, warn=False,
                            rng=seed).cosine


def record_waves(net, stream: Stream, *, rule: Rule = DIFFUSION, params=None, latency=None,
                 engine: str = "vector", warn: bool = True) -> dict[str, np.ndarray]:
    """Run ``stream`` with frozen weights, recording the waves for a raster plot.

    Returns:
        ``{"x": (S, N, B), "delta": (S, N, B), "e": (S, N, B)}``.
    """
    net = as_compiled(net)
    feed = presenter(net, rule, _frozen(rule, params), batch=stream.u.shape[2], engine=engine,
                     record=("x", "delta", "e"), latency=latency, warn=warn)
    feed.run(stream.u, stream.y)
    return feed.engine.recording
