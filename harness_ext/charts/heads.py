"""The charts of attention heads: the layer x head heat maps of a heads file (with the heads
each run intervened on marked) and the heads of a checkpoint series. :func:`heads_figure` and
:func:`series_figure` build a Figure, which goes to a PNG (``sparks discover``) or an inline
SVG (``sparks report``) through :mod:`harness_ext.charts.render`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Collection, Optional, Sequence

from harness_ext.charts.render import CHAR_IN, new_figure, style

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "COMPENSATORY_COLOUR",
    "EMERGENT_COLOUR",
    "STATE_LABELS",
    "HeatPanel",
    "heads_figure",
    "series_figure",
]

EMERGENT_COLOUR = "#d62728"
COMPENSATORY_COLOUR = "#1f77b4"
UNSTABLE_COLOUR = "#888888"  # emergent heads that a bootstrap finds unstable
MARKED_COLOUR = "#000000"
MARKERS = ("o", "s", "^", "D", "v", "P")  # one per run that intervened (repeating)
STATE_COLOURS = ("#f4f4f4", "#9ecae1", "#08519c")  # series cells: 0, 1, 2
STATE_LABELS = ("not in the post circuit", "in the post circuit only", "emergent")
REWARD_COLOUR = "#d95f02"


@dataclass(frozen=True)
class HeatPanel:
    """One layer x head panel: ``values[layer][head]`` (None: no value, drawn grey)."""

    title: str
    values: Sequence[Sequence[float | None]]
    diverging: bool = False  # True: a -1..1 diverging scale (effect), else lowest..highest


Heads = Collection[tuple[int, int]]
Marked = Sequence[tuple[str, Collection[tuple[int, Optional[int]]]]]


def heads_figure(
    panels: Sequence[HeatPanel],
    *,
    title: str,
    emergent: Heads = (),
    compensatory: Heads = (),
    marked: Marked = (),
    unstable: Heads = (),
) -> Figure:
    """Heat maps side by side, layer 0 at the bottom, each with its colour bar. On every panel
    the ``emergent`` heads are outlined red, the ``compensatory`` ones blue, and the heads of
    each ``marked`` entry (run name, its heads; head None: the whole layer) get that run's
    marker; a legend under the panels names them. ``unstable`` heads (emergent, but not in
    most bootstrap resamples) are outlined grey."""
    if not panels:
        raise ValueError("a heat map needs at least one panel")
    n_layers = len(panels[0].values)
    n_heads = max(len(row) for row in panels[0].values)
    panel_w = min(2.8, max(1.4, 0.12 * n_heads))
    panel_h = min(4.2, max(1.4, 0.14 * n_layers))
    cell_pt = min(panel_w * 72 / max(1, n_heads), panel_h * 72 / max(1, n_layers))
    groups = [
        (heads, colour, label)
        for heads, colour, label in (
            (emergent, EMERGENT_COLOUR, "emergent head (in the file's emergent list)"),
            (compensatory, COMPENSATORY_COLOUR, "compensatory head"),
            (unstable, UNSTABLE_COLOUR, "emergent, not stable (< 80% of bootstrap resamples)"),
        )
        if heads
    ]
    # heads outside the file's grid (a spec for a bigger model) have no cell to mark
    marked = [
        (
            name,
            [
                (layer, head)
                for layer, head in heads
                if 0 <= layer < n_layers and (head is None or 0 <= head < n_heads)
            ],
        )
        for name, heads in marked
    ]
    marked = [(name, heads) for name, heads in marked if heads]
    labels = [label for _, _, label in groups] + [f"{name} intervened on it" for name, _ in marked]
    width = max(
        len(panels) * (panel_w + 1.3) + 0.4,
        CHAR_IN * 1.3 * len(title) + 0.5,
        CHAR_IN * max((len(label) for label in labels), default=0) + 1.0,
    )
    with style():
        fig = new_figure(width, panel_h + 1.2 + 0.2 * len(labels))
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for index, (ax, panel) in enumerate(zip(axes, panels)):
            _heat_panel(fig, ax, panel, index)
            _outline(ax, groups, cell_pt)
            _mark(ax, marked, n_heads, cell_pt)
        if labels:
            fig.legend(
                handles=_legend_handles(groups, marked),
                loc="outside lower center",
                ncols=1,
                frameon=False,
            )
        fig.suptitle(title)
    return fig


def _heat_panel(fig: Figure, ax: Axes, panel: HeatPanel, index: int) -> None:
    """One panel of :func:`heads_figure`: the heat map and its colour bar."""
    import numpy as np
    from matplotlib import colormaps
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    values = np.array(
        [[math.nan if v is None else v for v in row] for row in panel.values], dtype=float
    )
    cmap = colormaps["BrBG" if panel.diverging else "viridis"]
    image = ax.imshow(
        values,
        origin="lower",
        aspect="auto",
        interpolation="none",
        cmap=cmap.with_extremes(bad="#dddddd"),
        vmin=-1.0 if panel.diverging else None,  # None: lowest..highest
        vmax=1.0 if panel.diverging else None,
    )
    image.set_gid(f"mark-heat-{index}")  # the data mark scripts/check_report_html.py finds
    ax.set_title(panel.title)
    ax.set(xlabel="head", ylabel="layer")
    for axis in (ax.xaxis, ax.yaxis):  # whole heads and layers, as many as fit unhidden
        axis.set_major_locator(MaxNLocator(nbins="auto", integer=True, min_n_ticks=1))
    bar = fig.colorbar(image, ax=ax, fraction=0.1, pad=0.04)
    if panel.diverging:
        bar.set_ticks([-1.0, -0.5, 0.0, 0.5, 1.0])
    else:
        bar.formatter = FuncFormatter(lambda v, _: f"{v:.3g}")  # no offset text
        bar.update_ticks()


def _outline(ax: Axes, groups: Sequence[tuple[Heads, str, str]], cell_pt: float) -> None:
    from matplotlib import patheffects
    from matplotlib.patches import Rectangle

    width = min(2.0, max(0.8, cell_pt / 8))
    halo = [patheffects.withStroke(linewidth=width + 1.2, foreground="white")]  # any cell colour
    for heads, colour, _ in groups:
        for layer, head in heads:
            ax.add_patch(
                Rectangle(
                    (head - 0.5, layer - 0.5),
                    1,
                    1,
                    fill=False,
                    edgecolor=colour,
                    linewidth=width,
                    path_effects=halo,
                    zorder=3,
                )
            )


def _mark(ax: Axes, marked: Marked, n_heads: int, cell_pt: float) -> None:
    for index, (_, heads) in enumerate(marked):
        points = sorted(
            {
                (layer, h)
                for layer, head in heads
                for h in (range(n_heads) if head is None else (head,))
            }
        )
        if points:  # later runs' markers smaller, so that two runs on one head both show
            # most of a cell, at least 5 pt across (a 30-layer map has cells of about 8 pt)
            size = (min(12.0, max(5.0, cell_pt * 0.7)) * (1 - 0.2 * (index % 3))) ** 2
            ax.scatter(
                [h for _, h in points],
                [layer for layer, _ in points],
                s=size,
                marker=MARKERS[index % len(MARKERS)],
                c=MARKED_COLOUR,
                edgecolors="white",
                linewidths=0.8,
                zorder=4,
            )


def _legend_handles(groups: Sequence[tuple[Heads, str, str]], marked: Marked) -> list[Any]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = [
        Patch(fill=False, edgecolor=colour, linewidth=1.5, label=label)
        for _, colour, label in groups
    ]
    handles += [
        Line2D(
            [],
            [],
            linestyle="none",
            marker=MARKERS[i % len(MARKERS)],
            color=MARKED_COLOUR,
            markersize=7,
            label=f"{name} intervened on it",
        )
        for i, (name, _) in enumerate(marked)
    ]
    return handles


def series_figure(
    rows: Sequence[str],
    checkpoints: Sequence[str],
    states: Sequence[Sequence[int]],
    *,
    title: str,
    steps: Sequence[int | None] | None = None,
    rewards: Sequence[float | None] | None = None,
    state_labels: Sequence[str] = STATE_LABELS,
) -> Figure:
    """A head x checkpoint grid, one row per head (labelled by ``rows``): ``states[row][column]``
    is 0, 1 or 2, drawn light grey, light blue and dark blue, and named in the legend by
    ``state_labels`` (by default :data:`STATE_LABELS`: 2 is emergent). The columns sit at the
    ``steps`` when all are known and increasing, else at 0, 1, ... labelled by ``checkpoints``.
    With a reward known for some checkpoint, a panel above draws ``rewards`` on the same axis."""
    n = len(checkpoints)
    xs, edges, on_steps = _step_axis(list(steps) if steps is not None else [None] * n)
    rewards = list(rewards) if rewards is not None else [None] * n
    has_reward = any(r is not None for r in rewards)
    grid = [list(row) for row in states] or [[0] * n]
    shown = sorted({s for row in grid for s in row} | {2})
    width = min(12.0, max(4.5, 2.0 + 0.9 * n, CHAR_IN * 1.3 * len(title) + 0.5))
    grid_h = min(16.0, 0.2 * max(1, len(rows)))
    with style():
        from matplotlib.colors import ListedColormap
        from matplotlib.patches import Patch

        fig = new_figure(width, grid_h + 1.6 + 0.18 * len(shown) + (1.6 if has_reward else 0))
        axes = fig.subplots(
            2 if has_reward else 1,
            1,
            sharex=True,
            squeeze=False,
            height_ratios=[1.6, grid_h] if has_reward else None,
        )[:, 0]
        grid_ax = axes[-1]
        mesh = grid_ax.pcolormesh(
            edges,
            range(len(grid) + 1),
            grid,
            vmin=0,
            vmax=2,
            cmap=ListedColormap(STATE_COLOURS),
            edgecolors="white",
            linewidth=0.5,
        )
        mesh.set_gid("mark-series")  # the data mark scripts/check_report_html.py finds
        grid_ax.invert_yaxis()
        every = max(1, math.ceil(len(rows) * 12 / (grid_h * 72)))  # 12 pt per label at least
        grid_ax.set_yticks([i + 0.5 for i in range(0, len(rows), every)], list(rows[::every]))
        names = [str(x) for x in xs] if on_steps else [_short(name) for name in checkpoints]
        _column_ticks(grid_ax, xs, edges, names, width, upright_always=on_steps)
        grid_ax.set(
            xlabel="step" if on_steps else "checkpoint", ylabel="head", xlim=(edges[0], edges[-1])
        )
        if has_reward:
            (line,) = axes[0].plot(
                [x for x, r in zip(xs, rewards) if r is not None],
                [r for r in rewards if r is not None],
                marker="o",
                color=REWARD_COLOUR,
            )
            line.set_gid("mark-reward")
            axes[0].set(ylabel="reward")
        fig.legend(
            handles=[
                Patch(facecolor=STATE_COLOURS[s], edgecolor="#999999", label=state_labels[s])
                for s in reversed(shown)
            ],
            loc="outside lower center",
            ncols=1,
            frameon=False,
        )
        fig.suptitle(title)
    return fig


def _column_ticks(
    ax: Axes,
    xs: Sequence[int],
    edges: Sequence[float],
    names: Sequence[str],
    width: float,
    *,
    upright_always: bool,
) -> None:
    """Label the checkpoint columns: upright when they fit (always for steps), else turned,
    and only as many as fit side by side."""
    n = len(names)
    upright = upright_always or all(
        len(name) * CHAR_IN + 0.1 < (width - 2) / max(1, n) for name in names
    )
    extent = (max(len(name) for name in names) * CHAR_IN + 0.12) if upright else 0.22
    kept = _spaced(xs, extent * (edges[-1] - edges[0]) / max(1.0, width - 2.0))
    ax.set_xticks([xs[i] for i in kept], [names[i] for i in kept], rotation=0 if upright else 90)


def _short(name: str, limit: int = 24) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "\u2026"


def _spaced(xs: Sequence[float], gap: float) -> list[int]:
    """The indices of ``xs`` (increasing) to label, left to right, each at least ``gap`` from
    the last one kept. By hand: the ticks are the checkpoints' own positions, which a
    matplotlib locator (round numbers) would not pick."""
    kept: list[int] = []
    for i, x in enumerate(xs):
        if not kept or x - xs[kept[-1]] >= gap:
            kept.append(i)
    return kept


def _step_axis(steps: Sequence[int | None]) -> tuple[list[int], list[float], bool]:
    """Column centres and edges, and whether they are steps: the steps when all are known and
    increasing, else the checkpoint indices 0, 1, ..."""
    given = [s for s in steps if s is not None]
    known = (
        bool(steps) and len(given) == len(steps) and all(b > a for a, b in zip(given, given[1:]))
    )
    xs = given if known else list(range(len(steps)))
    if len(xs) <= 1:
        centre = xs[0] if xs else 0
        return xs or [0], [centre - 0.5, centre + 0.5], known
    mids = [(a + b) / 2 for a, b in zip(xs, xs[1:])]
    return xs, [2 * xs[0] - mids[0], *mids, 2 * xs[-1] - mids[-1]], known
