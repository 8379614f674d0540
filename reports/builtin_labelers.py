"""The built-in failure labelers, registered through the ``register_labelers`` hook.

Each labeler's docstring is its help text (``sparks plugins``); its ``order`` is its place in
the label order (see :mod:`harness_ext.reports.labels`).

Bounds on long responses (so that one ``label()`` stays well under a second):
``logical_loop`` examines the tail (:data:`harness_ext.reports.loops.MAX_TOKENS` tokens within
the last :data:`harness_ext.reports.loops.MAX_CHARS` characters);
``calculation_error`` the first :data:`CLAIM_CHARS` characters, cut at a line break or a space
(the first false claim is what counts, and a claim cut in half could look false);
``found_then_lost`` the first :data:`harness_ext.reports.reached.MAX_SCANNED` stated answers and
:data:`harness_ext.reports.reached.MAX_RESULTS` intermediate results in the first
:data:`harness_ext.reports.reached.MAX_SCAN_CHARS` characters; ``no_answer`` looks for a
dangling end in the last :data:`DANGLING_CHARS` characters. Evidence text of
``no_answer`` and ``reasoning_error`` (the answer) is at most :data:`EVIDENCE_CHARS`
characters; the span gives its whole extent.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping, Optional

from harness_ext.hookspecs import hookimpl
from harness_ext.reports.labels import Diagnosis, LabelSample, ordered

EVIDENCE_CHARS = 300
CLAIM_CHARS = 12_000
_MAY_CLAIM = re.compile(r"=|\b(?:is|equals)\b", re.I)  # every claim has one (a cheap test)

# no_answer: extractions that are no value (see no_answer's docstring)
PLACEHOLDERS = frozenset(
    {
        "answer",
        "the answer",
        "final answer",
        "the final answer",
        "solution",
        "the solution",
        "result",
        "the result",
        "?",
        "...",
        "\\dots",
        "\\ldots",
    }
)
FUNCTION_WORDS = frozenset(
    {
        "an",
        "the",
        "of",
        "to",
        "is",
        "are",
        "was",
        "be",
        "with",
        "and",
        "or",
        "for",
        "in",
        "on",
        "by",
        "that",
        "this",
        "it",
        "no",
        "not",
        "can",
        "from",
        "as",
    }
)
MIN_PROSE_WORDS = 3
DANGLING_CHARS = 200  # the end of a response where a dangling "3," is looked for
_TEXT_COMMAND = re.compile(r"\\(?:text|textbf|textrm|mathrm|mbox)\s*\{([^{}]*)\}")
_PROSE_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}(?:'[a-z]+)?")
_DANGLING = re.compile(r"(?:[,;:+\-*/=^]|\\(?:times|cdot|div|pm))\s*$")

Sample = LabelSample


def _tail(text: str, chars: int = EVIDENCE_CHARS) -> tuple[str, tuple[int, int]]:
    start = max(0, len(text) - chars)
    return text[start:], (start, len(text))


def _head(text: str, chars: int) -> str:
    """The first ``chars`` characters of ``text``, ending at a line break (else a space) when
    there is one in the last tenth: the cut must not split a claim such as ``12 + 13 = 25``."""
    if len(text) <= chars:
        return text
    floor = chars - chars // 10
    cut = text.rfind("\n", floor, chars)
    if cut < 0:
        cut = max(text.rfind(" ", floor, chars), text.rfind("\t", floor, chars))
    return text[:cut] if cut > 0 else text[:chars]


def _short(text: str) -> str:
    return text if len(text) <= EVIDENCE_CHARS else text[: EVIDENCE_CHARS - 1] + "\u2026"


def _short_or_none(text: Optional[str]) -> Optional[str]:
    return _short(text) if isinstance(text, str) else text


@ordered(0)
def correct(sample: Sample) -> Optional[Diagnosis]:
    """The final answer equals the gold answer."""
    return Diagnosis("correct") if sample.get("correct") else None


@ordered(100)
def truncated(sample: Sample) -> Optional[Diagnosis]:
    """Generation hit its token limit (max_gen_toks) before ending with a final answer (a
    response that loops until the limit is a logical_loop)."""
    if not sample.get("truncated"):
        return None
    from harness_ext.reports.loops import find_loop

    loop = find_loop(sample.get("response") or "")
    if loop is not None and loop.reaches_end:
        return None  # over-thinking: logical_loop labels it, the cut in its note
    evidence, span = _tail(sample.get("response") or "")
    budget = sample.get("max_gen_toks")
    note = f"used the whole {budget}-token budget" if budget else "hit the token limit"
    answer = sample.get("answer")
    note += f"; the last answer before the cut was {answer!r}" if answer else "; no final answer"
    return Diagnosis("truncated", evidence, span, note)


@ordered(200)
def logical_loop(sample: Sample) -> Optional[Diagnosis]:
    """The reasoning repeats itself: the response's tail is mostly copies of one passage (also
    when it repeats until the token limit cuts it off; the note says so)."""
    from harness_ext.reports.loops import find_loop

    loop = find_loop(sample.get("response") or "")
    if loop is None:
        return None
    note = loop.describe()
    if sample.get("truncated"):
        budget = sample.get("max_gen_toks")
        limit = f"the {budget}-token limit" if budget else "the token limit"
        note += f", until {limit} cut it off" if loop.reaches_end else f"; then it hit {limit}"
    return Diagnosis("logical_loop", loop.text, (loop.start, loop.end), note)


@ordered(300)
def no_answer(sample: Sample) -> Optional[Diagnosis]:
    """No final answer could be extracted, or what was extracted is no value: a placeholder
    ("The answer"), prose ("the number of ways"), a dangling end ("3,", "12 +"), no value of
    the gold's kind (for a number: "2N+1", "ABCD"), or (AIME) not an integer 0-999."""
    from harness_ext.reports.answer_kind import not_of_kind

    answer = sample.get("answer")
    if not answer:
        evidence, span = _tail(sample.get("response") or "")
        return Diagnosis("no_answer", evidence, span, "no final answer could be extracted")
    free_text = _free_text(sample)
    why = not_a_value(answer, sample.get("response") or "", free_text=free_text)
    if not why and not free_text and not sample.get("correct"):
        why = not_of_kind(answer, str(sample.get("gold") or ""))
    if why:
        return Diagnosis(
            "no_answer",
            _short(answer),
            _find(sample, answer),
            f"the answer {_short(answer)!r} is no value ({why})",
        )
    bounds = sample.get("integer_range")
    reason = sample.get("grade_reason")
    wrong_form = (
        reason == "out_of_range"
        if reason is not None
        else bounds is not None and not _integer_in(answer, bounds)
    )
    if bounds is not None and wrong_form:
        low, high = bounds
        return Diagnosis(
            "no_answer",
            _short(answer),
            _find(sample, answer),
            f"the answer must be an integer from {low} to {high}; got {_short(answer)!r}",
        )
    return None


