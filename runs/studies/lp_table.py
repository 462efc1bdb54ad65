"""LP vs BP final test accuracy on the same sigmoid MLPs, initial weights and splits.

Command line: ``python -m runs.studies.lp_table --compare wine --seeds 0 1 2`` prints the
table (sigmoid MLPs 1×100 and 3×30).
"""


import argparse

import numpy as np

from agents.errors import ConfigError
from networks.builders import layered
from runs.data.datasets import DATASETS, load_dataset
from runs.methods import Entry, compare
from runs.methods.bp import matching_bp
from runs.methods.lp import LP_METHOD, LPMethodParams

#: LP settings of the table: G = lin with ρ = 1, Adam on w and b (the BP baseline uses
#: the same Adam, :func:`runs.methods.bp.matching_bp`), plain steps on x and λ (see
#: LPParams.state_optimizer), x starting at the forward pass.
COMPARE_LP = LPMethodParams(constraint="lin", rho=1.0, optimizer="adam",
                            state_optimizer="sgd", eta_w=3e-3, eta_x=0.2, eta_lam=0.2,
                            loss="squared", x_init="forward")
COMPARE_ARCHS = {"1x100": (100,), "3x30": (30, 30, 30)}


def lp_vs_bp(name: str, seeds, archs=("1x100", "3x30"), *,
             lp_params: LPMethodParams = COMPARE_LP, epochs: int = 2000,
             bp_epochs: int | None = None, batch: int | None = None,
             verbose: bool = False) -> list[dict]:
    """LP vs BP final test accuracy on the same sigmoid MLP, initial weights and split.

    For each architecture and seed: ``load_dataset(name, seed=seed)``, ``layered([d,
    *hidden, n_out], "sigmoid", seed=seed)``, then :func:`runs.methods.compare` of LP
    (``lp_params``) and its matching BP baseline (same optimiser, step size ``eta_w``,
    μ, loss), same batch and number of epochs unless ``bp_epochs`` is given.

    Returns:
        Rows ``{dataset, arch, seed, bp_test_acc, lp_test_acc, bp_train_acc,
        lp_train_acc, diff, lp_seconds, bp_seconds}``; ``diff = lp − bp`` (points).
    """
    rows, bp_epochs = [], bp_epochs or epochs
    entries = [Entry("lp", lp_params, {"epochs": epochs, "batch": batch,
                                       "eval_every": epochs}),
               Entry("bp", matching_bp(lp_params), {"epochs": bp_epochs, "batch": batch,
                                                    "eval_every": bp_epochs})]
    for arch in archs:
        def graph(seed, arch=arch):
            ds = load_dataset(name, seed=seed)
            return layered([ds.n_inputs, *COMPARE_ARCHS[arch], ds.n_outputs], "sigmoid",
                           seed=seed)

        result = compare(entries, graph, lambda seed: load_dataset(name, seed=seed), seeds,
                         with_cosine=False)
        for seed in seeds:
            row = {"dataset": name, "arch": arch, "seed": seed,
                   **result.summary(seed, baseline="bp")}
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
    """Parse ``KEY=VALUE`` strings into LP parameters (numbers, booleans, ``none``)."""
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
    ap.add_argument("--batch", type=int, default=None, help="default: full batch")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                    help="override LP parameters of COMPARE_LP, e.g. constraint=abs-eps "
                         "eps=1e-3 state_optimizer=none")
    args = ap.parse_args(argv)
    params = LP_METHOD.make_params(COMPARE_LP, **_overrides(args.set))
    print(f"LP: {params}", flush=True)
    print(_HEADER, flush=True)
    rows = lp_vs_bp(args.compare, args.seeds, args.archs, lp_params=params,
                    epochs=args.epochs, bp_epochs=args.bp_epochs, batch=args.batch,
                    verbose=True)
    for arch in args.archs:
        d = np.array([r["diff"] for r in rows if r["arch"] == arch])
        lp = np.mean([r["lp_test_acc"] for r in rows if r["arch"] == arch])
        bp = np.mean([r["bp_test_acc"] for r in rows if r["arch"] == arch])
        print(f"{args.compare} {arch}: mean test acc BP {100 * bp:.2f}, LP {100 * lp:.2f}; "
              f"mean LP-BP {d.mean():+.2f} points (min {d.min():+.2f}, max {d.max():+.2f})")


if __name__ == "__main__":
    main()
