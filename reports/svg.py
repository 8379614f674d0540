"""Small inline SVG charts for the HTML report: no JavaScript, no network, no dependencies.

Every chart is an ``<svg class="plot">`` whose data marks carry ``class="mark"`` and a
``<title>`` tooltip; ``scripts/check_report_html.py`` fails on a plot without marks.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from statistics import quantiles
from typing import Optional, Sequence

__all__ = ["Bar", "BoxSeries", "Segment", "box_plot", "grouped_bars", "legend", "stacked_bars"]

RUN_COLORS = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#b07aa1",
    "#76b7b2",
    "#edc948",
    "#ff9da7",
    "#9c755f",
)
LABEL_COLORS = {
    "correct": "#59a14f",
    "truncated": "#9c9c9c",
    "logical_loop": "#b07aa1",
    "no_answer": "#d4a6c8",
    "calculation_error": "#e15759",
    "found_then_lost": "#f28e2b",
    "reasoning_error": "#4e79a7",
    "unlabeled": "#dddddd",
}
EXTRA_COLORS = ("#76b7b2", "#edc948", "#9c755f", "#ff9da7", "#86bcb6", "#d37295")
MIN_BOX_PX = 6.0
FONT = 'font-family="system-ui, -apple-system, \'Segoe UI\', sans-serif" font-size="12"'


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top`` (1, 2 or 5 times a power of ten)."""
    import math

    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [step * k for k in range(int(math.ceil(top / step - 1e-9)) + 1)]


def run_color(index: int) -> str:
    return RUN_COLORS[index % len(RUN_COLORS)]


def label_color(label: str, known: Sequence[str] = ()) -> str:
    if label in LABEL_COLORS:
        return LABEL_COLORS[label]
    extra = [name for name in known if name not in LABEL_COLORS]
    index = extra.index(label) if label in extra else len(extra)
    return EXTRA_COLORS[index % len(EXTRA_COLORS)]


@dataclass(frozen=True)
class Bar:
    series: str
    value: float
    low: Optional[float] = None
    high: Optional[float] = None
    color: str = "#4e79a7"
    tooltip: str = ""


@dataclass(frozen=True)
class Segment:
    name: str
    count: int
    color: str


@dataclass(frozen=True)
class BoxSeries:
    series: str
    values: Sequence[float]
    color: str


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" {FONT}>'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _y_label(text: str, middle: float) -> str:
    return (
        f'<text x="14" y="{middle:.0f}" transform="rotate(-90 14 {middle:.0f})" '
        f'text-anchor="middle" fill="#555">{escape(text)}</text>'
    )


CHAR_PX = 7.2  # width of one character of a group label (12 px sans-serif), generously


def _group_width(name: str, content: float, least: float) -> float:
    """A group's width on the x axis: its bars or boxes, and room for its label's longest line
    (the browser check fails on labels that overlap)."""
    label = CHAR_PX * max(len(part) for part in name.split("\n")) + 10
    return max(least, content, label)


def _group_label(name: str, center: float, axis_y: float) -> list[str]:
    """A group's name under the x axis, one text line per ``\\n``-separated part."""
    return [
        f'<text x="{center:.1f}" y="{axis_y + 16 + 14 * line}" text-anchor="middle" '
        f'fill="#333">{escape(part)}</text>'
        for line, part in enumerate(name.split("\n"))
    ]


def legend(items: Sequence[tuple[str, str]]) -> str:
    """An HTML legend (name, color) to put under a chart."""
    cells = "".join(
        f'<span class="key"><i style="background:{color}"></i>{escape(name)}</span>'
        for name, color in items
    )
    return f'<div class="legend">{cells}</div>'


