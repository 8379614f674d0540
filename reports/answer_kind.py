"""Whether an extracted answer is a value of the gold answer's kind (for ``no_answer``).

A closing statement can name something that is no answer to a numeric problem: an expression
in a free variable ("The answer is $2N+1$" when the gold is 7) or letters ("... is $ABCD$",
a figure's name). Such an answer is not a wrong value but no value, so the response is
labelled ``no_answer``, not ``calculation_error`` or ``reasoning_error``.

Only numeric golds have a kind here: a gold with a digit and no free variable (``7``,
``\\frac{11}{2}``, ``2\\sqrt{3}``, ``(1, 2)``, ``5\\text{ cm}``). A free variable is a lone
Latin letter left after removing LaTeX commands and text (``\\pi``, ``\\text{ apples}``), an
assignment's left side (``x = 5``: what follows the last ``=`` is the value) and a unit that
ends the answer after a number (``5 m``, ``12 km/h``); ``e`` and ``i`` are constants. Letters
are a lone letter or a run of 2-8 capitals; the choice letters A-E (``(C)``) are values.
This is a pattern check on short strings (no parsing, nothing evaluated).
"""

from __future__ import annotations

import re
from typing import Optional

from harness_ext.answers.extract import find_answer, is_solution
from harness_ext.answers.normalize import clean

__all__ = ["is_numeric", "not_of_kind"]

MAX_CHARS = 200  # longer answers or golds are not checked (a formula this long is no slip)
_WORDS = re.compile(
    r"\\(?:text\w*|math(?:rm|bf|it|sf|tt)|mbox|operatorname)\s*\{[^{}]*\}"
    r"|\\(?:text\w*|math(?:rm|bf|it|sf|tt)|mbox|operatorname)\b"
)
_COMMAND = re.compile(r"\\[A-Za-z]+")
_TRAILING_UNIT = re.compile(
    r"(?<=[\d}])\s*[A-Za-z]{1,5}(?:\^?\{?\d\}?)?(?:\s*/\s*[A-Za-z]{1,5}(?:\^?\{?\d\}?)?)?\s*$"
)
_LONE_LETTER = re.compile(r"(?<![A-Za-z])[A-Za-z](?![A-Za-z])")
_CONSTANTS = frozenset("ei")
_LETTERS = re.compile(r"[A-Z]{2,8}|[A-Za-z]")
_CHOICE = re.compile(r"\(?[A-E]\)?")


def _value_part(text: str) -> str:
    """What an answer states as its value: after its last ``=``, without commands, text and a
    closing unit."""
    value = clean(text).rsplit("=", 1)[-1]
    value = _COMMAND.sub(" ", _WORDS.sub(" ", value))
    return _TRAILING_UNIT.sub("", value).strip(" .,;:()[]{}")


def _free_letters(text: str) -> set[str]:
    return {m.group() for m in _LONE_LETTER.finditer(_value_part(text))} - _CONSTANTS


def is_numeric(gold: str) -> bool:
    """Whether ``gold`` is a number (or numbers): a digit and no free variable or letters."""
    if is_solution(gold):
        found = find_answer(gold)
        gold = found.text if found else gold
    if len(gold) > MAX_CHARS or not any(ch.isdigit() for ch in gold):
        return False
    return not _free_letters(gold) and not _LETTERS.fullmatch(_value_part(gold))


def not_of_kind(answer: str, gold: str) -> Optional[str]:
    """Why ``answer`` is no value of the kind of ``gold`` (``"an expression in N; the gold is
    a number"``, ``"letters; the gold is a number"``), or None when it may be one."""
    if len(answer) > MAX_CHARS or not is_numeric(gold):
        return None
    stated = clean(answer).rsplit("=", 1)[-1].strip(" .,;:()[]{}")
    if _LETTERS.fullmatch(stated) and not _CHOICE.fullmatch(stated) and stated not in _CONSTANTS:
        return "letters; the gold is a number"
    letters = _free_letters(answer)
    if letters and any(ch.isdigit() or ch in "+-*/^\\" for ch in stated):
        return f"an expression in {', '.join(sorted(letters))}; the gold is a number"
    return None
