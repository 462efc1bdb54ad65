"""Diffusion vs BP test accuracy on the same networks, initial weights and splits.

Command line: ``python -m runs.studies.diffusion_table --dataset wine --seeds 0 1 2``.
"""

import argparse
import sys

from agents.losses import LOSSES
from networks.builders import layered
from networks.compile import compile_graph
from runs.data.datasets import DATASETS, load_dataset
from runs.methods.bp import train_bp
from runs.methods.diffusion import train


def compare_bp(name: str, seeds, hidden=(16,), *, T: int = 8, eta: float = 0.05,
               epochs: int = 100, batch: int = 8, bp_lr: float = 0.05,
               loss: str = "bce", activation: str = "tanh") -> list[dict]:
    """Diffusion vs BP test accuracy on the same network, initial weights and split.

    For each seed: ``load_dataset(name, seed=seed)``, ``layered([d, *hidden, n_out],
    activation, "sigmoid", seed=seed)``; diffusion trains with :func:`train`; BP with
    :func:`runs.bp.train_bp` (plain gradient steps of ``bp_lr`` on mini-batches of
    ``batch``, mean gradient, same loss and number of epochs).

    Returns:
        Rows ``{dataset, seed, diff_train_acc, diff_test_acc, bp_train_acc, bp_test_acc,
        gap}`` with ``gap`` = diffusion − BP test accuracy in points.
    """
    rows = []
    for seed in seeds:
        ds = load_dataset(name, seed=seed)
        net = compile_graph(layered([ds.n_inputs, *hidden, ds.n_outputs], activation,
                                    "sigmoid", seed=seed))
        d = train(net, ds, T=T, eta=eta, epochs=epochs, batch=batch, loss=loss, seed=seed,
                  eval_every=epochs).final
        bp = train_bp(net, ds, optimizer="sgd", lr=bp_lr, loss=loss, epochs=epochs,
                      batch_size=batch, seed=seed, eval_every=10**9).final
        rows.append({"dataset": name, "seed": seed, "diff_train_acc": d["train_acc"],
                     "diff_test_acc": d["test_acc"], "bp_train_acc": bp["train_acc"],
                     "bp_test_acc": bp["test_acc"],
                     "gap": 100 * (d["test_acc"] - bp["test_acc"])})
    return rows


def main(argv=None) -> int:
    """``python -m runs.diffusion --dataset wine --seeds 0 1 2``: diffusion vs BP."""
    p = argparse.ArgumentParser(prog="python -m runs.diffusion", description=main.__doc__)
    p.add_argument("--dataset", default="wine", choices=list(DATASETS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--hidden", type=int, nargs="+", default=[16])
    p.add_argument("--T", type=int, default=8)
    p.add_argument("--eta", type=float, default=0.05)
    p.add_argument("--bp-lr", type=float, default=0.05)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--loss", default="bce", choices=sorted(LOSSES))
    p.add_argument("--activation", default="tanh", help="hidden activation")
    a = p.parse_args(argv)
    rows = compare_bp(a.dataset, a.seeds, tuple(a.hidden), T=a.T, eta=a.eta,
                      epochs=a.epochs, batch=a.batch, bp_lr=a.bp_lr, loss=a.loss,
                      activation=a.activation)
    print("dataset seed  diffusion train/test   BP train/test   gap (pts)")
    for r in rows:
        print(f"{r['dataset']:<7} {r['seed']:>4}  {100 * r['diff_train_acc']:7.2f} "
              f"{100 * r['diff_test_acc']:7.2f}   {100 * r['bp_train_acc']:7.2f} "
              f"{100 * r['bp_test_acc']:7.2f}   {r['gap']:+7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
