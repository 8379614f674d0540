"""Grade a model's final answer against a gold answer: safe, bounded, exact where it can be.

Public API::

    extract_answer(response) -> str | None          # the final answer, as written
    answers_equal(pred, gold) -> bool                # two already-extracted answers
    is_correct(response, gold, *, integer_range=None) -> bool
    check(response, gold, *, integer_range=None) -> Verdict(extracted, correct, reason)
    warm_up() / shutdown() / clear_cache()           # sympy worker start / stop; drop caches

Extraction
    1. the last complete ``\\boxed{...}`` or ``\\fbox{...}`` (nested braces; ``\\boxed 5`` too);
       boxes right before it that are separated only by commas, "and" or spacing are joined
       (``\\boxed{2} and \\boxed{3}`` -> ``2, 3``); an unclosed box is skipped;
    2. the text after the last "final answer is", "the answer is", "Answer:" or "####" marker
       (its leading ``$...$``, else the value its sentence states: ``The largest $n$ is 34`` -> 34).
       A marker *after* the last box wins over the box;
    3. a closing sentence that states a value (``... so the probability is 2/3.``,
       ``$x \\ge 5$ is the solution.``);
    4. a ``$...$``, ``\\(...\\)`` or ``\\[...\\]`` that ends the response (``So $x = 5$.``);
    5. the whole response when it is one short line that is not prose (``"033"``).
    Chat-template tokens (``<|im_start|>``) and "I hope it is correct." at the end are ignored.
    There is no "last number anywhere" guess: a truncated generation that stops mid-reasoning
    has no answer (``no_answer``) even though it contains numbers. A gold answer that contains
    ``\\boxed`` is extracted the same way.
    Only the last 100,000 characters of a response are read (``MAX_RESPONSE_CHARS``; from a line
    start near the cut): the final answer is at the end, and this bounds the time on hostile
    output. A number glued to a word or in a path is not an answer found in free text
    (``The answer is x0``, ``... test0.``, ``... in /home/u0`` have none); ``x = 0``, ``(0)``,
    ``$0$``, ``-0``, ``0.`` and box contents are read as before.

Normalisation (both sides)
    ``$``, ``\\left``/``\\right``, spacing commands, ``\\dfrac``/``\\tfrac``, trailing ``.``, ``\\$``,
    doubly escaped commands (``\\\\frac`` from JSON), currency signs,
    thousands separators (``1,000``, ``10,\\!080``, ``1{,}000``; only a whole answer of 3-digit
    groups, so ``(1,2)`` stays a tuple), trailing unit words (``\\text{ cm}^2``, ``5 dollars``),
    unicode (``−5``, ``½``, ``√2``, ``π``, ``°``, ``²``). Leading zeros are just integers
    (``033`` == 33). A text answer (``\\text{Evelyn}``) compares case-insensitively; a choice
    letter ``\\text{(C)}`` equals ``(C)``, ``\\textbf{(C)}`` and a bare ``C``; a response
    ``\\textbf{(C)}\\ 42`` is accepted for gold ``C`` and for gold ``42``.

Equality
    * Same text after removing whitespace: equal ("exact"), in microseconds.
    * Numbers are exact rationals (``fractions.Fraction``): integers, decimals (``0.5`` == 1/2),
      ``\\frac``, mixed numbers (``3\\frac{1}{2}`` == 7/2: an integer followed by a fraction of
      two integer literals), factorials up to 5000!, so ``1/2004!`` != ``1/2006!``.
    * Closed forms with square roots of rationals, ``\\pi``, ``e``, ``i`` and variables are
      compared exactly by a built-in engine (``2\\sqrt3`` == ``\\sqrt{12}``,
      ``\\frac{1}{1+\\sqrt2}`` == ``\\sqrt2-1``, ``(a+5)(b+2)`` == ``ab+2a+5b+10``).
    * Anything else (trig, logs, other roots, ...) goes to a sympy worker process with a hard
      deadline: equal if ``simplify(a - b) == 0`` (also after radsimp/sqrtdenest), or, for
      constants only, if both sides agree to 45 significant digits ("numeric").
    * Float tolerance: only when exactly one side contains a decimal literal and the other is
      not an exact match, the values must agree to a relative 1e-9 (``3.14159265359`` ==
      ``\\pi``, ``3.14`` != ``\\pi``, ``0.3333333333`` == ``\\frac13``). Two exact values (or two
      decimals) are never compared with a tolerance.
    * Percent: ``50\\%`` equals ``50`` and ``0.5`` (the number as written, or it divided by 100);
      ``0.5`` against gold ``50\\%`` likewise.
    * Degrees: ``30^\\circ`` equals ``30``; against an answer with ``\\pi`` it is converted
      (``30^\\circ`` == ``\\frac{\\pi}{6}``).
    * Structure: bare lists ``1, 2`` and sets ``\\{1,2\\}`` are unordered; tuples ``(1,2)``,
      vectors and matrices are ordered and element-wise; intervals compare endpoints and
      brackets (``(1,2)`` is also the open interval); unions are unordered; ``a \\pm b`` is the
      list ``a+b, a-b``; repeated items of a set or list count once. Matrix arithmetic
      (``A + B``) is evaluated by sympy.
    * Relations: ``x = 5`` equals ``5`` when the left side only names the answer (``x``,
      ``f(x)``, ``(p, q)``, ``|AB|``, ``NO/BO``, ``A:B``); ``x \\in [1,2]`` equals ``[1,2]``;
      ``x > 3`` equals ``(3, \\infty)`` and ``0 < x \\le 1`` equals ``(0, 1]``. Two equations are
      equal with the same sides (either order) or when their ``lhs - rhs`` are nonzero rational
      multiples (``2x+2y=2`` == ``x+y=1``); two inequalities likewise with a positive multiple
      (``-x > -1`` == ``x < 1``). A chain ``x = 5+5+1 = 11`` means ``x = 11``; ``\\approx`` and
      what follows is dropped; a numeric equation ``2+3 = 5`` means its right side. ``a:b`` is
      ``a/b``. An equation whose left side is an expression (``x + y = 5``) is not its right side.
    * Based numbers: ``2516_8`` equals ``2516_{8}``, the same value in another base, and the
      bare digits ``2516`` (not the decimal value 1358).
    * AIME rule: with ``integer_range=(0, 999)`` the answer must be an exact integer in range,
      else ``out_of_range``.

Safety
    Model text is never evaluated: a hand-written parser builds inert tuples; sympy only ever
    receives objects built from them (no ``sympify``/``parse_expr``/``eval``). Inputs are bounded
    (1000 characters, 600 tokens, nesting depth 100); power towers, huge exponents and factorials of big
    numbers are refused ("refused") before any arithmetic. The sympy part runs in a worker
    process with a memory limit and a per-request limit of 0.6 s of CPU time; one call
    (extraction, parsing and every sympy request, waiting in the worker's queue included) has
    a wall-clock budget of 0.8 s, so it returns within 1 s also when many threads call at once
    (``benchmarks/hostile.py`` shows it). A stuck computation is killed, logged on logger
    ``harness_ext.answers`` and counted wrong ("timeout"). No SIGALRM: any thread or worker
    process may call these functions. The first check that needs sympy starts the worker (about
    1 s, once per process, not counted in the budget; ``warm_up()`` starts it early); everything
    else never touches sympy and takes microseconds. Results are cached, except for answers
    over 1000 characters.

Reasons: "exact", "symbolic", "numeric" (correct); "no_answer", "mismatch", "parse_error",
"timeout", "refused", "out_of_range", "error" (incorrect; "error" is a grader bug, logged).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Optional

from harness_ext import answers_compare
from harness_ext.answers_compare import compare, integer_value
from harness_ext.answers_extract import MAX_RESPONSE_CHARS, extract_answer
from harness_ext.answers_latex import clean
from harness_ext.answers_pool import shutdown, warm_up
from harness_ext.errors import SparksError

__all__ = [
    "MAX_RESPONSE_CHARS",
    "Verdict",
    "answers_equal",
    "check",
    "clear_cache",
    "extract_answer",
    "is_correct",
    "shutdown",
    "validate_integer_range",
    "warm_up",
]

log = logging.getLogger("harness_ext.answers")

_CHOICE_PREFIX = re.compile(
    r"(?:\\(?:textbf|text|mathrm|mathbf)\s*\{\s*)?\(\s*([A-E])\s*\)\s*\}?\s*(.*)", re.S
)


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check: the extracted answer, whether it is correct, and why."""

    extracted: Optional[str]
    correct: bool
    reason: str