def not_a_value(answer: str, response: str, *, free_text: bool = False) -> Optional[str]:
    """Why ``answer``, extracted from ``response``, is no value (``"a placeholder"``,
    ``"prose"``, ``"a dangling end"``), or None when it may be one. A dangling end is one the
    response stops on (``... is 3,``); ``3, nothing else`` goes on. ``free_text``: the task
    answers in phrases (TriviaQA), so prose is a value there."""
    plain = _TEXT_COMMAND.sub(r"\1", answer).strip().strip("$*\"' ").rstrip(".").strip()
    if plain.lower() in PLACEHOLDERS:
        return "a placeholder"
    if _dangles(response, answer):
        return "a dangling end"
    if free_text or any(ch.isdigit() for ch in plain):
        return None  # "3 feet and 4 inches" is a value
    words = [word.lower() for word in _PROSE_WORD.findall(plain)]
    if len(words) >= MIN_PROSE_WORDS and FUNCTION_WORDS.intersection(words):
        return "prose"
    return None


def _dangles(response: str, answer: str) -> bool:
    """Whether ``response`` stops on ``answer`` left open: an answer that ends in a separator
    or an operation or leaves a bracket open (``3,``, ``12 +``, ``(3, 4``), or one followed
    only by one (``... is 3,`` when the grader read ``3``)."""
    strip = " \t\r\n$*"
    tail, core = response.rstrip(strip), answer.rstrip(strip)
    if not core:
        return False
    if tail.endswith(core):
        return bool(_DANGLING.search(core, max(0, len(core) - DANGLING_CHARS))) or _unclosed(core)
    cut = _DANGLING.search(tail, max(0, len(tail) - DANGLING_CHARS))
    return cut is not None and tail[: cut.start()].rstrip(strip).endswith(core)