def grouped_bars(
    groups: Sequence[tuple[str, Sequence[Bar]]],
    *,
    title: str,
    y_label: str = "accuracy",
    y_max: float = 1.0,
) -> str:
    """Vertical bars grouped on the x axis (one group per task and tier), 0..y_max, with
    optional interval whiskers."""
    bar_w, gap, group_gap, min_group = 22, 3, 22, 78
    left, top, bottom, plot_h = 62, 16, 50, 200
    widths = [
        _group_width(name, len(bars) * (bar_w + gap) - gap, min_group) for name, bars in groups
    ]
    width = left + sum(widths) + group_gap * (len(groups) + 1) + 10
    height = top + plot_h + bottom
    body: list[str] = []
    for k in range(6):
        value = y_max * k / 5
        y = top + plot_h - plot_h * k / 5
        body.append(
            f'<line x1="{left}" x2="{width - 6}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e4e4"/>'
        )
        body.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">'
            f"{value * 100:.0f}%</text>"
            if y_max == 1.0
            else f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">'
            f"{value:.0f}</text>"
        )
    body.append(_y_label(y_label, top + plot_h / 2))

    def y_of(value: float) -> float:
        return top + plot_h - plot_h * max(0.0, min(value, y_max)) / y_max

    x = left + group_gap
    for (name, bars), group_w in zip(groups, widths, strict=True):
        offset = (group_w - (len(bars) * (bar_w + gap) - gap)) / 2
        for index, bar in enumerate(bars):
            bx = x + offset + index * (bar_w + gap)
            y = y_of(bar.value)
            label = f"{bar.value * 100:.0f}" if y_max == 1.0 else f"{bar.value:.0f}"
            label_y = min(y, y_of(bar.high) if bar.high is not None else y) - 4
            body.append(
                f'<text x="{bx + bar_w / 2:.1f}" y="{label_y:.1f}" text-anchor="middle" '
                f'font-size="10" fill="#333">{label}</text>'
            )
            tip = escape(bar.tooltip or f"{bar.series}: {bar.value:.3f}")
            h = max(top + plot_h - y, 1.0)  # a zero still shows as a hairline
            body.append(
                f'<rect class="mark" x="{bx}" y="{top + plot_h - h:.1f}" width="{bar_w}" '
                f'height="{h:.1f}" fill="{bar.color}"><title>{tip}</title></rect>'
            )
            if bar.low is not None and bar.high is not None:
                cx = bx + bar_w / 2
                y1, y2 = y_of(bar.low), y_of(bar.high)
                body.append(
                    f'<path d="M{cx:.1f} {y1:.1f}V{y2:.1f}M{cx - 4:.1f} {y1:.1f}h8'
                    f'M{cx - 4:.1f} {y2:.1f}h8" stroke="#222" stroke-width="1.2"/>'
                )
        body.extend(_group_label(name, x + group_w / 2, top + plot_h))
        x += group_w + group_gap
    body.append(
        f'<line x1="{left}" x2="{width - 6}" y1="{top + plot_h}" y2="{top + plot_h}" '
        f'stroke="#888"/>'
    )
    return _svg(width, height, title, body)


def stacked_bars(rows: Sequence[tuple[str, Sequence[Segment]]], *, title: str) -> str:
    """Horizontal 100% bars, one per row, split into named segments."""
    left, right, row_h, bar_h, top = 230, 16, 24, 16, 8
    plot_w = 460
    width = left + plot_w + right
    height = top + row_h * len(rows) + 24
    body: list[str] = []
    for k in range(5):
        x = left + plot_w * k / 4
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{height - 20}" '
            f'stroke="#eee"/><text x="{x:.1f}" y="{height - 6}" text-anchor="middle" '
            f'fill="#555">{25 * k}%</text>'
        )
    for index, (name, segments) in enumerate(rows):
        y = top + index * row_h
        body.append(
            f'<text x="{left - 8}" y="{y + bar_h - 3}" text-anchor="end" fill="#333">'
            f"{escape(name)}</text>"
        )
        total = sum(segment.count for segment in segments)
        x = float(left)
        for segment in segments:
            if segment.count <= 0 or total <= 0:
                continue
            w = plot_w * segment.count / total
            tip = escape(
                f"{name}: {segment.name} {segment.count} of {total} "
                f"({100 * segment.count / total:.0f}%)"
            )
            body.append(
                f'<rect class="mark" x="{x:.1f}" y="{y}" width="{w:.1f}" '
                f'height="{bar_h}" fill="{segment.color}"><title>{tip}</title></rect>'
            )
            x += w
    return _svg(width, height, title, body)


