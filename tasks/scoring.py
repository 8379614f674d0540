"""Prompts, the answer filter and the metrics shared by every sparks task (thin: the work is in
``harness_ext.answers``).

Each task declares how it is graded in its YAML metadata (``grading``: the grader ``math``,
``letter`` or ``alias``, an integer range, whether its text may be published; see
:mod:`harness_ext.answers.graders`). :class:`harness_ext.tasks.task.SparksTask` reads those
rules and hands them to the functions below (their ``rules`` argument), so the filter and the
metrics of a task use the grader it names, the same one the reports use.

The filter pipeline replaces each response by its extracted answer (the final answer, the
choice letter or the answer span, as the grader reads it), so that lm-eval's sample logs
(``--log_samples``) show it in ``filtered_resps`` next to the raw ``resps``; the metrics then
judge those answers against the doc. Next to ``pass@1`` / ``exact_match`` every task reports
``ungraded``: per problem (each sample log's ``ungraded``) the answers whose comparison ran out
of time (``Verdict.ungraded``, reason "timeout"), and for the task (``ungraded,extracted`` in
the results) their total. They count as wrong in ``pass@1``; the count says how many grades
are missing.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from harness_ext.answers import Verdict, graders
from harness_ext.answers.graders import GradingRules

INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
MATH = GradingRules()  # the rules of a task that declares none: the math grader

F = TypeVar("F", bound=Callable[..., Any])


def takes_rules(function: F) -> F:
    """Mark a filter or metric that takes the task's grading rules (``rules=``): SparksTask
    binds them from the task's metadata."""
    function.sparks_takes_rules = True  # type: ignore[attr-defined]
    return function


def doc_to_text(doc: dict[str, Any]) -> str:
    """The problem, then the reasoning-model instruction (works as a chat user turn)."""
    return f"{doc['problem'].strip()}\n\n{INSTRUCTION}"


@takes_rules
def extract_answers(
    resps: list[list[str]], docs: list[dict[str, Any]], rules: GradingRules = MATH
) -> list[list[str]]:
    """Filter: every response of every doc becomes its answer as the task's grader reads it,
    as written ("" if none)."""
    return [
        [graders.extract(response, rules) or "" for response in responses] for responses in resps
    ]


def _verdicts(results: list, doc: dict[str, Any], rules: GradingRules) -> list[Verdict]:
    # lm-eval passes one entry per request; with `repeats` the entry is the list of n answers
    extracted = results[0] if results and isinstance(results[0], list) else results
    return [graders.judge(answer, doc, rules) for answer in extracted]


def _scored(metric: str, verdicts: list[Verdict]) -> dict[str, float]:
    """``metric`` (the share of correct answers) and ``ungraded``: how many answers could not
    be compared in time (reason "timeout"; counted wrong in ``metric``, reported here apart)."""
    correct = sum(v.correct for v in verdicts)
    return {metric: correct / len(verdicts), "ungraded": sum(v.ungraded for v in verdicts)}


@takes_rules
def pass_at_1(
    doc: dict[str, Any], results: list[str], rules: GradingRules = MATH
) -> dict[str, float]:
    """pass@1 averaged over the n sampled responses of one problem, and the ungraded count."""
    return _scored("pass@1", _verdicts(results, doc, rules))


@takes_rules
def exact_match(
    doc: dict[str, Any], results: list[str], rules: GradingRules = MATH
) -> dict[str, float]:
    """Greedy tasks: the one response is right or wrong (or ungraded)."""
    return _scored("exact_match", _verdicts(results, doc, rules)[:1])


def total(items: list[float]) -> float:
    """lm-eval aggregation of the ``ungraded`` metric: the number of ungraded answers."""
    return float(sum(items))


# ---------------------------------------------------------------- control tasks: prompts

GPQA_INSTRUCTION = (
    "Please reason step by step, and put the letter of the correct choice "
    "(A, B, C or D) within \\boxed{}."
)


def gpqa_doc_to_text(doc: dict[str, Any]) -> str:
    """The question with its lettered choices, then the instruction (a plain user turn)."""
    return f"{doc['problem'].strip()}\n\n{GPQA_INSTRUCTION}"


def triviaqa_doc_to_text(doc: dict[str, Any]) -> str:
    """lm-eval's triviaqa prompt, ``Question: ...?\\nAnswer:`` (one question mark, not two)."""
    return f"Question: {doc['problem'].strip().rstrip('?').rstrip()}?\nAnswer:"
