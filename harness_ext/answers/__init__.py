"""Grade a model's final answer against a gold answer: safe, bounded, exact where it can be,
Math-Verify for the rest. Every rule, with an example and what Math-Verify does, is in
``docs/answers.md``; the benchmark that decided them is ``benchmarks/answers.py``.

Public API::

    extract_answer(response) -> str | None          # the final answer, as written
    answers_equal(pred, gold) -> bool                # two already-extracted answers
    check_answer(pred, gold) -> Verdict              # the same, with the reason
    is_correct(response, gold, *, integer_range=None) -> bool
    check(response, gold, *, integer_range=None) -> Verdict(extracted, correct, reason)
    warm_up() / shutdown() / clear_cache()           # worker start / stop; drop caches

How a check goes
    1. Extraction (``extract``): the last box (with the boxes joined to it: its *parts*), else a
       later or the last answer phrase in English, French, Chinese, Arabic or Hindi, else a
       closing sentence that concludes with a value, else a closing math span, else a short
       one-line response. Only the last ``MAX_RESPONSE_CHARS`` characters are read. A number
       glued to a word or in a path (``x0``, ``/home/u0``) is never an answer in free text.
    2. Normalisation (``normalize``), both sides: delimiters, ``\\left``/``\\right``, spacing,
       ``\\dfrac``, units, currency, thousands separators, a decimal comma (``2,74``), unicode,
       AoPS choice boxes (``\\textbf{(113) }`` is 113), ``\\approx`` tails and numeric
       computations (``180 + 24 = 204`` is 204), plain notation (``sqrt(2)``) as LaTeX.
    3. Exact fast paths, in microseconds: the same text ("exact"); words and choice letters
       (``\\text{(C)}`` = ``C``); plain numbers as ``fractions.Fraction`` (integers, decimals,
       fractions, mixed numbers, percent, ``10^k``, ``n!``), a decimal against an exact value
       only to a relative 1e-9; numbers in a base (``2516_8``).
    4. Everything else: Math-Verify's LaTeX parser and ``verify`` in the worker process (a child
       per request, forked from a warm worker, limited to ``WORK_LIMIT`` Python calls, so a
       verdict does not depend on the load), with our numeric equality (no 6-place
       rounding: ``1/2004!`` != ``1/2006!``, ``1.0000001`` != ``1``) and answers that would run
       away (power towers, ``10^{10^{10}}!``) refused before evaluation.
    Several boxes that restate one answer
    (``\\boxed{15\\frac{39}{40}}, or \\boxed{\\frac{639}{40}}``) are correct when every one
    equals the gold; joined boxes are also compared as one list
    (``\\boxed{2}, \\boxed{3}`` equals ``2, 3``). ``\\textbf{(C)}\\ 42`` is accepted for gold C
    and for gold 42. With ``integer_range=(0, 999)`` (AIME) the answer must be an exact
    integer in range, else "out_of_range".

Safety
    Model text is never evaluated: Math-Verify runs with its LaTeX extraction only; in the
    worker, number tokens are read without ``sympify``, and ``parse_expr``, ``eval``, ``exec``
    and ``compile`` refuse source text (``sandbox``, ``latex_patches``).

Bounds: work, never waiting
    A verdict is decided by work, so the same input gets the same verdict under any load and
    from any number of threads. Extraction reads at most ``MAX_RESPONSE_CHARS`` characters and
    answers of at most ``MAX_ANSWER_CHARS``; the fast paths take microseconds; a Math-Verify
    comparison runs in a child of the worker process that may make ``WORK_LIMIT`` (3 million)
    Python calls, counted, and is ended when it has (with ``CPU_LIMIT_S``, 5 s of its own CPU
    time, as a backstop for work in C code): its answer is then *ungraded* (reason
    "timeout"), never a wrong grade. A count does not move with the load, as CPU time does.
    Waiting (for the worker's queue, one child per usable CPU, or for a busy machine) counts
    against nothing. On a machine that is not oversubscribed a symbolic check takes a few ms
    to a few hundred ms of wall time (the limit itself is about 2.5 s of CPU here); a label
    makes at most 41 such comparisons. A watchdog replaces a worker that exits, is stopped
    or stays silent, and the check runs again (``pool``); the worker starts in about 2 s, once per process, when a math
    task or ``sparks report`` starts (``warm_up()``) or else at the first check that needs it.
    No SIGALRM: any thread or worker process may call these functions; the fast paths never
    touch sympy. Results are cached, except timeouts and answers over ``MAX_ANSWER_CHARS``.

Reasons: "exact", "symbolic", "numeric" (correct); "no_answer", "mismatch", "parse_error",
"refused", "out_of_range", "error" (incorrect; "error" is a grader bug, logged); "timeout"
(incorrect as a bool, but *ungraded*: the comparison used up its work limit, see
``Verdict.ungraded``; logged on logger ``harness_ext.answers``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

from harness_ext.errors import SparksError

from . import grade
from .extract import MAX_RESPONSE_CHARS, Found, extract_answer, find_answer, is_solution
from .grade import CPU_LIMIT_S, WORK_LIMIT, compare, integer_value
from .normalize import CHOICE_PREFIX, MAX_ANSWER_CHARS, clean
from .pool import GraderUnavailable, shutdown, warm_up

__all__ = [
    "CPU_LIMIT_S",
    "GraderUnavailable",
    "MAX_ANSWER_CHARS",
    "MAX_RESPONSE_CHARS",
    "Verdict",
    "WORK_LIMIT",
    "answers_equal",
    "check",
    "check_answer",
    "clear_cache",
    "extract_answer",
    "is_correct",
    "shutdown",
    "validate_integer_range",
    "warm_up",
]

log = logging.getLogger("harness_ext.answers")

UNGRADED_REASONS = frozenset({"timeout"})


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check: the extracted answer, whether it is correct, and why."""

    extracted: Optional[str]
    correct: bool
    reason: str

    @property
    def ungraded(self) -> bool:
        """The comparison used up its work limit (reason "timeout"): the sample is neither
        right nor wrong and is counted apart."""
        return self.reason in UNGRADED_REASONS


