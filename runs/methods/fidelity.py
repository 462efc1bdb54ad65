"""Gradient fidelity of backprop diffusion: its accumulated update vs the exact gradient.

With frozen weights (η = 0) a run accumulates the diffusion update
``U_ij = Σ_s Σ_κ δ_iκ(s) x_jκ(s − d_ij)``; the reference is the exact gradient (oracle: BP
on DAGs, recurrent backprop at the fixed point otherwise) summed over the frames whose
targets reached the outputs during the run, ``R = Σ_{s ≤ S − τ_max} Σ_κ ∇_w E(u_κ(s),
y_κ(s))`` with τ_max the largest output latency — for a stream holding each example for T
steps, about T times the sum of the examples' gradients. Fidelity is ``cosine(U, R)``.
(The last τ_max frames are left out of R because their targets were never presented; U,
run over all S steps, contains no error signal about them.)
"""

from dataclasses import dataclass, replace

import numpy as np

from agents.diffusion import DIFFUSION
from agents.rule import Rule
from networks.compile import CompiledNetwork, compile_graph
from networks.engines import as_compiled
from networks.oracles import exact_gradient
from runs.data.streams import Stream, held_stream, presenter
from runs.methods.evaluate import graph_with_params
from runs.methods.metrics import cosine


@dataclass(frozen=True)
class Fidelity:
    """Result of :func:`measure_fidelity` (edge arrays (E,), node arrays (N,)).

    Attributes:
        cosine: cosine(update, reference) over the weights.
        cosine_all: the same over weights and biases.
        update, reference: accumulated diffusion update U and oracle gradient R of w.
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
                       weight=None, bias=None, *, frames: int | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Oracle gradient summed over frames: ``(Σ dw (E,), Σ db (N,))``.

    Args:
        net: the compiled network.
        stream: the frames.
        loss: ``"squared"`` or ``"bce"``.
        weight: optional weight override (E,).
        bias: optional bias override (N,).
        frames: sum over the first ``frames`` frames only (default all).

    Identical frames are computed once and weighted by their count.
    """
    S = stream.steps if frames is None else frames
    _, n_in, B = stream.u.shape
    both = np.concatenate([stream.u[:S], stream.y[:S]], axis=1)
    cols = both.transpose(1, 0, 2).reshape(-1, S * B)
    uniq, counts = np.unique(cols, axis=1, return_counts=True)
    g = exact_gradient(net, uniq[:n_in], uniq[n_in:], loss, weight, bias)
    c = counts.astype(np.float64)
    dw = np.einsum("eb,eb,b->e", g.delta[net.tgt], g.x[net.src], c)
    return dw, g.delta @ c


def _frozen(rule, params):
    """The rule's params with η = 0 (weights frozen, updates accumulated)."""
    params = rule.make_params(params)
    return replace(params, eta=0.0)


def measure_fidelity(net, stream: Stream, *, rule: Rule = DIFFUSION, params=None,
                     latency=None, engine: str = "vector", dtype="float64",
                     warn: bool = True, rng=0) -> Fidelity:
    """Run ``stream`` with frozen weights and compare the accumulated update with BP.

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
    frames = max(stream.steps - int(feed.latency.max(initial=0)), 1)
    ref_w, ref_b = reference_gradient(net, stream, params.loss, frames=frames)
    return Fidelity(cosine=cosine(dw, ref_w),
                    cosine_all=cosine(np.concatenate([dw, db]), np.concatenate([ref_w, ref_b])),
                    update=dw, reference=ref_w, bias_update=db, bias_reference=ref_b,
                    steps=stream.steps)


def trained_fidelity(net: CompiledNetwork, weight, bias, data, T: int, *,
                     rule: Rule = DIFFUSION, params=None, seed=0) -> float:
    """Cosine of the rule's update to the exact gradient at given (trained) weights.

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
