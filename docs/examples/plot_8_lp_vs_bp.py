"""
LP vs BP on a bundled data set
==============================

:func:`runs.methods.compare <runs.methods.compare.compare>` trains several methods on
the same network, from the same initial weights and on the same split, one seed at a
time. Here Lagrangian local propagation (LP, every update local) and the BP baseline
(exact gradients from the oracle), both with Adam at the same step size, train a 13-30-3
sigmoid network on scikit-learn's bundled wine data (178 wines, 3 cultivars), full
batch, for a few hundred epochs.

The left panel shows the test accuracy of the forward-pass predictor during training,
the right one the cosine between LP's weight update and the exact BP gradient at the
same weights (``cos_bptt``). At epoch 0 the multipliers λ are zero, so LP's update is zero
(cosine 0); within a few epochs it points along the gradient (cosine about 0.98) and
LP's accuracy follows BP's curve to the same final value.
"""

import matplotlib.pyplot as plt

from networks.builders import layered
from runs.data.datasets import load_dataset
from runs.methods import Entry, compare
from runs.methods.lp import LPMethodParams

data = load_dataset("wine", seed=0)  # standardised; X_train is (n, 13), one row each
net = layered([13, 30, 3], "sigmoid", seed=0)
lp = LPMethodParams(rho=1.0, optimizer="adam", eta_w=0.003, eta_x=0.2, eta_lam=0.2,
                    x_init="forward")
schedule = {"epochs": 300, "eval_every": 10}
bp = {"optimizer": "adam", "eta": 0.003}
table = compare([Entry("lp", lp, schedule), Entry("bp", bp, schedule)], net, data, seeds=[0])

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
for name, color in (("lp", "C0"), ("bp", "C1")):
    history = table.results[0, name].history
    ax1.plot([r["epoch"] for r in history], [r["test_acc"] for r in history],
             color=color, label=name.upper())
lp_history = table.results[0, "lp"].history
ax2.plot([r["epoch"] for r in lp_history], [r["cos_bptt"] for r in lp_history], color="C0")
ax1.set(xlabel="epoch", ylabel="test accuracy", ylim=(0, 1.05),
        title="wine, 13-30-3 sigmoid network, same initial weights")
ax1.legend(loc="lower right")
ax2.set(xlabel="epoch", ylabel="cosine(LP update, BP gradient)", ylim=(0, 1.05),
        title="how close LP's update is to the gradient")
for row in table.rows:
    print(f"{row['method']}: train {row['train_acc']:.3f}, test {row['test_acc']:.3f}, "
          f"{row['seconds']:.1f} s")
