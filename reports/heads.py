"""A ``sparks discover`` heads file inside a report (``sparks report --heads heads.json``).

:func:`load_heads` reads and checks the file; :func:`heads_heatmap` draws layer x head heat maps
(importance in the post model, and effect when the file has a base) and :func:`appearance_grid`
a checkpoint series, as inline SVG drawn by :mod:`harness_ext.charts` (the same charts as
``sparks discover``'s PNGs), with the emergent heads outlined and the heads each run
intervened on marked. The terminal, markdown and JSON outputs list the top emergent heads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from harness_ext.errors import SparksError

__all__ = [
    "HeadsMap",
    "appearance_grid",
    "heads_heatmap",
    "heads_lines",
    "intervened_heads",
    "load_heads",
    "run_marks",
]


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
    appearance: tuple[
        tuple[int, int, tuple[bool, ...]], ...
    ] = ()  # (layer, head, emergent per checkpoint)
    unstable: tuple[tuple[int, int], ...] = ()  # --bootstrap: emergent heads that are not stable
    bootstrapped: bool = False  # the file has a stability entry (sparks discover --bootstrap)

    def top(self, k: int = 10) -> str:
        """The first ``k`` emergent heads as ``L3H1, L5H2 (unstable), ...`` (or ``none``)."""
        return (
            ", ".join(
                f"L{layer}H{head}" + (" (unstable)" if (layer, head) in self.unstable else "")
                for layer, head in self.emergent[:k]
            )
            or "none"
        )


def load_heads(path: Path) -> HeadsMap:
    """Read a heads file written by ``sparks discover`` (:class:`harness_ext.formats.HeadsFile`);
    a clear error when it is not one."""
    from harness_ext.formats import HeadsFile

    try:
        heads = HeadsFile.read(path)
    except SparksError as error:
        raise SparksError(f"--heads: {error}") from None

    def as_grid(key: str) -> tuple[tuple[float, ...], ...]:
        """The ``key`` grid, 0 where a head has no entry."""
        return tuple(tuple(0.0 if v is None else v for v in row) for row in heads.grid(key))

    has_effect = any(entry.effect is not None for entry in heads.heads)
    return HeadsMap(
        path,
        heads.n_layers,
        heads.n_heads,
        as_grid("importance_post"),
        as_grid("effect") if has_effect else None,
        tuple(heads.emergent_heads()),
        heads.settings.to_data(),
        tuple(c.model for c in heads.checkpoints or ()),
        tuple((a.layer, a.head, a.emergent) for a in heads.appearance or ()),
        _unstable(heads),
        heads.stability is not None,
    )


def _unstable(heads: Any) -> tuple[tuple[int, int], ...]:
    """The emergent heads a ``--bootstrap`` file does not call stable (none without one)."""
    if heads.stability is None:
        return ()
    stable = {(h.layer, h.head) for h in heads.stability.stable_emergent}
    return tuple(pair for pair in heads.emergent_heads() if pair not in stable)


def intervened_heads(interventions: Optional[str]) -> set[tuple[int, int | None]]:
    """The heads named by a run's recorded interventions (``None`` head: a whole layer); an
    empty set for none or for a spec that no longer parses (e.g. a moved heads file)."""
    from harness_ext.formats.spec import SpecError, parse_spec

    if not interventions or interventions == "none":
        return set()
    try:
        spec = parse_spec(interventions)
    except SpecError:
        return set()
    # a random:REF item names the heads it is matched to, not the ones it touched (the sparks
    # model records the drawn, concrete spec; only un-recorded runs reach this with one)
    return {
        (ref.layer, ref.head) for item in spec.items if item.name != "random" for ref in item.heads
    }


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
    lines = [
        f"{heads.path}: {heads.n_layers} layers x {heads.n_heads} heads of {models}; "
        f"{len(heads.emergent)} {kind}, top: {heads.top()}"
    ]
    if heads.bootstrapped:
        lines.append(
            f"{len(heads.emergent) - len(heads.unstable)} of them stable, "
            f"{len(heads.unstable)} unstable (emergent in < 80% of bootstrap resamples)"
        )
    for name, picked in run_marks(runs):
        hit = [e for e in heads.emergent if e in picked or (e[0], None) in picked]
        lines.append(
            f"{name} intervened on {_refs(picked)}: {len(hit)} of the "
            f"{len(heads.emergent)} listed heads"
        )
    return lines


def _refs(picked: set[tuple[int, int | None]]) -> str:
    return "+".join(
        f"L{layer}" if head is None else f"L{layer}H{head}"
        for layer, head in sorted(picked, key=lambda h: (h[0], -1 if h[1] is None else h[1]))
    )


def heads_heatmap(
    heads: HeadsMap, marked: Sequence[tuple[str, set[tuple[int, int | None]]]] = ()
) -> str:
    """Inline SVG (:func:`harness_ext.charts.heads_figure`): one layer x head panel per
    quantity, each with its colour bar; red outlines are emergent heads, each run of ``marked``
    (run name, heads) that intervened gets a marker on its heads; a legend under the panels
    names them."""
    from harness_ext.charts import HeatPanel, heads_figure, to_svg

    roles = {"post": "post", "base": "base", **(heads.settings.get("roles") or {})}
    panels = [HeatPanel(f"importance ({roles['post']})", heads.importance)]
    if heads.effect is not None:
        panels.append(
            HeatPanel(f"effect ({roles['post']} - {roles['base']})", heads.effect, diverging=True)
        )
    title = f"heads of {heads.path.name}: layer x head"
    unstable = set(heads.unstable)  # outlined grey, as in sparks discover's heat map
    emergent = [pair for pair in heads.emergent if pair not in unstable]
    figure = heads_figure(
        panels, title=title, emergent=emergent, marked=marked, unstable=heads.unstable
    )
    return to_svg(figure, title=title)


def appearance_grid(heads: HeadsMap) -> str | None:
    """Inline SVG of a checkpoint series (:func:`harness_ext.charts.series_figure`): one row
    per head emergent somewhere, one column per checkpoint, dark where the head is emergent;
    None for a file without a series."""
    from harness_ext.charts import series_figure, to_svg

    if not heads.checkpoints or not heads.appearance:
        return None
    title = "emergent heads over checkpoints"
    figure = series_figure(
        [f"L{layer}H{head}" for layer, head, _ in heads.appearance],
        [Path(name).name or name for name in heads.checkpoints],
        [[2 if on else 0 for on in flags] for _, _, flags in heads.appearance],
        title=title,
        state_labels=("not emergent", "", "emergent"),
    )
    return to_svg(figure, title=title)
