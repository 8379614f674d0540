"""What a failure labeler receives and returns: the types of the ``register_labelers`` hook.

Shared by the hookspec (:mod:`harness_ext.hookspecs`, which types the hook with them), the
reports that call labelers (:mod:`harness_ext.reports.labels`, which re-exports them) and plugin
authors, so they live in the base layer. Nothing heavy is imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, TypedDict, Union

__all__ = ["Diagnosis", "LabelSample", "Labeler", "LabelerResult"]


class LabelSample(TypedDict):
    """What a labeler receives for one response. Every key is always there (None when
    unknown), so a labeler never has to tell a missing key from an unknown value."""

    doc: dict[str, Any]  # the task's doc (problem, answer, problem_id, tier, ...)
    doc_id: Optional[int]
    target: str  # lm-eval's target for the problem
    resps: list[list[str]]  # [[response]]: lm-eval's shape, narrowed to this response
    filtered_resps: list[str]  # [answer or ""]
    response: str
    answer: Optional[str]  # the extracted final answer
    gold: str
    correct: bool
    truncated: bool  # generation stopped at its token budget
    integer_range: Optional[tuple[int, int]]  # (0, 999) for AIME
    task: Optional[str]
    max_gen_toks: Optional[int]
    n_tokens: Optional[int]
    grade_reason: Optional[str]  # harness_ext.answers reason ("out_of_range", "timeout", ...)


@dataclass(frozen=True)
class Diagnosis:
    """A label and its evidence: the response's span that shows it, and a one-line note."""

    label: str
    evidence: str = ""
    span: Optional[tuple[int, int]] = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """The diagnosis as JSON (``report.json``)."""
        return {
            "label": self.label,
            "evidence": self.evidence,
            "span": list(self.span) if self.span else None,
            "note": self.note,
        }


LabelerResult = Union[None, str, Diagnosis]
"""None (the labeler does not apply), a label, or a label with its evidence."""

Labeler = Callable[[LabelSample], LabelerResult]
"""``labeler(sample) -> None | label | Diagnosis``; its docstring is the user-facing help."""
