"""``sparks discover --bootstrap B``: how stable the circuits and the emergent heads are when
the problems are drawn again.

Attribution is per problem and the importance is the sum over problems, so a resample of the
problems (drawn with replacement, as many as there were) is the sum of the drawn problems'
scores: the bootstrap re-runs the summing and the circuit rule, not the model. For each head it
records the interval of its rank (1 = most important; the 5th to 95th percentile over the
resamples), how often it is in each circuit and, with a base, how often it is emergent; for
the file, the mean pairwise Jaccard index of the circuits and of the emergent sets over the
resamples. A head is **stable** when it is emergent (without a base: in the post circuit) in at
least :data:`STABLE_SHARE` of the resamples; ``@heads.json#stable`` takes the stable emergent
heads. numpy is imported inside functions.
"""

from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from harness_ext.discovery.circuits import CircuitRule

__all__ = ["STABLE_SHARE", "add_stability", "mean_jaccard"]

STABLE_SHARE = 0.8
INTERVAL = (5.0, 95.0)  # percentiles of the rank interval


def mean_jaccard(sets: Sequence[set]) -> float | None:
    """The mean Jaccard index over all pairs of ``sets`` (two empty sets count as equal);
    None for fewer than two sets."""
    pairs = list(combinations(sets, 2))
    if not pairs:
        return None
    return sum(len(a & b) / len(a | b) if a | b else 1.0 for a, b in pairs) / len(pairs)


def add_stability(
    result: dict[str, Any],
    per_problem_post: Sequence[Any],
    per_problem_base: Sequence[Any] | None,
    rule: CircuitRule,
    resamples: int,
    seed: int = 0,
) -> dict[str, Any]:
    """``result`` (a heads.json object of :func:`harness_ext.discovery.heads_file.build_result`)
    with each head's ``rank_interval_post``, ``circuit_frequency_post`` (and ``_base``),
    ``emergent_frequency`` and ``stable``, and a ``stability`` entry (definition, Jaccard
    stability, the stable emergent heads in the file's emergent order). ``per_problem_*`` are
    the per-problem importance grids ``[n_layers][n_heads]`` that ``result`` sums."""
    import numpy as np

    post = np.asarray(per_problem_post, dtype=float)  # [problems, layers, heads]
    base = None if per_problem_base is None else np.asarray(per_problem_base, dtype=float)
    n_problems, n_layers, n_heads = post.shape
    rng = np.random.default_rng(seed)
    ranks, circuits_post, circuits_base, emergents = [], [], [], []
    for _ in range(resamples):
        drawn = rng.integers(0, n_problems, n_problems)
        importance = post[drawn].sum(axis=0)
        order = np.argsort(-importance, axis=None, kind="stable")
        rank = np.empty(order.size, dtype=int)
        rank[order] = np.arange(1, order.size + 1)
        ranks.append(rank.reshape(n_layers, n_heads))
        in_post = set(rule.select(importance.tolist()))
        circuits_post.append(in_post)
        if base is not None:
            in_base = set(rule.select(base[drawn].sum(axis=0).tolist()))
            circuits_base.append(in_base)
            emergents.append(in_post - in_base)
        else:
            emergents.append(in_post)
    rank_array = np.stack(ranks)
    share = lambda sets, pair: sum(pair in s for s in sets) / resamples  # noqa: E731
    for head in result["heads"]:
        pair = (head["layer"], head["head"])
        low, high = np.percentile(rank_array[:, pair[0], pair[1]], INTERVAL)
        head["rank_interval_post"] = [int(np.floor(low)), int(np.ceil(high))]
        head["circuit_frequency_post"] = share(circuits_post, pair)
        head["circuit_frequency_base"] = share(circuits_base, pair) if base is not None else None
        head["emergent_frequency"] = share(emergents, pair)
        head["stable"] = head["emergent_frequency"] >= STABLE_SHARE
    stable = {(h["layer"], h["head"]) for h in result["heads"] if h["stable"]}
    what = (
        "emergent (in the post circuit and not in the base circuit)"
        if base is not None
        else ("in the post circuit (no base)")
    )
    result["stability"] = {
        "resamples": resamples,
        "seed": seed,
        "problems": n_problems,
        "definition": f"a head is stable when it is {what} in at least {STABLE_SHARE:.0%} of "
        f"{resamples} bootstrap resamples of the {n_problems} problems (drawn with replacement, "
        "importance summed over the drawn problems, the same circuit rule)",
        "threshold": STABLE_SHARE,
        "rank_interval": f"{INTERVAL[0]:g}th to {INTERVAL[1]:g}th percentile of the head's rank "
        "(1 = most important) over the resamples",
        "jaccard_circuit_post": mean_jaccard(circuits_post),
        "jaccard_circuit_base": mean_jaccard(circuits_base) if base is not None else None,
        "jaccard_emergent": mean_jaccard(emergents),
        "stable_emergent": [
            {"layer": h["layer"], "head": h["head"]}
            for h in result["emergent"]
            if (h["layer"], h["head"]) in stable
        ],
    }
    return result
