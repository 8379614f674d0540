"""Prompt, answer extraction and scoring shared by every sparks task (thin: the work is in
``harness_ext.answers``).

The filter pipeline replaces each response by its extracted final answer, so that lm-eval's
sample logs (``--log_samples``) show it in ``filtered_resps`` next to the raw ``resps``; the
metrics then compare those answers with the gold answer by mathematical equivalence. Next to
``pass@1`` / ``exact_match`` every math task reports ``ungraded``: per problem (each sample
log's ``ungraded``) the answers whose comparison ran out of time (``Verdict.ungraded``, reason
"timeout"), and for the task (``ungraded,extracted`` in the results) their total. They count as
wrong in ``pass@1``; the count says how many grades are missing.

The control tasks follow the same pattern with their own answers:

* GPQA (``gpqa_diamond_sparks``): the filter logs the choice letter. Explicit statements count
  first: ``\\boxed{C}``, "Answer: C", "the answer is (C)", "the answer is for sure C",
  "réponse est C", "答案是C", "option C is correct", "I think it's C"; failing those, a bracketed
  ``(C)`` or a line that is only the letter; failing those, a response that opens with its
  letter ("C. it cannot be A", "C。不是 A"). Within each kind the last one wins, and
  the text after a closing ``</think>`` is read before the reasoning. A letter is never taken
  from inside a word (``Cl2``, ``D-glucose``), and a capital "A" followed by a lowercase word
  ("A metal ...") is the article, unless the word says something of the choice ("A is").
* TriviaQA (``triviaqa_sparks``): the filter logs the answer span: the last ``\\boxed{}`` or
  "the answer is X"/"Answer: X", else the first sentence of the first line. It is correct
  when, normalised as TriviaQA's own evaluation does (lowercase, no punctuation, no articles
  a/an/the, single spaces), it or its part before the first comma (lm-eval's triviaqa stops
  at a comma) equals one of the aliases, normalised the same way, or the span holds an alias
  as a whole phrase ("The Eiffel Tower stands in Paris, France." for "Paris"): instruct models
  answer zero-shot questions in a sentence.
"""

from __future__ import annotations

import re
import string
from typing import Any, Iterator, Sequence

from harness_ext import answers
from harness_ext.answers import extract as answers_extract

INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
AIME_RANGE = (0, 999)


def doc_to_text(doc: dict[str, Any]) -> str:
    """The problem, then the reasoning-model instruction (works as a chat user turn)."""
    return f"{doc['problem'].strip()}\n\n{INSTRUCTION}"


def extract_answers(resps: list[list[str]], docs: list[dict[str, Any]]) -> list[list[str]]:
    """Filter: every response of every doc becomes its final answer as written ("" if none)."""
    return [
        [answers.extract_answer(response) or "" for response in responses] for responses in resps
    ]


def _verdicts(
    results: list, gold: str, integer_range: tuple[int, int] | None
) -> list[answers.Verdict]:
    # lm-eval passes one entry per request; with `repeats` the entry is the list of n answers
    extracted = results[0] if results and isinstance(results[0], list) else results
    return [
        answers.check_answer(answer, gold, integer_range=integer_range)
        if answer
        else answers.Verdict(None, False, "no_answer")
        for answer in extracted
    ]


def _scored(metric: str, verdicts: list[answers.Verdict]) -> dict[str, float]:
    """``metric`` (the share of correct answers) and ``ungraded``: how many answers could not
    be compared in time (reason "timeout"; counted wrong in ``metric``, reported here apart)."""
    correct = sum(v.correct for v in verdicts)
    return {metric: correct / len(verdicts), "ungraded": sum(v.ungraded for v in verdicts)}


