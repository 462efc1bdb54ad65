"""The ``forward`` experiment: delayed forward dynamics under a constant input."""

from __future__ import annotations

import numpy as np

from agents.errors import ConvergenceError
from runs.experiments.registry import RunOutput, experiment
from runs.experiments.setup import build_network


def forward_keys(cfg: dict) -> tuple[str, ...]:
    """The keys of ``forward``: ``record.vars`` only with ``record.snapshots``."""
    snaps = cfg.get("record", {}).get("snapshots")
    return ("engine", "dtype", "network", "schedule.steps", "record.snapshots",
            "record.every", *(("record.vars",) if snaps else ()))


@experiment("forward", needs=("network",), rules=("forward",), keys=forward_keys)
def forward(cfg: dict, seed: int) -> RunOutput:
    """Delayed forward dynamics (rule FORWARD) under a constant random input.

    The input ``u ~ U(-1, 1)^n_in`` (from ``seed``) is held for ``schedule.steps``
    steps. Rows every ``record.every`` steps: ``step``, ``mean_abs_x`` (mean |x| over
    the non-input neurons) and ``dist_fixed_point`` (max |x(t) − x*|, x* the forward
    fixed point of :func:`networks.oracles.fixed_point`; NaN if it does not converge).
    Summary: sizes, ``mean_abs_output`` (mean |x_o| at the last step) and the last row.
    Snapshots (``record.snapshots``): each of ``record.vars``, shape (n_rows, N).
    """
    from agents.forward import FORWARD
    from networks.compile import compile_graph
    from networks.engines import make_engine
    from networks.oracles import fixed_point

    net = compile_graph(build_network(cfg))
    rec = cfg["record"]
    u = np.random.default_rng(seed).uniform(-1.0, 1.0, size=len(net.input_idx))
    eng = make_engine(cfg["engine"], net, FORWARD, dtype=cfg["dtype"],
                      record=sorted({"x", *rec.get("vars", ())}))
    steps = cfg["schedule"]["steps"]
    traj = eng.run(u, steps=steps)
    x = traj["x"].astype(np.float64).reshape(steps, net.n_nodes)
    try:
        x_star = fixed_point(net, u[:, None])[1][:, 0]
        dist = np.abs(x - x_star).max(axis=1)
    except ConvergenceError:
        dist = np.full(steps, np.nan)
    hidden = ~net.is_input
    mean_abs = np.abs(x[:, hidden]).mean(axis=1) if hidden.any() else np.zeros(steps)
    keep = np.arange(rec["every"], steps + 1, rec["every"]) - 1
    rows = [{"step": int(t + 1), "mean_abs_x": float(mean_abs[t]),
             "dist_fixed_point": float(dist[t])} for t in keep]
    final = {"mean_abs_x": float(mean_abs[-1]) if steps else 0.0,
             "dist_fixed_point": float(dist[-1]) if steps else float("nan")}
    out_abs = float(np.abs(x[-1, net.output_idx]).mean()) if steps else 0.0
    summary = {"n_nodes": net.n_nodes, "n_edges": net.n_edges, "n_outputs": len(net.output_idx),
               "is_dag": bool(net.is_dag), "mean_abs_output": out_abs,
               "fixed_point_found": bool(np.isfinite(final["dist_fixed_point"])), **final}
    snaps = {v: traj[v][keep] for v in rec["vars"]} if rec["snapshots"] else {}
    return RunOutput(rows=rows, summary=summary, snapshots=snaps)
