"""The answer span of a free-text response and its match against a list of aliases: the
``alias`` grader (TriviaQA-style questions).

The span is the last ``\\boxed{}`` or "the answer is X"/"Answer: X", else the first sentence of
the first line. It is correct when, normalised as TriviaQA's own evaluation does (lowercase, no
punctuation, no articles a/an/the, single spaces), it or its part before the first comma
(lm-eval's triviaqa stops at a comma) equals one of the aliases, normalised the same way, or the
span holds an alias as a whole phrase ("The Eiffel Tower stands in Paris, France." for "Paris"):
instruct models answer zero-shot questions in a sentence.
"""

from __future__ import annotations

import re
import string
from typing import Sequence

from .boxes import last_boxed
from .choices import _TEXT_COMMAND, THINK_END  # one reading of \\text{...} and </think>
from .extract import cut_response

__all__ = ["extract_span", "matches_alias", "normalize_trivia"]

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


def extract_span(response: str) -> str | None:
    """The answer a TriviaQA response gives, as written, or None (see the module doc)."""
    if not isinstance(response, str) or not response.strip():
        return None
    text = cut_response(response)
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
    box = last_boxed(text)  # (content, end), as the math tasks read boxes
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
