"""The report's charts of runs: accuracy as grouped bars with interval whiskers, the failure-label
mix as stacked 100% bars, and response lengths as box plots, grouped by task and tier.

Each builder returns a :class:`Chart`: the Figure, its title and a tooltip per data mark (the
numbers behind a bar, a segment or a box, shown on hover in ``report.html``). Every mark has a
gid starting ``mark-``, which ``scripts/check_report_html.py`` measures. Group labels may hold
``\\n`` (task, then tier). The legends are the report's (HTML under the chart), so the figures
draw none; :func:`run_colour` and :func:`label_colour` give the colours both use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional, Sequence

from harness_ext.charts.render import CHAR_IN, new_figure, style, to_svg

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "Bar",
    "BoxSeries",
    "Chart",
    "Segment",
    "box_plot",
    "grouped_bars",
    "label_colour",
    "run_colour",
    "stacked_bars",
]

RUN_COLOURS = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#b07aa1",
    "#76b7b2",
    "#edc948",
    "#ff9da7",
    "#9c755f",
)
LABEL_COLOURS = {
    "correct": "#59a14f",
    "truncated": "#9c9c9c",
    "logical_loop": "#b07aa1",
    "no_answer": "#d4a6c8",
    "calculation_error": "#e15759",
    "found_then_lost": "#f28e2b",
    "reasoning_error": "#4e79a7",
    "unlabeled": "#dddddd",
}
EXTRA_COLOURS = ("#76b7b2", "#edc948", "#9c755f", "#ff9da7", "#86bcb6", "#d37295")
LIMIT_COLOUR = "#cc0000"  # the token budget's dashed line
SLOT_IN = 0.3  # the width of one bar or box on the x axis, in inches
PLOT_H_IN = 2.8  # the height of the grouped charts' plotting area, in inches
MIN_BOX_SHARE = 0.02  # the least height of a box, as a share of the y axis


def run_colour(index: int) -> str:
    """The colour of the ``index``-th run, in every chart and legend."""
    return RUN_COLOURS[index % len(RUN_COLOURS)]


def label_colour(label: str, known: Sequence[str] = ()) -> str:
    """The colour of a failure label: fixed for the built-in ones, else by its place among the
    other ``known`` labels."""
    if label in LABEL_COLOURS:
        return LABEL_COLOURS[label]
    extra = [name for name in known if name not in LABEL_COLOURS]
    index = extra.index(label) if label in extra else len(extra)
    return EXTRA_COLOURS[index % len(EXTRA_COLOURS)]


@dataclass(frozen=True)
class Bar:
    """One bar: a run's ``value`` (0..y_max), with an optional interval ``low``..``high``."""

    series: str
    value: float
    low: Optional[float] = None
    high: Optional[float] = None
    color: str = RUN_COLOURS[0]
    tooltip: str = ""


@dataclass(frozen=True)
class Segment:
    """One part of a stacked bar: ``count`` responses with the label ``name``."""

    name: str
    count: int
    color: str


@dataclass(frozen=True)
class BoxSeries:
    """One box: a run's values (response lengths) in one group."""

    series: str
    values: Sequence[float]
    color: str


@dataclass
class Chart:
    """A chart ready to be written: its Figure, title and tooltips (by mark gid)."""

    figure: Figure
    title: str
    tooltips: dict[str, str] = field(default_factory=dict)

    def to_svg(self) -> str:
        """The chart as an inline ``<svg class="plot">`` (closes the figure)."""
        return to_svg(self.figure, title=self.title, tooltips=self.tooltips)


def _group_axis(names: Sequence[str], sizes: Sequence[int]) -> tuple[list[float], float]:
    """Each group's centre on the x axis (one unit per slot) and the figure width: a group is
    as wide as its slots or its label's longest line, whichever is wider."""
    widths = [
        max(size * SLOT_IN + 0.2, max(len(part) for part in name.split("\n")) * CHAR_IN + 0.15)
        for name, size in zip(names, sizes)
    ]
    centres, x = [], 0.0
    for width in widths:
        centres.append((x + width / 2) / SLOT_IN)
        x += width
    return centres, max(4.0, x + 1.1)


