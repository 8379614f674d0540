"""Which heads make a model's circuit in ``sparks discover``, and how two circuits compare.

Three definitions (:class:`CircuitRule`):

* ``size``: the top ``k`` heads by importance (``--circuit-size``, a count or a share of all
  heads), so every circuit of a run has the same size;
* ``mass``: the fewest heads whose importance adds up to at least ``mass`` of the model's total
  importance (``--circuit-mass 0.8``), so a model that spreads its importance over more heads
  gets a broader circuit;
* ``edges``: with ``--edges``, the heads that are the source of at least one kept edge (score of
  at least ``edge_threshold`` x the strongest, at most ``top_edges`` edges), the paper's circuit.

A head of importance 0 plays no part and is never in a circuit. torch is not needed here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

__all__ = [
    "CIRCUIT_KINDS",
    "CircuitRule",
    "circuit",
    "circuit_by_mass",
    "circuit_stats",
    "jaccard_distance",
    "mass_share",
    "overlap",
    "top_edges",
]

CIRCUIT_KINDS = ("size", "mass", "edges")
_MASS_TOLERANCE = 1e-9  # relative: float sums of the sorted importances may fall short of the total

Head = tuple[int, int]


@dataclass(frozen=True)
class CircuitRule:
    """A circuit definition: ``kind`` is ``size`` (``size`` heads), ``mass`` (share ``mass`` of
    the importance) or ``edges`` (heads on the ``top_edges`` strongest edges of at least
    ``edge_threshold`` x the strongest)."""

    kind: str = "size"
    size: int | None = None
    mass: float | None = None
    top_edges: int = 5000
    edge_threshold: float = 0.1

    def __post_init__(self) -> None:
        if self.kind not in CIRCUIT_KINDS:
            raise ValueError(
                f"circuit kind {self.kind!r}: choose one of {', '.join(CIRCUIT_KINDS)}"
            )
        if self.kind == "size" and (self.size is None or self.size < 1):
            raise ValueError("a size circuit needs a size of at least 1 head")
        if self.kind == "mass" and not (self.mass is not None and 0 < self.mass <= 1):
            raise ValueError("a mass circuit needs a mass in (0, 1]")

    def select(self, importance: Sequence[Sequence[float]], edges: Any = None) -> list[Head]:
        """The circuit of a model with this ``importance`` grid (and, for ``edges``, its
        ``[n_layers, n_heads, targets]`` edge scores), by importance (ties: lower layer, head)."""
        if self.kind == "size":
            return circuit(importance, self.size or 0)
        if self.kind == "mass":
            return circuit_by_mass(importance, self.mass or 0.0)
        if edges is None:
            raise ValueError("an edges circuit needs the edge scores (run with --edges)")
        on_edges = {
            (e["layer"], e["head"]) for e in top_edges(edges, self.top_edges, self.edge_threshold)
        }
        return [
            h for h in circuit(importance, len(importance) * len(importance[0])) if h in on_edges
        ]

    def describe(self) -> dict[str, Any]:
        """The definition as heads.json records it (``settings.circuit``)."""
        if self.kind == "size":
            return {"rule": "size", "size": self.size}
        if self.kind == "mass":
            return {"rule": "mass", "mass": self.mass}
        return {"rule": "edges", "top_edges": self.top_edges, "edge_threshold": self.edge_threshold}

    def text(self) -> str:
        """The definition in words, for the summary and ``circuits.rule``."""
        if self.kind == "size":
            return f"the top {self.size} heads by importance"
        if self.kind == "mass":
            return f"the fewest heads carrying {self.mass:.0%} of the total importance"
        return (
            f"the heads on the kept edges (at least {self.edge_threshold:g} x the strongest, "
            f"at most {self.top_edges})"
        )


def circuit_by_mass(importance: Sequence[Sequence[float]], mass: float) -> list[Head]:
    """The fewest heads whose importance adds up to at least ``mass`` x the total, by importance
    (ties: lower layer, then lower head). Empty when every head has importance 0."""
    flat = sorted(
        (
            (value, layer, head)
            for layer, row in enumerate(importance)
            for head, value in enumerate(row)
            if value > 0
        ),
        key=lambda item: (-item[0], item[1], item[2]),
    )
    total = math.fsum(value for value, _, _ in flat)
    goal = mass * total * (1 - _MASS_TOLERANCE)
    chosen: list[Head] = []
    carried = 0.0
    for value, layer, head in flat:
        if chosen and carried >= goal:
            break
        chosen.append((layer, head))
        carried += value
    return chosen


def mass_share(importance: Sequence[Sequence[float]], heads: Sequence[Head]) -> float | None:
    """The share of the total importance that ``heads`` carry (None when the total is 0)."""
    total = math.fsum(v for row in importance for v in row if v > 0)
    if total <= 0:
        return None
    return math.fsum(importance[layer][head] for layer, head in heads) / total


def overlap(first: Sequence[Head], second: Sequence[Head]) -> dict[str, Any]:
    """How two circuits overlap: heads in ``both``, in the ``first_only`` and ``second_only``,
    and the Jaccard index |A and B| / |A or B| (1.0 for two empty circuits)."""
    a, b = set(first), set(second)
    union = len(a | b)
    return {
        "both": len(a & b),
        "first_only": len(a - b),
        "second_only": len(b - a),
        "jaccard_index": 1.0 if union == 0 else len(a & b) / union,
    }


def jaccard_distance(first: Sequence[Head], second: Sequence[Head]) -> float:
    """1 - the Jaccard index of two circuits: 0 for the same heads, 1 for disjoint ones."""
    return 1.0 - overlap(first, second)["jaccard_index"]


def circuit_stats(
    rule: CircuitRule,
    importance_post: Sequence[Sequence[float]],
    importance_base: Sequence[Sequence[float]] | None,
    post: Sequence[Head],
    base: Sequence[Head] | None,
) -> dict[str, Any]:
    """The ``circuits`` entry of heads.json: the rule in words, each circuit's size and share of
    its model's importance, and (with a base) their overlap."""
    stats: dict[str, Any] = {
        "rule": rule.text(),
        "post": {"size": len(post), "mass": mass_share(importance_post, post)},
        "base": None,
        "overlap": None,
    }
    if base is not None and importance_base is not None:
        stats["base"] = {"size": len(base), "mass": mass_share(importance_base, base)}
        both = overlap(post, base)
        stats["overlap"] = {
            "both": both["both"],
            "post_only": both["first_only"],
            "base_only": both["second_only"],
            "jaccard_index": both["jaccard_index"],
        }
    return stats


