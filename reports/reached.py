"""Find where a response reached the gold answer before its final one (for ``found_then_lost``).

Two kinds of places count, compared with the gold answer:

* **stated answers**: every ``\\boxed{...}`` and every "the answer is X" / "final answer: X" /
  "answer = X" (:func:`answer_candidates`), compared by
  :func:`harness_ext.answers.answers_equal`;
* **intermediate results** (:func:`result_candidates`), a value that a step computes or
  concludes:

  - the right side of an ``=`` whose left side is a computation (``12 \\times 13 = 156``,
    ``(2+1)(2+1) = 9``), or a link of a chain (``\\sqrt{117} = 3\\sqrt{13}``), or a name after
    a conclusion word (``so $x = 4$``, ``we get n = 12``; not ``we have x = 5``, ``let x = 5``);
  - a value after "is" / "are" / "equals" that ends its sentence, with at most one word after
    it (``the total is 156``, ``the smallest such number is 2220, since ...``, ``is 42
    inches``; not ``is 2 times larger``);
  - the gold after a conclusion word, followed by "is the" / "has the" (``so Evelyn is the
    student with ...``, ``therefore 27 is the smallest cube``), and a gold word after "is"
    (``the fastest runner is Evelyn``).

  A value is one number, fraction, root or angle (``156``, ``-1``, ``\\frac{14}{3}``,
  ``3\\sqrt{13}``, ``90^\\circ``), never an expression (``-1 + 5``) nor a term (``2x``). A
  numeric gold is compared exactly (:func:`harness_ext.reports.arithmetic.plain_value`, no
  worker); a word gold (``\\text{Evelyn}``) as written; another gold by ``answers_equal``,
  only with results written with the same LaTeX commands (``\\sqrt{117}`` for
  ``3\\sqrt{13}``), at most :data:`MAX_RESULT_CHECKS` distinct ones.

Two rules keep common values from flooding the label:

* a **small gold**, an integer or a half of absolute value at most :data:`SMALL_VALUE` (``0``,
  ``1``, ``-2``, ``\\frac12``), turns up in almost every computation: for it an intermediate
  result counts only when it is stated for the quantity the final answer is stated for (the
  same left side of the chain: ``\\tan A = 2`` ... ``\\tan A = \\frac{1}{2}``, final answer
  ``\\frac{1}{2}``), and "is" results do not count;
* a numeric gold that the **problem statement** contains (when the caller knows the problem)
  is only taken from stated answers: a result may be a given restated.

Only places before the final answer count (the final answer's last occurrence; its own
statement is not an earlier one), and a candidate equal to the final answer as written is
skipped. The cost stays bounded on very long or hostile responses: the first
:data:`MAX_SCAN_CHARS` characters are read, at most :data:`MAX_SCANNED` stated answers and
:data:`MAX_RESULTS` results, each value at most :data:`MAX_CANDIDATE_CHARS` characters, and at
most :data:`MAX_CANDIDATES` distinct checks against the gold, each bounded in work
(:data:`harness_ext.answers.WORK_LIMIT`; a check that used it up counts as "not the gold
answer").
"""

from __future__ import annotations

import heapq
import itertools
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator, Optional

__all__ = ["Reached", "answer_candidates", "chain_head", "find_reached", "result_candidates"]

MAX_CANDIDATES = 40
MAX_RESULT_CHECKS = 5  # symbolic checks of intermediate results (a symbolic gold only)
MAX_SCANNED = 200
MAX_RESULTS = 2000
MAX_SCAN_CHARS = 100_000
MAX_CANDIDATE_CHARS = 120
CONTEXT_CHARS = 80
SMALL_VALUE = 2  # a gold of |value| <= 2 (an integer or a half) is small (see above)
LHS_CHARS = 120  # how far back an "=" looks for the start of its formula
MARKER_CHARS = 60  # how far before a formula a conclusion word may stand
MAX_LINKS = 8  # how many "=" back a chain's head is looked for
STATED = -2  # the "eq" of a stated answer among the places (see _places)

Span = tuple[str, int, int]

_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_STATED = re.compile(
    r"(?:final\s+answer|the\s+answer|answer)\s*(?:is|=|:|\uff1a)\s*(?:\*\*)?\s*", re.I
)
_MATH_OPEN = {"$": "$", "\\(": "\\)", "\\[": "\\]"}
_SENTENCE_END = re.compile(r"\n|\.(?:\s|$)|;|,\s|\*\*|$")

