"""Failure labels: why a response is wrong, with the span of the response that shows it.

Labelers are pluggy plugins (hook ``register_labelers``); the built-ins
(:mod:`harness_ext.reports.builtin_labelers`) register through the same hook. Each response
is offered to the labelers in order and the first one that answers gives its label. The order
is each labeler's ``order`` attribute (set it with :func:`ordered`; default
:data:`DEFAULT_ORDER`), then its name. Built-in order::

    0 correct, 100 truncated, 200 logical_loop, 300 no_answer, 400 calculation_error,
    500 found_then_lost, (900: labelers without an order), 1000 reasoning_error

A wrong response whose answer check ran out of time (``grade_reason`` "timeout") is labelled
``ungraded`` before any labeler is asked: it is counted wrong but has no failure to explain.

A labeler gets one response as a *sample*: the mapping lm-eval logs for the problem, narrowed
to this response (``resps == [[response]]``, ``filtered_resps == [answer]``), plus ``response``,
``answer`` (extracted, or None), ``gold``, ``correct``, ``truncated``, ``integer_range``,
``task``, ``max_gen_toks``, ``n_tokens`` and ``grade_reason`` (the reason
:func:`harness_ext.answers.check` gave, e.g. ``out_of_range``), None when unknown. It returns
None (does not apply), a label string, or a :class:`Diagnosis` with evidence.

Bounds: work, never a clock. The answer checks of one :func:`label`/:func:`diagnose` (grading
the response, and the checks a labeler makes, e.g. ``found_then_lost``: at most
:data:`harness_ext.reports.reached.MAX_CANDIDATES`) are each bounded in work
(:data:`harness_ext.answers.WORK_LIMIT`), and the built-in labelers read bounded parts of a
long response (see :mod:`harness_ext.reports.builtin_labelers`), so a label is the same alone,
from many threads and on a busy machine, also for hostile megabyte responses. Evidence and notes are display text: a lone
surrogate in them (not valid UTF-8) is replaced by U+FFFD; spans still index the response.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Callable, Mapping, Optional, Sequence, TypeVar

from harness_ext.errors import SparksError
from harness_ext.labeling import Diagnosis, Labeler, LabelerResult, LabelSample

__all__ = [
    "BUILTIN_LABELS",
    "BUILTIN_PLUGIN",
    "DEFAULT_ORDER",
    "Diagnosis",
    "LabelSample",
    "Labeler",
    "LabelerResult",
    "NamedLabelers",
    "diagnose",
    "diagnose_sample",
    "get_ordered_labelers",
    "label",
    "make_sample",
    "ordered",
]

BUILTIN_PLUGIN = "harness_ext.reports.builtin_labelers"
BUILTIN_LABELS = (
    "correct",
    "truncated",
    "logical_loop",
    "no_answer",
    "calculation_error",
    "found_then_lost",
    "reasoning_error",
)
DEFAULT_ORDER = 900.0
UNLABELED = "unlabeled"  # only when the chosen labelers leave a response without a label
UNGRADED = "ungraded"  # the answer check ran out of time: no failure to explain, no labeler asked
_SURROGATE = re.compile("[\ud800-\udfff]")


F = TypeVar("F", bound=Callable[..., Any])
NamedLabelers = Sequence[tuple[str, Labeler]]


def ordered(order: float) -> Callable[[F], F]:
    """Decorator: the position of a labeler in the label order (see the module docstring)."""

    def mark(labeler: F) -> F:
        labeler.order = float(order)  # type: ignore[attr-defined]
        return labeler

    return mark


def _ensure_builtins() -> None:
    """Load the plugins; register the built-in labelers if the plugin list does not have them
    (thread-safe: many threads may label their first response at once)."""
    from harness_ext import plugins

    plugins.ensure_registered(BUILTIN_PLUGIN)


def get_ordered_labelers(names: Optional[Sequence[str]] = None) -> NamedLabelers:
    """The registered labelers in label order; ``names`` picks some and fixes their order."""
    from harness_ext.plugins import get_labelers

    _ensure_builtins()
    found = get_labelers()
    if names:
        unknown = [name for name in names if name not in found]
        if unknown:
            raise SparksError(
                f"unknown labeler(s) {', '.join(unknown)}; the registered ones are "
                f"{', '.join(sorted(found))}"
            )
        return [(name, found[name]) for name in names]
    return sorted(
        found.items(), key=lambda item: (float(getattr(item[1], "order", DEFAULT_ORDER)), item[0])
    )


def make_sample(
    response: str,
    gold: str,
    *,
    truncated: bool = False,
    integer_range: Optional[tuple[int, int]] = None,
    answer: Optional[str] = None,
    correct: Optional[bool] = None,
    doc: Optional[Mapping[str, Any]] = None,
    task: Optional[str] = None,
    max_gen_toks: Optional[int] = None,
    n_tokens: Optional[int] = None,
    doc_id: Optional[int] = None,
    target: Optional[str] = None,
    grade_reason: Optional[str] = None,
) -> LabelSample:
    """The per-response sample that labelers receive (answer and correctness filled in)."""
    from harness_ext import answers

    reason = grade_reason
    if answer is None or correct is None:
        verdict = answers.check(response, gold, integer_range=integer_range)
        answer = verdict.extracted if answer is None else answer
        correct = verdict.correct if correct is None else correct
        reason = verdict.reason
    return {
        "doc": dict(doc or {}),
        "doc_id": doc_id,
        "target": gold if target is None else target,
        "resps": [[response]],
        "filtered_resps": [answer or ""],
        "response": response,
        "answer": answer or None,
        "gold": gold,
        "correct": bool(correct),
        "truncated": bool(truncated),
        "integer_range": integer_range,
        "task": task,
        "max_gen_toks": max_gen_toks,
        "n_tokens": n_tokens,
        "grade_reason": reason,
    }


def diagnose_sample(sample: LabelSample, labelers: Optional[NamedLabelers] = None) -> Diagnosis:
    """The first label a labeler gives ``sample`` (labelers in label order)."""
    chosen = labelers if labelers is not None else get_ordered_labelers()
    return _printable(_first_label(sample, chosen))


def _first_label(sample: LabelSample, labelers: NamedLabelers) -> Diagnosis:
    if sample.get("grade_reason") == "timeout" and not sample.get("correct"):
        return Diagnosis(
            UNGRADED,
            note="the answer check used up its work limit: this response is "
            "counted wrong but was not graded",
        )
    for name, labeler in labelers:
        try:
            result = labeler(sample)
        except Exception as error:
            raise SparksError(
                f"labeler {name!r} failed: {type(error).__name__}: {error}; fix "
                f"or uninstall its plugin, or leave it out with --labels"
            ) from error
        if result is None:
            continue
        if isinstance(result, Diagnosis):
            return result
        if isinstance(result, str) and result:
            return Diagnosis(result)
        raise SparksError(
            f"labeler {name!r} returned {result!r}; a labeler returns None, a "
            f"label string or a harness_ext.reports.Diagnosis"
        )
    return Diagnosis(UNLABELED, note="no labeler applied")


def _printable(diagnosis: Diagnosis) -> Diagnosis:
    """``diagnosis`` with lone surrogates in its evidence and note replaced (they cannot be
    written as UTF-8 to a report or a terminal)."""
    evidence, note = (
        _SURROGATE.sub("\ufffd", text) if isinstance(text, str) else text
        for text in (diagnosis.evidence, diagnosis.note)
    )
    if (evidence, note) == (diagnosis.evidence, diagnosis.note):
        return diagnosis
    return replace(diagnosis, evidence=evidence, note=note)


def _check_inputs(response: Any, gold: Any, integer_range: Any) -> str:
    """``gold`` as text; a clear error for arguments of the wrong type."""
    if not isinstance(response, str):
        raise SparksError(
            f"the response to label must be a str, got {type(response).__name__}; "
            f"pass '' for an empty response"
        )
    if isinstance(gold, bool) or not isinstance(gold, (str, int, float)):
        raise SparksError(f"the gold answer must be a str (or a number), got {type(gold).__name__}")
    from harness_ext.answers import validate_integer_range

    validate_integer_range(integer_range)
    return gold if isinstance(gold, str) else str(gold)


def diagnose(
    response: str,
    gold: str,
    truncated: bool = False,
    *,
    integer_range: Optional[tuple[int, int]] = None,
) -> Diagnosis:
    """The label of one response with its evidence (the span of the response that shows it)."""
    gold = _check_inputs(response, gold, integer_range)
    sample = make_sample(response, gold, truncated=truncated, integer_range=integer_range)
    return diagnose_sample(sample)


def label(
    response: str,
    gold: str,
    truncated: bool = False,
    *,
    integer_range: Optional[tuple[int, int]] = None,
) -> str:
    """The label of one response: ``correct``, ``truncated``, ``logical_loop``, ``no_answer``,
    ``calculation_error``, ``found_then_lost``, ``reasoning_error`` or a plugin's label.

    ``integer_range=(0, 999)`` applies the AIME rule (an answer of another form is
    ``no_answer``).
    """
    return diagnose(response, gold, truncated, integer_range=integer_range).label
