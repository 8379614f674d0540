"""The ``heads.json`` file of ``sparks discover`` (circuits, effect scores, emergent heads) and
its heat map. The schema is documented in docs/discover.md and modelled by
:class:`harness_ext.formats.HeadsFile`, which every reader and :func:`write_json` go through;
``zero:@heads.json#5`` reads its ``emergent`` list. numpy and matplotlib are imported inside
functions.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from harness_ext.discovery.circuits import CircuitRule, circuit, circuit_stats, top_edges

if TYPE_CHECKING:
    import torch

    from harness_ext.formats import HeadsFile

__all__ = [
    "EPSILON",
    "build_result",
    "circuit",
    "circuit_size",
    "edge_summary",
    "save_figure",
    "head_grid",
    "top_edges",
    "write_heatmap",
    "write_json",
]

EPSILON = 1e-6  # the paper's: effect = (I_post - I_pre) / (I_post + I_pre + 1e-6)


def circuit_size(size: float, n_heads: int) -> int:
    """Heads in a circuit: ``size`` heads when it is >= 1, else that share of all heads
    (rounded, at least 1). ``0.1`` (the default) on 270 heads gives 27. A count above
    ``n_heads`` is refused, not clamped: a circuit of every head has no emergent heads."""
    if not math.isfinite(size) or size <= 0:
        raise ValueError(f"circuit size must be a positive number, got {size!r}")
    if size >= 1 and (size != int(size) or size > n_heads):
        raise ValueError(
            f"circuit size {size:g} must be a whole number of heads, at most the model's {n_heads}"
        )
    return int(size) if size >= 1 else max(1, round(size * n_heads))


def build_result(
    importance_post: Sequence[Sequence[float]],
    importance_base: Sequence[Sequence[float]] | None,
    k: int | CircuitRule,
    settings: dict[str, Any],
    edges: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``heads.json`` object: ``heads`` (one entry per head), ``circuit_post``,
    ``circuit_base``, ``circuits`` (sizes, shares of importance, overlap), ``emergent`` (rank
    order) and ``settings``. ``k`` is the circuit rule, or a head count for the top ``k``;
    ``edges`` (``post``/``base`` edge scores) serves the ``edges`` rule."""
    definition = k if isinstance(k, CircuitRule) else CircuitRule("size", size=k)
    edges = edges or {}
    post_circuit = definition.select(importance_post, edges.get("post"))
    base_circuit = (
        definition.select(importance_base, edges.get("base"))
        if importance_base is not None
        else None
    )
    in_post, in_base = set(post_circuit), set(base_circuit or ())
    heads: list[dict[str, Any]] = []
    for layer, row in enumerate(importance_post):
        for head, i_post in enumerate(row):
            i_base = importance_base[layer][head] if importance_base is not None else None
            effect = (
                ((i_post - i_base) / (i_post + i_base + EPSILON)) if i_base is not None else None
            )
            heads.append(
                {
                    "layer": layer,
                    "head": head,
                    "importance_post": float(i_post),
                    "importance_base": None if i_base is None else float(i_base),
                    "effect": effect,
                    "in_circuit_post": (layer, head) in in_post,
                    "in_circuit_base": None if base_circuit is None else (layer, head) in in_base,
                    "emergent": (layer, head) in in_post and (layer, head) not in in_base,
                }
            )
    chosen = [h for h in heads if h["emergent"]]
    if base_circuit is not None:
        chosen.sort(key=lambda h: (-h["effect"], -h["importance_post"], h["layer"], h["head"]))
        rule = "in the post circuit and not in the base circuit; by effect, then importance_post"
    else:
        chosen.sort(key=lambda h: (-h["importance_post"], h["layer"], h["head"]))
        rule = "no base model: the post circuit, by importance_post"
    pairs = lambda cs: [{"layer": l, "head": h} for l, h in cs]  # noqa: E731
    return {
        "format": "sparks-heads/1",
        "emergent": [
            {
                "layer": h["layer"],
                "head": h["head"],
                "effect": h["effect"],
                "importance_post": h["importance_post"],
            }
            for h in chosen
        ],
        "emergent_rule": rule,
        "circuit_post": pairs(post_circuit),
        "circuit_base": None if base_circuit is None else pairs(base_circuit),
        "circuits": circuit_stats(
            definition, importance_post, importance_base, post_circuit, base_circuit
        ),
        "heads": heads,
        "settings": settings,
    }


