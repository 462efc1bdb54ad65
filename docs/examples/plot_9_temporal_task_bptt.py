"""
A cyclic network on a temporal task, trained with BPTT
======================================================

The *delayed recall* task of :mod:`runs.data.tasks`: the input is a stream of random ±1
bits and the target is the bit seen 4 steps earlier. A network of delayed neurons
remembers only through its cycles: the feedforward control sees at most its longest
input-to-output path delay (2 steps) into the past.

:func:`runs.studies.recurrence.network_pair` builds the two networks with the same 12
tanh hidden neurons, feedforward edges and initial weights; the cyclic one adds a
self-loop on every hidden neuron and lateral hidden-to-hidden edges.
:func:`runs.studies.recurrence_training.train_bptt` trains each with Adam on the exact
backpropagation-through-time gradient (:func:`networks.oracles.bptt.bptt_gradient`), one fresh
batch of streams per iteration. The left panel shows the training loss, the right one a
test stream: the cyclic network's answer follows the target; the feedforward one stays
near 0, the best it can do without memory.
"""

import matplotlib.pyplot as plt
import numpy as np

from agents.diffusion import output_latency
from runs.data.tasks import evaluate, make_task
from runs.studies.recurrence import network_pair
from runs.studies.recurrence_training import aligned_outputs, train_bptt

task = {"lag": 4}
nets = network_pair(n_in=1, n_out=1, hidden=12, seed=0)
test = make_task("delayed_recall", 60, batch=4, seed=123, **task)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained",
                               gridspec_kw={"width_ratios": [1, 1.6]})
ax2.step(np.arange(60), test.y[:, 0, 0], where="mid", color="k", lw=2.5, alpha=0.3,
         label="target: input 4 steps ago")
for (name, net), color in zip(nets.items(), ("C0", "C3"), strict=True):
    weight, bias, curve = train_bptt(net, "delayed_recall", task, seed=0, iters=300,
                                     lr=0.02, train_steps=40, batch=8)
    out = aligned_outputs(net, test, weight, bias, output_latency(net, warn=False))
    score = evaluate(test, out)
    ax1.plot(curve, color=color, label=name)
    ax2.plot(out[:, 0, 0], color=color, label=f"{name}: sign accuracy "
             f"{score['accuracy']:.2f}")
    print(f"{name}: test MSE {score['mse']:.3f}, sign accuracy {score['accuracy']:.2f}")
ax1.set(xlabel="Adam iteration", ylabel="training loss (per scored entry)", yscale="log",
        title="BPTT training, delayed recall (lag 4)")
ax1.legend()
ax2.set(xlabel="step of a test stream", ylabel="output", ylim=(-1.5, 2.9),
        title="answers on a fresh test stream")
ax2.legend(loc="upper left", fontsize=8)
