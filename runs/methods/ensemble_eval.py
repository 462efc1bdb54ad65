"""An ensemble's members seen as single runs' learners, evaluated at once on their union.

:class:`MemberLearner` is member k of an
:class:`~runs.methods.ensemble.EnsembleSettledLearner` with a learner's interface (what
its :class:`~runs.methods.loop.RunLog` reads).

A member's evaluation (:class:`runs.methods.loop.RunLog`) is the forward-pass predictor's
loss and accuracies (:func:`runs.methods.evaluate.evaluate`), LP's metrics
(:func:`runs.methods.lp.lp_metrics`, with ``cos_bptt`` one BP gradient) and, after
training, the saturation check — each a few sparse products on one small network, so
evaluating K members one by one costs K times the per-call overhead. Here they run once
on the ensemble's union network (:func:`networks.ensemble_union.union_network`: the
members as one network of K·N neurons, member k's rows and edges contiguous), with the
members' inputs, targets, states and parameters stacked row-wise. The union's weight
matrix is block-diagonal, so every row of every product sums exactly the member's own
entries in the member's own order, and every per-edge product is the member's own dense
block product: each member's numbers are those of its own evaluation (the tests check
them against single runs). The per-member reductions (means, sums, accuracies, the
cosine) then run on each member's slices with the single run's own functions.

Only for members of one layered DAG shape (dense blocks) with one parameter object and
equally large test sets; anything else, or an error on the union (e.g. a non-finite
value, which must be pinned on its member), leaves each member to its own evaluation.
"""

from __future__ import annotations

import numpy as np

from agents.activations import ActivationMap
from networks.oracles import bp_gradient, forward_pass
from runs.methods.evaluate import (
    all_saturated,
    evaluate,
    output_metrics,
    saturated,
    weight_matrix,
)
from runs.methods.lagrangian import lagrangian_gradient, lp_terms
from runs.methods.lp import SettledLearner, lp_metrics, lp_row


def union_evaluation(group) -> UnionEvaluation | None:
    """The :class:`UnionEvaluation` of an ensemble learner, or None where it does not apply."""
    nets, datasets, params = group.nets, group.datasets, group.params
    if not group.ens.engine.stacked or len(set(params)) > 1 or not nets[0].is_dag or \
            len({d.inputs("test").shape[1] for d in datasets}) > 1:
        return None
    return UnionEvaluation(group)


class UnionEvaluation:
    """The members' evaluations at the current step, computed once per step count.

    Args:
        group: an :class:`runs.methods.ensemble.EnsembleSettledLearner`.
    """

    def __init__(self, group):
        self.group, self.union = group, group.ens.union
        self.N, self.K = group.ens.n_nodes, group.K
        d = group.datasets
        self.U = {s: np.concatenate([x.inputs(s) for x in d]) for s in ("train", "test")}
        self.Y = np.concatenate([x.targets("train") for x in d])
        self._done: tuple | None = None   # (steps, with_cosine, per-member results)

    def member(self, k: int, with_cosine: bool) -> dict | None:
        """Member k's ``{"eval", "metrics", "saturated"}`` now, or None (evaluate alone)."""
        key = (self.group.steps, with_cosine)
        if self._done is None or self._done[0] != key:
            try:
                self._done = (key, self._compute(with_cosine))
            except Exception:  # noqa: BLE001 - each member evaluates alone (and raises)
                self._done = (key, None)
        rows = self._done[1]
        return None if rows is None else rows[k]

    def _compute(self, with_cosine: bool) -> list[dict]:
        g, union, N, K = self.group, self.union, self.N, self.K
        weight, bias = (np.asarray(v, dtype=np.float64) for v in g.parameters())
        w, b = weight.reshape(-1), bias.reshape(-1)
        U, Y = self.U["train"], self.Y
        p = g.params[0]
        states = [g.state(k) for k in range(K)]
        x = np.concatenate([s["x"] for s in states]).astype(np.float64)
        lam = np.concatenate([s["lam"] for s in states]).astype(np.float64)
        out_train = forward_pass(union, U, w, b)[1]
        out_test = forward_pass(union, self.U["test"], w, b)[1]
        with np.errstate(over="ignore", invalid="ignore"):    # (as saturated())
            a = weight_matrix(union, w) @ out_train + b[:, None]
            df = ActivationMap(union.activation).df(a, out_train)
        t = lp_terms(union, x, lam, w, b, U, p)
        lp = ref = None
        if with_cosine:
            lp = lagrangian_gradient(union, x, lam, w, b, U, Y, p, terms=t)["weight"]
            ref = bp_gradient(union, U, Y, p.loss, w, b).dw
        E, rows = g.ens.n_edges, []
        for k, (net, data) in enumerate(zip(g.nets, g.datasets, strict=True)):
            nodes, edges = slice(k * N, (k + 1) * N), slice(k * E, (k + 1) * E)
            outs = [o[nodes][net.output_idx] for o in (out_train, out_test)]
            terms = {name: v[nodes] for name, v in t.items()}
            rows.append({
                "eval": output_metrics(*outs, data, p.loss),
                "metrics": lp_row(net, terms, lam[nodes], weight[k], data, p,
                                  None if lp is None else lp[edges],
                                  None if ref is None else ref[edges]),
                "saturated": all_saturated(net, df[nodes])})
        return rows


class MemberLearner:
    """Member k of an ensemble learner (``group``), with a single run learner's interface."""

    watched = SettledLearner.watched

    def __init__(self, group, k: int, with_cosine: bool):
        self.group, self.k, self.with_cosine = group, k, with_cosine
        self.engine = group.ens.member(k)

    @property
    def steps(self) -> int:
        """Engine steps so far (every member steps together)."""
        return self.group.steps

    def parameters(self) -> tuple[np.ndarray, np.ndarray]:
        """Current ``(weight, bias)`` of the member (copies)."""
        weight, bias = self.group.parameters()
        return weight[self.k].copy(), bias[self.k].copy()

    def state(self) -> dict:
        """The member's x and λ (see :meth:`EnsembleSettledLearner.state`)."""
        return self.group.state(self.k)

    def evaluate(self, loss: str) -> dict:
        """:func:`runs.methods.evaluate.evaluate` of the member now."""
        g, k = self.group, self.k
        done = g.evaluation(k, self.with_cosine)
        if done is None or loss != g.params[k].loss:
            return evaluate(g.nets[k], *self.parameters(), g.datasets[k], loss)
        return done["eval"]

    def metrics(self) -> dict:
        """:func:`runs.methods.lp.lp_metrics` of the member's state."""
        g, k = self.group, self.k
        done = g.evaluation(k, self.with_cosine)
        if done is not None:
            return done["metrics"]
        s = self.state()
        return lp_metrics(g.nets[k], s["x"], s["lam"], *self.parameters(),
                          g.datasets[k], g.params[k], with_cosine=self.with_cosine)

    def saturated(self) -> bool:
        """:func:`runs.methods.evaluate.saturated` of the member's predictor now."""
        g, k = self.group, self.k
        done = g.evaluation(k, self.with_cosine)
        if done is not None:
            return done["saturated"]
        return saturated(g.nets[k], g.datasets[k].inputs("train"), *self.parameters())
