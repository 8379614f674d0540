"""``sparks discover --checkpoints``: the heads of a series of checkpoints against one base.

Each checkpoint gets the same result as ``sparks discover --model CHECKPOINT --base BASE``
(:func:`harness_ext.discovery_out.build_result`); :func:`build_series` adds, for the heads that
are emergent in at least one checkpoint, when they appear and disappear, and
:func:`write_series_plot` draws that as a head x checkpoint grid (the paper's GRPO finding:
heads come and go over training). matplotlib is imported inside the plot function.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from harness_ext.discovery_out import head_grid, save_figure

__all__ = ["build_series", "series_plot_path", "write_series_plot"]


def series_plot_path(output: Path) -> Path:
    """Where the checkpoint plot goes: ``heads.json`` -> ``heads.checkpoints.png``."""
    return output.with_suffix(".checkpoints.png")


def build_series(names: Sequence[str], results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The ``checkpoints``, ``transitions`` and ``appearance`` entries of a series' heads.json.

    ``results`` are the per-checkpoint results, in training order. ``appearance`` lists every
    head emergent somewhere, ordered by the checkpoint where it first is, with one flag per
    checkpoint; ``transitions`` gives, between consecutive checkpoints, the emergent heads that
    appeared and disappeared.
    """
    if len(names) != len(results) or not names:
        raise ValueError("one result per checkpoint name, at least one checkpoint")
    emergent_sets = [{(h["layer"], h["head"]) for h in r["emergent"]} for r in results]
    circuit_sets = [{(h["layer"], h["head"]) for h in r["circuit_post"]} for r in results]
    checkpoints = [{"model": name, "emergent": r["emergent"], "circuit_post": r["circuit_post"],
                    "circuit_base": r["circuit_base"],
                    "importance_post": _grid(r, "importance_post"),
                    "importance_base": _grid(r, "importance_base")}
                   for name, r in zip(names, results)]
    everyone = set().union(*emergent_sets)
    first = {head: next(i for i, s in enumerate(emergent_sets) if head in s) for head in everyone}
    appearance = [{"layer": layer, "head": head,
                   "emergent": [(layer, head) in s for s in emergent_sets],
                   "in_circuit_post": [(layer, head) in s for s in circuit_sets],
                   "first_emergent": first[(layer, head)],
                   "last_emergent": max(i for i, s in enumerate(emergent_sets) if (layer, head) in s)}
                  for layer, head in sorted(everyone, key=lambda h: (first[h], h))]
    pairs = lambda heads: [{"layer": l, "head": h} for l, h in sorted(heads)]  # noqa: E731
    transitions = [{"from": names[i - 1], "to": names[i],
                    "appeared": pairs(emergent_sets[i] - emergent_sets[i - 1]),
                    "disappeared": pairs(emergent_sets[i - 1] - emergent_sets[i])}
                   for i in range(1, len(names))]
    return {"checkpoints": checkpoints, "transitions": transitions, "appearance": appearance}


def _grid(result: dict[str, Any], key: str) -> list[list[float]] | None:
    heads = result["heads"]
    return None if any(h[key] is None for h in heads) else head_grid(heads, key)


def write_series_plot(series: dict[str, Any], path: Path) -> bool:
    """Head x checkpoint grid PNG: dark = emergent, light = in the post circuit only. Returns
    False, writing nothing, when matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    rows = series["appearance"]
    names = [Path(c["model"]).name or c["model"] for c in series["checkpoints"]]
    values = [[2 if row["emergent"][i] else 1 if row["in_circuit_post"][i] else 0
               for i in range(len(names))] for row in rows] or [[0] * len(names)]
    fig, ax = plt.subplots(figsize=(max(4.5, 2.0 + 0.9 * len(names)), 1.6 + 0.25 * max(1, len(rows))))
    ax.imshow(values, aspect="auto", cmap=ListedColormap(["#f4f4f4", "#9ecae1", "#08519c"]),
              vmin=0, vmax=2, interpolation="nearest")
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), [f"L{r['layer']}H{r['head']}" for r in rows])
    ax.set_title("heads over checkpoints\ndark: emergent, light: in the circuit only", fontsize=10)
    ax.set(xlabel="checkpoint", ylabel="head")
    save_figure(fig, path)
    return True
