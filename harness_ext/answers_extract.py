"""Compatibility name: answer extraction moved to :mod:`harness_ext.answers.extract`; this
module re-exports what the task filters use (the cut and the box reader)."""

from harness_ext.answers.extract import (
    MAX_RESPONSE_CHARS,
    _boxes,
    _last_boxed,
    cut_response,
    extract_answer,
    find_answer,
)

__all__ = [
    "MAX_RESPONSE_CHARS",
    "_boxes",
    "_last_boxed",
    "cut_response",
    "extract_answer",
    "find_answer",
]
