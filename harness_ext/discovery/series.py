"""``sparks discover --checkpoints``: the heads of a series of checkpoints against one base.

Each checkpoint gets the same result as ``sparks discover --model CHECKPOINT --base BASE``
(:func:`harness_ext.discovery.heads_file.build_result`); :func:`build_series` adds, for the heads that
are emergent in at least one checkpoint, when they appear and disappear, and
:func:`write_series_plot` draws that as a head x checkpoint grid (the paper's GRPO finding:
heads come and go over training), with :mod:`harness_ext.charts`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence, TypeAlias

from harness_ext.discovery.circuits import jaccard_distance
from harness_ext.discovery.heads_file import save_figure

if TYPE_CHECKING:
    from harness_ext.discovery.rewards import CheckpointRewards
    from harness_ext.formats import HeadsFile

Result: TypeAlias = (
    "Mapping[str, Any] | HeadsFile"  # a checkpoint's heads.json object, read as a HeadsFile
)

__all__ = ["build_dynamics", "build_series", "series_plot_path", "write_series_plot"]


def series_plot_path(output: Path) -> Path:
    """Where the checkpoint plot goes: ``heads.json`` -> ``heads.checkpoints.png``."""
    return output.with_suffix(".checkpoints.png")


def build_series(
    names: Sequence[str], results: Sequence[Result], rewards: CheckpointRewards | None = None
) -> dict[str, Any]:
    """The ``checkpoints``, ``transitions``, ``appearance`` and ``dynamics`` entries of a
    series' heads.json.

    ``results`` are the per-checkpoint results, in training order. ``appearance`` lists every
    head emergent somewhere, ordered by the checkpoint where it first is, with one flag per
    checkpoint; ``transitions`` gives, between consecutive checkpoints, the emergent heads that
    appeared and disappeared. Each checkpoint also gets its ``step`` and ``reward`` (from
    ``rewards``; None where unknown) and the post-circuit heads appearing, surviving and pruned
    since the previous checkpoint (:func:`build_dynamics`).
    """
    if len(names) != len(results) or not names:
        raise ValueError("one result per checkpoint name, at least one checkpoint")
    files = _files(names, results)
    emergent_sets = [set(f.emergent_heads()) for f in files]
    circuit_sets = [set(_heads(f.circuit_post)) for f in files]
    checkpoints = []
    for name, f in zip(names, files):
        data = f.to_data()
        checkpoints.append(
            {
                "model": name,
                "emergent": data["emergent"],
                "circuit_post": data["circuit_post"],
                "circuit_base": data["circuit_base"],
                "importance_post": _grid(f, "importance_post"),
                "importance_base": _grid(f, "importance_base"),
            }
        )
    everyone = set().union(*emergent_sets)
    first = {head: next(i for i, s in enumerate(emergent_sets) if head in s) for head in everyone}
    appearance = [
        {
            "layer": layer,
            "head": head,
            "emergent": [(layer, head) in s for s in emergent_sets],
            "in_circuit_post": [(layer, head) in s for s in circuit_sets],
            "first_emergent": first[(layer, head)],
            "last_emergent": max(i for i, s in enumerate(emergent_sets) if (layer, head) in s),
        }
        for layer, head in sorted(everyone, key=lambda h: (first[h], h))
    ]
    pairs = lambda heads: [{"layer": l, "head": h} for l, h in sorted(heads)]  # noqa: E731
    transitions = [
        {
            "from": names[i - 1],
            "to": names[i],
            "appeared": pairs(emergent_sets[i] - emergent_sets[i - 1]),
            "disappeared": pairs(emergent_sets[i - 1] - emergent_sets[i]),
        }
        for i in range(1, len(names))
    ]
    per_checkpoint, dynamics = build_dynamics(names, files, rewards)
    checkpoints = [{**entry, **extra} for entry, extra in zip(checkpoints, per_checkpoint)]
    return {
        "checkpoints": checkpoints,
        "transitions": transitions,
        "appearance": appearance,
        "dynamics": dynamics,
    }


def build_dynamics(
    names: Sequence[str], results: Sequence[Result], rewards: CheckpointRewards | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Circuit change against reward change over a series.

    Per checkpoint: ``step``, ``reward``, ``circuit_size``, and, against the circuit before it
    (``since``: the previous checkpoint, or for the first one the base model; None without a
    base), the post-circuit heads ``heads_appearing``, ``heads_surviving`` and ``heads_pruned``.
    ``dynamics``: for each pair of consecutive checkpoints, the ``reward_change`` (later minus
    earlier) and the ``circuit_change`` (Jaccard distance of the two post circuits, so circuits
    of different sizes compare), and the Spearman correlation of the two over the pairs.
    """
    from harness_ext.discovery.stats import Correlation, spearman

    steps: list[int | None] = list(rewards.steps) if rewards else [None] * len(names)
    values: list[float | None] = list(rewards.rewards) if rewards else [None] * len(names)
    files = _files(names, results)
    circuits = [_heads(f.circuit_post) for f in files]
    base = files[0].circuit_base
    before = [None if base is None else _heads(base), *circuits[:-1]]
    since = [None if base is None else "base", *names[:-1]]
    per_checkpoint = [
        {
            "step": steps[i],
            "reward": values[i],
            "circuit_size": len(circuits[i]),
            "since": since[i],
            **_turnover(before[i], circuits[i]),
        }
        for i in range(len(names))
    ]
    reward_changes = [_change(values[i - 1], values[i]) for i in range(1, len(names))]
    circuit_changes = [jaccard_distance(circuits[i - 1], circuits[i]) for i in range(1, len(names))]
    changes = [
        {
            "from": names[i - 1],
            "to": names[i],
            "from_step": steps[i - 1],
            "to_step": steps[i],
            "reward_change": reward_changes[i - 1],
            "circuit_change": circuit_changes[i - 1],
        }
        for i in range(1, len(names))
    ]
    paired = [(r, c) for r, c in zip(reward_changes, circuit_changes) if r is not None]
    correlation = (
        spearman([r for r, _ in paired], [c for _, c in paired])
        if paired
        else Correlation(
            None, None, 0, note="no rewards (no trainer_state.json logging a reward, no --rewards)"
        )
    )
    dynamics = {
        "circuit_change": "Jaccard distance of consecutive post circuits",
        "reward_change": "reward of a checkpoint minus the previous one's",
        **(rewards.describe() if rewards else {}),
        "changes": changes,
        "spearman": correlation.as_dict(),
    }
    return per_checkpoint, dynamics


