"""The prompts ``sparks discover`` attributes: each problem's task prompt, tokenized the way the
evaluation tokenizes it (the task's own ``doc_to_text``, in a user turn of the chat template)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from harness_ext.errors import SparksError

__all__ = ["Problem", "prompt_ids"]


@dataclass(frozen=True)
class Problem:
    """One prompt, already tokenized (chat template applied when the tokenizer has one);
    ``base_prompt_ids`` is BASE's prompt where it differs from POST's (thinking off, or BASE's
    own chat template with ``--base-chat-template-args``), else None."""

    problem_id: str
    prompt_ids: tuple[int, ...]
    base_prompt_ids: tuple[int, ...] | None = None

    def prompt(self, side: str) -> tuple[int, ...]:
        """The prompt of ``side``, ``post`` or ``base``."""
        return (
            self.base_prompt_ids
            if side == "base" and self.base_prompt_ids is not None
            else self.prompt_ids
        )


def prompt_ids(
    tokenizer: Any, row: dict[str, Any], template_args: Mapping[str, Any] | None = None
) -> list[int]:
    """The task prompt as token ids: a user turn of the chat template when the tokenizer has
    one (``template_args`` are the template's extra variables, e.g. ``enable_thinking``), else
    the plain prompt."""
    from harness_ext.tasks.scoring import doc_to_text

    text = doc_to_text(row)
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": text}],
            tokenize=False,
            add_generation_prompt=True,
            **(template_args or {}),
        )
        return tokenizer(text, add_special_tokens=False)["input_ids"]
    if template_args:
        raise SparksError(
            f"chat template arguments {json.dumps(dict(template_args))} were given, but "
            "the tokenizer has no chat template; drop them"
        )
    return tokenizer(text)["input_ids"]
