"""Detect a training run that collapsed, from the per-evaluation history it already keeps.

A run *collapses* when its forward-pass predictor, after having learned, loses what it
learned and does not get it back: measured on LP with a cyclic network
(``runs/configs/cyclic_lp.toml``, old settings), the recurrent weights grow until the
forward map is no longer contractive and the frozen-weight (x, λ) step's spectral radius
exceeds 1 (:mod:`networks.lp_stability`). The LP state x then keeps fitting the training
set (``state_acc`` = 1) while the forward predictor, which is what is reported, swings
between 0.2 and 1 in train accuracy from one evaluation to the next.

:func:`detect_collapse` looks only at the rows of the history (``step``, ``train_acc``
and, when present, ``state_acc``, ``mean_violation``, ``max_violation``, ``loss``,
``lagrangian``) and returns a message naming the cause, the step and the metric, or None.
Training accuracy is used, never test accuracy (stopping on the test set would leak it).
The rules, in order:

1. **Divergence**: a watched metric is not finite.
2. **Accuracy collapse**: on at least ``hits`` of the last ``window`` evaluations the
   train accuracy is at least ``drop`` below the best train accuracy of the evaluations
   before it, not counting the untrained network's (``step`` 0: an initial network that
   happens to score well has learned nothing; LP's slow start from x = 0 can fall below
   it, measured on moons with a 2–7–5–1 DAG: 0.82 at step 0, 0.51 at step 10). The
   message adds the cause when it can be seen: the LP state still
   classifies the training set (``state_acc`` ≥ train accuracy + ``gap``) while the
   predictor does not, i.e. x has left the network's forward fixed point.
3. **Constraint collapse**: on at least ``hits`` of the last ``window`` evaluations the
   LP state's accuracy exceeds the predictor's by ``gap`` or more *and* the mean
   constraint violation is at least ``growth`` times its smallest value so far (the
   constraints, which tie x to the forward pass, have stopped holding). The growth
   condition keeps LP's normal slow start, where x fits the targets before the weights
   do but the violation is still shrinking, from firing.

Violation growth alone is not a trigger: in healthy runs (accuracy 1.0 throughout) the
mean violation was measured to grow ×14 and the maximum ×54 above their minima as those
minima approach 0.

Thresholds (defaults), measured with ``eval_every`` 10 and 20 epochs on the cyclic moons
config, 10 seeds each: collapsed runs (old settings) drop ≥ 0.34 below their best on 2 of
3 consecutive evaluations with a state/predictor gap ≥ 0.45 and violation growth ×3.3–7.4;
runs that end well under the old settings dip by ≤ 0.15; healthy runs (contractive
recurrent weights) by ≤ 0.01, with gaps ≤ 0.31 only during the first evaluations. The
detector fired on the 4 collapsed runs of 10 (both periods), on none of 120 healthy
cyclic runs, 24 LP runs on DAGs (moons, XOR, wine; x = 0 or forward start) and 18 BP
runs (XOR with ``n_examples=4``).
"""

from __future__ import annotations

import math

from agents.errors import ConfigError

#: Metrics that must stay finite when present.
FINITE = ("loss", "lagrangian", "mean_violation", "max_violation", "train_acc")


def _need(row: dict, key: str, k: int):
    if key not in row:
        raise ConfigError(f"history row {k} has no {key!r}; detect_collapse needs 'step' and "
                          f"'train_acc' in every row, got keys {sorted(row)}")
    return row[key]


def _violation(row: dict) -> str:
    if "mean_violation" not in row:
        return ""
    return (f"mean constraint violation {row['mean_violation']:.3g}, "
            f"max {row.get('max_violation', math.nan):.3g}")


