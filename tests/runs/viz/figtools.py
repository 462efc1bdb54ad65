"""Helpers for the figure tests: draw a figure without pyplot and read its pieces."""

from matplotlib.backends.backend_agg import FigureCanvasAgg


def draw(fig):
    """Lay the figure out on an Agg canvas (no backend change) and return its renderer."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def legend_texts(fig) -> list[str]:
    """Every legend entry of the figure (figure legends and axes legends)."""
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    return [t.get_text() for leg in legends for t in leg.get_texts()]