def _finish_groups(ax: Axes, centres: Sequence[float], names: Sequence[str], y_label: str) -> None:
    ax.set_xticks(list(centres), list(names))
    ax.tick_params(axis="x", length=0)
    ax.set_xlim(0, (centres[-1] * 2 - centres[-2]) if len(centres) > 1 else centres[0] * 2)
    ax.set_ylabel(y_label)
    ax.grid(axis="y", color="#e4e4e4", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def grouped_bars(
    groups: Sequence[tuple[str, Sequence[Bar]]],
    *,
    title: str,
    y_label: str = "accuracy",
    y_max: float = 1.0,
) -> Chart:
    """Vertical bars grouped on the x axis (one group per task and tier), 0..y_max (shown in
    percent when 1), each labelled with its value, with optional interval whiskers."""
    from matplotlib.ticker import PercentFormatter

    percent = y_max == 1.0
    names = [name for name, _ in groups] or [""]
    centres, width = _group_axis(names, [len(bars) for _, bars in groups] or [1])
    chart = Chart(new_figure(width, PLOT_H_IN + 0.9), title)
    with style():
        ax = chart.figure.subplots()
        for centre, (_, bars) in zip(centres, groups):
            for slot, bar in enumerate(bars):
                x = centre + slot - (len(bars) - 1) / 2
                value = max(0.0, min(bar.value, y_max))
                (rect,) = ax.bar(x, value, width=0.85, color=bar.color)
                gid = f"mark-bar-{len(chart.tooltips)}"
                rect.set_gid(gid)
                chart.tooltips[gid] = bar.tooltip or f"{bar.series}: {bar.value:.3f}"
                top = value
                if bar.low is not None and bar.high is not None:
                    low, high = max(0.0, bar.low), min(bar.high, y_max)
                    ax.errorbar(
                        x,
                        value,
                        [[value - low], [high - value]],
                        fmt="none",
                        ecolor="#222222",
                        elinewidth=1.0,
                        capsize=2.5,
                    )
                    top = max(top, high)
                label = f"{bar.value * 100:.0f}" if percent else f"{bar.value:.0f}"
                ax.annotate(
                    label,
                    (x, top),
                    xytext=(0, 2),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=7,
                    color="#333333",
                )
        ax.set_ylim(0, y_max * 1.08)  # room for the labels over a full bar
        if percent:
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        _finish_groups(ax, centres, names, y_label)
    return chart


def stacked_bars(rows: Sequence[tuple[str, Sequence[Segment]]], *, title: str) -> Chart:
    """Horizontal 100% bars, one per row (top to bottom), split into named segments."""
    from matplotlib.ticker import PercentFormatter

    label_in = max([len(name) for name, _ in rows] or [0]) * CHAR_IN
    chart = Chart(new_figure(label_in + 6.0, 0.26 * max(1, len(rows)) + 0.7), title)
    with style():
        ax = chart.figure.subplots()
        for y, (name, segments) in enumerate(rows):
            total = sum(segment.count for segment in segments)
            left = 0.0
            for segment in segments:
                if segment.count <= 0 or total <= 0:
                    continue
                share = segment.count / total
                (rect,) = ax.barh(y, share, left=left, height=0.7, color=segment.color)
                gid = f"mark-segment-{len(chart.tooltips)}"
                rect.set_gid(gid)
                chart.tooltips[gid] = (
                    f"{name}: {segment.name} {segment.count} of {total} ({100 * share:.0f}%)"
                )
                left += share
        ax.set_yticks(range(len(rows)), [name for name, _ in rows])
        ax.set_ylim(len(rows) - 0.5, -0.5)  # the first row on top
        ax.set_xlim(0, 1)
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.grid(axis="x", color="#eeeeee", linewidth=0.8)
        ax.set_axisbelow(True)
        ax.tick_params(axis="y", length=0)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    return chart


def box_plot(
    groups: Sequence[tuple[str, Sequence[BoxSeries]]],
    *,
    title: str,
    y_label: str,
    limit: Optional[float] = None,
) -> Chart:
    """Box plots (quartiles, whiskers at the minimum and maximum, a median line) grouped on the
    x axis, with an optional dashed line at ``limit`` (the token budget)."""
    from matplotlib.ticker import StrMethodFormatter

    names = [name for name, _ in groups] or [""]
    centres, width = _group_axis(names, [len(series) for _, series in groups] or [1])
    top = max([v for _, series in groups for s in series for v in s.values] + [limit or 0, 1.0])
    chart = Chart(new_figure(width, PLOT_H_IN + 0.9), title)
    with style():
        ax = chart.figure.subplots()
        for centre, (_, series_list) in zip(centres, groups):
            for slot, series in enumerate(series_list):
                if series.values:
                    x = centre + slot - (len(series_list) - 1) / 2
                    _box(chart, ax, x, series, least=top * MIN_BOX_SHARE)
        if limit:
            ax.axhline(limit, color=LIMIT_COLOUR, linestyle="--", linewidth=1.0)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        _finish_groups(ax, centres, names, y_label)
    return chart


def _box(chart: Chart, ax: Axes, x: float, series: BoxSeries, *, least: float) -> None:
    """One box of :func:`box_plot` at ``x``, with its tooltip; a box of (nearly) equal
    quartiles is drawn ``least`` high around its median, so that its colour still shows."""
    from statistics import quantiles

    values = sorted(series.values)
    low, high = values[0], values[-1]
    q1, q2, q3 = quantiles(values, n=4, method="inclusive") if len(values) > 1 else values * 3
    box_low, box_high = (q1, q3) if q3 - q1 >= least else (q2 - least / 2, q2 + least / 2)
    parts = ax.bxp(
        [{"whislo": low, "q1": box_low, "med": q2, "q3": box_high, "whishi": high}],
        positions=[x],
        widths=0.7,
        showfliers=False,
        patch_artist=True,
        boxprops={"facecolor": series.color, "edgecolor": "#333333", "alpha": 0.9},
        medianprops={"color": "#111111", "linewidth": 1.5},
        whiskerprops={"color": "#444444"},
        capprops={"color": "#444444"},
    )
    box = parts["boxes"][0]
    gid = f"mark-box-{len(chart.tooltips)}"
    box.set_gid(gid)
    chart.tooltips[gid] = (
        f"{series.series}: n={len(values)}, median {q2:,.0f}, "
        f"quartiles {q1:,.0f}-{q3:,.0f}, range {low:,.0f}-{high:,.0f}"
    )
