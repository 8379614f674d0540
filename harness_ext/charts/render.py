"""Turning a matplotlib Figure into what sparks writes: a PNG file (``sparks discover``) or an
inline ``<svg class="plot">`` element (``report.html``), both deterministic and closing the
figure; and the figure, style and size helpers every chart of :mod:`harness_ext.charts` uses.

The SVG keeps its text as ``<text>`` (``svg.fonttype: none``); data marks have ids starting
``mark-`` (``artist.set_gid``), which ``scripts/check_report_html.py`` measures, and may carry
a tooltip (a ``<title>`` inside the mark's group). matplotlib is imported inside functions only.
"""

from __future__ import annotations

import hashlib
import io
import sys
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["CHAR_IN", "DPI", "close", "new_figure", "save_png", "style", "to_svg"]

DPI = 110  # the PNGs'
CHAR_IN = 0.075  # inches per character of an 8-9 pt DejaVu Sans label, a generous mean
# Applied while a figure is built and while it is saved: tick labels are made at draw time.
_STYLE: dict[Any, Any] = {
    "font.size": 9,
    "axes.titlesize": 10,
    "figure.titlesize": 11,
    "legend.fontsize": 8,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
}
# SVG metadata: none at all (no date, no matplotlib version), so the bytes depend on the input only
_NO_METADATA = {"Date": None, "Format": None, "Type": None, "Creator": None}


def save_png(fig: Figure, path: Path, *, dpi: int = DPI) -> Path:
    """Write ``fig`` as a PNG at ``path`` atomically (:func:`harness_ext.atomic.write_atomic_with`:
    a temporary file beside it, then ``os.replace``; mode 0o666 less the umask), close it, and
    return ``path``."""
    from harness_ext.atomic import write_atomic_with

    try:
        with style():
            return write_atomic_with(
                Path(path), lambda out: fig.savefig(out, format="png", dpi=dpi), suffix=".png"
            )
    finally:
        close(fig)


def to_svg(fig: Figure, *, title: str, tooltips: Optional[Mapping[str, str]] = None) -> str:
    """``fig`` as an inline ``<svg class="plot" role="img" aria-label=TITLE>`` element (no XML
    prolog, no DOCTYPE), its text as ``<text>``, the same bytes for the same figure; closes it.
    ``tooltips`` maps a mark's gid (``mark-...``) to the text a browser shows on hover."""
    import matplotlib

    chart_id = "chart-" + hashlib.sha1(title.encode("utf-8")).hexdigest()[:10]
    # a salt of the title's: fixed for a chart, yet two charts on one page get distinct ids
    svg_rc: dict[Any, Any] = {
        "svg.fonttype": "none",
        "svg.hashsalt": f"sparks {title}",
        "svg.image_inline": True,
    }
    if "svg.id" in matplotlib.rcParams:  # matplotlib >= 3.8: the root gets our id only
        svg_rc["svg.id"] = None
    buffer = io.StringIO()
    try:
        with style(), matplotlib.rc_context(svg_rc):
            fig.savefig(buffer, format="svg", metadata=_NO_METADATA)
    finally:
        close(fig)
    text = buffer.getvalue()
    # By hand, edits of matplotlib's output, which is a standalone file and has no option for
    # them: the root element loses the prolog and DOCTYPE before it and gets the class and
    # aria-label that the report's CSS and scripts/check_report_html.py look for (svg.plot);
    # its default style rule "*{...}", which inline would style the whole page, is scoped to
    # this chart; and each mark's group (matplotlib writes an artist's gid as <g id=...>)
    # gets its tooltip, an SVG <title>.
    start = text.index("<svg ")
    end = text.index(">", start) + 1
    label = escape(title, quote=True)
    root = (
        f'<svg class="plot" id="{chart_id}" role="img" aria-label="{label}" {text[start + 5 : end]}'
    )
    rule = '<style type="text/css">*{'
    body = text[end:].replace(rule, f'<style type="text/css">#{chart_id} *{{', 1)
    for gid, tip in (tooltips or {}).items():
        group = f'<g id="{escape(gid, quote=True)}">'
        body = body.replace(group, f"{group}<title>{escape(tip, quote=False)}</title>", 1)
    return f"{root}<title>{label}</title>{body.rstrip()}"


def new_figure(width: float, height: float) -> Figure:
    """A Figure drawn by Agg with a constrained layout; not registered with pyplot, so that
    nothing global is left behind."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def close(fig: Figure) -> None:
    """Release ``fig``: pyplot's too, when pyplot made it (our figures are not pyplot's)."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)


def style() -> Any:
    """A context in which figures are built and saved in sparks' style (font sizes)."""
    import matplotlib

    return matplotlib.rc_context(_STYLE)