def pass_at_1(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    """pass@1 averaged over the n sampled responses of one problem, and the ungraded count."""
    return _scored("pass@1", _verdicts(results, doc["answer"], None))


def pass_at_1_aime(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    """pass@1 for AIME: an answer must be an integer from 0 to 999 to count."""
    return _scored("pass@1", _verdicts(results, doc["answer"], AIME_RANGE))


def exact_match(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    """Greedy tasks: the one response is right or wrong (or ungraded)."""
    return _scored("exact_match", _verdicts(results, doc["answer"], None)[:1])


def exact_match_aime(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    """Greedy AIME tasks: the one response is right (an integer 0-999 equal to gold) or wrong."""
    return _scored("exact_match", _verdicts(results, doc["answer"], AIME_RANGE)[:1])


def total(items: list[float]) -> float:
    """lm-eval aggregation of the ``ungraded`` metric: the number of ungraded answers."""
    return float(sum(items))


# ---------------------------------------------------------------- control tasks: GPQA

GPQA_INSTRUCTION = (
    "Please reason step by step, and put the letter of the correct choice "
    "(A, B, C or D) within \\boxed{}."
)
THINK_END = "</think>"

# A capital "A" followed on its line by a lowercase word is the article ("A metal compound"),
# unless the word says something of the choice ("A is correct", "A because ...").
_CHOICE_WORDS = r"is|was|because|since|as|and|fits|matches|seems|would|must"
_LETTER = (
    r"(?:\(\s*(?P<paren>[A-Da-d])\s*\)"
    rf"|(?<![A-Za-z0-9_-])(?P<bare>[B-D]|A(?![ \t]+(?!(?:{_CHOICE_WORDS})\b)[a-z]))"
    r"(?![A-Za-z0-9_-]))"
)  # ASCII word edges: "答案是C" states C
_SURELY = r"(?:(?i:for\s+sure|definitely|clearly|certainly|probably)\s+)?"
_ANSWER_IS = re.compile(
    r"(?:(?i:\banswer)(?:\s+(?i:is))?|(?i:\br[ée]ponse)(?:\s+(?i:est))?"
    r"|(?i:\brespuesta)(?:\s+(?i:es))?|答案(?:是|为)?)\s*"
    + _SURELY
    + r"[:：=]?[\s*_$\"'\u201c\u201d]*(?:(?i:option|choice)\s+)?"
    + _LETTER
)
_I_THINK_ITS = re.compile(
    r"(?i:\b(?:I\s+think|I\s+believe|therefore|so)\b[^.\n]{0,20}?"
    r"\bit(?:'s|\s+is|\s+must\s+be))\s+" + _LETTER
)
# a response that opens with its letter: "D. it can't be A or B", "B。不是 A"
_OPENING_LETTER = re.compile(r"[\s*_]*\(?([A-D])\)?(?:[.。:：,，、]|\s*(?=[\u4e00-\u9fff]))")
_OPTION_IS_RIGHT = re.compile(
    r"(?i:\b(?:option|choice))\s+" + _LETTER + r"\s+(?i:is\s+(?:the\s+)?(?:correct|right|best))"
)
_BRACKETED = re.compile(r"\(\s*([A-D])\s*\)")
_LETTER_LINE = re.compile(r"^[ \t*_]*\(?([A-D])\)?[.:]?[ \t*_]*$", re.M)
_TEXT_COMMAND = re.compile(r"\\(?:text|textbf|textrm|mathrm|mathbf)\s*\{([^{}]*)\}")
_BOXED_LETTER = re.compile(r"[\s$]*(?:(?i:option|choice)\s+)?" + _LETTER)
_LONE_LETTER = re.compile(r"[\s$]*\(?\s*([A-Da-d])\s*\)?[\s$.]*")

Found = Iterator[tuple[int, str]]  # (position in the text, letter)


def gpqa_doc_to_text(doc: dict[str, Any]) -> str:
    """The question with its lettered choices, then the instruction (a plain user turn)."""
    return f"{doc['problem'].strip()}\n\n{GPQA_INSTRUCTION}"


def extract_letters(resps: list[list[str]], docs: list[dict[str, Any]]) -> list[list[str]]:
    """Filter: every response becomes the choice letter it gives ("" if none)."""
    return [[extract_letter(response) or "" for response in responses] for responses in resps]


def exact_match_letter(doc: dict[str, Any], results: list) -> dict[str, float]:
    """GPQA: the one response's letter is the correct letter, or not."""
    return {"exact_match": float(_first_answer(results) == doc["answer"])}


def extract_letter(response: str) -> str | None:
    """The choice letter (A-D) a response gives as its answer, or None (see the module doc)."""
    if not isinstance(response, str) or not response.strip():
        return None
    text = answers_extract.cut_response(response)
    for part in _final_part_first(text):
        for finders in (
            (_boxed_letters, _stated_letters),
            (_bracketed_letters,),
            (_opening_letter,),
        ):
            found = [hit for finder in finders for hit in finder(part)]
            if found:
                return max(found)[1]
    return None


def _final_part_first(text: str) -> list[str]:
    """Where to look, in order: after the last ``</think>`` (when there is one), then all."""
    _, end, after = text.rpartition(THINK_END)
    return [after, text] if end else [text]


def _letter(match: re.Match) -> str:
    return (match["paren"] or match["bare"]).upper()


def _opening_letter(text: str) -> Found:
    match = _OPENING_LETTER.match(text)
    if match:
        yield match.start(1), match[1]


def _stated_letters(text: str) -> Found:
    for pattern in (_ANSWER_IS, _OPTION_IS_RIGHT, _I_THINK_ITS):
        for match in pattern.finditer(text):
            yield match.start(), _letter(match)


def _boxed_letters(text: str) -> Found:
    # the math extractor's box parser (nested braces, ``\\boxed C``): one parser for all tasks
    for start, _, content in answers_extract._boxes(text):
        letter = box_letter(content)
        if letter:
            yield start, letter


def box_letter(content: str) -> str | None:
    """The letter a box holds: ``C``, ``(c)``, ``\\text{C}``, ``\\textbf{(C)} 42``, ``option C``."""
    plain = _TEXT_COMMAND.sub(r"\1", content)
    lone = _LONE_LETTER.fullmatch(plain)
    if lone:
        return lone[1].upper()
    match = _BOXED_LETTER.match(plain)
    return _letter(match) if match else None


def _bracketed_letters(text: str) -> Found:
    for pattern in (_BRACKETED, _LETTER_LINE):
        for match in pattern.finditer(text):
            yield match.start(), match[1]


def _first_answer(results: list) -> str:
    """The one filtered answer of a greedy response (lm-eval may nest it in a list)."""
    first = results[0] if results else ""
    if isinstance(first, list):
        first = first[0] if first else ""
    return first if isinstance(first, str) else ""


# ---------------------------------------------------------------- control tasks: TriviaQA

_SPAN_MARKER = re.compile(r"\b(?:final\s+answer|answer)(?:\s+is\b|\s*[:：])", re.I)
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
_ABBREVIATIONS = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "dr",
        "st",
        "jr",
        "sr",
        "mt",
        "ft",
        "vs",
        "no",
        "co",
        "inc",
        "ltd",
        "prof",
        "gen",
        "col",
        "capt",
        "lt",
        "sgt",
    }
)
_EDGE = " \t*_:\"'`"  # markdown and quotes around a span
_PUNCTUATION = frozenset(string.punctuation + "‘’´`“”")  # TriviaQA's own evaluation's set
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")


def triviaqa_doc_to_text(doc: dict[str, Any]) -> str:
    """lm-eval's triviaqa prompt, ``Question: ...?\\nAnswer:`` (one question mark, not two)."""
    return f"Question: {doc['problem'].strip().rstrip('?').rstrip()}?\nAnswer:"


def extract_spans(resps: list[list[str]], docs: list[dict[str, Any]]) -> list[list[str]]:
    """Filter: every response becomes its answer span, as written ("" if none)."""
    return [[extract_span(response) or "" for response in responses] for responses in resps]


def exact_match_alias(doc: dict[str, Any], results: list) -> dict[str, float]:
    """TriviaQA: the one response's span matches an alias after normalisation, or not."""
    return {"exact_match": float(matches_alias(_first_answer(results), doc["aliases"]))}


def extract_span(response: str) -> str | None:
    """The answer a TriviaQA response gives, as written, or None (see the module doc)."""
    if not isinstance(response, str) or not response.strip():
        return None
    text = answers_extract.cut_response(response)
    _, end, after = text.rpartition(THINK_END)
    if end:
        text = after
    stated = _stated_span(text)
    if stated is not None:
        return stated
    if not end and "<think>" in text:
        return None  # the reasoning never closed: its first line is no answer
    line = next((line for line in text.splitlines() if line.strip(_EDGE)), "")
    return _first_sentence(line) or None


def _stated_span(text: str) -> str | None:
    """The last boxed answer or "the answer is X", whichever comes later."""
    box = answers_extract._last_boxed(text)  # (content, end), as the math tasks read boxes
    marker = next(reversed(list(_SPAN_MARKER.finditer(text))), None)  # the last marker
    if marker is not None and (box is None or marker.start() > box[1]):
        span = _first_sentence(text[marker.end() :].lstrip(_EDGE).split("\n", 1)[0])
        if span:
            return span
    if box is None:
        return None
    return _TEXT_COMMAND.sub(r"\1", box[0]).strip() or None


def _first_sentence(line: str) -> str:
    """``line`` up to its first sentence end; the period of an initial ("J. R. R.") or of an
    abbreviation ("Mt. Everest") ends none."""
    line = line.strip(_EDGE)
    for end in _SENTENCE_END.finditer(line):
        words = line[max(0, end.start() - 40) : end.start()].split()  # bounded: hostile text
        last = words[-1].rsplit(".", 1)[-1].lower() if words else ""  # "D.C" -> "c"
        if end.group() == "." and (len(last) == 1 or last in _ABBREVIATIONS):
            continue
        return line[: end.start()].strip(_EDGE)
    return line.strip(_EDGE)


def normalize_trivia(text: str) -> str:
    """TriviaQA's answer normalisation: lowercase, punctuation to spaces, no articles, single
    spaces. Text that is only articles or punctuation ("A", "The The") is kept lowercase."""
    lower = text.replace("_", " ").lower()
    spaced = "".join(" " if ch in _PUNCTUATION else ch for ch in lower)
    return " ".join(_ARTICLES.sub(" ", spaced).split()) or " ".join(lower.split())


def matches_alias(span: str, aliases: Sequence[str]) -> bool:
    """Whether ``span`` (or its part before the first comma) equals a normalised alias, or
    holds one as a whole phrase: a chat model answers in a sentence ("The Eiffel Tower stands
    in Paris, France."), where lm-eval's few-shot prompt gets a bare "Paris"."""
    if not span or not span.strip():
        return False
    wanted = {normalize_trivia(alias) for alias in aliases} - {""}
    said = normalize_trivia(span)
    if {said, normalize_trivia(span.split(",", 1)[0])} & wanted:
        return True
    return any(f" {alias} " in f" {said} " for alias in wanted)