_CONCLUSION = re.compile(
    r"\b(?:so|thus|therefore|hence|then|we\s+(?:get|find|obtain)|gives?|giving|yields?"
    r"|results?\s+in|which\s+is|means)\b[^.\n]*$",
    re.I,
)
_NUMBER = r"\d+(?:,\d{3})*(?:\.\d+)?"
_VALUE = re.compile(
    r"-?\s?(?:\\[dt]?frac\{-?\d+(?:\.\d+)?\}\{-?\d+(?:\.\d+)?\}"
    rf"|(?:{_NUMBER})?\\sqrt\{{\d+\}}|{_NUMBER}(?:/\d+)?(?:\\pi)?|\\pi)"
    r"(?:\s?\^\s?\{?\\circ\}?|\u00b0|\s?\\%|%)?"
)
_RESULT_MARK = re.compile(r"=|\b(?:is|are|was|equals)\b", re.I)
_AFTER_VALUE = re.compile(  # what may follow a value that ends a formula or a sentence
    r"\s*(?:$|[.,;:!?\n)\]}]|\$|\\[)\]]|\\(?:quad|qquad|text|,|;)|=|\\approx"
    r"|(?:and|or|since|because|which|as|so|when|for)\b)"
)
_WORD_AFTER = re.compile(r"\s+([A-Za-z]+)(?=\s*(?:$|[.,;:!?\n)$]))")
_NOT_A_UNIT = frozenset(
    {
        "times",
        "more",
        "less",
        "plus",
        "minus",
        "than",
        "of",
        "divided",
        "over",
        "squared",
        "cubed",
        "to",
        "percent",
        "by",
    }
)
_FORMULA_EDGE = re.compile(r"[\n$:;]|\\[(\[]|,\s|[.!?]\s|=|(?<![\\A-Za-z])[A-Za-z]{2,}\s")
_LEAD = re.compile(r"[ \t]*(?:\$|\\\(|\*\*)?[ \t]*")
_COMPUTED = re.compile(
    r"[+*/^!\u00d7\u00f7\u00b7\u2212]|\\(?:times|cdot|div|frac|dfrac|sqrt|binom)"
    r"|\d\s*\(|\)\s*\(|(?<=[\w)])\s*-\s*[\w(\\]"
)
_SUBJECT_IS = re.compile(r"\s+(?:is|has)\s+the\b", re.I)
_TEXT_GOLD = re.compile(r"^\\(?:text|textbf|mathrm)\{([^{}]+)\}$")
_UNITS = re.compile(r"(?:\s*\^\s*\{?\\circ\}?|\u00b0|\\?%|\\,|\\!|\\text\{[^{}]*\}|\s)+$")


@dataclass(frozen=True)
class Reached:
    """A place where the response stated or reached the gold answer."""

    candidate: str
    start: int
    end: int
    context: str
    kind: str = "stated"  # "stated" (a box, "the answer is") or "result" (a step's result)


# ---------------------------------------------------------------- stated answers


def _boxed(text: str) -> Iterator[Span]:
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
            yield text[match.end() : i - 1], match.start(), i


def _stated(text: str) -> Iterator[Span]:
    for match in _STATED.finditer(text):
        rest = text[match.end() : match.end() + MAX_CANDIDATE_CHARS]
        if rest.startswith(("\\boxed", "\\fbox")):
            continue  # counted as a box
        opener = next((o for o in _MATH_OPEN if rest.startswith(o)), None)
        if opener:
            close = rest.find(_MATH_OPEN[opener], len(opener))
            if close < 0:
                continue
            candidate, length = rest[len(opener) : close], close + len(_MATH_OPEN[opener])
        else:
            end = _SENTENCE_END.search(rest)
            length = end.start() if end else len(rest)
            candidate = rest[:length]
        candidate = candidate.strip().rstrip(".")
        if candidate:
            yield candidate, match.start(), match.end() + length


def _in_order(response: str) -> Iterator[Span]:
    head = response[: MAX_SCAN_CHARS + MAX_CANDIDATE_CHARS]  # a candidate may end past the cut
    found = heapq.merge(_boxed(head), _stated(head), key=lambda item: item[1])
    return (item for item in found if item[1] < MAX_SCAN_CHARS)


def answer_candidates(response: str) -> list[Span]:
    """The answers a response commits to, in order: (text, start, end); the first
    :data:`MAX_SCANNED`."""
    return list(itertools.islice(_in_order(response), MAX_SCANNED))


# ---------------------------------------------------------------- intermediate results


