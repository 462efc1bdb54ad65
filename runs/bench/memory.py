"""Memory of full-batch LP, and the PyTorch peer of the LP speed benchmark.

``python -m runs.bench.memory [memory] [torch] [--small]``

* ``memory`` (:func:`bench_lp_memory`): peak memory (``tracemalloc``, which tracks numpy's
  array allocations) of building the vectorised LP engine with batch = all training
  examples on ``layered([d, *hidden, n_out], "sigmoid")`` and running 3 steps, per dataset
  and dtype, against the per-example state predicted as
  ``n_nodes × n_train × n_batched_vars × itemsize`` (x, λ, a, c, g, s, the per-example
  step count, and the Adam moments of x and λ when the state optimiser is Adam:
  :func:`held_batched_vars`), and the float32/float64 peak ratio.
* ``torch`` (:func:`compare_torch`): seconds per LP step of ``runs/bench/torch_peer.py`` (LP
  written with PyTorch autograd, the way public LP code does it), run in a subprocess
  under a separate interpreter that has PyTorch, next to the vectorised engine's LP step
  (one-round :data:`~agents.lp.LP` and exact two-round :data:`~agents.lp.LP_TWO_ROUND`,
  whose step is the same simultaneous descent/ascent step as the torch script's) on the
  same sizes, batch and dtype, timed in this process.

The torch interpreter is ``$LOCALPROP_TORCH_PYTHON`` if set, else ``.venv-torch/bin/python``
in the repository root (:func:`torch_python`). PyTorch is available here only as a CPU
wheel for Python 3.11 (``/opt/wheels``, found by pip through its ``find-links``); create the
environment from the repository root with::

    python3.11 -m venv .venv-torch && .venv-torch/bin/pip install torch==2.13.0 numpy

(``python3.11`` is ``/root/.pyenv/versions/3.11.7/bin/python`` on the project machine.)
Always pin ``torch==2.13.0``: without the pin pip may pull the multi-GB CUDA build from
the registry. Without the environment the torch benchmark is skipped with a reason
(:func:`torch_unavailable_reason`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
TORCH_SCRIPT = Path(__file__).resolve().with_name("torch_peer.py")
ENV_VAR = "LOCALPROP_TORCH_PYTHON"
#: LP parameters of the memory benchmark (the state allocated does not depend on them).
MEMORY_LP = {"constraint": "lin", "rho": 1.0, "optimizer": "adam", "state_optimizer": "sgd",
             "eta_w": 3e-3, "eta_x": 0.2, "eta_lam": 0.2}


# --------------------------------------------------------------------------- torch peer
def torch_python() -> str | None:
    """Path of an interpreter that should have PyTorch, or None.

    ``$LOCALPROP_TORCH_PYTHON`` if set (None if that file does not exist), else
    ``<repo>/.venv-torch/bin/python`` if it exists, else None. Whether torch imports there
    is only known when :func:`bench_torch_peer` runs it.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return env if Path(env).is_file() else None
    default = ROOT / ".venv-torch" / "bin" / "python"
    return str(default) if default.is_file() else None


def torch_unavailable_reason() -> str | None:
    """Why the torch peer cannot run (a sentence), or None if an interpreter was found."""
    if torch_python() is not None:
        return None
    env = os.environ.get(ENV_VAR)
    if env:
        return f"${ENV_VAR}={env!r} is not a file"
    return (f"no PyTorch interpreter: set ${ENV_VAR} or create {ROOT / '.venv-torch'} "
            f"(python3.11 -m venv .venv-torch && .venv-torch/bin/pip install torch==2.13.0 "
            f"numpy)")


def run_torch_script(*args: str, timeout: float = 300.0) -> dict | None:
    """Run ``torch_peer.py *args`` under :func:`torch_python` and parse its JSON line.

    Returns:
        The parsed dict, or None when there is no torch interpreter or torch does not
        import there (:func:`torch_unavailable_reason` says why for the first case).

    Raises:
        RuntimeError: when the script fails for another reason (its stderr included).
    """
    python = torch_python()
    if python is None:
        return None
    proc = subprocess.run([python, str(TORCH_SCRIPT), *args], capture_output=True, text=True,
                          timeout=timeout, check=False)
    if proc.returncode != 0:
        if "No module named 'torch'" in proc.stderr:
            return None
        raise RuntimeError(f"{python} {TORCH_SCRIPT.name} {' '.join(args)} failed "
                           f"(exit {proc.returncode}):\n{proc.stderr.strip()}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_torch_peer(sizes=(784, 256, 256, 10), batch: int = 128, dtype: str = "float64",
                     seconds: float = 2.0) -> dict | None:
    """Seconds per step of the PyTorch LP (``runs/bench/torch_peer.py``) in a subprocess.

    Returns:
        ``{"seconds_per_step" (best of the timed steps), "median_seconds_per_step",
        "steps", "torch", "threads", "sizes", "batch", "dtype"}``, or None when PyTorch
        is unavailable (see :func:`torch_unavailable_reason`).
    """
    return run_torch_script("--sizes", *map(str, sizes), "--batch", str(int(batch)),
                            "--dtype", np.dtype(dtype).name, "--seconds", str(seconds))