def _gold_answer(gold: str) -> str:
    if "\\boxed" in gold or "\\fbox" in gold:
        return extract_answer(gold) or gold
    return gold


def _candidates(answer: str) -> list[str]:
    """The answer, plus its parts when it is a labelled choice like ``\\textbf{(C)}\\ 42``."""
    m = _CHOICE_PREFIX.fullmatch(clean(answer)) if len(answer) < 200 else None
    if not m or not m.group(2).strip():
        return [answer]
    return [answer, f"({m.group(1)})", m.group(2).strip()]


def _compare_extracted(pred: str, gold: str) -> tuple[bool, str]:
    best = (False, "mismatch")
    with answers_compare.time_budget():  # one deadline for all candidates
        for cand in _candidates(pred):
            equal, reason = compare(cand, gold)
            if equal:
                return True, reason
            if best[1] == "mismatch":
                best = (False, reason)
    return best


def answers_equal(pred: str, gold: str, *, integer_range: tuple[int, int] | None = None) -> bool:
    """Whether two already-extracted answers are equal (see the module docstring for rules).

    With ``integer_range`` (AIME: ``(0, 999)``) ``pred`` must be an exact integer in range.
    """
    validate_integer_range(integer_range)
    if not isinstance(pred, str) or not isinstance(gold, str):
        return False
    with answers_compare.time_budget():
        gold = _gold_answer(gold)
        if integer_range is not None:
            return _check_integer(pred, gold, integer_range).correct
        return _compare_extracted(pred, gold)[0]