def circuit(importance: Sequence[Sequence[float]], k: int) -> list[tuple[int, int]]:
    """The top ``k`` heads by importance (ties: lower layer, then lower head), skipping heads of
    importance 0, which play no part at all."""
    flat = [
        (value, layer, head)
        for layer, row in enumerate(importance)
        for head, value in enumerate(row)
        if value > 0
    ]
    flat.sort(key=lambda item: (-item[0], item[1], item[2]))
    return [(layer, head) for _, layer, head in flat[:k]]


def top_edges(edges: Any, top_n: int, threshold: float) -> list[dict[str, Any]]:
    """The strongest edges of a ``[n_layers, n_heads, targets]`` score tensor (absolute scores
    summed over problems): those of at least ``threshold`` times the strongest, at most
    ``top_n`` of them, strongest first (ties: lower layer, head, target); never a 0 score."""
    from harness_ext.discovery.attribution import edge_targets

    n_layers = edges.shape[0]
    names = edge_targets(n_layers)
    flat = edges.flatten()
    strongest = float(flat.max()) if flat.numel() else 0.0
    if strongest <= 0:
        return []
    keep = ((flat >= threshold * strongest) & (flat > 0)).nonzero().flatten().tolist()
    width = edges.shape[1] * edges.shape[2]
    rows = [
        (-float(flat[i]), i // width, (i % width) // edges.shape[2], i % edges.shape[2])
        for i in keep
    ]
    rows.sort()
    return [
        {"layer": layer, "head": head, "to": names[target], "score": -neg}
        for neg, layer, head, target in rows[:top_n]
    ]
