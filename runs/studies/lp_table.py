"""LP vs BP final test accuracy on the same sigmoid MLPs, initial weights and splits.

Command line: ``python -m runs.studies.lp_table --compare wine --seeds 0 1 2`` prints the
table (sigmoid MLPs 1×100 and 3×30).
"""


import argparse
import time

import numpy as np

from agents.errors import ConfigError
from agents.lp import LP, LPParams
from networks.builders import layered
from runs.data.datasets import DATASETS, load_dataset
from runs.methods.bp import train_bp
from runs.methods.lp import train_lp

#: LP settings used by :func:`compare`: G = lin with ρ = 1, Adam on w and b (the BP
#: baseline uses the same Adam), plain steps on x and λ (see LPParams.state_optimizer).
COMPARE_LP = LPParams(constraint="lin", rho=1.0, optimizer="adam", state_optimizer="sgd",
                      eta_w=3e-3, eta_x=0.2, eta_lam=0.2, loss="squared")
COMPARE_ARCHS = {"1x100": (100,), "3x30": (30, 30, 30)}


def compare(name: str, seeds, archs=("1x100", "3x30"), *, lp_params: LPParams = COMPARE_LP,
            epochs: int = 2000, bp_epochs: int | None = None,
            batch_size: int | None = None, verbose: bool = False) -> list[dict]:
    """LP vs BP final test accuracy on the same sigmoid MLP, initial weights and split.

    For each seed and architecture: ``load_dataset(name, seed=seed)``, ``layered([d,
    *hidden, n_out], "sigmoid", seed=seed)``, then :func:`train_lp` and
    :func:`runs.bp.train_bp` (``lp_params.optimizer`` with ``lr = lp_params.eta_w``, same
    loss, μ, batch size and number of epochs unless ``bp_epochs`` is given). LP starts
    from ``x_init="forward"``.

    Returns:
        Rows ``{dataset, arch, seed, bp_test_acc, lp_test_acc, bp_train_acc,
        lp_train_acc, diff, lp_seconds, bp_seconds}``; ``diff = lp − bp`` (points).
    """
    rows, bp_epochs = [], bp_epochs or epochs
    for seed in seeds:
        ds = load_dataset(name, seed=seed)
        for arch in archs:
            G = layered([ds.n_inputs, *COMPARE_ARCHS[arch], ds.n_outputs], "sigmoid",
                        seed=seed)
            t0 = time.perf_counter()
            lp = train_lp(G, ds, lp_params, epochs=epochs, batch_size=batch_size,
                          x_init="forward", seed=seed, eval_every=epochs,
                          with_cosine=False)
            t1 = time.perf_counter()
            bp = train_bp(G, ds, optimizer=lp_params.optimizer, lr=lp_params.eta_w,
                          beta1=lp_params.beta1, beta2=lp_params.beta2, mu=lp_params.mu,
                          loss=lp_params.loss, epochs=bp_epochs, batch_size=batch_size,
                          seed=seed, eval_every=bp_epochs)
            t2 = time.perf_counter()
            row = {"dataset": name, "arch": arch, "seed": seed,
                   "bp_test_acc": bp.final["test_acc"], "lp_test_acc": lp.final["test_acc"],
                   "bp_train_acc": bp.final["train_acc"],
                   "lp_train_acc": lp.final["train_acc"],
                   "diff": 100 * (lp.final["test_acc"] - bp.final["test_acc"]),
                   "lp_seconds": t1 - t0, "bp_seconds": t2 - t1}
            rows.append(row)
            if verbose:
                print(_fmt(row), flush=True)
    return rows


_HEADER = "dataset  arch    seed  BP test  LP test  LP-BP(pts)  BP train  LP train  LP s  BP s"


def _fmt(r: dict) -> str:
    return (f"{r['dataset']:<8} {r['arch']:<7} {r['seed']:>4}  {100 * r['bp_test_acc']:7.2f}"
            f"  {100 * r['lp_test_acc']:7.2f}  {r['diff']:+10.2f}  "
            f"{100 * r['bp_train_acc']:8.2f}  {100 * r['lp_train_acc']:8.2f}  "
            f"{r['lp_seconds']:4.0f}  {r['bp_seconds']:4.0f}")


def _overrides(items) -> dict:
    """Parse ``KEY=VALUE`` strings into LPParams fields (numbers, booleans, ``none``)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        low = value.lower()
        if low in ("none", "true", "false"):
            out[key] = {"none": None, "true": True, "false": False}[low]
        else:
            try:
                out[key] = float(value)
            except ValueError:
                out[key] = value
    return out


def main(argv=None) -> None:
    """Command line: ``python -m runs.studies.lp_table --compare wine --seeds 0 1 2``."""
    ap = argparse.ArgumentParser(prog="python -m runs.studies.lp_table", description=__doc__)
    ap.add_argument("--compare", required=True, choices=list(DATASETS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--archs", nargs="+", default=list(COMPARE_ARCHS),
                    choices=list(COMPARE_ARCHS))
    ap.add_argument("--epochs", type=int, default=2000, help="LP (and BP) epochs")
    ap.add_argument("--bp-epochs", type=int, default=None, help="BP epochs if different")
    ap.add_argument("--batch-size", type=int, default=None, help="default: full batch")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                    help="override LP parameters of COMPARE_LP, e.g. constraint=abs-eps "
                         "eps=1e-3 state_optimizer=none")
    args = ap.parse_args(argv)
    params = LP.make_params(COMPARE_LP, **_overrides(args.set))
    print(f"LP: {params}", flush=True)
    print(_HEADER, flush=True)
    rows = compare(args.compare, args.seeds, args.archs, lp_params=params, epochs=args.epochs,
                   bp_epochs=args.bp_epochs, batch_size=args.batch_size, verbose=True)
    for arch in args.archs:
        d = np.array([r["diff"] for r in rows if r["arch"] == arch])
        lp = np.mean([r["lp_test_acc"] for r in rows if r["arch"] == arch])
        bp = np.mean([r["bp_test_acc"] for r in rows if r["arch"] == arch])
        print(f"{args.compare} {arch}: mean test acc BP {100 * bp:.2f}, LP {100 * lp:.2f}; "
              f"mean LP-BP {d.mean():+.2f} points (min {d.min():+.2f}, max {d.max():+.2f})")


if __name__ == "__main__":
    main()