def _unclosed(text: str) -> bool:
    """More brackets opened than closed (``(3, 4``); intervals such as ``(0, 3]`` balance."""
    return sum(text.count(c) for c in "([{") > sum(text.count(c) for c in ")]}")


def _free_text(sample: Sample) -> bool:
    """Whether the sample's task answers in phrases: its doc lists the ``aliases`` that the
    ``alias`` grader (harness_ext.answers.graders) matches, which every alias task's doc has."""
    doc = sample.get("doc")
    return bool(isinstance(doc, Mapping) and doc.get("aliases"))


@ordered(400)
def calculation_error(sample: Sample) -> Optional[Diagnosis]:
    """An arithmetic claim in the reasoning is false (``12 \\times 13 = 198``): the first one."""
    from harness_ext.reports.arithmetic import find_false_claim

    head = _head(sample.get("response") or "", CLAIM_CHARS)
    claim = find_false_claim(head) if _MAY_CLAIM.search(head) else None
    if claim is None:
        return None
    return Diagnosis("calculation_error", claim.text, (claim.start, claim.end), claim.describe())


@ordered(500)
def found_then_lost(sample: Sample) -> Optional[Diagnosis]:
    """The reasoning stated the gold answer (boxed or "the answer is"), the final answer differs."""
    from harness_ext.reports.reached import find_reached

    gold = sample.get("gold")
    if not gold or not sample.get("answer"):
        return None  # "then a different final answer": there must be one
    doc = sample.get("doc")
    problem = doc.get("problem") if isinstance(doc, Mapping) else None
    reached = find_reached(
        sample.get("response") or "",
        str(gold),
        sample.get("answer"),
        problem=problem if isinstance(problem, str) else None,
    )
    if reached is None:
        return None
    how = "stated" if reached.kind == "stated" else "reached in a step"
    return Diagnosis(
        "found_then_lost",
        reached.context,
        (reached.start, reached.end),
        f"{how} {reached.candidate!r} (= gold {gold!r}), "
        f"then answered {_short_or_none(sample.get('answer'))!r}",
    )


@ordered(1000)
def reasoning_error(sample: Sample) -> Optional[Diagnosis]:
    """Wrong, and none of the other labels applies."""
    if sample.get("correct"):
        return None
    answer = sample.get("answer") or ""
    return Diagnosis(
        "reasoning_error",
        _short(answer),
        _find(sample, answer),
        f"answered {_short(answer)!r}, gold {_short(str(sample.get('gold')))!r}",
    )


def _find(sample: Sample, text: str) -> Optional[tuple[int, int]]:
    response = sample.get("response") or ""
    at = response.rfind(text) if text else -1
    return (at, at + len(text)) if at >= 0 else None


def _integer_in(answer: str, bounds: tuple[int, int]) -> bool:
    """Whether ``answer`` is written as an integer within ``bounds`` (``042``, ``1{,}000``)."""
    text = answer.strip().strip("$").replace("{,}", "").replace(",", "").replace(" ", "")
    for wrapper in ("\\text{", "\\mathrm{", "\\textbf{"):
        if text.startswith(wrapper) and text.endswith("}"):
            text = text[len(wrapper) : -1]
    if len(text) > 12 or not text.lstrip("-").isdigit():
        return False
    return bounds[0] <= int(text) <= bounds[1]


BUILTIN_LABELERS: tuple[Callable[[Sample], Optional[Diagnosis]], ...] = (
    correct,
    truncated,
    logical_loop,
    no_answer,
    calculation_error,
    found_then_lost,
    reasoning_error,
)


@hookimpl
def register_labelers(register: Callable[[str, Callable[[Sample], Any]], None]) -> None:
    """The built-in labels (see harness_ext.reports.labels for their order)."""
    for labeler in BUILTIN_LABELERS:
        register(labeler.__name__, labeler)
