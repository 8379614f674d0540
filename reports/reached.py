"""Find where a response reached an answer before its final one (for ``found_then_lost``).

Candidates are the answers a response *commits to* along the way: every ``\\boxed{...}`` and
every "the answer is X" / "final answer: X" / "answer = X" statement. Intermediate results of
equations are not candidates (a gold ``2`` appears in almost any computation). Each candidate is
compared with the gold answer by :func:`harness_ext.answers.answers_equal`. The cost stays
bounded on very long or hostile responses: candidates are read in order and lazily from the
first :data:`MAX_SCAN_CHARS` characters, at most :data:`MAX_SCANNED` of them, of which at most
:data:`MAX_CANDIDATES` distinct ones of at most :data:`MAX_CANDIDATE_CHARS` characters are
checked, all within the caller's time budget (:func:`harness_ext.answers_compare.time_budget`;
a check that would need more time counts as "not the gold answer").
"""

from __future__ import annotations

import heapq
import itertools
import re
from dataclasses import dataclass
from typing import Iterator, Optional

__all__ = ["Reached", "answer_candidates", "find_reached"]

MAX_CANDIDATES = 40
MAX_SCANNED = 200
MAX_SCAN_CHARS = 100_000
MAX_CANDIDATE_CHARS = 120
CONTEXT_CHARS = 80

_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_STATED = re.compile(
    r"(?:final\s+answer|the\s+answer|answer)\s*(?:is|=|:|\uff1a)\s*(?:\*\*)?\s*", re.I)
_MATH_OPEN = {"$": "$", "\\(": "\\)", "\\[": "\\]"}
_SENTENCE_END = re.compile(r"\n|\.(?:\s|$)|;|,\s|\*\*|$")


@dataclass(frozen=True)
class Reached:
    """A place where the response stated the gold answer."""

    candidate: str
    start: int
    end: int
    context: str


def _boxed(text: str) -> Iterator[tuple[str, int, int]]:
    for match in _BOX.finditer(text):
        depth, i = 1, match.end()
        stop = min(len(text), i + MAX_CANDIDATE_CHARS)
        while i < stop and depth:
            if text[i] == "{" and text[i - 1] != "\\":
                depth += 1
            elif text[i] == "}" and text[i - 1] != "\\":
                depth -= 1
            i += 1
        if depth == 0:
            yield text[match.end():i - 1], match.start(), i


def _stated(text: str) -> Iterator[tuple[str, int, int]]:
    for match in _STATED.finditer(text):
        rest = text[match.end():match.end() + MAX_CANDIDATE_CHARS]
        if rest.startswith(("\\boxed", "\\fbox")):
            continue  # counted as a box
        opener = next((o for o in _MATH_OPEN if rest.startswith(o)), None)
        if opener:
            close = rest.find(_MATH_OPEN[opener], len(opener))
            if close < 0:
                continue
            candidate, length = rest[len(opener):close], close + len(_MATH_OPEN[opener])
        else:
            end = _SENTENCE_END.search(rest)
            length = end.start() if end else len(rest)
            candidate = rest[:length]
        candidate = candidate.strip().rstrip(".")
        if candidate:
            yield candidate, match.start(), match.end() + length


def _in_order(response: str) -> Iterator[tuple[str, int, int]]:
    head = response[:MAX_SCAN_CHARS + MAX_CANDIDATE_CHARS]  # a candidate may end past the cut
    found = heapq.merge(_boxed(head), _stated(head), key=lambda item: item[1])
    return (item for item in found if item[1] < MAX_SCAN_CHARS)


def answer_candidates(response: str) -> list[tuple[str, int, int]]:
    """The answers a response commits to, in order: (text, start, end); the first
    :data:`MAX_SCANNED`."""
    return list(itertools.islice(_in_order(response), MAX_SCANNED))


def find_reached(response: str, gold: str, final_answer: Optional[str] = None
                 ) -> Optional[Reached]:
    """The first place where ``response`` states an answer equal to ``gold``, or None.

    Candidates equal to ``final_answer`` as written are skipped (they are the final answer).
    """
    from harness_ext.answers import answers_equal

    checked: dict[str, bool] = {}
    for candidate, start, end in answer_candidates(response):
        if candidate == final_answer or len(candidate) > MAX_CANDIDATE_CHARS:
            continue
        if candidate not in checked:
            if len(checked) >= MAX_CANDIDATES:
                break
            checked[candidate] = answers_equal(candidate, gold)
        if checked[candidate]:
            lo, hi = max(0, start - CONTEXT_CHARS), min(len(response), end + CONTEXT_CHARS)
            return Reached(candidate, start, end, response[lo:hi])
    return None
