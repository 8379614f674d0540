"""The choice letter (A-D) a multiple-choice response gives: the ``letter`` grader's extractor.

Explicit statements count first: ``\\boxed{C}``, "Answer: C", "the answer is (C)", "the answer
is for sure C", "réponse est C", "答案是C", "option C is correct", "I think it's C"; failing
those, a bracketed ``(C)`` or a line that is only the letter; failing those, a response that
opens with its letter ("C. it cannot be A", "C。不是 A"). Within each kind the last one wins,
and the text after a closing ``</think>`` is read before the reasoning. A letter is never taken
from inside a word (``Cl2``, ``D-glucose``), and a capital "A" followed by a lowercase word
("A metal ...") is the article, unless the word says something of the choice ("A is").
"""

from __future__ import annotations

import re
from typing import Iterator

from .boxes import boxes
from .extract import cut_response

__all__ = ["THINK_END", "box_letter", "extract_letter"]

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


def extract_letter(response: str) -> str | None:
    """The choice letter (A-D) a response gives as its answer, or None (see the module doc)."""
    if not isinstance(response, str) or not response.strip():
        return None
    text = cut_response(response)
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
    for start, _, content in boxes(text):
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
