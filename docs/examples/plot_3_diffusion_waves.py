"""
Backprop diffusion: the forward and the backward wave
=====================================================

Every neuron of a backprop-diffusion network answers with a delay of one step per edge.
When a new example arrives, its outputs travel up the network one layer per step (the
forward wave); once they reach the output, the error is formed there and travels back
down one layer per step (the backward wave). Each synapse multiplies the two signals
that meet at it.

Here a 2-4-4-4-1 tanh network sees three examples, each held for 14 steps, with its
weights frozen (``eta = 0``). The space-time raster shows how much every neuron's output
``x`` and backward signal ``δ`` changed at each step: the fronts are the diagonal
streaks. The bottom panel checks exactness: while an example is held, the per-step
update ``dw_ij(t) = δ_i(t) x_j(t − 1)`` becomes *equal* to the backpropagation gradient
of that example (to float precision) once both waves have settled, after
``2 × depth = 8`` steps.
"""

import matplotlib.pyplot as plt
import numpy as np

from agents import DIFFUSION
from agents.diffusion import Presenter
from networks.builders import layered
from networks.compile import compile_graph
from networks.engines import make_engine
from networks.oracles import bp_gradient

rng = np.random.default_rng(0)
net = compile_graph(layered([2, 4, 4, 4, 1], "tanh", "identity", seed=3))
depth = 4
T, n_examples = 14, 3
examples = rng.normal(size=(n_examples, 2))  # one example per row
targets = rng.normal(size=(n_examples, 1))

# a stream of frames: example k is shown for T steps; the engine wants (n_in,) per step
# here because it runs without a batch axis (batch=None)
u = np.repeat(examples, T, axis=0)  # (S, n_in)
y = np.repeat(targets, T, axis=0)  # (S, n_out)

eng = make_engine("vector", net, DIFFUSION, {"eta": 0.0}, record=["x", "delta", "dw"])
# the Presenter gives the output the target of the example that produced its current
# value: the one shown `depth` steps earlier (the output's forward latency)
Presenter(eng).run(u, y)
rec = eng.recording
S = len(u)

# exactness: relative distance between dw(t) and the BP gradient of the example shown
# `depth` steps earlier (the one both waves are about), per step
errors = np.full(S, np.nan)
for t in range(depth, S):
    k = (t - depth) // T
    g = bp_gradient(net, examples[k], targets[k])
    errors[t] = np.linalg.norm(rec["dw"][t] - g.dw) / np.linalg.norm(g.dw)

# neurons sorted by layer, inputs at the bottom
order = np.argsort(net.layer, kind="stable")
fig, axes = plt.subplots(3, 1, figsize=(8, 8), sharex=True,
                         gridspec_kw={"height_ratios": [2, 2, 1.4]})
for ax, name, label in ((axes[0], "x", "forward wave: |x(t) − x(t−1)|"),
                        (axes[1], "delta", "backward wave: |δ(t) − δ(t−1)|")):
    change = np.abs(np.diff(rec[name], axis=0, prepend=0.0))[:, order].T
    ax.imshow(change, aspect="auto", origin="lower", cmap="magma", interpolation="nearest",
              extent=(0.5, S + 0.5, -0.5, net.n_nodes - 0.5), vmax=np.quantile(change, 0.98))
    for boundary in np.flatnonzero(np.diff(net.layer[order])):
        ax.axhline(boundary + 0.5, color="w", lw=0.5, alpha=0.6)
    ax.set_ylabel("neuron (by layer)")
    ax.set_title(label, fontsize=10)
axes[2].semilogy(np.arange(1, S + 1), errors, "o-", ms=3)
axes[2].set_ylabel("‖dw(t) − ∇E‖ / ‖∇E‖")
axes[2].set_xlabel("time step t")
for ax in axes:
    for k in range(1, n_examples):
        ax.axvline(k * T + 0.5, color="0.6", ls=":", lw=1)
fig.tight_layout()

settled = [errors[k * T + 2 * depth: (k + 1) * T].max() for k in range(n_examples)]
print("largest relative error once settled, per example:",
      " ".join(f"{e:.1e}" for e in settled))
