"""Shared pieces of the plots: figures without pyplot, saving, labels, scales, limits.

Figures are built with :class:`matplotlib.figure.Figure` (the object-oriented API), so
making one neither selects nor changes matplotlib's backend and nothing is registered
with pyplot: a notebook keeps its backend, and figures are freed with their last
reference. :func:`save_figure` writes one to a file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

#: Axis labels of the metric columns the runs record.
METRIC_LABELS = {
    "test_acc": "test accuracy",
    "train_acc": "training accuracy",
    "loss": "training loss",
    "test_loss": "test loss",
    "cos_bptt": "cosine(update, BPTT gradient over the same window)",
    "cosine": "cosine(update, BPTT gradient over the same window)",
    "fidelity": "cosine(update, BPTT gradient over the same window)",
    "max_violation": "max constraint violation |G|",
    "dist_fixed_point": "distance to the fixed point max|x(t) − x*|",
    "mean_abs_x": "mean |x| over non-input neurons",
    "epoch": "epoch (passes over the training set)",
    "step": "time step t",
    "T": "hold time T (steps per example)",
}

#: One line style per variant (architecture, swept parameter...), in order.
LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)))

#: Values whose largest/smallest ratio reaches this span "decades" and get a log axis.
DECADES_RATIO = 10.0


def new_figure(width: float = 6.4, height: float = 4.2, **kw) -> Figure:
    """A figure made without pyplot (backend untouched), constrained layout."""
    return Figure(figsize=(width, height), layout="constrained", **kw)


def save_figure(fig: Figure, path, *, dpi: int = 120) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix), creating the parent folder.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def metric_label(name: str) -> str:
    """Human axis label of a metric or column name (the name itself if unknown)."""
    return METRIC_LABELS.get(name, name.replace("_", " "))


def spans_decades(values, ratio: float = DECADES_RATIO) -> bool:
    """Whether the finite positive ``values`` are all > 0 and max/min ≥ ``ratio``."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return bool(v.size and v.min() > 0 and v.max() / v.min() >= ratio)


def colors(n: int) -> list:
    """``n`` distinguishable colours: tab10 up to 10, tab20 up to 20, then viridis."""
    from matplotlib import colormaps

    if n <= 10:
        return [colormaps["tab10"](k) for k in range(n)]
    if n <= 20:
        return [colormaps["tab20"](k) for k in range(n)]
    return [colormaps["viridis"](k / (n - 1)) for k in range(n)]


def robust_limits(values, *, signed: bool | None = None, lo: float = 1.0,
                  hi: float = 99.0) -> tuple[float, float]:
    """Colour limits that one outlier cannot saturate: the ``lo``–``hi`` percentiles.

    Args:
        values: any array; NaN and inf are ignored.
        signed: symmetric limits ``(-m, m)`` with ``m`` the ``hi`` percentile of |v|
            (for a diverging map); default: when the values take both signs.
        lo: lower percentile (unsigned values).
        hi: upper percentile.

    Returns:
        ``(vmin, vmax)`` with ``vmin < vmax`` (see :func:`nonconstant_limits`).
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not v.size:
        return (0.0, 1.0)
    if signed is None:
        signed = bool(v.min() < 0 < v.max())
    if signed:
        m = float(np.percentile(np.abs(v), hi))
        m = m if m > 0 else float(np.abs(v).max())
        return (-m, m) if m > 0 else (-1.0, 1.0)
    a, b = float(np.percentile(v, lo)), float(np.percentile(v, hi))
    if b <= a:  # mostly one value (e.g. a sparse raster of changes): the full range
        a, b = float(v.min()), float(v.max())
    return nonconstant_limits(a, b)


def nonconstant_limits(vmin: float, vmax: float) -> tuple[float, float]:
    """``(vmin, vmax)``, widened to include 0 when the data are constant.

    A constant ``c`` gets ``[0, c]`` (``[c, 0]`` if negative, ``[0, 1]`` if zero)
    rather than a scale of rounding noise around ``c``.
    """
    if vmax > vmin:
        return (float(vmin), float(vmax))
    c = float(vmin)
    if c > 0:
        return (0.0, c)
    return (c, 0.0) if c < 0 else (0.0, 1.0)
