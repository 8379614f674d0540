"""A ``sparks discover`` heads file inside a report (``sparks report --heads heads.json``).

:func:`load_heads` reads and checks the file; :func:`heads_heatmap` draws layer x head heat maps
(importance in the post model, and effect when the file has a base) as inline SVG, with the
emergent heads outlined and the heads each run intervened on marked. The terminal, markdown
and JSON outputs list the top emergent heads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any, Optional, Sequence

from harness_ext.errors import SparksError
from harness_ext.reports.svg import _svg

__all__ = ["HeadsMap", "appearance_grid", "heads_heatmap", "heads_lines", "intervened_heads", "load_heads", "run_marks"]

CELL = 14  # px per head in the heat map


@dataclass(frozen=True)
class HeadsMap:
    """What a report shows of a heads file."""

    path: Path
    n_layers: int
    n_heads: int
    importance: tuple[tuple[float, ...], ...]
    effect: Optional[tuple[tuple[float, ...], ...]]
    emergent: tuple[tuple[int, int], ...]
    settings: dict[str, Any] = field(default_factory=dict)
    checkpoints: tuple[str, ...] = ()  # with `sparks discover --checkpoints`: their names
    appearance: tuple[tuple[int, int, tuple[bool, ...]], ...] = ()  # (layer, head, emergent per checkpoint)

    def top(self, k: int = 10) -> str:
        """The first ``k`` emergent heads as ``L3H1, L5H2, ...`` (or ``none``)."""
        return ", ".join(f"L{layer}H{head}" for layer, head in self.emergent[:k]) or "none"


def load_heads(path: Path) -> HeadsMap:
    """Read a heads file written by ``sparks discover`` (:class:`harness_ext.formats.HeadsFile`);
    a clear error when it is not one."""
    from harness_ext.formats import HeadsFile

    try:
        heads = HeadsFile.read(path)
    except SparksError as error:
        raise SparksError(f"--heads: {error}") from None
    as_grid = lambda key: tuple(tuple(0.0 if v is None else v for v in row)  # noqa: E731
                                for row in heads.grid(key))  # 0 where a head has no entry
    has_effect = any(entry.effect is not None for entry in heads.heads)
    return HeadsMap(path, heads.n_layers, heads.n_heads, as_grid("importance_post"),
                    as_grid("effect") if has_effect else None, tuple(heads.emergent_heads()),
                    heads.settings.to_data(), tuple(c.model for c in heads.checkpoints or ()),
                    tuple((a.layer, a.head, a.emergent) for a in heads.appearance or ()))


def intervened_heads(interventions: Optional[str]) -> set[tuple[int, int | None]]:
    """The heads named by a run's recorded interventions (``None`` head: a whole layer); an
    empty set for none or for a spec that no longer parses (e.g. a moved heads file)."""
    from harness_ext.interventions.spec import SpecError, parse_spec

    if not interventions or interventions == "none":
        return set()
    try:
        spec = parse_spec(interventions)
    except SpecError:
        return set()
    # a random:REF item names the heads it is matched to, not the ones it touched (the sparks
    # model records the drawn, concrete spec; only un-recorded runs reach this with one)
    return {(ref.layer, ref.head) for item in spec.items if item.name != "random"
            for ref in item.heads}


def run_marks(runs: Sequence[Any]) -> list[tuple[str, set[tuple[int, int | None]]]]:
    """``(run name, heads it intervened on)`` for each run with head interventions."""
    marks = [(run.name, intervened_heads(run.interventions)) for run in runs]
    return [(name, picked) for name, picked in marks if picked]


def heads_lines(heads: HeadsMap, runs: Sequence[Any]) -> list[str]:
    """Plain-text lines on the heads file for the terminal and markdown outputs."""
    settings = heads.settings
    models = settings.get("model_post") or "?"
    if settings.get("model_base"):
        models += f" vs base {settings['model_base']}"
    kind = "emergent" if heads.effect is not None else "in the circuit (no base model)"
    lines = [f"{heads.path}: {heads.n_layers} layers x {heads.n_heads} heads of {models}; "
             f"{len(heads.emergent)} {kind}, top: {heads.top()}"]
    for name, picked in run_marks(runs):
        hit = [e for e in heads.emergent if e in picked or (e[0], None) in picked]
        lines.append(f"{name} intervened on {_refs(picked)}: {len(hit)} of the "
                     f"{len(heads.emergent)} listed heads")
    return lines


def _refs(picked: set[tuple[int, int | None]]) -> str:
    return "+".join(f"L{layer}" if head is None else f"L{layer}H{head}"
                    for layer, head in sorted(picked, key=lambda h: (h[0], -1 if h[1] is None else h[1])))


def _color(value: float, low: float, high: float, diverging: bool) -> str:
    """Viridis-like ramp for importance, blue-white-red for effect in [-1, 1]."""
    if diverging:
        t = max(-1.0, min(1.0, value))
        if t >= 0:
            r, g, b = 255, round(255 * (1 - t * 0.8)), round(255 * (1 - t * 0.85))
        else:
            r, g, b = round(255 * (1 + t * 0.8)), round(255 * (1 + t * 0.6)), 255
        return f"#{r:02x}{g:02x}{b:02x}"
    t = 0.0 if high <= low else (value - low) / (high - low)
    stops = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]
    pos = min(t * (len(stops) - 1), len(stops) - 1 - 1e-9)
    i, frac = int(pos), pos - int(pos)
    r, g, b = (round(a + (c - a) * frac) for a, c in zip(stops[i], stops[i + 1]))
    return f"#{r:02x}{g:02x}{b:02x}"


HEATMAP_WIDTH = 440  # px per panel at least: readable for 8 heads and for 32


def heads_heatmap(heads: HeadsMap, marked: Sequence[tuple[str, set[tuple[int, int | None]]]] = ()) -> str:
    """Inline SVG: one layer x head panel per quantity, each with its colour scale; red
    outlines are emergent heads, a dot marks a head that a run (``marked``: run name, heads)
    intervened on; a legend under the panels says so."""
    panels = [("importance (post)", heads.importance, False)]
    if heads.effect is not None:
        panels.append(("effect (post - base)", heads.effect, True))
    emergent = set(heads.emergent)
    cell = max(CELL, min(40, HEATMAP_WIDTH // max(1, heads.n_heads)))
    row = max(8, min(cell, 520 // max(1, heads.n_layers)))
    left, top, gap, scale_w = 44, 30, 70, 12
    panel_w = heads.n_heads * cell
    width = max(left + len(panels) * (panel_w + gap + scale_w), left + 520)  # the legend
    plot_h = heads.n_layers * row
    height = top + plot_h + 64
    body: list[str] = []
    for index, (title, grid, diverging) in enumerate(panels):
        x0 = left + index * (panel_w + gap + scale_w)
        values = [v for line in grid for v in line]
        low, high = (-1.0, 1.0) if diverging else (min(values), max(values))
        body.append(f'<text x="{x0}" y="18" fill="#333">{escape(title)}</text>')
        for layer, line in enumerate(grid):
            y = top + (heads.n_layers - 1 - layer) * row  # layer 0 at the bottom
            for head, value in enumerate(line):
                x = x0 + head * cell
                runs = [name for name, picked in marked
                        if (layer, head) in picked or (layer, None) in picked]
                tip = (f"L{layer}H{head}: {title} {value:.4g}"
                       + (" (emergent)" if (layer, head) in emergent else "")
                       + (f"; intervened in {', '.join(runs)}" if runs else ""))
                stroke = ' stroke="#d62728" stroke-width="2"' if (layer, head) in emergent else ""
                body.append(f'<rect class="mark" x="{x}" y="{y}" width="{cell - 1}" '
                            f'height="{row - 1}" fill="{_color(value, low, high, diverging)}"'
                            f'{stroke}><title>{escape(tip)}</title></rect>')
                if runs:
                    body.append(f'<circle cx="{x + cell / 2 - 0.5}" cy="{y + row / 2 - 0.5}" '
                                f'r="{max(2.0, min(cell, row) / 5):.1f}" fill="#000"/>')
        step = max(1, heads.n_heads // 16)
        for head in range(0, heads.n_heads, step):
            body.append(f'<text x="{x0 + head * cell + cell / 2:.1f}" y="{top + plot_h + 14}" '
                        f'text-anchor="middle" font-size="10" fill="#555">{head}</text>')
        body.append(f'<text x="{x0 + panel_w / 2:.1f}" y="{top + plot_h + 30}" '
                    f'text-anchor="middle" fill="#555">head</text>')
        body += _colour_scale(x0 + panel_w + 8, top, scale_w, plot_h, low, high, diverging)
    for layer in range(0, heads.n_layers, max(1, heads.n_layers // 12)):
        y = top + (heads.n_layers - 1 - layer) * row + row / 2 + 3
        body.append(f'<text x="{left - 6}" y="{y:.1f}" text-anchor="end" font-size="10" '
                    f'fill="#555">L{layer}</text>')
    body.append(f'<rect x="{left}" y="{height - 22}" width="12" height="12" fill="none" '
                f'stroke="#d62728" stroke-width="2"/><text x="{left + 18}" y="{height - 12}" '
                f'font-size="11" fill="#333">emergent head (in the file\'s emergent list)</text>'
                f'<circle cx="{left + 346}" cy="{height - 16}" r="3" fill="#000"/>'
                f'<text x="{left + 354}" y="{height - 12}" font-size="11" fill="#333">a run '
                f'intervened on it</text>')
    return _svg(width, height, f"heads of {heads.path.name}: layer x head", body)


def _colour_scale(x: float, top: float, width: float, height: float, low: float, high: float,
                  diverging: bool) -> list[str]:
    """A vertical colour bar from ``low`` (bottom) to ``high`` (top), with both labelled."""
    steps = 24
    out = []
    for i in range(steps):
        value = low + (high - low) * (i + 0.5) / steps
        y = top + height - (i + 1) * height / steps
        out.append(f'<rect x="{x}" y="{y:.1f}" width="{width}" height="{height / steps + 0.5:.1f}" '
                   f'fill="{_color(value, low, high, diverging)}"/>')
    out.append(f'<text x="{x + width + 3}" y="{top + 9}" font-size="10" fill="#555">'
               f'{high:.3g}</text>')
    out.append(f'<text x="{x + width + 3}" y="{top + height}" font-size="10" fill="#555">'
               f'{low:.3g}</text>')
    return out


def appearance_grid(heads: HeadsMap) -> str | None:
    """Inline SVG of a checkpoint series: one row per head emergent somewhere, one column per
    checkpoint, filled where the head is emergent; None for a file without a series."""
    if not heads.checkpoints or not heads.appearance:
        return None
    left, top, cell_w, cell_h = 70, 24, 64, 16
    names = [Path(name).name or name for name in heads.checkpoints]
    width = left + cell_w * len(names) + 10
    height = top + cell_h * len(heads.appearance) + 40
    body = [f'<text x="{left}" y="14" fill="#333">emergent heads over checkpoints</text>']
    for row, (layer, head, flags) in enumerate(heads.appearance):
        y = top + row * cell_h
        body.append(f'<text x="{left - 6}" y="{y + cell_h - 4}" text-anchor="end" font-size="10" '
                    f'fill="#555">L{layer}H{head}</text>')
        for column, on in enumerate(flags):
            tip = f"L{layer}H{head} at {names[column]}: {'emergent' if on else 'not emergent'}"
            body.append(f'<rect class="mark" x="{left + column * cell_w}" y="{y}" width="{cell_w - 2}" '
                        f'height="{cell_h - 2}" fill="{"#08519c" if on else "#f0f0f0"}">'
                        f'<title>{escape(tip)}</title></rect>')
    for column, name in enumerate(names):
        body.append(f'<text x="{left + column * cell_w + cell_w / 2:.0f}" y="{height - 22}" '
                    f'text-anchor="middle" font-size="10" fill="#555">{escape(name[:12])}</text>')
    return _svg(width, height, "emergent heads over checkpoints", body)
