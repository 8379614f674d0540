"""harness_ext.charts: the heat maps and the checkpoint series, as PNG and as inline SVG."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness_ext import charts

IMPORTANCE = [[0.1, 5.0, 0.0], [4.0, 0.2, None]]  # 2 layers x 3 heads, one head without a value
EFFECT = [[0.0, 0.9, -1.0], [1.0, -0.3, None]]


def _heat(title: str = "heads of heads.json: layer x head") -> object:
    return charts.heads_figure(
        [
            charts.HeatPanel("importance (post)", IMPORTANCE),
            charts.HeatPanel("effect (post - base)", EFFECT, diverging=True),
        ],
        title=title,
        emergent=[(0, 1), (1, 0)],
        compensatory=[(0, 2)],
        marked=[("cand", {(1, 1)}), ("whole", {(0, None)})],
    )


def _series(**extra: object) -> object:
    return charts.series_figure(
        ["L0H1", "L1H0"],
        ["ckpt-100", "ckpt-200", "ckpt-300"],
        [[2, 1, 0], [0, 2, 2]],
        title="heads over checkpoints",
        **extra,
    )


def _texts(svg: str) -> list[str]:
    return re.findall(r"<text\b[^>]*>([^<]*)</text>", svg)


def test_heat_map_svg_is_an_inline_plot_with_text() -> None:
    import matplotlib

    fonttype = matplotlib.rcParams["svg.fonttype"]
    svg = charts.to_svg(_heat(), title="heads of heads.json: layer x head")
    assert svg.startswith('<svg class="plot" id="chart-')
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg and "<metadata" not in svg
    texts = _texts(svg)
    for label in (
        "head",
        "layer",
        "importance (post)",
        "effect (post - base)",
        "heads of heads.json: layer x head",
        "emergent head (in the file's emergent list)",
        "compensatory head",
        "cand intervened on it",
        "whole intervened on it",
    ):
        assert label in texts, label
    assert re.findall(r'id="(mark-[^"]*)"', svg) == ["mark-heat-0", "mark-heat-1"]
    root = ET.fromstring(svg)  # one well-formed element (a doubled attribute would not parse)
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("class") == "plot"
    assert root.get("aria-label") == "heads of heads.json: layer x head"
    assert root.get("role") == "img"
    assert f'<style type="text/css">#{root.get("id")} *{{' in svg  # matplotlib's rule: this chart's
    assert matplotlib.rcParams["svg.fonttype"] == fonttype  # no global state left behind


def test_svg_is_deterministic_and_escaped() -> None:
    assert charts.to_svg(_heat(), title="t") == charts.to_svg(_heat(), title="t")
    assert charts.to_svg(_series(), title="s") == charts.to_svg(_series(), title="s")
    svg = charts.to_svg(_heat('a <b> & "c"'), title='a <b> & "c"')
    assert 'aria-label="a &lt;b&gt; &amp; &quot;c&quot;"' in svg
    ET.fromstring(svg)


def test_series_svg_and_reward_panel() -> None:
    svg = charts.to_svg(_series(), title="heads over checkpoints")
    texts = _texts(svg)
    for label in (
        "head",
        "checkpoint",
        "heads over checkpoints",
        "L0H1",
        "L1H0",
        "ckpt-100",
        "ckpt-300",
        "emergent",
        "in the post circuit only",
        "not in the post circuit",
    ):
        assert label in texts, label
    assert re.findall(r'id="(mark-[^"]*)"', svg) == ["mark-series"]
    fig = _series(steps=[10, 30, 70], rewards=[0.25, None, 0.75])
    reward_ax, grid_ax = fig.axes
    line = reward_ax.get_lines()[0]
    assert list(line.get_xdata()) == [10, 70] and list(line.get_ydata()) == [0.25, 0.75]
    assert [t.get_text() for t in grid_ax.get_xticklabels()] == ["10", "30", "70"]
    assert grid_ax.get_xlabel() == "step" and reward_ax.get_ylabel() == "reward"
    assert "mark-reward" in charts.to_svg(fig, title="with rewards")


def _overlaps(fig: object) -> list[tuple[str, str]]:
    """Pairs of drawn texts whose boxes overlap, by matplotlib's metrics (the browser check,
    scripts/check_report_html.py, measures Chromium's); tick labels outside the view are not
    drawn."""
    from matplotlib.text import Text

    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    ticks, drawn = set(), []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            locs = list(axis.get_majorticklocs())
            for tick in axis.get_major_ticks(len(locs)) + axis.get_minor_ticks():
                ticks |= {id(tick.label1), id(tick.label2)}
            drawn += [
                tick.label1
                for tick, loc in zip(axis.get_major_ticks(len(locs)), locs)
                if low - 1e-9 <= loc <= high + 1e-9
            ]
    drawn += [t for t in fig.findobj(Text) if id(t) not in ticks]
    boxes = [
        (t.get_text(), t.get_window_extent(renderer))
        for t in drawn
        if t.get_visible() and t.get_text()
    ]
    return [
        (a, b)
        for i, (a, p) in enumerate(boxes)
        for b, q in boxes[i + 1 :]
        if min(p.x1, q.x1) - max(p.x0, q.x0) > 1 and min(p.y1, q.y1) - max(p.y0, q.y0) > 1
    ]


@pytest.mark.parametrize(("layers", "heads"), [(1, 1), (2, 3), (28, 12), (28, 28), (32, 32)])
def test_heat_map_ticks_never_overlap(layers: int, heads: int) -> None:
    grid = [
        [(layer * heads + head) / (layers * heads) for head in range(heads)]
        for layer in range(layers)
    ]
    fig = charts.heads_figure(
        [
            charts.HeatPanel("importance (post)", grid),
            charts.HeatPanel("importance (base)", grid),
            charts.HeatPanel("effect", grid, diverging=True),
        ],
        title="heads",
        emergent=[(0, 0)],
    )
    assert _overlaps(fig) == []
    ax = fig.axes[0]
    visible = [t for t in ax.get_xticks() if -0.5 <= t <= heads - 0.5]
    assert all(float(t).is_integer() for t in visible) and 1 <= len(visible) <= heads


@pytest.mark.parametrize("steps", [None, [10, 20, 1000, 1010, 5000]])
def test_series_ticks_never_overlap(steps: list[int] | None) -> None:
    names = [f"checkpoint-{i}" for i in range(5 if steps else 40)]
    rows = [f"L{i}H{i % 7}" for i in range(60)]
    states = [[(i + j) % 3 for j in range(len(names))] for i in range(len(rows))]
    fig = charts.series_figure(
        rows,
        names,
        states,
        title="heads over checkpoints",
        steps=steps,
        rewards=[0.1 * i for i in range(len(names))] if steps else None,
    )
    assert _overlaps(fig) == []


def test_png_is_written_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "heads.png"
    target.write_bytes(b"old")
    replaced: list[tuple[str, str]] = []
    real_replace = os.replace
    monkeypatch.setattr(
        os,
        "replace",
        lambda src, dst: replaced.append((str(src), str(dst))) or real_replace(src, dst),
    )
    previous = os.umask(0o027)
    try:
        assert charts.save_png(_heat(), target) == target
    finally:
        os.umask(previous)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    ((source, destination),) = replaced
    assert Path(source).parent == tmp_path and destination == str(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heads.png"]  # no temporary file left

    fig = _series()

    def broken(*args: object, **kwargs: object) -> None:
        args[0].write(b"half")  # type: ignore[attr-defined]
        raise RuntimeError("disk full")

    fig.savefig = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="disk full"):
        charts.save_png(fig, target)
    assert target.read_bytes()[:4] == b"\x89PNG"  # the old file stays
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heads.png"]


@pytest.mark.integration  # a fresh interpreter
def test_importing_charts_does_not_import_matplotlib() -> None:
    code = (
        "import sys, harness_ext.charts; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'numpy')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_no_panel_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one panel"):
        charts.heads_figure([], title="none")


def test_overlap_measure_finds_crowded_labels() -> None:
    grid = [[0.0] * 28 for _ in range(28)]
    fig = charts.heads_figure([charts.HeatPanel("importance", grid)], title="crowded")
    fig.axes[0].set_xticks(range(28))  # every head labelled: no room for that
    assert _overlaps(fig)


def test_outputs_close_a_pyplot_figure(tmp_path: Path) -> None:
    from matplotlib import pyplot as plt

    for write in (
        lambda fig: charts.to_svg(fig, title="p"),
        lambda fig: charts.save_png(fig, tmp_path / "p.png"),
    ):
        fig = plt.figure()
        fig.add_subplot().plot([0, 1])
        write(fig)
        assert fig.number not in plt.get_fignums()


# ---------------------------------------------------------------- the report's bars and boxes


def _ids(svg: str) -> list[str]:
    return re.findall(r'id="(mark-[^"]*)"', svg)


def test_grouped_bars_mark_each_bar_with_its_tooltip_and_value() -> None:
    chart = charts.grouped_bars(
        [
            ("aime24\neasy", [charts.Bar("base", 0.5, 0.25, 0.75), charts.Bar("cand", 1.0)]),
            ("aime24\nall", [charts.Bar("base", 0.0, tooltip="base <all> & more")]),
        ],
        title="accuracy",
    )
    svg = chart.to_svg()
    assert _ids(svg) == ["mark-bar-0", "mark-bar-1", "mark-bar-2"]
    assert '<g id="mark-bar-2"><title>base &lt;all&gt; &amp; more</title>' in svg
    texts = _texts(svg)
    assert {"50", "100", "0", "aime24", "easy", "all", "accuracy"} <= set(texts)
    ET.fromstring(svg)
    again = charts.grouped_bars([("g", [charts.Bar("base", 0.5)])], title="accuracy").to_svg()
    assert (
        again == charts.grouped_bars([("g", [charts.Bar("base", 0.5)])], title="accuracy").to_svg()
    )


def test_stacked_bars_skip_empty_segments() -> None:
    chart = charts.stacked_bars(
        [
            (
                "aime24 / all / base",
                [charts.Segment("correct", 3, "#0f0"), charts.Segment("x", 0, "#f00")],
            ),
            (
                "aime24 / all / cand",
                [charts.Segment("correct", 1, "#0f0"), charts.Segment("x", 3, "#f00")],
            ),
        ],
        title="labels",
    )
    svg = chart.to_svg()
    assert _ids(svg) == ["mark-segment-0", "mark-segment-1", "mark-segment-2"]
    assert "aime24 / all / cand: x 3 of 4 (75%)" in svg


def test_a_box_of_equal_quartiles_still_shows() -> None:
    chart = charts.box_plot(
        [
            (
                "g",
                [
                    charts.BoxSeries("base", [100.0] * 5, "#4e79a7"),
                    charts.BoxSeries("c", [], "#f00"),
                ],
            )
        ],
        title="lengths",
        y_label="tokens",
        limit=4096,
    )
    ax = chart.figure.axes[0]
    (box,) = [p for p in ax.patches if p.get_gid() == "mark-box-0"]
    extent = box.get_path().get_extents()
    assert extent.height > 0.01 * 4096  # drawn at least 2% of the axis high
    assert chart.tooltips == {
        "mark-box-0": "base: n=5, median 100, quartiles 100-100, range 100-100"
    }
    chart.to_svg()
