"""What ``sparks discover`` prints when it is done: transitions and their correlation for a
series, the circuits, the top emergent heads, and where the files went."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["print_summary"]


def print_summary(result: dict[str, Any], output: Path, plots: list[Path]) -> None:
    """Print the summary of one ``sparks discover`` result, written to ``output`` and ``plots``."""
    show = lambda heads: ", ".join(f"L{h['layer']}H{h['head']}" for h in heads) or "none"  # noqa: E731
    changes = (result.get("dynamics") or {}).get("changes", [])
    for step, change in zip(result.get("transitions", []), changes):
        reward = change["reward_change"]
        print(
            f"{step['from']} -> {step['to']}: appeared {show(step['appeared'])}; disappeared "
            f"{show(step['disappeared'])}; circuit change {change['circuit_change']:.2f}"
            + ("" if reward is None else f", reward change {reward:+.3g}")
        )
    if "dynamics" in result:
        print(_correlation_line(result["dynamics"]["spearman"]))
    if "compensatory" in result:
        from harness_ext.discovery.thinking import thinking_lines

        print("\n".join(thinking_lines(result)))
    else:
        print(_circuits_line(result))
        what = (
            "emergent heads"
            if result["circuit_base"] is not None
            else "heads in the post circuit (no --base to compare)"
        )
        print(f"{len(result['emergent'])} {what}: {show(result['emergent'][:10])}")
    stability = result.get("stability")
    if stability is not None:  # --bootstrap: the heads to ablate are the stable ones
        stable = stability["stable_emergent"]
        print(
            f"stable (emergent in >= {stability['threshold']:.0%} of {stability['resamples']} "
            f"resamples): {len(stable)} of {len(result.get('emergent', []))}: {show(stable[:10])}"
        )
    print(f"wrote {output}" + "".join(f" and {plot}" for plot in plots))
    pick = "5" if stability is None else "stable"
    print(f"use them with: sparks eval --interventions 'zero:@{output}#{pick}' ...")


def _circuits_line(result: dict[str, Any]) -> str:
    circuits, n_total = result["circuits"], len(result["heads"])
    line = f"circuits ({circuits['rule']}): post {circuits['post']['size']} of {n_total} heads"
    if circuits["base"] is not None:
        both = circuits["overlap"]
        line += (
            f", base {circuits['base']['size']}; overlap {both['both']} "
            f"(Jaccard {both['jaccard_index']:.2f})"
        )
    return line


def _correlation_line(spearman: dict[str, Any]) -> str:
    if spearman["rho"] is None:
        return f"reward change vs circuit change: no Spearman correlation ({spearman['note']})"
    return (
        f"reward change vs circuit change: Spearman rho {spearman['rho']:+.2f} "
        f"(n {spearman['n']}, p {spearman['p']:.3g}, {spearman['method']})"
    )
