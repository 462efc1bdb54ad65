"""
Backprop diffusion: gradient fidelity vs input speed
====================================================

Backprop diffusion computes the exact gradient only once both waves have settled
(about twice the depth of the network, in steps). If the input changes faster than
that, the two signals meeting at a synapse belong to different examples and the update
is only an approximation.

Here random examples are shown one after the other, each held for ``T`` steps, to
tanh networks of depth 1, 2, 4 and 8 (weights frozen). Every synapse accumulates its
diffusion update over the whole stream; the reference is the exact backpropagation
gradient of the same frames, summed. Their cosine rises towards 1 as the hold time
grows relative to the depth, and falls for fast inputs; deeper networks need longer
holds. (With a single weight layer the update is exact at every speed: the output
error meets the input that caused it.)
"""

import matplotlib.pyplot as plt
import numpy as np

from agents import DIFFUSION
from agents.diffusion import Presenter
from networks.builders import layered
from networks.compile import compile_graph
from networks.engines import make_engine
from networks.oracles import bp_gradient


def cosine(a, b):
    """Cosine of the angle between two flat arrays."""
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def fidelity(depth, T, *, seed, n_examples=12, batch=4, width=6):
    """Cosine between the accumulated diffusion update and the summed BP gradient."""
    rng = np.random.default_rng(seed)
    sizes = [3] + [width] * (depth - 1) + [2]
    net = compile_graph(layered(sizes, "tanh", "identity", seed=rng))
    X = rng.normal(size=(n_examples, batch, 3))  # example k of stream b: X[k, b]
    Y = rng.normal(size=(n_examples, batch, 2))
    # frames: (S, n_in, B) and (S, n_out, B), every example repeated T times
    u = np.repeat(X, T, axis=0).transpose(0, 2, 1)
    y = np.repeat(Y, T, axis=0).transpose(0, 2, 1)
    eng = make_engine("vector", net, DIFFUSION, {"eta": 0.0}, batch=batch)
    presenter = Presenter(eng)
    presenter.run(u, y)
    # reference: BP gradients of the frames whose targets reached the outputs
    frames = len(u) - int(presenter.latency.max())
    reference = np.zeros(net.n_edges)
    for k in range(n_examples):
        shown = np.clip(frames - k * T, 0, T)  # frames of example k that count
        if shown:
            reference += shown * bp_gradient(net, X[k].T, Y[k].T).dw
    return cosine(eng.state("dw_sum"), reference)


holds = [1, 2, 4, 8, 16, 32, 64]
depths = [1, 2, 4, 8]
seeds = [0, 1, 2]
fig, ax = plt.subplots(figsize=(7, 4.2))
for depth in depths:
    cos = np.array([[fidelity(depth, T, seed=s) for T in holds] for s in seeds])
    mean = cos.mean(axis=0)
    line, = ax.plot(holds, mean, "o-", ms=4, label=f"depth {depth}")
    ax.fill_between(holds, cos.min(axis=0), cos.max(axis=0), color=line.get_color(),
                    alpha=0.2, lw=0)
    reached = [T for T, c in zip(holds, mean, strict=True) if c >= 0.99]
    print(f"depth {depth}: cosine {mean[0]:+.2f} at T=1, {mean[-1]:.4f} at T={holds[-1]}; "
          f"first T with cosine >= 0.99: {reached[0] if reached else 'none'}")
ax.set_xscale("log", base=2)
ax.set_xticks([1, 2, 4, 8, 16, 32, 64], labels=["1", "2", "4", "8", "16", "32", "64"])
ax.axhline(1.0, color="0.5", lw=0.8, ls=":")
ax.set_xlabel("hold time T (steps per example)")
ax.set_ylabel("cosine(diffusion update, BP gradient)")
ax.set_title("mean over 3 seeds (band: min–max)", fontsize=10)
ax.legend(loc="lower right")
fig.tight_layout()
