"""Compare two extracted answers: exact fast paths here, everything else in Math-Verify (in the
worker process, under a CPU-time limit: the only limit, so the verdict does not depend on the
load)."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Optional

from . import exact_numbers as exact
from . import normalize as nz
from .pool import compare_texts

log = logging.getLogger("harness_ext.answers")

# The work one comparison may do in the worker: Python function calls, counted (the same
# count alone or under load; see worker._limit_work). The most any case of the benchmark's
# suites needs is 0.94 million (F_n = \sum ... against another sum; p99 0.73 million, p50
# 39,000): 3 million leaves more than 3x that (about 2.5 s of CPU on this machine).
WORK_LIMIT = 3_000_000
# A backstop for work in C code, which makes no Python calls (big-integer polynomial algebra:
# benchmarks/hostile.py's sympy_power spends its time there): CPU seconds of the comparison's
# child. The work limit costs about 2.5 s of CPU here, so 5 s leaves room for a busy machine's
# slower CPU before the backstop could end a comparison that the work limit would let finish.
CPU_LIMIT_S = 5.0
REL_TOL = Fraction(1, 10**9)


class TimedOut(Exception):
    """A comparison used up its work limit (not cached; reported as reason "timeout",
    ungraded)."""


@dataclass(frozen=True)
class Prepared:
    """An answer after cleaning, with what the fast paths read from it (cached per string)."""

    raw: str
    cleaned: str
    key: str
    text: Optional[str] = None  # "choice:C" or "text:<words>"
    number: Optional[exact.Num] = None
    based: Optional[tuple[str, int]] = None


@lru_cache(maxsize=16_384)
def prepare(answer: str) -> Prepared:
    """Clean and classify one answer (at most MAX_ANSWER_CHARS characters); never raises."""
    if _PLAIN_INTEGER.fullmatch(answer):  # the common case: nothing to clean or classify
        return Prepared(answer, answer, answer, number=exact.Num(Fraction(int(answer))))
    cleaned = nz.clean(answer)
    key = nz.squash(cleaned)
    text = nz.text_value(cleaned) if _LETTERS.search(cleaned) else None
    if text is not None:
        return Prepared(answer, cleaned, key, text=text)
    return Prepared(
        answer,
        cleaned,
        key,
        number=exact.number(cleaned),
        based=exact.based(cleaned) if "_" in cleaned else None,
    )


_PLAIN_INTEGER = re.compile(r"-?\d{1,50}")
_LETTERS = re.compile(r"[A-Za-z]")


def compare(pred: str, gold: str) -> tuple[bool, str]:
    """``(equal, reason)`` for two extracted answers; results (not timeouts) are cached."""
    if len(pred) > nz.MAX_ANSWER_CHARS or len(gold) > nz.MAX_ANSWER_CHARS:
        # compared as text only, and not cached: hostile answers must not fill the caches
        keys = [
            nz.squash(x) if len(x) > nz.MAX_ANSWER_CHARS else prepare(x).key for x in (pred, gold)
        ]
        return (True, "exact") if keys[0] and keys[0] == keys[1] else (False, "refused")
    try:
        return _compare_cached(pred, gold)
    except TimedOut:
        log.warning(
            "answer check used up its work limit (%d calls; ungraded): pred=%.80r gold=%.80r",
            WORK_LIMIT,
            pred,
            gold,
        )
        return False, "timeout"


@lru_cache(maxsize=16_384)
def _compare_cached(pred: str, gold: str) -> tuple[bool, str]:
    p, g = prepare(pred), prepare(gold)
    if p.key == g.key and p.key:
        return True, "exact"
    if not p.key or not g.key:
        return False, "mismatch"
    if _too_deep(p.cleaned) or _too_deep(g.cleaned):
        return False, "refused"
    fast = _fast(p, g)
    if fast is not None:
        return fast
    return _math_verify(p, g)


def _fast(p: Prepared, g: Prepared) -> Optional[tuple[bool, str]]:
    """The exact fast paths: text and choice letters, plain numbers, numbers in a base. None
    when they do not apply (Math-Verify decides)."""
    if p.text is not None or g.text is not None:
        same = _compare_text(p, g)
        return (True, "exact") if same else (False, "mismatch")
    if p.based is not None or g.based is not None:
        return _compare_based(p, g)
    if p.number is not None and g.number is not None:
        how = _numbers_equal(p.number, g.number)
        return (True, how) if how else (False, "mismatch")
    return None


def _compare_text(p: Prepared, g: Prepared) -> bool:
    if p.text is not None and p.text == g.text:
        return True
    for a, b in ((p, g), (g, p)):
        if not a.text or b.text is not None:
            continue
        if a.text.startswith("choice:") and b.key == a.text[7:]:  # (C) against a bare C
            return True
        if a.text.startswith("text:") and " ".join(b.cleaned.lower().split()) == a.text[5:]:
            return True  # \text{e} against e
    return False


def _numbers_equal(a: exact.Num, b: exact.Num) -> Optional[str]:
    """ "exact" or "numeric" when two plain numbers are equal (percent: as written or divided by
    100; a decimal against an exact value: to a relative 1e-9), else None."""
    if a.label and b.label and a.label != b.label:
        return None  # x = 5 is not y = 5
    pairs = [(a.value, b.value)]
    if a.percent and not b.percent:
        pairs.append((a.value / 100, b.value))
    if b.percent and not a.percent:
        pairs.append((a.value, b.value / 100))
    for x, y in pairs:
        if x == y:
            return "exact"
        if a.decimal != b.decimal and abs(x - y) <= REL_TOL * max(abs(x), abs(y)):
            return "numeric"
    return None


def _compare_based(p: Prepared, g: Prepared) -> tuple[bool, str]:
    """``2516_8`` equals ``2516_{8}``, the same value in another base, or the bare digits."""
    if p.based and g.based:
        same = int(p.based[0], p.based[1]) == int(g.based[0], g.based[1])
    else:
        based, other = (p.based, g) if p.based else (g.based, p)
        assert based is not None
        same = (
            other.number is not None
            and other.number.value.denominator == 1
            and not other.number.decimal
            and int(based[0], 10 if based[0].isdigit() else 36) == int(other.number.value)
            and based[0].isdigit()
        )
    return (True, "exact") if same else (False, "mismatch")


MAX_DEPTH = 30  # braces and parentheses nested deeper than this: refused (no answer needs it)


def _too_deep(text: str) -> bool:
    depth = deepest = 0
    for ch in text:
        if ch in "{([":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "})]":
            depth = max(0, depth - 1)
    return deepest > MAX_DEPTH


_DEGREES_AS_RADIANS = r"\cdot\frac{\pi}{180}"


def _worker_texts(p: Prepared, g: Prepared) -> tuple[str, str]:
    """The texts Math-Verify compares: degrees become radians against an answer with pi."""
    pred, gold = p.cleaned, g.cleaned
    if "^\\circ" in pred and "\\pi" in gold and "^\\circ" not in gold:
        pred = pred.replace("^\\circ", _DEGREES_AS_RADIANS)
    elif "^\\circ" in gold and "\\pi" in pred and "^\\circ" not in pred:
        gold = gold.replace("^\\circ", _DEGREES_AS_RADIANS)
    return pred, gold


_RESULTS = {
    "equal": (True, "symbolic"),
    "equal_numeric": (True, "numeric"),
    "unequal": (False, "mismatch"),
    "parse_error": (False, "parse_error"),
    "gold_parse_error": (False, "parse_error"),
    "refused": (False, "refused"),
}


def _math_verify(p: Prepared, g: Prepared) -> tuple[bool, str]:
    """Ask the worker (the comparison may make WORK_LIMIT calls, whatever the load)."""
    pred, gold = _worker_texts(p, g)
    result = _single_flight(pred, gold)
    if result == "timeout":
        raise TimedOut
    if result in _RESULTS:
        return _RESULTS[result]
    log.error("answer worker failed (%s): pred=%.80r gold=%.80r", result, pred, gold)
    return False, "error"


class _Flight:
    """One comparison in the worker that several threads wait for."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Optional[str] = None


