"""The charts of sparks, one stack: matplotlib. Every chart is a Figure that goes to a PNG
(``sparks discover``) or an inline SVG (``report.html``) through :mod:`~harness_ext.charts.render`.

* :mod:`~harness_ext.charts.heads`: the layer x head heat maps of a heads file, with the heads
  each run intervened on marked, and the heads of a checkpoint series;
* :mod:`~harness_ext.charts.bars`: the report's accuracy bars (with intervals), failure-label
  mix (stacked bars) and response lengths (box plots).

A base package: it imports nothing of sparks' features, and matplotlib only inside functions.
"""

from __future__ import annotations

from harness_ext.charts.bars import (
    LIMIT_COLOUR,
    Bar,
    BoxSeries,
    Chart,
    Segment,
    box_plot,
    grouped_bars,
    label_colour,
    run_colour,
    stacked_bars,
)
from harness_ext.charts.heads import (
    COMPENSATORY_COLOUR,
    EMERGENT_COLOUR,
    STATE_LABELS,
    HeatPanel,
    heads_figure,
    series_figure,
)
from harness_ext.charts.render import save_png, to_svg

__all__ = [
    "LIMIT_COLOUR",
    "COMPENSATORY_COLOUR",
    "EMERGENT_COLOUR",
    "STATE_LABELS",
    "Bar",
    "BoxSeries",
    "Chart",
    "HeatPanel",
    "Segment",
    "box_plot",
    "grouped_bars",
    "heads_figure",
    "label_colour",
    "run_colour",
    "save_png",
    "series_figure",
    "stacked_bars",
    "to_svg",
]
