"""Answer phrases ("the final answer is ...", "Réponse :", "答案："): the last one that is not
a check or a supposition, what it states, and whether it states nothing (a cut trace, a
description of the answer)."""

from __future__ import annotations

import re
from typing import Optional

from .boxes import CONNECTOR, MAX_JOINED_BOXES
from .values import MATH, computed_result, group, plausible, value_of

TAIL_CHARS = 600  # the free text we look at after an answer phrase
_MARKER = re.compile(
    r"final\s+answer(?:\s+is|\s+should\s+be)?\s*[:：]?"
    r"|(?:the\s+)?answer(?:\s+is|\s+should\s+be|\s*[:：=])|####"
    r"|r[ée]ponse(?:\s+finale)?(?:\s+est|\s*[:：=])|respuesta(?:\s+final)?(?:\s+es|\s*[:：=])"
    r"|(?:最终|最后的)?答案(?:是|为|[:：=])|الإجابة(?:\s+النهائية)?(?:\s+هي|\s*[:：])"
    r"|الجواب(?:\s+هو|\s*[:：])|(?:अंतिम\s+)?उत्तर(?:\s+है|\s*[:：])",
    re.I,
)
_QUOTES = re.compile(r"^(?:\\?[\"'\u201c\u201d\u00ab\u00bb]\s*)+")
_MATH_JOIN = re.compile(r"\s*,?\s*(?:" + CONNECTOR + r"\s*)?,?\s*(?=\$|\\\(|\\\[)")
_CHECKING = re.compile(r"\b(?:check|verify|confirm|test)\w*\s+(?:(?:our|the|my|this)\s+)?$", re.I)
# "if the answer is 90 degrees, that would be surprising": a supposition, not an answer (a
# comma between the supposition and the phrase ends it: "if I'm right, the answer is 5")
_HYPOTHETICAL = re.compile(
    r"\b(?:if|suppose|supposing|assume|assuming|whether|unless)\s+"
    r"(?:[\w']+\s+){0,3}$",
    re.I,
)
# "**Final Answer**\nThe largest possible value of \\( x \\)", "... answer is an integer": a
# description of the answer (an article, no verb that states a value), or a cut one ("The")
_DESCRIPTION = re.compile(r"(?:the|an?|our|this|its)\s+[A-Za-z]|(?:the|an|our|this|its)\s*$", re.I)
_SHOULD = re.compile(r"should", re.I)
_STATES = re.compile(r"\b(?:is|are|was|equals?)\b|=", re.I)
_SENTENCE_END = re.compile(
    r"\.(?=\s|$)|[!?](?=\s|$)|[。！？؟।]|\s(?:because|since|which|so|as)\s", re.I
)
_NOT_A_VALUE = re.compile(
    r"\\(?:boxed|fbox)|^\s*(?:correct|right|wrong|above|below|as follows|"
    r"given|shown|within|in the box)\b",
    re.I,
)
_VALUE_SIGN = re.compile(r"\d|\\[A-Za-z]|^\(?[A-Ea-e]\)?$|[∞π√]")


def last_marker(text: str, start: int = 0) -> Optional[re.Match]:
    last = None
    for m in _MARKER.finditer(text, start):
        if not (
            _CHECKING.search(text, max(0, m.start() - 30), m.start())
            or _HYPOTHETICAL.search(text, max(0, m.start() - 40), m.start())
        ):
            last = m
    return last


def _marker_tail(text: str, marker: re.Match) -> str:
    """What follows an answer phrase, from its first non-blank line."""
    tail = text[marker.end() : marker.end() + TAIL_CHARS].lstrip(" \t*:_：")
    if tail.startswith("\n"):  # the answer is on the next non-empty line
        tail = tail.lstrip()
    return _QUOTES.sub("", tail)


def states_nothing(text: str, marker: re.Match) -> bool:
    """Whether an answer phrase is followed by nothing (a cut trace) or by a description of the
    answer without a number ("**Final Answer**\\nThe largest possible value of \\( x \\)",
    "the answer is an integer"): then the value stated before the phrase is the answer."""
    tail = _marker_tail(text, marker).rstrip()
    if not tail:
        return True
    if MATH.match(tail):
        return False
    sentence = _first_sentence(tail.split("\n", 1)[0]).strip(" *_")
    return bool(
        _DESCRIPTION.match(sentence)
        and not _STATES.search(sentence)
        and not any(ch.isdigit() for ch in sentence)
    )


def _after_marker(text: str, marker: re.Match) -> Optional[str]:
    """The answer after an answer phrase: a leading math span, else the sentence's value."""
    tail = _marker_tail(text, marker)
    math = MATH.match(tail)
    if math:
        inner = [group(math).strip()]
        while len(inner) < MAX_JOINED_BOXES:  # "$12$ and $13$": one answer of two parts
            more = _MATH_JOIN.match(tail, math.end())
            if not more:
                break
            math = MATH.match(tail, more.end())
            if not math:
                break
            inner.append(group(math).strip())
        if len(inner) > 1:
            return ", ".join(inner)
        return computed_result(inner[0]) or inner[0] or None
    return value_of(_first_sentence(tail.split("\n", 1)[0]), after_marker=True)


def _first_sentence(line: str) -> str:
    """``line`` up to the first sentence end that is not inside a math span or parentheses."""
    spans = [m.span() for m in MATH.finditer(line)]
    depth_at = _paren_depths(line)
    for end in _SENTENCE_END.finditer(line):
        if any(a <= end.start() < b for a, b in spans) or depth_at[end.start()]:
            continue
        return line[: end.start()]
    return line


def _paren_depths(line: str) -> list[int]:
    depths, depth = [], 0
    for ch in line:
        depth = max(0, depth + (ch == "(") - (ch == ")"))
        depths.append(depth)
    return depths + [0]


def marker_answer(text: str, marker: re.Match[str], *, after_box: bool) -> Optional[str]:
    """The answer an answer phrase states, or None. After a box, or for a hedged phrase ("the
    answer should be positive"), only a stated value counts (``$10,455$``, ``(C)``), not a
    comment on one ("correct", "within \\boxed{}")."""
    answer = plausible(_after_marker(text, marker))
    if not answer or _NOT_A_VALUE.search(answer):
        return None
    needs_value = after_box or _SHOULD.search(marker.group()) is not None
    return answer if not needs_value or _VALUE_SIGN.search(answer.strip()) else None