def _gold_found(gold: str) -> Found:
    """The gold answer: extracted like a response when it holds a box or is a whole solution."""
    stripped = gold.strip()
    if is_solution(stripped):  # a box, a GSM8K "#### 42" line, or a long text
        found = find_answer(stripped)
        if found is not None:
            return found
    return Found(stripped, (stripped,), "gold")


def _candidates(answer: str) -> list[str]:
    """The answer, plus its parts when it is a labelled choice like ``\\textbf{(C)}\\ 42``."""
    m = CHOICE_PREFIX.fullmatch(clean(answer)) if "(" in answer and len(answer) < 200 else None
    if not m or not m.group(2).strip():
        return [answer]
    return [answer, f"({m.group(1)})", m.group(2).strip()]


def _compare_found(found: Found, gold: str) -> tuple[bool, str]:
    """Any candidate equal to the gold; several boxes count when every one equals it."""
    best = (False, "mismatch")
    for cand in _candidates(found.text):
        equal, reason = compare(cand, gold)
        if equal:
            return True, reason
        if best[1] == "mismatch" or reason == "timeout":
            best = (False, reason)
    if len(found.parts) > 1:
        results = [compare(part, gold) for part in found.parts]
        if all(equal for equal, _ in results):
            return True, results[-1][1]
        if any(reason == "timeout" for _, reason in results) and best[1] != "timeout":
            best = (False, "timeout")
    return best


def _grade_found(found: Found, gold: str, integer_range: Optional[tuple[int, int]]) -> Verdict:
    gold_text = _gold_found(gold).text
    if integer_range is not None:
        return _check_integer(found, gold_text, integer_range)
    equal, reason = _compare_found(found, gold_text)
    return Verdict(found.text, equal, reason)


def answers_equal(pred: str, gold: str, *, integer_range: tuple[int, int] | None = None) -> bool:
    """Whether two already-extracted answers are equal (see the module docstring for rules).

    With ``integer_range`` (AIME: ``(0, 999)``) ``pred`` must be an exact integer in range.
    """
    return check_answer(pred, gold, integer_range=integer_range).correct


