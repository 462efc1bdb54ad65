"""The headline table that ``localprop run`` and ``localprop sweep`` print at the end.

One row per parameter point of the sweep (the swept keys; one row when nothing is swept),
aggregated over its seeds: for each headline column the mean ± standard deviation (ddof 0)
over the seeds that finished, and the seed count. The columns are the ones the experiment
declares (:attr:`runs.experiments.registry.Experiment.headline`, e.g. LP's and BP's test
accuracy side by side for ``compare``, accuracy before and after for ``pruning``); an
experiment that declares none shows every numeric summary value but timings.
"""

from __future__ import annotations

import pandas as pd

TIMINGS = ("duration_s", "seconds")


def headline_frame(summary: pd.DataFrame, columns=(), params=()) -> pd.DataFrame:
    """Aggregate a sweep's ``summary.csv`` over seeds.

    Args:
        summary: one row per run (``run_id``, ``seed``, ``status``, params…, summary values).
        columns: the headline columns (empty: every numeric summary column but timings).
        params: the swept keys (``"section.key"``) that tell parameter points apart.

    Returns:
        One row per parameter point: the params, ``seeds`` (finished runs) and, per
        column, ``mean ± std`` as text.
    """
    ok = summary[summary["status"] == "ok"]
    if not columns:
        skip = {"run_id", "seed", "status", "error", *params, *TIMINGS}
        columns = [c for c in ok.columns if c not in skip
                   and pd.api.types.is_numeric_dtype(ok[c]) and ok[c].notna().any()]
    columns = [c for c in columns if c in ok.columns]
    keys = [p for p in params if p in ok.columns]
    groups = ok.assign(**{k: ok[k].astype(str) for k in keys}).groupby(keys, sort=False) \
        if keys else [((), ok)]
    rows = []
    for point, g in groups:
        point = point if isinstance(point, tuple) else (point,)
        row = dict(zip(keys, point, strict=True)) | {"seeds": len(g)}
        for c in columns:
            v = pd.to_numeric(g[c], errors="coerce").dropna().to_numpy()
            row[c] = "n/a" if not len(v) else (
                f"{v.mean():.4g}" if len(v) == 1 else f"{v.mean():.4g} ± {v.std():.2g}")
        rows.append(row)
    return pd.DataFrame(rows)


def headline_text(summary: pd.DataFrame, columns=(), params=()) -> str:
    """:func:`headline_frame` as an aligned text table ("" when no run finished)."""
    frame = headline_frame(summary, columns, params)
    if frame.empty or not len(frame.columns):
        return ""
    return frame.to_string(index=False)


def failure_lines(summary: pd.DataFrame) -> list[str]:
    """One line per failed run: its id, seed and the first line of its error."""
    failed = summary[summary["status"] == "failed"]
    return [f"failed: run {r.run_id} (seed {r.seed}): "
            f"{str(r.error).splitlines()[0] if isinstance(r.error, str) else 'error'}"
            for r in failed.itertuples()]


__all__ = ["failure_lines", "headline_frame", "headline_text"]