def box_plot(
    groups: Sequence[tuple[str, Sequence[BoxSeries]]],
    *,
    title: str,
    y_label: str,
    limit: Optional[float] = None,
) -> str:
    """Box plots (quartiles, whiskers at min and max, median line) grouped on the x axis, with
    an optional dashed line at ``limit`` (the token budget)."""
    box_w, gap, group_gap, min_group = 22, 6, 22, 78
    left, top, bottom, plot_h = 72, 12, 50, 200
    all_values = [v for _, series in groups for s in series for v in s.values]
    ticks = nice_ticks(max([*all_values, limit or 0, 1.0]))
    y_max = ticks[-1]
    widths = [
        _group_width(name, len(series) * (box_w + gap) - gap, min_group) for name, series in groups
    ]
    width = left + sum(widths) + group_gap * (len(groups) + 1) + 10
    height = top + plot_h + bottom

    def y_of(value: float) -> float:
        return top + plot_h - plot_h * value / y_max

    body: list[str] = []
    for value in ticks:
        y = y_of(value)
        body.append(
            f'<line x1="{left}" x2="{width - 6}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#e4e4e4"/><text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
            f'fill="#555">{value:,.{0 if value == int(value) else 1}f}</text>'
        )
    body.append(_y_label(y_label, top + plot_h / 2))
    if limit:
        y = y_of(limit)
        body.append(
            f'<line x1="{left}" x2="{width - 6}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#c00" stroke-dasharray="4 3"><title>token budget '
            f"{limit:,.0f}</title></line>"
        )
    x = left + group_gap
    for (name, series_list), group_w in zip(groups, widths, strict=True):
        offset = (group_w - (len(series_list) * (box_w + gap) - gap)) / 2
        for index, series in enumerate(series_list):
            values = sorted(series.values)
            if not values:
                continue
            bx = x + offset + index * (box_w + gap)
            low, high = values[0], values[-1]
            if len(values) >= 2:
                q1, q2, q3 = quantiles(values, n=4, method="inclusive")
            else:
                q1 = q2 = q3 = values[0]
            cx = bx + box_w / 2
            box_top, box_h = y_of(q3), y_of(q1) - y_of(q3)
            if box_h < MIN_BOX_PX:  # equal quartiles: a thin box that still shows its colour
                box_top, box_h = y_of(q2) - MIN_BOX_PX / 2, MIN_BOX_PX
            tip = escape(
                f"{series.series}: n={len(values)}, median {q2:,.0f}, "
                f"quartiles {q1:,.0f}-{q3:,.0f}, range {low:,.0f}-{high:,.0f}"
            )
            body.append(
                f'<g class="mark"><title>{tip}</title>'
                f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y_of(low):.1f}" '
                f'y2="{y_of(high):.1f}" stroke="#444"/>'
                f'<rect x="{bx}" y="{box_top:.1f}" width="{box_w}" '
                f'height="{box_h:.1f}" fill="{series.color}" '
                f'fill-opacity="0.85" stroke="#333"/>'
                f'<line x1="{bx}" x2="{bx + box_w}" y1="{y_of(q2):.1f}" '
                f'y2="{y_of(q2):.1f}" stroke="#111" stroke-width="1.5"/></g>'
            )
        body.extend(_group_label(name, x + group_w / 2, top + plot_h))
        x += group_w + group_gap
    body.append(
        f'<line x1="{left}" x2="{width - 6}" y1="{top + plot_h}" y2="{top + plot_h}" '
        f'stroke="#888"/>'
    )
    return _svg(width, height, title, body)
