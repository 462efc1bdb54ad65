"""The ``lp_paper`` experiment: the LP paper's table (:mod:`runs.studies.lp_paper`).

Registered when this module is imported: a config names it in ``plugins``
(``runs/configs/lp_paper.toml``). ``[rule]`` holds :class:`PaperParams` (``epochs``: of every
method; ``out``: where ``lp_paper.csv`` and ``lp_paper.md`` are written). One run per seed
(the seed of the folds).
"""

from __future__ import annotations

import time
from dataclasses import asdict

from runs.experiments.registry import RunOutput, experiment
from runs.studies.lp_paper import PaperParams, run_table, summarise, write_table


@experiment("lp_paper", params=PaperParams, keys=("rule",))
def lp_paper(cfg: dict, seed: int) -> RunOutput:
    """BP and the LP variants on every fold of every data set; writes the two tables.

    Rows: one per (data set, arch, method) with the fold mean ± std and the published
    values. Summary: data sets run and skipped, seconds. Artifacts: the CSV and Markdown.
    """
    start = time.perf_counter()
    p = PaperParams(**{k: v for k, v in cfg.get("rule", {}).items() if k != "name"})
    rows, skipped = run_table(p, seed, progress=lambda line: print(line, flush=True))
    summary = summarise(rows)
    seconds = time.perf_counter() - start
    paths = write_table(summary, skipped, p, seed, seconds, p.out)
    for line in skipped:
        print(line, flush=True)
    out_rows = [{"step": k, **r} for k, r in enumerate(summary)]
    return RunOutput(rows=out_rows, summary={
        "n_datasets": len({r["dataset"] for r in summary}), "n_skipped": len(skipped),
        "seconds": seconds, **{k: str(v) for k, v in asdict(p).items()}},
        artifacts=list(paths))
