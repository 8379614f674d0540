"""The last resorts, when a response has no box and no answer phrase: a closing sentence that
concludes with a value, a math span that ends the response, a short one-line response."""

from __future__ import annotations

import re
from typing import Optional

from .boxes import BOX
from .phrases import TAIL_CHARS
from .values import (
    ANY_NUMBER,
    CONCLUDES,
    MATH,
    PROSE_WORD,
    TRAILING_NUMBER,
    bare,
    computed_result,
    group,
    has_script,
    is_argument,
    value_of,
)

_LAST_PARAGRAPH_CHARS = 2_000
_WHOLE_RESPONSE_CHARS = 80
_SENTENCE_SPLIT = re.compile(r"[.!?](?:\$\$|\$|\\\]|\\\))?\s+|[。！？؟।]\s*|\n+")
_IS_THE_ANSWER = re.compile(
    r"\b(?:is|are|was)\s+(?:the|our|my)\s+(?:final\s+)?(?:answer|solution|result)s?\s*$", re.I
)
_IS_VALUE = re.compile(
    r"\b(?:is|are|equals|was|be|therefore|thus|hence|so|est|sont|vaut)\b"
    r"|=|是|为|等于"
    r"|\b(?:it|that|which)'s\b"
    r"|\bهو\b|\bهي\b|है",
    re.I,
)
_LEADING_CONCLUSION = re.compile(
    r"\s*(?:so|therefore|thus|hence|finally|donc|ainsi)\b[\s,:]*", re.I
)


def final_sentence(text: str) -> Optional[str]:
    """No marker, no box: a closing sentence that concludes with a value ("... is 2/3.",
    "因此，...是192公斤。", "Donc, il a déjà 79 g de cire.")."""
    body = text.rstrip()[-TAIL_CHARS:]
    parts = [p for p in _SENTENCE_SPLIT.split(body.rstrip(" .!。")) if p.strip(" *")]
    if not parts:
        return None
    sentence = parts[-1].strip()
    plain = MATH.sub(" ", sentence)
    conclusion = _LEADING_CONCLUSION.match(plain)
    if conclusion:  # "So, 4 + 9 = 13." concludes with the computation's result
        computed = computed_result(plain[conclusion.end() :].strip(" *"))
        if computed:
            return computed
    if len(PROSE_WORD.findall(plain)) < 3 and not has_script(plain):
        return None
    if not (_IS_VALUE.search(sentence) or CONCLUDES.search(sentence)):
        return None
    named = _IS_THE_ANSWER.search(sentence)
    if named:  # "$x \\ge 5$ is the solution", "so 12 is our answer"
        head = sentence[: named.start()]
        spans = list(MATH.finditer(head))
        if spans and not head[spans[-1].end() :].strip():
            return group(spans[-1]).strip() or None
        number = TRAILING_NUMBER.search(head)
        return bare(number.group(1)) if number else None
    if MATH.search(sentence):
        return None  # math in a closing sentence: last_math takes it when it ends the text
    return value_of(sentence)


def last_math(text: str) -> Optional[str]:
    """A ``$...$`` / ``\\(...\\)`` / ``\\[...\\]`` that ends the response (``So $x = 5$.``);
    math in the middle of a (possibly truncated) text is not an answer."""
    paragraph = text.rstrip()[-_LAST_PARAGRAPH_CHARS:].split("\n\n")[-1]
    found = next(reversed(list(MATH.finditer(paragraph))), None)  # the last math span
    if found is None or paragraph[found.end() :].strip(" \t\n.,;!"):
        return None
    inner = group(found).strip()
    if len(PROSE_WORD.findall(inner)) >= 2 and "\\" not in inner:  # "$? just about 1$"
        return value_of(inner)
    return computed_result(inner) or inner or None


def whole_response(text: str) -> Optional[str]:
    """A short one-line response is its own answer when it is not prose (``"33"``,
    ``"x = 5."``); a short line of words with one number is that number (``Soucis : 2,74 $``)."""
    stripped = text.strip()
    if len(stripped) > _WHOLE_RESPONSE_CHARS or "\n" in stripped or BOX.search(stripped):
        return None
    words = len(PROSE_WORD.findall(stripped))
    if words and "=" not in stripped and not MATH.search(stripped):
        numbers = list(ANY_NUMBER.finditer(stripped))
        if len(numbers) == 1:
            if is_argument(stripped, numbers[0].start(1)):
                return None
            return bare(numbers[0].group(1))
    if words > 2 or has_script(stripped):
        return None
    stripped = stripped.rstrip(".").strip()
    return computed_result(stripped) or stripped or None
