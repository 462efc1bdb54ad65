"""What all neurons of one agent engine share: the rule resolved once (:class:`RulePlan`).

Each :class:`~agents.neuron.NeuronAgent` keeps only its own state and wiring; the
tables every neuron would otherwise repeat — which variables have delay buffers, the
declared dtype and shape of every variable, each stage's update functions and Hebbian
products, read-only role masks and ones rows — live here, once per engine.
"""

from __future__ import annotations

import numpy as np


def delay_groups(slots: np.ndarray, delay: np.ndarray) -> tuple:
    """``((slots_d, d, rows_d or None), ...)``: an edge list split by delay.

    ``rows_d`` are the positions of the delay-``d`` edges in the list (None when every
    edge has the same delay).
    """
    if len(delay) == 0:
        return ()
    if delay.min() == delay.max():
        return ((slots, int(delay[0]), None),)
    return tuple((slots[rows], int(d), rows)
                 for d in np.unique(delay) for rows in [np.flatnonzero(delay == d)])


def _frozen(arr: np.ndarray) -> np.ndarray:
    """``arr`` made read-only (shared by many neurons)."""
    arr.flags.writeable = False
    return arr


class RulePlan:
    """What every neuron of one engine shares: the rule's stages resolved once.

    Args:
        rule: the rule.
        state: one neuron's node variables (their dtypes and shapes are everyone's).
        edge_state: one neuron's edge variables (their dtypes).

    Attributes:
        delayed: names of the variables with a delay buffer, in ring order.
        checks: ``{var: (dtype, shape, one value)}`` of node variables.
        edge_dtypes: ``{var: dtype}`` of edge variables.
        stages: per stage ``(node_update, edge_update, hebb)``, ``hebb`` as
            ``((name, stage, read, post), ...)``: the channel is the neuron's read ``read``
            of stage ``stage``.
        channels: per stage, the names of its channels (in read order).
        last: index of the last stage.
        true, false: read-only (1, 1) flags shared as role masks and ``has_target``.
    """

    def __init__(self, rule, state, edge_state):
        self.rule = rule
        self.delayed = tuple(rule.delayed_sources)
        self.n_delayed = len(self.delayed)
        #: the one delayed variable, if there is exactly one (pushed inline)
        self.push_one = self.delayed[0] if self.n_delayed == 1 else None
        self.slot = {name: k for k, name in enumerate(self.delayed)}
        self.checks = {name: (arr.dtype, arr.shape, arr.size == 1)
                       for name, arr in state.items()}
        self.edge_dtypes = {name: arr.dtype for name, arr in edge_state.items()}
        self.channels = tuple(tuple(ch.name for ch in st.channels) for st in rule.stages)
        where = {name: (k, r) for k, names in enumerate(self.channels)
                 for r, name in enumerate(names)}
        self.stages = tuple((st.node_update, st.edge_update,
                             tuple((name, *where[chan], post)
                                   for name, (post, chan) in st.hebb.items()))
                            for st in rule.stages)
        self.last = len(rule.stages) - 1
        self._ones: dict = {}
        self.true, self.false = (_frozen(np.full((1, 1), flag)) for flag in (True, False))
        self.no_target = _frozen(np.zeros_like(state[rule.output_var]))

    def ones(self, k: int, dtype) -> np.ndarray:
        """A shared (1, k) row of ones (sums a backward inbox of k messages)."""
        key = (k, np.dtype(dtype))
        if key not in self._ones:
            self._ones[key] = _frozen(np.ones((1, k), dtype=dtype))
        return self._ones[key]
