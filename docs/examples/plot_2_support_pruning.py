"""
Support neurons and pruning
===========================

With an ε-insensitive constraint, a neuron whose output stays within ε of
``σ(a)`` for an example exerts no reaction on it (``g = 0``): it adds nothing to any
weight update for that example and sends nothing backwards. Such a pair is not a
*support* pair. A hidden neuron that supports no example at all takes no part in
learning, which suggests removing it.

Here LP with the ``lin-eps`` constraint (ε = 0.01) trains a 13-100-3 sigmoid network on
scikit-learn's bundled wine data (full batch, 2000 steps). The left panel shows, for
each hidden neuron, the fraction of training examples it supports; the right panel the
test accuracy before and after removing the neurons that support none. Both numbers
are measured: how many neurons go, and what that costs, is a result of the run.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split

from agents import LP
from networks.builders import layered
from networks.compile import compile_graph
from networks.engines import make_engine
from networks.oracles import forward_pass

X, labels = load_wine(return_X_y=True)  # (n, 13): one example per row
X_train, X_test, l_train, l_test = train_test_split(X, labels, test_size=0.25,
                                                    stratify=labels, random_state=0)
mean, std = X_train.mean(axis=0), X_train.std(axis=0)
u_train, u_test = ((X_train - mean) / std).T, ((X_test - mean) / std).T  # (13, n)
y_train = np.eye(3)[l_train].T  # one-hot targets, (3, n)

G = layered([13, 100, 3], "sigmoid", seed=0)
net = compile_graph(G)
params = {"constraint": "lin-eps", "eps": 0.01, "rho": 1.0, "optimizer": "adam",
          "state_optimizer": "sgd", "eta_w": 0.003, "eta_x": 0.2, "eta_lam": 0.2}
eng = make_engine("vector", net, LP, params, batch=u_train.shape[1])
eng.run(u_train, y_train, steps=2000)
weight, bias = eng.state("weight"), eng.state("bias")

hidden = np.flatnonzero(net.layer == 1)
support = (eng.state("g")[hidden] != 0).mean(axis=1)  # fraction of examples per neuron
idle = [net.node_ids[k] for k in hidden[support == 0]]


def test_accuracy(graph_net, w, b):
    """Forward-pass accuracy on the test split (argmax over the 3 outputs)."""
    _, x = forward_pass(graph_net, u_test, w, b)
    return float(np.mean(x[graph_net.output_idx].argmax(axis=0) == l_test))


# the pruned network: the trained graph without the idle neurons
trained = G.copy()
for e, (j, i) in enumerate(zip(net.src, net.tgt, strict=True)):
    trained.edges[net.node_ids[j], net.node_ids[i]]["weight"] = float(weight[e])
for k, node in enumerate(net.node_ids):
    trained.nodes[node]["bias"] = float(bias[k])
pruned = trained.copy()
pruned.remove_nodes_from(idle)
pruned_net = compile_graph(pruned)
before = test_accuracy(net, weight, bias)
after = test_accuracy(pruned_net, pruned_net.weight, pruned_net.bias)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained",
                               gridspec_kw={"width_ratios": [3, 1]})
order = np.argsort(support)[::-1]
ax1.bar(np.arange(len(hidden)), support[order], width=1.0, color="C0")
zero = np.flatnonzero(support[order] == 0)
ax1.plot(zero, np.zeros(len(zero)), "|", color="C3", ms=12, mew=2)
ax1.set_xlabel("hidden neuron (sorted by support)")
ax1.set_ylabel("fraction of examples supported")
ax1.set_title(f"{len(idle)} of {len(hidden)} hidden neurons support no example (red ticks)",
              fontsize=10)
ax2.bar(["before", "after"], [before, after], color=["C0", "C2"])
for k, acc in enumerate((before, after)):
    ax2.text(k, acc, f"{acc:.3f}", ha="center", va="bottom")
ax2.set_ylim(0, 1.1)
ax2.set_ylabel("test accuracy")
ax2.set_title(f"{len(hidden)} → {len(hidden) - len(idle)} hidden neurons", fontsize=10)
print(f"pruned {len(idle)} of {len(hidden)} hidden neurons; "
      f"test accuracy {before:.3f} before, {after:.3f} after")