def _change(earlier: float | None, later: float | None) -> float | None:
    """``later - earlier``, or None when either is unknown."""
    return None if earlier is None or later is None else later - earlier


def _files(names: Sequence[str], results: Sequence[Result]) -> list[HeadsFile]:
    from harness_ext.formats import HeadsFile

    return [
        HeadsFile.from_data(r, source=f"the heads of checkpoint {name}")
        for name, r in zip(names, results)
    ]


def _heads(entries: Sequence[Any]) -> list[tuple[int, int]]:
    return [entry.pair for entry in entries]


def _turnover(
    before: Sequence[tuple[int, int]] | None, now: Sequence[tuple[int, int]]
) -> dict[str, Any]:
    """The heads of ``now`` not in ``before`` (appearing), in both (surviving), and of
    ``before`` only (pruned); None each without a ``before``."""
    if before is None:
        return {"heads_appearing": None, "heads_surviving": None, "heads_pruned": None}
    pairs = lambda heads: [{"layer": l, "head": h} for l, h in sorted(heads)]  # noqa: E731
    old, new = set(before), set(now)
    return {
        "heads_appearing": pairs(new - old),
        "heads_surviving": pairs(new & old),
        "heads_pruned": pairs(old - new),
    }


def _grid(result: HeadsFile, key: str) -> list[list[float]] | None:
    return None if any(getattr(h, key) is None for h in result.heads) else result.grid(key)


def write_series_plot(series: dict[str, Any], path: Path) -> bool:
    """Head x checkpoint grid PNG (:func:`harness_ext.charts.series_figure`): dark = emergent,
    light = in the post circuit only; with rewards, a panel above draws each checkpoint's reward
    on the same step axis (the grid's columns sit at the checkpoints' steps when those are known
    and increasing). Returns False, writing nothing, when matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    from harness_ext import charts

    rows, ckpts = series["appearance"], series["checkpoints"]
    states = [
        [
            2 if row["emergent"][i] else 1 if row["in_circuit_post"][i] else 0
            for i in range(len(ckpts))
        ]
        for row in rows
    ]
    fig = charts.series_figure(
        [f"L{r['layer']}H{r['head']}" for r in rows],
        [Path(c["model"]).name or c["model"] for c in ckpts],
        states,
        title="heads over checkpoints",
        steps=[c.get("step") for c in ckpts],
        rewards=[c.get("reward") for c in ckpts],
    )
    save_figure(fig, path)
    return True
