"""PyTorch peer of the LP benchmark: Lagrangian local propagation written with autograd.

A STANDALONE script (imports only torch, numpy and the standard library, never the
localprop packages): it runs under a separate interpreter that has PyTorch (see
:mod:`runs.bench.memory` for how to create it and for the in-process driver). It is the
usual way public LP code implements docs/math/lp.md, used as an outside speed reference:

* a sigmoid MLP with layer sizes ``n_0 - n_1 - ... - n_L``, batch B, squared loss
  ``V = ½ (x − y)²`` on the output layer;
* per layer l >= 1, free variables ``X_l`` (n_l × B) and multipliers ``Λ_l`` (n_l × B)
  are ``torch.nn.Parameter`` alongside the weights ``W_l`` (n_l × n_{l-1}) and biases
  ``b_l`` (n_l × 1); the input ``X_0 = u`` is clamped;
* ``L = Σ V(X_L, y) + Σ_l Σ [Λ_l G(c_l) + ρ/2 G(c_l)²]`` with G = lin,
  ``c_l = X_l − σ(W_l X_{l−1} + b_l)`` (α = μ = 0);
* one step = ``L.backward()``, negate the Λ gradients (ascent), then one
  ``torch.optim.SGD`` step on all parameters: W, b with ``η_w`` (``--reduce mean``,
  default: ``η_w / B``, i.e. the batch-averaged weight gradient, the convention of
  ``LPParams(reduce="mean")``; ``--reduce sum``: ``η_w`` on the summed gradient), X with
  ``η_x``, Λ with ``η_λ``. This is one simultaneous gradient descent/ascent step on L from
  the previous values: the step of the two-round rule ``agents.lp.LP_TWO_ROUND`` with
  ``optimizer="sgd"``.

Usage (with the torch interpreter)::

    python runs/bench/torch_peer.py --sizes 784 256 256 10 --batch 128 --dtype float64 --seconds 2
    # -> {"seconds_per_step": best-of time, "steps": n, "torch": "...", "threads": n, ...}
    python runs/bench/torch_peer.py --check --sizes 5 4 3 2 --batch 3 --steps 1
    # -> {"lagrangian": L before the steps, "W": [|W_l|], "b": [...], "X": [...], "lam": [...]}

``--check`` runs ``--steps`` steps from the seeded problem of :func:`make_problem`
(numpy-generated, so another implementation can rebuild exactly the same start) and
prints the Frobenius norms of every W_l, b_l, X_l and Λ_l afterwards. The benchmark times
one step (best of the timed repeats after warm-up), with
``torch.set_num_threads(os.cpu_count())``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

DTYPES = ("float64", "float32")


def make_problem(sizes, batch: int, seed: int = 0, init: str = "random") -> dict:
    """The seeded start of an LP run, as float64 numpy arrays (torch-free).

    Draws, in this order, from ``np.random.default_rng(seed)``: u ~ N(0, 1) (n_0, B);
    y ~ U(0, 1) (n_L, B); then per layer l = 1..L: W_l ~ N(0, 1/n_{l−1}) (n_l, n_{l−1}),
    b_l ~ 0.1 N(0, 1) (n_l, 1), and with ``init="random"`` X_l ~ U(0, 1) (n_l, B) and
    Λ_l ~ 0.1 N(0, 1) (n_l, B). ``init="zero"``: X_l = Λ_l = 0 (the literature's choice;
    nothing is drawn for them).

    Returns:
        ``{"u", "y", "W": [...], "b": [...], "X": [...], "lam": [...]}``.
    """
    if init not in ("random", "zero"):
        raise ValueError(f"init must be 'random' or 'zero', got {init!r}")
    sizes = [int(n) for n in sizes]
    rng = np.random.default_rng(seed)
    out = {"u": rng.normal(size=(sizes[0], batch)), "y": rng.uniform(size=(sizes[-1], batch)),
           "W": [], "b": [], "X": [], "lam": []}
    for n_prev, n in zip(sizes[:-1], sizes[1:], strict=True):
        out["W"].append(rng.normal(scale=1.0 / np.sqrt(n_prev), size=(n, n_prev)))
        out["b"].append(0.1 * rng.normal(size=(n, 1)))
        if init == "random":
            out["X"].append(rng.uniform(size=(n, batch)))
            out["lam"].append(0.1 * rng.normal(size=(n, batch)))
        else:
            out["X"].append(np.zeros((n, batch)))
            out["lam"].append(np.zeros((n, batch)))
    return out


class TorchLP:
    """LP on a sigmoid MLP with autograd: parameters W, b, X, Λ and one SGD optimiser.

    Args:
        problem: arrays from :func:`make_problem`.
        dtype: ``"float64"`` or ``"float32"``.
        rho: augmented-Lagrangian weight ρ.
        eta_w, eta_x, eta_lam: step sizes.
        reduce: ``"mean"`` (weight/bias step size ``η_w / B``) or ``"sum"``.
    """

    def __init__(self, problem: dict, dtype: str = "float64", *, rho: float = 1.0,
                 eta_w: float = 1e-2, eta_x: float = 0.2, eta_lam: float = 0.2,
                 reduce: str = "mean"):
        import torch

        if reduce not in ("mean", "sum"):
            raise ValueError(f"reduce must be 'mean' or 'sum', got {reduce!r}")
        td = {"float64": torch.float64, "float32": torch.float32}[dtype]
        self.torch, self.rho = torch, float(rho)

        def param(a):
            return torch.nn.Parameter(torch.as_tensor(np.asarray(a), dtype=td).clone())

        self.u = torch.as_tensor(problem["u"], dtype=td).clone()
        self.y = torch.as_tensor(problem["y"], dtype=td).clone()
        self.W = torch.nn.ParameterList([param(a) for a in problem["W"]])
        self.b = torch.nn.ParameterList([param(a) for a in problem["b"]])
        self.X = torch.nn.ParameterList([param(a) for a in problem["X"]])
        self.lam = torch.nn.ParameterList([param(a) for a in problem["lam"]])
        batch = self.u.shape[1]
        lr_w = eta_w / batch if reduce == "mean" else eta_w
        self.opt = torch.optim.SGD([
            {"params": [*self.W, *self.b], "lr": lr_w},
            {"params": list(self.X), "lr": eta_x},
            {"params": list(self.lam), "lr": eta_lam},
        ], lr=lr_w)

    def lagrangian(self):
        """L(W, b, X, Λ) as a scalar tensor (G = lin, squared loss)."""
        torch = self.torch
        x_prev, total = self.u, 0.0
        for W, b, X, lam in zip(self.W, self.b, self.X, self.lam, strict=True):
            c = X - torch.sigmoid(W @ x_prev + b)
            total = total + (lam * c).sum() + 0.5 * self.rho * (c * c).sum()
            x_prev = X
        return total + 0.5 * ((self.X[-1] - self.y) ** 2).sum()

    def step(self) -> float:
        """One LP step: backward, flip the Λ gradients (ascent), SGD step. Returns L."""
        self.opt.zero_grad(set_to_none=False)
        L = self.lagrangian()
        L.backward()
        for lam in self.lam:
            lam.grad.neg_()
        self.opt.step()
        return float(L.detach())

    def norms(self) -> dict:
        """Frobenius norms of every W_l, b_l, X_l and Λ_l (lists over layers)."""
        return {name: [float(self.torch.linalg.norm(p.detach().double())) for p in ps]
                for name, ps in (("W", self.W), ("b", self.b), ("X", self.X),
                                 ("lam", self.lam))}


def best_time(fn, seconds: float, warmup: int = 3, min_reps: int = 5) -> tuple[float, float, int]:
    """``(best, median seconds of one call, number of timed calls)`` after ``warmup`` calls.

    The best time is the figure to compare: on a shared 2-vCPU machine single steps of a
    multi-threaded (OpenMP) run are sometimes stalled by ~0.1 s, which the median shows.
    """
    for _ in range(warmup):
        fn()
    times: list[float] = []
    while len(times) < min_reps or sum(times) < seconds:
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), float(np.median(times)), len(times)


def main(argv=None) -> None:
    """Benchmark (default) or ``--check`` one LP run; prints one JSON line."""
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[784, 256, 256, 10])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--dtype", choices=DTYPES, default="float64")
    p.add_argument("--seconds", type=float, default=2.0, help="timed seconds (benchmark)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rho", type=float, default=1.0)
    p.add_argument("--eta-w", type=float, default=1e-2)
    p.add_argument("--eta-x", type=float, default=0.2)
    p.add_argument("--eta-lam", type=float, default=0.2)
    p.add_argument("--reduce", choices=("mean", "sum"), default="mean")
    p.add_argument("--init", choices=("random", "zero"), default=None,
                   help="X, Λ start (default: random for --check, zero for the benchmark)")
    p.add_argument("--threads", type=int, default=None, help="default: os.cpu_count()")
    p.add_argument("--check", action="store_true",
                   help="run --steps steps from the seeded problem, print the norms")
    p.add_argument("--steps", type=int, default=1, help="steps of --check")
    args = p.parse_args(argv)
    if len(args.sizes) < 2 or min(args.sizes) < 1 or args.batch < 1:
        p.error("--sizes needs >= 2 positive layer sizes and --batch must be >= 1")

    import torch

    threads = args.threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    init = args.init or ("random" if args.check else "zero")
    problem = make_problem(args.sizes, args.batch, args.seed, init)
    lp = TorchLP(problem, args.dtype, rho=args.rho, eta_w=args.eta_w, eta_x=args.eta_x,
                 eta_lam=args.eta_lam, reduce=args.reduce)
    info = {"torch": torch.__version__, "threads": torch.get_num_threads(),
            "sizes": args.sizes, "batch": args.batch, "dtype": args.dtype}
    if args.check:
        with torch.no_grad():
            L0 = float(lp.lagrangian())
        for _ in range(args.steps):
            lp.step()
        out = {"lagrangian": L0, **lp.norms(), "steps": args.steps, **info}
    else:
        best, median, reps = best_time(lp.step, args.seconds)
        out = {"seconds_per_step": best, "steps": reps, "median_seconds_per_step": median,
               **info}
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
