"""``sparks discover --compare-thinking``: one model's circuits with thinking on and off.

The same weights are attributed twice, as post and base are: the "post" side is the model with
thinking on and the "base" side the model with thinking off, through the chat template's
``enable_thinking``. Each problem's prompt is rendered in both modes; each mode's clean input is
its prompt and its own opening, its corrupted input the same prompt with the other mode's
opening of the problem. ``emergent`` heads are in the think-on circuit only, ``compensatory``
heads in the think-off circuit only (the paper's claim: thinking off recruits a broader set).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from harness_ext.discovery.prompts import Problem, prompt_ids
from harness_ext.errors import SparksError

__all__ = ["ROLES", "add_thinking", "thinking_lines", "thinking_problems"]

ROLES = {"post": "thinking on", "base": "thinking off"}


def thinking_problems(
    tokenizer: Any,
    rows: Sequence[tuple[str, dict[str, Any]]],
    template_args: Mapping[str, Any],
    model_name: str,
) -> list[Problem]:
    """Each problem with its think-on prompt (``prompt_ids``) and think-off prompt
    (``base_prompt_ids``). :class:`SparksError` when the tokenizer has no chat template, or its
    template ignores ``enable_thinking`` (both prompts the same tokens)."""
    if not getattr(tokenizer, "chat_template", None):
        raise SparksError(
            f"{model_name} has no chat template; --compare-thinking needs one that reads "
            "enable_thinking (as Qwen3's does)"
        )
    problems = []
    for _, row in rows:
        on = prompt_ids(tokenizer, row, {**template_args, "enable_thinking": True})
        off = prompt_ids(tokenizer, row, {**template_args, "enable_thinking": False})
        if on == off:
            raise SparksError(
                f"the chat template of {model_name} ignores enable_thinking: thinking on "
                "and off give the same prompt tokens, so both circuits would be the "
                "same; use a model whose template reads it (Qwen3, e.g. Qwen/Qwen3-8B)"
            )
        problems.append(Problem(row["problem_id"], tuple(on), tuple(off)))
    return problems


def add_thinking(result: dict[str, Any]) -> dict[str, Any]:
    """A post (= thinking on) / base (= thinking off) heads.json result with the
    ``compensatory`` heads (in the think-off circuit only; most negative effect first, then
    ``importance_base``), a ``compensatory`` flag per head, and the rules worded for the modes."""
    on = {(h["layer"], h["head"]) for h in result["circuit_post"]}
    off = {(h["layer"], h["head"]) for h in result["circuit_base"]}
    heads = [{**h, "compensatory": (h["layer"], h["head"]) in off - on} for h in result["heads"]]
    chosen = sorted(
        (h for h in heads if h["compensatory"]),
        key=lambda h: (h["effect"], -h["importance_base"], h["layer"], h["head"]),
    )
    return {
        **result,
        "heads": heads,
        "emergent_rule": "in the thinking-on circuit and not in the thinking-off circuit; by "
        "effect, then importance_post (post = thinking on)",
        "compensatory": [
            {
                "layer": h["layer"],
                "head": h["head"],
                "effect": h["effect"],
                "importance_base": h["importance_base"],
            }
            for h in chosen
        ],
        "compensatory_rule": "in the thinking-off circuit and not in the thinking-on circuit; by "
        "effect (most negative first), then importance_base (base = thinking off)",
    }


def thinking_lines(result: dict[str, Any]) -> list[str]:
    """The summary: both circuit sizes, their overlap, and the heads of each mode alone."""
    circuits = result["circuits"]
    on, off, both = circuits["post"], circuits["base"], circuits["overlap"]
    ratio = f"{off['size'] / on['size']:.2f}" if on["size"] else "n/a"
    show = lambda heads: ", ".join(f"L{h['layer']}H{h['head']}" for h in heads[:10]) or "none"  # noqa: E731
    return [
        f"circuits ({circuits['rule']}): thinking on {on['size']} heads, thinking off "
        f"{off['size']} heads (off/on {ratio}); overlap {both['both']} "
        f"(Jaccard {both['jaccard_index']:.2f})",
        f"{len(result['emergent'])} emergent heads (thinking on only): {show(result['emergent'])}",
        f"{len(result['compensatory'])} compensatory heads (thinking off only): "
        f"{show(result['compensatory'])}",
    ]