def detect_collapse(history: list[dict], *, n_examples: int | None = None, drop: float = 0.25,
                    gap: float = 0.25, growth: float = 3.0, window: int = 3, hits: int = 2,
                    min_flips: int = 3) -> str | None:
    """Return why the run collapsed at its last evaluation, or None if it did not.

    Meant to be called after each evaluation (the last row is the newest); it looks at the
    last ``window`` rows against everything before them.

    Args:
        history: evaluation rows in step order; each has ``step`` and ``train_acc``;
            ``state_acc``, ``mean_violation``, ``max_violation``, ``loss`` and
            ``lagrangian`` are used when present.
        n_examples: size of the training set the accuracies are measured on. With it, a
            drop or a gap must also amount to ``min_flips`` examples (on 4 XOR examples one
            flipped example moves the accuracy by 0.25: measured, LP's slow start then
            swings by 0.25–0.5 without collapsing). Pass it for small training sets.
        drop: accuracy drop below the best so far that counts as collapsed (in [0, 1]).
        gap: ``state_acc − train_acc`` that counts as the LP state and the predictor
            disagreeing.
        growth: factor over its smallest value so far by which the mean violation must
            have grown for a constraint collapse.
        window: number of most recent evaluations looked at.
        hits: how many of them must show the collapse (1 <= hits <= window).
        min_flips: fewest examples a drop or gap must involve (with ``n_examples``).

    Returns:
        A one-line message naming the cause, the step and the metric, or None.

    Raises:
        ConfigError: for a bad threshold or a row without ``step`` or ``train_acc``.
    """
    if not (0 < drop <= 1 and 0 < gap <= 1 and growth > 1 and 1 <= hits <= window
            and min_flips >= 1 and (n_examples is None or n_examples >= 1)):
        raise ConfigError(f"detect_collapse needs 0 < drop <= 1, 0 < gap <= 1, growth > 1, "
                          f"1 <= hits <= window, min_flips >= 1 and n_examples >= 1; got "
                          f"drop={drop}, gap={gap}, growth={growth}, hits={hits}, "
                          f"window={window}, min_flips={min_flips}, n_examples={n_examples}")
    if n_examples is not None:
        drop, gap = max(drop, min_flips / n_examples), max(gap, min_flips / n_examples)
    if not history:
        return None
    steps = [_need(r, "step", k) for k, r in enumerate(history)]
    acc = [_need(r, "train_acc", k) for k, r in enumerate(history)]
    last = history[-1]
    for key in FINITE:
        if key in last and not math.isfinite(last[key]):
            return f"step {steps[-1]}: the {key} is no longer finite (the run diverged)"
    recent = range(max(1, len(history) - window), len(history))
    if len(recent) < hits:
        return None

    # 2. accuracy collapse: each recent row against the best of the rows before it
    learned = [k for k in range(len(history)) if steps[k] > 0]  # step 0: untrained
    best_k = [max((j for j in learned if j < k), key=acc.__getitem__, default=k)
              for k in recent]
    fallen = [k for k, b in zip(recent, best_k, strict=True) if acc[b] - acc[k] >= drop]
    if len(fallen) >= hits:
        b = best_k[-1]
        msg = (f"step {steps[-1]}: train accuracy collapsed to {acc[-1]:.3f} from its best "
               f"{acc[b]:.3f} (step {steps[b]}), at least {drop:.2f} below on "
               f"{len(fallen)} of the last {len(recent)} evaluations")
        s = last.get("state_acc")
        if s is not None and s - acc[-1] >= gap:
            msg += (f"; the LP state still classifies {s:.3f} of the training set, so x has "
                    f"left the network's forward fixed point ({_violation(last)}): the "
                    "recurrent forward map or the (x, λ) dynamics lost stability")
        elif "mean_violation" in last:
            msg += f"; {_violation(last)}"
        return msg

    # 3. constraint collapse: LP state and predictor disagree while the violation grows
    if "state_acc" in last and "mean_violation" in last:
        mv = [r.get("mean_violation", math.nan) for r in history]
        split = []
        for k in recent:
            low = min((v for v in mv[1:k] if v > 0), default=math.nan)
            if history[k].get("state_acc", -1) - acc[k] >= gap and mv[k] >= growth * low:
                split.append((k, low))
        if len(split) >= hits:
            k, low = split[-1]
            return (f"step {steps[k]}: constraint collapse: the LP state classifies "
                    f"{history[k]['state_acc']:.3f} of the training set but the forward "
                    f"predictor {acc[k]:.3f}, and the mean constraint violation grew to "
                    f"{mv[k]:.3g} (×{mv[k] / low:.1f} its minimum) on {len(split)} of the "
                    f"last {len(recent)} evaluations: x no longer follows the forward pass")
    return None