def check(response: str, gold: str, *, integer_range: tuple[int, int] | None = None) -> Verdict:
    """Extract the final answer of ``response`` and grade it against ``gold``."""
    validate_integer_range(integer_range)
    with answers_compare.time_budget():  # extraction counts against the call's budget too
        extracted = extract_answer(response) if isinstance(response, str) else None
        if extracted is None:
            return Verdict(None, False, "no_answer")
        try:
            gold = _gold_answer(str(gold))
            if integer_range is not None:
                return _check_integer(extracted, gold, integer_range)
            equal, reason = _compare_extracted(extracted, gold)
        except Exception:  # a grader bug must not crash an evaluation run: log it, count it wrong
            log.exception("answer check failed: pred=%.80r gold=%.80r", extracted, gold)
            return Verdict(extracted, False, "error")
    return Verdict(extracted, equal, reason)


def validate_integer_range(integer_range: object) -> None:
    """Raise SparksError unless ``integer_range`` is None or ``(low, high)`` (a caller's
    mistake, not model text)."""
    if integer_range is None:
        return
    ok = (isinstance(integer_range, (tuple, list)) and len(integer_range) == 2
          and all(isinstance(v, int) and not isinstance(v, bool) for v in integer_range)
          and integer_range[0] <= integer_range[1])
    if not ok:
        raise SparksError(f"integer_range must be None or a pair of integers (low, high) with "
                          f"low <= high, e.g. (0, 999) for AIME; got {integer_range!r}")


def _check_integer(extracted: str, gold: str, integer_range: tuple[int, int]) -> Verdict:
    """The AIME rule: the answer must be an exact integer within ``integer_range``."""
    lo, hi = integer_range
    value = next((v for v in map(integer_value, _candidates(extracted)) if v is not None), None)
    if value is None or not lo <= value <= hi:
        return Verdict(extracted, False, "out_of_range")
    gold_value = integer_value(gold)
    if gold_value is None:
        equal, reason = _compare_extracted(extracted, gold)
        return Verdict(extracted, equal, reason)
    return Verdict(extracted, value == gold_value, "exact" if value == gold_value else "mismatch")


def is_correct(response: str, gold: str, *, integer_range: tuple[int, int] | None = None) -> bool:
    """Whether the final answer of ``response`` equals ``gold`` (never raises on model text;
    returns within 1 s)."""
    return check(response, gold, integer_range=integer_range).correct


def clear_cache() -> None:
    """Forget cached parses and comparisons (benchmarks; tests)."""
    answers_compare.prepare.cache_clear()
    answers_compare._compare_cached.cache_clear()
