"""The one comparison: several methods on the same networks, initial weights and splits."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from networks.engines.base import as_compiled
from runs.methods.base import Method, Schedule, TrainResult, get_method
from runs.methods.loop import train


@dataclass(frozen=True)
class Entry:
    """One contender of a comparison.

    Attributes:
        method: a registered method name or a :class:`Method`.
        params: its params object (or a mapping of its fields, or None: defaults).
        schedule: its schedule (a :class:`Schedule`, a mapping, or None: defaults).
        label: the name in the rows (default: the method's name).
    """

    method: str | Method
    params: Any = None
    schedule: Schedule | Mapping | None = None
    label: str | None = None

    @property
    def name(self) -> str:
        """The label, or the method's name."""
        return self.label or get_method(self.method).name


@dataclass
class Comparison:
    """What :func:`compare` returns.

    Attributes:
        rows: one per (seed, entry), in that order: ``seed``, ``method`` (the entry's
            name), ``train_acc``, ``test_acc``, ``seconds`` and, with ``fidelity``,
            ``cosine`` (the method's update vs the BPTT gradient over the same window at the
            trained weights, :attr:`Method.fidelity`).
        results: the :class:`TrainResult` of each ``(seed, name)``.
    """

    rows: list[dict] = field(default_factory=list)
    results: dict[tuple[int, str], TrainResult] = field(default_factory=dict)

    def diff(self, method: str, baseline: str) -> list[float]:
        """Per seed: test accuracy of ``method`` minus that of ``baseline``, in points."""
        acc = {(r["seed"], r["method"]): r["test_acc"] for r in self.rows}
        seeds = dict.fromkeys(r["seed"] for r in self.rows)
        return [100 * (acc[s, method] - acc[s, baseline]) for s in seeds]

    def summary(self, seed: int, baseline: str | None = None) -> dict:
        """One seed's results as flat scalars.

        ``{name}_test_acc``, ``{name}_train_acc``, ``{name}_seconds`` (and
        ``{name}_cosine``) per entry, and ``diff`` (points): the test accuracy of each
        other entry minus ``baseline``'s (``diff_{name}`` when there are several).
        """
        rows = [r for r in self.rows if r["seed"] == seed]
        out = {f"{r['method']}_{k}": r[k] for r in rows
               for k in ("test_acc", "train_acc", "seconds", "cosine") if k in r}
        if baseline is not None:
            others = [r for r in rows if r["method"] != baseline]
            base = next(r for r in rows if r["method"] == baseline)["test_acc"]
            for r in others:
                key = "diff" if len(others) == 1 else f"diff_{r['method']}"
                out[key] = 100 * (r["test_acc"] - base)
        return out


def _resolve(x, seed: int):
    return x(seed) if callable(x) else x


def compare(methods: Sequence[Entry | str], graph, dataset, seeds: Sequence[int], *,
            engine: str = "vector", dtype: str = "float64", with_cosine: bool = True,
            fidelity: bool = False,
            on_row: Callable[[dict, TrainResult], None] | None = None) -> Comparison:
    """Train several methods on the same network, initial weights and split, per seed.

    Args:
        methods: the contenders (:class:`Entry`, or a method name for its defaults).
        graph: the network (graph or compiled), or ``graph(seed)`` returning it.
        dataset: a :class:`runs.data.datasets.Dataset`, or ``dataset(seed)``.
        seeds: for each seed the network and dataset are resolved once and every method
            trains from them with ``seed`` (its example order).
        engine: engine of the methods that run a rule.
        dtype: float dtype of every run.
        with_cosine: record the methods' per-evaluation fidelity metrics (LP ``cos_bptt``).
        fidelity: add ``cosine`` to each row (:attr:`Method.fidelity`).
        on_row: called with each row and its result as it is made (progress output).

    Returns:
        A :class:`Comparison`.
    """
    entries = [m if isinstance(m, Entry) else Entry(m) for m in methods]
    out = Comparison()
    for seed in seeds:
        net, ds = as_compiled(_resolve(graph, seed)), _resolve(dataset, seed)
        for entry in entries:
            method = get_method(entry.method)
            start = time.perf_counter()
            res = train(method, net, ds, entry.params, schedule=entry.schedule,
                        engine=engine, dtype=dtype, seed=seed, with_cosine=with_cosine)
            row = {"seed": seed, "method": entry.name, "train_acc": res.final["train_acc"],
                   "test_acc": res.final["test_acc"], "seconds": time.perf_counter() - start}
            if fidelity:
                row["cosine"] = method.fidelity(res, ds, seed)
            out.rows.append(row)
            out.results[seed, entry.name] = res
            if on_row is not None:
                on_row(row, res)
    return out