def _value_at(text: str, at: int) -> Optional[tuple[str, int, int]]:
    """(value, start, end) of the value at ``at`` (after spacing and a ``$``), when one value
    ends a formula or a sentence there (see the module docstring)."""
    lead = _LEAD.match(text, at)
    start = lead.end() if lead else at
    match = _VALUE.match(text, start)
    if not match or not match.group().strip("- "):
        return None
    end = match.end()
    if _AFTER_VALUE.match(text, end):
        return match.group(), match.start(), end
    word = _WORD_AFTER.match(text, end)  # one unit word: "is 42 inches."
    if word and word.group(1).lower() not in _NOT_A_UNIT:
        return match.group(), match.start(), end
    return None


def _formula_start(text: str, eq: int) -> tuple[int, bool]:
    """Where the formula ending at the ``=`` at ``eq`` starts, and whether it is a chain link
    (another ``=`` before it in the same formula)."""
    floor = max(0, eq - LHS_CHARS)
    window = text[floor:eq]
    edges = list(_FORMULA_EDGE.finditer(window))
    if not edges:
        return floor, False
    edge = edges[-1]
    return floor + edge.end(), edge.group() == "="


def _concluded(text: str, at: int) -> bool:
    """Whether a conclusion word ("so", "therefore", "we get", ...) stands shortly before
    ``at`` in the same sentence."""
    return bool(_CONCLUSION.search(text, max(0, at - MARKER_CHARS), at))


Result = tuple[str, int, int, int]  # value, start, end, the "=" it follows (-1: "is")


def _equation(text: str, eq: int) -> Optional[tuple[Result, bool]]:
    """((value, start, end, eq), result) of ``lhs = value`` at ``eq``: ``result`` whether it
    is a result (see the module docstring). None when no single value follows the ``=``."""
    found = _value_at(text, eq + 1)
    if found is None:
        return None
    value, start, end = found
    begin, link = _formula_start(text, eq)
    lhs = text[begin:eq].strip(" \t$")
    result = bool(link or _COMPUTED.search(lhs) or (lhs and _concluded(text, begin)))
    return (value.strip(), start, end, eq), result


def _equation_result(text: str, eq: int) -> Optional[Result]:
    found = _equation(text, eq)
    return found[0] if found is not None and found[1] else None


def chain_head(text: str, eq: int) -> str:
    """The left side of the first ``=`` of the chain that the ``=`` at ``eq`` belongs to, the
    quantity its values are stated for ("" when the chain is longer than :data:`MAX_LINKS`)."""
    for _ in range(MAX_LINKS):
        start, link = _formula_start(text, eq)
        if not link:
            return re.sub(r"\s+", "", text[start:eq].strip(" \t$"))
        eq = start - 1
    return ""


def _is_result(text: str, match: re.Match) -> Optional[Result]:
    """ "the total is 156" at ``match`` (an "is"), when it is a result."""
    found = _value_at(text, match.end())
    return (found[0].strip(), found[1], found[2], -1) if found is not None else None


def result_candidates(response: str) -> Iterator[Result]:
    """The intermediate results of ``response`` in order: (value, start, end, eq), the first
    :data:`MAX_RESULTS` within :data:`MAX_SCAN_CHARS` characters; ``eq`` is the offset of the
    ``=`` of an equation result (see :func:`chain_head`), -1 for an "is" result."""
    head = response[:MAX_SCAN_CHARS]
    marks = _RESULT_MARK.finditer(head)
    found = (
        _equation_result(head, m.start()) if m.group() == "=" else _is_result(head, m)
        for m in itertools.islice(marks, MAX_RESULTS)
    )
    return (item for item in found if item is not None)


# ---------------------------------------------------------------- comparing with the gold


def _plain(text: str) -> Optional[Fraction]:
    """The value of a numeric answer (units, degrees and ``$`` aside), else None."""
    from harness_ext.reports.arithmetic import plain_value

    cleaned = _UNITS.sub("", text.strip().strip("$").strip())
    return plain_value(cleaned) if cleaned and len(cleaned) <= MAX_CANDIDATE_CHARS else None


def _gold_word(gold: str) -> Optional[str]:
    """The gold as a word or name (``\\text{Evelyn}`` -> ``Evelyn``), when it is one."""
    match = _TEXT_GOLD.match(gold.strip().strip("$"))
    word = (match.group(1) if match else gold).strip()
    return word if re.fullmatch(r"[A-Za-z][A-Za-z .'-]{0,40}", word) else None


def _word_results(text: str, word: str) -> Iterator[Result]:
    """Where the gold word is concluded: "so Evelyn is the ...", "... is Evelyn."."""
    pattern = re.compile(rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])")
    for match in itertools.islice(pattern.finditer(text, 0, MAX_SCAN_CHARS), MAX_RESULTS):
        before = text[max(0, match.start() - 12) : match.start()]
        ends = _AFTER_VALUE.match(text, match.end())
        if (re.search(r"\b(?:is|are|was)\s+(?:\\text\{|\*\*)?$", before, re.I) and ends) or (
            _SUBJECT_IS.match(text, match.end()) and _concluded(text, match.start())
        ):
            yield word, match.start(), match.end(), -1