def compare_torch(sizes=(784, 256, 256, 10), batch: int = 128, dtype: str = "float64",
                  seconds: float = 2.0, seed: int = 0) -> dict:
    """The torch peer's and the vectorised engine's seconds per LP step, same problem size.

    Returns:
        ``{"torch_s", "torch_median_s", "lp_s", "lp_median_s", "lp2_s", "lp2_median_s",
        "lp_over_torch", "lp2_over_torch", ...}``; the torch figures are None (and
        ``"torch_reason"`` says why) when PyTorch is unavailable.
    """
    from agents.lp import LP, LP_TWO_ROUND
    from networks.builders import layered
    from networks.compile import compile_graph
    from networks.engines import VectorEngine
    from runs.bench.torch_peer import best_time

    dt = np.dtype(dtype)
    out: dict = {"sizes": "-".join(map(str, sizes)), "batch": batch, "dtype": dt.name,
                 "threads": os.cpu_count()}
    net = compile_graph(layered(list(sizes), "sigmoid", seed=seed))
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(sizes[0], batch)).astype(dt)
    y = rng.uniform(size=(sizes[-1], batch)).astype(dt)
    params = {"constraint": "lin", "rho": 1.0, "optimizer": "sgd", "eta_w": 1e-2,
              "eta_x": 0.2, "eta_lam": 0.2}
    for key, rule in (("lp", LP), ("lp2", LP_TWO_ROUND)):
        p = dict(params, two_round=rule is LP_TWO_ROUND)
        eng = VectorEngine(net, rule, p, batch=batch, dtype=dt, check_finite=False)
        # the peer's own timing loop (torch_peer.py is standalone: it imports no localprop)
        out[f"{key}_s"], out[f"{key}_median_s"], _ = best_time(lambda e=eng: e.advance(u, y),
                                                               seconds)
    peer = bench_torch_peer(sizes, batch, dt.name, seconds)
    if peer is None:
        out.update(torch_s=None, torch_median_s=None, lp_over_torch=None, lp2_over_torch=None,
                   torch_reason=torch_unavailable_reason() or "torch does not import there")
    else:
        out.update(torch_s=peer["seconds_per_step"],
                   torch_median_s=peer["median_seconds_per_step"],
                   torch_version=peer["torch"], torch_threads=peer["threads"])
        out["lp_over_torch"] = out["lp_s"] / out["torch_s"]
        out["lp2_over_torch"] = out["lp2_s"] / out["torch_s"]
    return out


# --------------------------------------------------------------------------- memory
def _peak_of_run(net, u, y, dtype, batch: int, steps: int, params) -> int:
    """Peak traced bytes of building the vectorised LP engine and running ``steps`` steps."""
    from agents.lp import LP
    from networks.engines import VectorEngine

    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        engine = VectorEngine(net, LP, params, batch=batch, dtype=dtype)
        for _ in range(steps):
            engine.advance(u, y)
        peak = tracemalloc.get_traced_memory()[1] - base
        del engine
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return peak


def held_batched_vars(params) -> list[str]:
    """The per-example LP variables the engine allocates with these parameters.

    Every batched variable of :data:`agents.lp.NODE_VARS` but the Adam moments of x and λ
    when the state optimiser is SGD (the engine keeps variables the rule never writes as
    zero-memory constants).
    """
    from agents.lp import LP, NODE_VARS

    p = LP.make_params(params)
    adam = (p.state_optimizer or p.optimizer) == "adam"
    return [v.name for v in NODE_VARS
            if v.batched and (adam or v.name not in ("mx", "vx", "ml", "vl"))]


