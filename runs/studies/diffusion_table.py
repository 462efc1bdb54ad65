"""Diffusion vs BP test accuracy on the same networks, initial weights and splits.

Command line: ``python -m runs.studies.diffusion_table --dataset wine --seeds 0 1 2``.
"""

from __future__ import annotations

import argparse
import sys

from agents.diffusion import DiffusionParams
from agents.losses import LOSSES
from networks.builders import layered
from runs.data.datasets import DATASETS, load_dataset
from runs.methods import Entry, compare
from runs.methods.bp import BPParams

#: The table's diffusion and BP settings: cross-entropy, step size 0.05, plain SGD for BP.
TABLE_DIFFUSION = DiffusionParams(eta=0.05, loss="bce")
TABLE_BP = BPParams(optimizer="sgd", eta=0.05, loss="bce")


def diffusion_vs_bp(name: str, seeds, hidden=(16,), *,
                    diffusion: DiffusionParams = TABLE_DIFFUSION, bp: BPParams = TABLE_BP,
                    T: int = 8, epochs: int = 100, batch: int = 8,
                    activation: str = "tanh") -> list[dict]:
    """Diffusion vs BP test accuracy on the same network, initial weights and split.

    For each seed: ``load_dataset(name, seed=seed)``, ``layered([d, *hidden, n_out],
    activation, "sigmoid", seed=seed)``; :func:`runs.methods.compare` of diffusion
    (examples held ``T`` steps on ``batch`` streams) and BP (mini-batches of ``batch``),
    the same number of epochs.

    Returns:
        Rows ``{dataset, seed, diffusion_train_acc, diffusion_test_acc, bp_train_acc,
        bp_test_acc, diff, ...}`` with ``diff`` = diffusion − BP test accuracy in points.
    """
    def graph(seed):
        ds = load_dataset(name, seed=seed)
        return layered([ds.n_inputs, *hidden, ds.n_outputs], activation, "sigmoid",
                       seed=seed)

    schedule = {"epochs": epochs, "batch": batch, "eval_every": epochs}
    result = compare([Entry("diffusion", diffusion, {**schedule, "T": T}),
                      Entry("bp", bp, schedule)],
                     graph, lambda seed: load_dataset(name, seed=seed), seeds)
    return [{"dataset": name, "seed": seed, **result.summary(seed, baseline="bp")}
            for seed in seeds]


def main(argv=None) -> int:
    """``python -m runs.studies.diffusion_table --dataset wine``: diffusion vs BP."""
    p = argparse.ArgumentParser(prog="python -m runs.studies.diffusion_table",
                                description=main.__doc__)
    p.add_argument("--dataset", default="wine", choices=list(DATASETS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--hidden", type=int, nargs="+", default=[16])
    p.add_argument("--T", type=int, default=8)
    p.add_argument("--eta", type=float, default=0.05, help="diffusion step size")
    p.add_argument("--bp-eta", type=float, default=0.05, help="BP (plain SGD) step size")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--loss", default="bce", choices=sorted(LOSSES))
    p.add_argument("--activation", default="tanh", help="hidden activation")
    a = p.parse_args(argv)
    rows = diffusion_vs_bp(a.dataset, a.seeds, tuple(a.hidden),
                           diffusion=DiffusionParams(eta=a.eta, loss=a.loss),
                           bp=BPParams(optimizer="sgd", eta=a.bp_eta, loss=a.loss), T=a.T,
                           epochs=a.epochs, batch=a.batch, activation=a.activation)
    print("dataset seed  diffusion train/test   BP train/test   diff (pts)")
    for r in rows:
        print(f"{r['dataset']:<7} {r['seed']:>4}  {100 * r['diffusion_train_acc']:7.2f} "
              f"{100 * r['diffusion_test_acc']:7.2f}   {100 * r['bp_train_acc']:7.2f} "
              f"{100 * r['bp_test_acc']:7.2f}   {r['diff']:+7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