def check_answer(pred: str, gold: str, *, integer_range: tuple[int, int] | None = None) -> Verdict:
    """The verdict for an already-extracted answer (``Verdict.extracted`` is ``pred``)."""
    _require_text(pred, "pred")
    gold = _require_text(gold, "gold")
    validate_integer_range(integer_range)
    if not pred.strip():
        return Verdict(pred, False, "no_answer")
    try:
        return _grade_found(Found(pred, (pred,), "given"), gold, integer_range)
    except GraderUnavailable:
        raise
    except Exception:  # a grader bug must not crash an evaluation run: log it, count it wrong
        log.exception("answer check failed: pred=%.80r gold=%.80r", pred, gold)
        return Verdict(pred, False, "error")


def check(response: str, gold: str, *, integer_range: tuple[int, int] | None = None) -> Verdict:
    """Extract the final answer of ``response`` and grade it against ``gold`` (a str, or a
    number). A response or gold of another type (``bytes``, ``None``) is a ``TypeError``."""
    _require_text(response, "response")
    gold = _require_text(gold, "gold")
    validate_integer_range(integer_range)
    found = find_answer(response)
    if found is None:
        return Verdict(None, False, "no_answer")
    if integer_range is None and response.strip() == gold.strip():
        return Verdict(found.text, True, "exact")  # the response is the gold answer, verbatim
    try:
        return _grade_found(found, gold, integer_range)
    except GraderUnavailable:
        raise
    except Exception:  # a grader bug must not crash an evaluation run: log it, count it wrong
        log.exception("answer check failed: pred=%.80r gold=%.80r", found.text, gold)
        return Verdict(found.text, False, "error")


def _require_text(value: object, name: str) -> str:
    """``value`` as text: a str, or a gold given as a number; else a TypeError naming it."""
    if isinstance(value, str):
        return value
    if name == "gold" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    kind = "a str or a number" if name == "gold" else "a str"
    hint = " (decode bytes first)" if isinstance(value, (bytes, bytearray)) else ""
    raise TypeError(f"{name} must be {kind}, got {type(value).__name__}{hint}")


def validate_integer_range(integer_range: object) -> None:
    """Raise SparksError unless ``integer_range`` is None or ``(low, high)`` (a caller's
    mistake, not model text)."""
    if integer_range is None:
        return
    ok = (
        isinstance(integer_range, (tuple, list))
        and len(integer_range) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in integer_range)
        and integer_range[0] <= integer_range[1]
    )
    if not ok:
        raise SparksError(
            f"integer_range must be None or a pair of integers (low, high) with "
            f"low <= high, e.g. (0, 999) for AIME; got {integer_range!r}"
        )


def _integer_of(found: Found) -> Optional[int]:
    """The integer a found answer states: the answer, a choice's value, or restated boxes."""
    for cand in _candidates(found.text):
        value = integer_value(cand)
        if value is not None:
            return value
    if len(found.parts) > 1:
        values = {integer_value(part) for part in found.parts}
        if len(values) == 1:
            return values.pop()
    return None


def _check_integer(found: Found, gold: str, integer_range: tuple[int, int]) -> Verdict:
    """The AIME rule: the answer must be an exact integer within ``integer_range``."""
    lo, hi = integer_range
    value = _integer_of(found)
    if value is None or not lo <= value <= hi:
        return Verdict(found.text, False, "out_of_range")
    gold_value = integer_value(gold)
    if gold_value is None:
        equal, reason = _compare_found(found, gold)
        return Verdict(found.text, equal, reason)
    return Verdict(found.text, value == gold_value, "exact" if value == gold_value else "mismatch")


def is_correct(response: str, gold: str, *, integer_range: tuple[int, int] | None = None) -> bool:
    """Whether the final answer of ``response`` equals ``gold``. Never raises on model text;
    an *ungraded* answer (its comparison used up its work limit, see :func:`check`) is False.
    A response or gold that is not text (``bytes``, ``None``) is a ``TypeError``."""
    return check(response, gold, integer_range=integer_range).correct


def clear_cache() -> None:
    """Forget cached cleanings, parses and comparisons (benchmarks; tests)."""
    grade.clear_cache()
