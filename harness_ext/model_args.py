"""lm-eval's ``model_args``, read one way: by the models, the CLI's checks and the results names.

lm-eval takes model arguments in three forms: ``key=value,key=value`` (the values typed by its
own ``simple_parse_args_string``: ``True``, ``3``, ``None``), a JSON object, or, on the command
line, one ``--model_args`` followed by several such words (merged). Every part of sparks that
reads model arguments before or besides lm-eval goes through :func:`parse_model_args` or
:func:`parse_model_args_words`, so that it reads what the model will receive.

lm-eval's parser is imported when first needed (``lm_eval.utils`` imports neither torch nor
transformers, so the CLI's early checks stay fast).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from harness_ext.errors import SparksError

__all__ = ["parse_model_args", "parse_model_args_words"]


def parse_model_args(value: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """One ``model_args`` value as a dict: a mapping as is, text starting with ``{`` as a JSON
    object, anything else as lm-eval's ``key=value,...`` pairs. Invalid JSON raises
    :class:`SparksError` naming the problem."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    text = str(value).strip()
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as error:
            raise SparksError(
                f"model_args {text!r} is not valid JSON: {error.msg} at character "
                f"{error.pos + 1}. Write a JSON object with double-quoted keys and strings, "
                f"or key=value pairs separated by commas"
            ) from None
        if not isinstance(parsed, dict):
            raise SparksError(f"model_args {text!r} is JSON but not an object; write {{...}}")
        return parsed
    from lm_eval.utils import simple_parse_args_string

    return dict(simple_parse_args_string(text))


def parse_model_args_words(words: Sequence[str]) -> dict[str, Any]:
    """The words of one ``--model_args`` occurrence merged into one dict, as lm-eval's command
    line merges them: a JSON object in the first word, else each word's ``key=value`` pairs
    (a later key wins)."""
    if not words:
        return {}
    if str(words[0]).lstrip().startswith("{"):
        return parse_model_args(words[0])
    merged: dict[str, Any] = {}
    for word in words:
        merged.update(parse_model_args(word))
    return merged