def edge_summary(
    post: torch.Tensor, base: torch.Tensor | None, top_n: int, threshold: float
) -> dict[str, Any]:
    """The ``edges`` entry of heads.json: each model's top edges (``post``, ``base``: the
    summed absolute edge scores, layer x head x target) and the rule that chose them."""
    return {
        "rule": f"edges with a score of at least {threshold} x the strongest, at most {top_n}, "
        "strongest first; score = |EAP-IG edge score| summed over problems",
        "top_n": top_n,
        "threshold": threshold,
        "post": top_edges(post, top_n, threshold),
        "base": None if base is None else top_edges(base, top_n, threshold),
    }


def write_json(data: Mapping[str, Any] | HeadsFile, path: Path) -> None:
    """Write a heads.json object (:func:`build_result`'s, with what a series or
    ``--compare-thinking`` adds) at ``path``: checked as a :class:`HeadsFile` and written by
    its one serializer, atomically."""
    from harness_ext.formats import HeadsFile

    HeadsFile.from_data(data, source=f"the heads file {path} being written").write(path)


def head_grid(heads: Sequence[dict[str, Any]], key: str) -> list[list[Any]]:
    """``heads`` entries' ``key`` as a layer x head grid (``None`` where an entry has none)."""
    n_layers = 1 + max(h["layer"] for h in heads)
    n_heads = 1 + max(h["head"] for h in heads)
    grid: list[list[Any]] = [[None] * n_heads for _ in range(n_layers)]
    for h in heads:
        grid[h["layer"]][h["head"]] = h[key]
    return grid


def write_heatmap(result: dict[str, Any], path: Path) -> bool:
    """A layer x head PNG of importance (post, and base when present) and effect at ``path``
    (:func:`harness_ext.charts.heads_figure`: emergent heads outlined red, grey when a
    ``--bootstrap`` finds them unstable, a
    ``--compare-thinking`` file's compensatory heads blue). Returns False, writing nothing,
    when matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    from harness_ext import charts

    heads = result["heads"]
    settings = result.get("settings") or {}
    roles = {"post": "post", "base": "base", **settings.get("roles", {})}
    panels = [
        charts.HeatPanel(f"importance ({roles['post']})", head_grid(heads, "importance_post"))
    ]
    if result["circuit_base"] is not None:
        panels += [
            charts.HeatPanel(f"importance ({roles['base']})", head_grid(heads, "importance_base")),
            charts.HeatPanel(
                f"effect ({roles['post']} - {roles['base']})",
                head_grid(heads, "effect"),
                diverging=True,
            ),
        ]
    pairs = lambda entries: [(h["layer"], h["head"]) for h in entries or ()]  # noqa: E731
    models = " vs ".join(
        str(settings[key]) for key in ("model_post", "model_base") if settings.get(key)
    )
    emergent = pairs(result["emergent"])
    unstable: list[tuple[int, int]] = []
    if result.get("stability") is not None:  # --bootstrap: unstable emergent heads in grey
        stable = set(pairs(result["stability"]["stable_emergent"]))
        unstable = [pair for pair in emergent if pair not in stable]
        emergent = [pair for pair in emergent if pair in stable]
    fig = charts.heads_figure(
        panels,
        title=f"heads of {models or path.stem}: layer x head",
        emergent=emergent,
        compensatory=pairs(result.get("compensatory")),
        unstable=unstable,
    )
    save_figure(fig, path)
    return True


def save_figure(fig: Any, path: Path) -> None:
    """Save a matplotlib figure as PNG at ``path`` atomically, then close it
    (:func:`harness_ext.charts.save_png`)."""
    from harness_ext.charts import save_png

    if fig.get_layout_engine() is None:  # a figure not made by harness_ext.charts
        fig.tight_layout()
    save_png(fig, path)