_flights: dict[tuple[str, str], _Flight] = {}
_flights_lock = threading.Lock()


def _single_flight(pred: str, gold: str) -> str:
    """The worker's result for ``(pred, gold)``; threads asking for the same pair at the same
    time share one request (8 threads checking one answer cost one computation, and all get
    its verdict). A follower whose leader failed asks again itself."""
    key = (pred, gold)
    with _flights_lock:
        flight = _flights.get(key)
        leader = flight is None
        if leader:
            flight = _flights[key] = _Flight()
    assert flight is not None
    if not leader:
        flight.done.wait()
        return flight.result if flight.result is not None else _single_flight(pred, gold)
    try:
        flight.result = compare_texts(pred, gold, WORK_LIMIT, CPU_LIMIT_S).result
    finally:
        with _flights_lock:
            _flights.pop(key, None)
        flight.done.set()
    return flight.result


def integer_value(answer: str) -> Optional[int]:
    """The exact integer an answer denotes (``033``, ``x = 33``, ``33.0``, ``\\frac{66}{2}``,
    ``\\textbf{(033)}``), else None."""
    if len(answer) > nz.MAX_ANSWER_CHARS:
        return None
    num = prepare(answer).number
    if num is None or num.percent or num.value.denominator != 1:
        return None
    return int(num.value)


def clear_cache() -> None:
    prepare.cache_clear()
    _compare_cached.cache_clear()
    nz.clean.cache_clear()
    exact.number.cache_clear()
