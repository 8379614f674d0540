"""The runs a report reads, as types: a :class:`Run` (one lm-eval invocation) holds a
:class:`TaskRun` per task, which holds its :class:`Problem` s and their graded, labelled
:class:`Response` s. A response keeps where its text is (:class:`ResponseText`), not the text.
:func:`harness_ext.reports.runs.load_run` builds them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

from harness_ext.errors import SparksError
from harness_ext.formats.samples import read_sample_at

if TYPE_CHECKING:
    from harness_ext.answers.graders import GradingRules

__all__ = [
    "TIER_FALLBACK",
    "Problem",
    "Response",
    "ResponseText",
    "Run",
    "TaskRun",
    "Warn",
    "id_sort_key",
]

TIER_FALLBACK = "all"

Warn = Callable[[str], None]


@dataclass(frozen=True, slots=True)  # slots: one per response, so kept small
class ResponseText:
    """Where a response's text is: response ``index`` of the sample at byte ``offset`` of a
    samples file, which had ``size`` bytes and modification time ``mtime_ns`` when it was read.
    """

    path: Path
    offset: int
    index: int
    size: int
    mtime_ns: int

    def read(self) -> str:
        """The text, read again from the samples file (which must not have changed)."""
        try:
            stat = self.path.stat()
        except OSError as error:
            raise SparksError(f"cannot read {self.path} again: {error.strerror}") from None
        if (stat.st_size, stat.st_mtime_ns) != (self.size, self.mtime_ns):
            raise SparksError(
                f"samples file {self.path} changed while the report was being made; "
                f"make the report again"
            )
        return _responses_at(self.path, self.offset, self.size, self.mtime_ns)[self.index]


@functools.lru_cache(maxsize=2)  # a problem's n responses are shown one after the other
def _responses_at(path: Path, offset: int, size: int, mtime_ns: int) -> tuple[str, ...]:
    return read_sample_at(path, offset).responses


@dataclass(slots=True)
class Response:
    """One generated response, graded and labelled. Its text is not kept: ``source`` says where
    it is, and :attr:`text` reads it again (``n_chars`` is its length)."""

    index: int
    source: ResponseText
    n_chars: int
    answer: Optional[str]
    correct: bool
    truncated: bool
    n_tokens: Optional[int]
    label: str = ""
    evidence: str = ""
    span: Optional[tuple[int, int]] = None
    note: str = ""
    recorded: bool = False  # n_tokens and truncated come from the run's sparks_generation log
    ungraded: bool = False  # the answer check ran out of time (reason "timeout"): counted wrong

    @property
    def text(self) -> str:
        """The full text, read again from the samples file."""
        return self.source.read()


@dataclass
class Problem:
    """One problem of a task in a run: its logged score and its n responses."""

    task: str
    doc_id: int
    problem_id: str
    tier: str
    gold: str
    number: Optional[int]
    score: float
    responses: list[Response]
    text: str = ""  # the problem statement, as the task logged it (doc.problem)
    ungraded: int = 0  # responses whose check ran out of time (the run's logged ``ungraded``)


def _default_rules() -> GradingRules:
    from harness_ext.answers.graders import GradingRules  # pydantic: imported when needed

    return GradingRules()


@dataclass
class TaskRun:
    task: str
    metric: str  # "pass@1" or "exact_match"
    repeats: int
    max_gen_toks: Optional[int]
    generation_kwargs: dict[str, Any]
    aggregate: Optional[float]  # lm-eval's own number for the task
    samples_file: Path
    problems: dict[str, Problem] = field(default_factory=dict)  # by problem_id
    grading: GradingRules = field(default_factory=_default_rules)  # as the run recorded them

    @property
    def ungraded(self) -> int:
        """Responses whose answer check ran out of time: counted wrong, reported apart."""
        return sum(problem.ungraded for problem in self.problems.values())


@dataclass
class Run:
    """One lm-eval run, as a report needs it."""

    name: str
    results_file: Path
    model: str
    model_args: str
    pretrained: str
    interventions: str
    date: str
    lm_eval_version: str
    sparks_version: str
    truncation: str
    tasks: dict[str, TaskRun]
    folded: bool = False  # the interventions are folded into the checkpoint (`sparks fold`)
    random_control: Optional[dict[str, Any]] = None  # the record of a random:... control run
    chat_template: str = "not applied"  # "applied (sha 1a2b3c4d)" when lm-eval applied one
    model_settings: dict[str, str] = field(default_factory=dict)  # model_args but the model's
    folded_from: str = ""  # the source model of a folded checkpoint

    @property
    def interventions_text(self) -> str:
        """The interventions as shown: ``none``, the spec, or the spec marked as folded."""
        if not self.interventions:
            return "none"
        return (
            f"{self.interventions} (folded into the checkpoint)"
            if self.folded
            else self.interventions
        )

    @property
    def enable_thinking(self) -> str:
        """``enable_thinking`` as the run set it (model_args or chat_template_args)."""
        return self.model_settings.get("enable_thinking", "model default")

    def header(self) -> dict[str, str]:
        return {
            "name": self.name,
            "model": self.model,
            "pretrained": self.pretrained,
            "chat_template": self.chat_template,
            "enable_thinking": self.enable_thinking,
            "model_args": self.model_args,
            "interventions": self.interventions_text,
            "date": self.date,
            "lm_eval_version": self.lm_eval_version,
            "sparks_version": self.sparks_version,
            "truncation": self.truncation,
            "results_file": str(self.results_file),
        }


def id_sort_key(problem_id: str) -> tuple[tuple[int, int, str], ...]:
    """Numeric order for ids: ``arith/7`` before ``arith/17``, ``2024-I-5`` before ``2024-I-10``."""
    parts = re.split(r"(\d+)", problem_id)
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in parts if part)