def bench_lp_memory(dataset_names=("wine", "digits"), hidden=(100,),
                    dtypes=("float64", "float32"), *, steps: int = 3, seed: int = 0,
                    params=None) -> list[dict]:
    """Peak memory of full-batch LP (batch = n_train) per dataset and dtype.

    For each dataset (:func:`runs.data.datasets.load_dataset`) and dtype: compile
    ``layered([d, *hidden, n_out], "sigmoid", seed=seed)`` and cast the training inputs
    (outside the measurement), then measure with ``tracemalloc`` the peak of building
    ``VectorEngine(net, LP, params, batch=n_train, dtype=dtype)`` and running ``steps``
    steps on all training examples.

    Returns:
        One row per (dataset, dtype): ``dataset, dtype, n_nodes, n_edges, n_train,
        n_batched_vars, predicted_mb`` (``n_nodes × n_train × n_batched_vars ×
        itemsize``), ``peak_mb``, ``peak_over_predicted`` and ``f32_over_f64`` (this
        dataset's float32 peak / float64 peak, on the float32 row when both ran).
    """
    from networks.builders import layered
    from networks.compile import compile_graph
    from runs.data.datasets import load_dataset

    params = MEMORY_LP if params is None else params
    n_batched = len(held_batched_vars(params))
    rows: list[dict] = []
    for name in dataset_names:
        ds = load_dataset(name, seed=seed)
        net = compile_graph(layered([ds.n_inputs, *hidden, ds.n_outputs], "sigmoid",
                                    seed=seed))
        n_train = ds.X_train.shape[0]
        peaks = {}
        for dtype in dtypes:
            dt = np.dtype(dtype)
            u = ds.inputs("train").astype(dt)
            y = ds.targets("train").astype(dt)
            peak = _peak_of_run(net, u, y, dt, n_train, steps, params)
            predicted = net.n_nodes * n_train * n_batched * dt.itemsize
            peaks[dt.name] = peak
            row = {"dataset": name, "hidden": "x".join(map(str, hidden)), "dtype": dt.name,
                   "n_nodes": net.n_nodes, "n_edges": net.n_edges, "n_train": n_train,
                   "n_batched_vars": n_batched, "predicted_bytes": predicted,
                   "peak_bytes": peak, "predicted_mb": predicted / 2**20,
                   "peak_mb": peak / 2**20, "peak_over_predicted": peak / predicted,
                   "f32_over_f64": None}
            rows.append(row)
        if "float32" in peaks and "float64" in peaks:
            for row in rows:
                if row["dataset"] == name and row["dtype"] == "float32":
                    row["f32_over_f64"] = peaks["float32"] / peaks["float64"]
    return rows


def format_memory(rows) -> str:
    """The memory rows as a plain-text table."""
    lines = [f"{'dataset':8} {'hidden':7} {'dtype':7} {'nodes':>5} {'n_train':>7} "
             f"{'predicted MB':>12} {'peak MB':>8} {'peak/pred':>9} {'f32/f64':>7}"]
    for r in rows:
        ratio = "" if r["f32_over_f64"] is None else f"{r['f32_over_f64']:.3f}"
        lines.append(f"{r['dataset']:8} {r['hidden']:7} {r['dtype']:7} {r['n_nodes']:>5} "
                     f"{r['n_train']:>7} {r['predicted_mb']:>12.3f} {r['peak_mb']:>8.3f} "
                     f"{r['peak_over_predicted']:>9.2f} {ratio:>7}")
    return "\n".join(lines)


def main(argv=None) -> None:
    """Run the memory and/or torch-peer benchmarks and print their figures."""
    p = argparse.ArgumentParser(prog="python -m runs.bench.memory", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("which", nargs="*", help="memory, torch (default: both)")
    p.add_argument("--small", action="store_true", help="tiny sizes (smoke test)")
    p.add_argument("--seconds", type=float, default=2.0, help="timed seconds per figure")
    args = p.parse_args(argv)
    which = args.which or ["memory", "torch"]
    unknown = set(which) - {"memory", "torch"}
    if unknown:
        p.error(f"unknown benchmark(s) {sorted(unknown)}; choose memory, torch")
    if "memory" in which:
        hidden = (8,) if args.small else (100,)
        names = ("wine",) if args.small else ("wine", "digits")
        print(f"== memory: full-batch LP, sigmoid {hidden} hidden, 3 steps (tracemalloc) ==")
        print(format_memory(bench_lp_memory(names, hidden)), flush=True)
    if "torch" in which:
        sizes = (20, 16, 3) if args.small else (784, 256, 256, 10)
        batch = 8 if args.small else 128
        secs = 0.2 if args.small else args.seconds
        print(f"== torch peer: LP step, sizes {'-'.join(map(str, sizes))}, batch {batch} ==")
        for dtype in ("float64", "float32"):
            r = compare_torch(sizes, batch, dtype, secs)
            if r["torch_s"] is None:
                print(f"{dtype}: torch skipped ({r['torch_reason']}); engine LP "
                      f"{r['lp_s'] * 1e3:.3f} ms/step, LP two-round {r['lp2_s'] * 1e3:.3f}")
                continue
            print(f"{dtype}: torch {r['torch_version']} ({r['torch_threads']} threads) "
                  f"{r['torch_s'] * 1e3:.3f} ms/step (median {r['torch_median_s'] * 1e3:.3f}) "
                  f"| engine LP {r['lp_s'] * 1e3:.3f} ms/step ({r['lp_over_torch']:.2f}x torch) "
                  f"| LP two-round {r['lp2_s'] * 1e3:.3f} ms/step "
                  f"({r['lp2_over_torch']:.2f}x torch)", flush=True)


if __name__ == "__main__":
    main()
