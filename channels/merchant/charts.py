"""The back office's charts: drawn on the server with matplotlib, sent as PNG."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from fastapi.responses import Response

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 100


def figure(width: float, height: float) -> Figure:
    """A figure of ``width`` × ``height`` inches (100 pixels each)."""
    # imported here: matplotlib takes a while to load, and only the charts need it
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def finish(axes: Axes, *, grid: str = "both") -> None:
    """Counts start at zero, the legend stands beside the plot, a light grid behind."""
    axes.set_ylim(bottom=0)
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9)
    axes.grid(axis=grid, alpha=0.3)


def png(drawn: Figure) -> Response:
    out = io.BytesIO()
    drawn.savefig(out, format="png")
    return Response(out.getvalue(), media_type="image/png",
                    headers={"Cache-Control": "no-store"})
