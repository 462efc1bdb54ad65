"""The per-example variables a mini-batch trainer of a rule keeps between visits.

:func:`carried_vars` derives them from the rule (used by the LP learner,
:mod:`runs.methods.lp`, and the ensemble trainer, :mod:`runs.methods.ensemble`).
"""

from __future__ import annotations

import numpy as np

from agents.rule import Rule
from networks.builders import layered
from networks.compile import compile_graph
from networks.engines import make_engine

#: what a settled learner keeps of every example between its visits, whatever else
ROOTS = ("x", "lam")


def carried_vars(rule: Rule, params) -> tuple[str, ...]:
    """The per-example variables a step of ``rule`` under ``params`` carries over.

    A mini-batch trainer keeps these of every training example between its visits and
    swaps only them in and out of the engine: the others a step writes before it reads
    them, or their values reach nothing that lasts. Derived from the rule, not listed:

    * candidates: the per-example node variables a stage reads (``Stage.reads``, every
      node variable when a stage does not declare them) or sends on a channel;
    * a candidate is carried when it is one of :data:`ROOTS` (x, λ: what the learner
      reports) or when its value at the start of a step changes, by the end of that
      step, a carried variable or anything kept across steps without an example axis
      (weights, biases, their optimiser moments). Whether it does depends on the
      params (LP reads the Adam moments and ``age`` of x and λ only under Adam): it is
      probed on a three-neuron chain — one step from random state, then again with the
      candidate's value changed — to a fixed point. For LP: x, λ, plus s in the
      one-round rule (its backward message is the previous visit's s), plus ``age`` and
      the moments of x and λ under Adam.

    The equality tests (single runs swapping everything against these; ensembles against
    single runs) check that swapping only these changes nothing.
    """
    key = (id(rule), params)
    if key not in _CARRIED:
        _CARRIED[key] = (rule, _carried(rule, params))
    return _CARRIED[key][1]


#: carried_vars's results by (id(rule), params), each with its rule (keeps the id valid)
_CARRIED: dict = {}


def _carried(rule: Rule, params) -> tuple[str, ...]:
    batched = [v.name for v in rule.node_vars if v.batched]
    read: set[str] = set()
    for stage in rule.stages:
        read |= set(batched if stage.reads is None else stage.reads)
        read |= {ch.source for ch in stage.channels}
    candidates = [v for v in batched if v in read]
    kept = set(ROOTS) | {v.name for v in rule.all_node_vars if not v.batched} | \
        {v.name for v in rule.all_edge_vars}
    carried = {v for v in ROOTS if v in candidates}
    changed = True
    while changed:
        changed = False
        for var in candidates:
            if var not in carried and _reaches(rule, params, var, kept | carried):
                carried.add(var)
                changed = True
    return tuple(v for v in batched if v in carried)


def _reaches(rule: Rule, params, var: str, targets: set[str]) -> bool:
    """Whether changing ``var`` before one step changes one of ``targets`` after it."""
    net = compile_graph(layered([1, 1, 1], "sigmoid", seed=0))
    for seed in (1, 2):
        ends = []
        for shift in (0.0, 0.5):
            rng = np.random.default_rng(seed)
            eng = make_engine("vector", net, rule, params, batch=2, check_finite=False)
            for name in (*eng.node_var_names, *eng.edge_var_names):
                shape = np.shape(eng.state(name))
                eng.set_state(name, rng.uniform(0.2, 1.2, size=shape)
                              + (shift if name == var else 0.0))
            with np.errstate(all="ignore"):
                eng.advance(rng.uniform(-1, 1, (1, 2)), rng.uniform(0, 1, (1, 2)))
            ends.append({t: eng.state(t) for t in sorted(targets)})
        if any(not np.array_equal(ends[0][t], ends[1][t], equal_nan=True) for t in targets):
            return True
    return False