def _commands(text: str) -> frozenset[str]:
    """The LaTeX commands of ``text`` (``3\\sqrt{13}``: ``{"\\sqrt"}``), its shape."""
    return frozenset(re.findall(r"\\[A-Za-z]+", text))


class _Gold:
    """The gold answer, ready to be compared with many candidates cheaply."""

    def __init__(self, gold: str, problem: Optional[str]) -> None:
        self.text = gold
        self.value = _plain(gold)
        self.word = _gold_word(gold) if self.value is None else None
        self.small = (
            self.value is not None
            and abs(self.value) <= SMALL_VALUE
            and (self.value.denominator <= 2)
        )
        self.given = (
            self.value is not None
            and problem is not None
            and any(_plain(number) == self.value for number in re.findall(_NUMBER, problem))
        )
        self.commands = _commands(gold)
        self._checked: dict[str, bool] = {}
        self._result_checks = 0

    def stated(self, candidate: str) -> bool:
        """A stated answer equals the gold (``answers_equal``, cached; bounded)."""
        from harness_ext.answers import answers_equal

        if candidate not in self._checked:
            if len(self._checked) >= MAX_CANDIDATES:
                return False
            self._checked[candidate] = answers_equal(candidate, self.text)
        return self._checked[candidate]

    def result(self, candidate: str) -> bool:
        """An intermediate result equals the gold: exactly for a numeric gold."""
        if self.value is not None:
            return _plain(candidate) == self.value
        if self.word is not None:
            return candidate == self.word
        if _plain(candidate) is not None or _commands(candidate) != self.commands:
            return False  # a symbolic gold: only a value of its own shape is worth a check
        if candidate not in self._checked and self._result_checks >= MAX_RESULT_CHECKS:
            return False
        self._result_checks += candidate not in self._checked
        return self.stated(candidate)


# ---------------------------------------------------------------- the search


def find_reached(
    response: str, gold: str, final_answer: Optional[str] = None, *, problem: Optional[str] = None
) -> Optional[Reached]:
    """The first place before the final answer where ``response`` states or reaches ``gold``
    (see the module docstring), or None. ``problem``: the problem statement, when known."""
    target = _Gold(gold, problem)
    limit = _final_at(response, final_answer)
    heads: Optional[set[str]] = None  # the final answer's quantities, for a small gold
    for candidate, start, end, eq in _places(response, target):
        if start >= limit:
            break
        if candidate == final_answer or len(candidate) > MAX_CANDIDATE_CHARS:
            continue
        if eq == STATED:
            if not target.stated(candidate):
                continue
        elif not target.result(candidate):
            continue
        elif target.small:
            heads = _final_heads(response, final_answer) if heads is None else heads
            if eq < 0 or chain_head(response, eq) not in heads:
                continue
        lo, hi = max(0, start - CONTEXT_CHARS), min(len(response), end + CONTEXT_CHARS)
        kind = "stated" if eq == STATED else "result"
        return Reached(candidate, start, end, response[lo:hi], kind)
    return None


def _final_at(response: str, final_answer: Optional[str]) -> int:
    """Where the final answer's last occurrence starts (the end when it is not found)."""
    at = response.rfind(final_answer) if final_answer else -1
    return at if at >= 0 else len(response)


def _places(response: str, target: _Gold) -> Iterator[Result]:
    """Stated answers (``eq`` :data:`STATED`) and intermediate results, in order."""
    stated = ((text, start, end, STATED) for text, start, end in answer_candidates(response))
    if target.given:  # a value the problem states: stated answers only
        return stated
    results = (
        _word_results(response, target.word)
        if target.word is not None
        else result_candidates(response)
    )
    return heapq.merge(stated, results, key=lambda item: item[1])


def _final_heads(response: str, final_answer: Optional[str]) -> set[str]:
    """The quantities the final answer is stated for (``\\tan A`` of ``\\tan A = \\frac12``)."""
    if not final_answer:
        return set()
    wanted, text = final_answer.strip(), response[:MAX_SCAN_CHARS]
    heads = set()
    for mark in itertools.islice(re.finditer("=", text), MAX_RESULTS):
        found = _equation(text, mark.start())
        if found is not None and found[0][0] == wanted:
            heads.add(chain_head(text, mark.start()))
    return heads - {""}
