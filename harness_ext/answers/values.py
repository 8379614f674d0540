"""The value a piece of free text states: math spans, numbers, computations (``180 + 24 = 204``
is 204), the value a sentence states, and whether an answer is plausible (no number glued to a
word or a path). Shared by the answer phrases (:mod:`.phrases`) and the last resorts
(:mod:`.closing`)."""

from __future__ import annotations

import re
from typing import Optional

# $$..$$, \[..\], \(..\), $..$ (an escaped \$ is a dollar sign, not a delimiter)
MATH = re.compile(
    r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|(?<!\\)\$((?:[^$\\]|\\.)+?)\$",
    re.S,
)
_ASCII_WORD = r"A-Za-z0-9_"
_NUMBER = (
    r"-?(?:\\?\$|[\u20ac\u00a3\u00a5])?(?:\d(?:[\d,]*\d)?(?:\.\d+)?|\.\d+)(?:/\d+)?"
    r"|-?\\d?frac\{-?\d+\}\{\d+\}"
)
_PCT = r"(?:\s*(?:\\?%|percent\b))?"
_UNIT = r"(?:\s?[A-Za-z]{1,3}(?:\^?\d|[\u00b2\u00b3])?)?"  # 5 cm, 1,000.99m²
_NOT_IN_WORD = rf"(?<![{_ASCII_WORD}./\\])(?<![A-Za-z]-)"  # not in "x0", "/tmp/0", "pytest-0"
_NUM = rf"{_NOT_IN_WORD}\(?(?:{_NUMBER}){_PCT}\)?"
_GLUED_UNIT = r"(?:cm|km|mm|kg|mg|ml|m|g|s|h|L)(?:[\u00b2\u00b3]|\^?[23])?(?![A-Za-z0-9])"
_AFTER_NUMBER = rf"(?:(?![{_ASCII_WORD}/])|(?={_GLUED_UNIT}))"
TRAILING_NUMBER = re.compile(rf"({_NUM}){_UNIT}\s?[\u20ac\u00a3\u00a5$]?[\s.!*]*$")
ANY_NUMBER = re.compile(rf"({_NUM}){_AFTER_NUMBER}")
_BOLD = re.compile(r"\*\*([^*\n]{1,80})\*\*")
_RESULT = re.compile(rf"=\s*({_NUM}){_AFTER_NUMBER}(?!\s*[-+*/×÷^]\s*\d)")
_IS_WORD = re.compile(
    r"(?:\b(?:is|are|was|equals?|be|est|sont|égale?|vaut|es|हैं?|هو|هي|يساوي)\b"
    r"|\b(?:it|that|which)'s"
    r"|是|为|等于|=)\s*(?:\*\*)?\s*(?:(?:de|d'|of|à|about|around|approximately|exactly)\s*)?$",
    re.I,
)
CONCLUDES = re.compile(
    r"\b(?:so|therefore|thus|hence|altogether|total|in\s+all|finally|donc|ainsi|alors"
    r"|conclusion|total|au\s+total|por\s+lo\s+tanto|entonces|also|insgesamt)\b"
    r"|所以|因此|因而|故|总共|一共|共有|结论|综上|最终|لذا|لذلك|إذن|وبالتالي|इसलिए|अतः|कुल",
    re.I,
)
# a word glued to a digit ("x0", "test0"; not the command "\sqrt2" nor "5x10"), or a path
_GLUED = re.compile(
    r"(?<![\\A-Za-z0-9])[A-Za-z]+\d"
    r"|(?:^|(?<=[\s(\[{'\"`=:]))(?:~|\.{1,2})?/[\w.~-]*[A-Za-z]"
    r"|[A-Za-z][\w+.-]*://"
)
PROSE_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}")
HOPE = re.compile(r"\s*I hope it is correct\.?\s*$", re.I)


def plausible(answer: Optional[str]) -> Optional[str]:
    """``answer`` unless a number in it is glued to a word or a path (``x0``, ``/home/u0``)."""
    if answer is None or _GLUED.search(answer):
        return None
    return answer


_ARITHMETIC = re.compile(
    r"[\d\s.,+\-*/×÷·()=^{}]|\\(?:cdot|times|div|frac|dfrac|left|right)"
    r"(?![A-Za-z])"
)


_IS_RESULT = re.compile(r"\s+(?:is|equals|makes|gives)\s+", re.I)


def computed_result(math: str) -> Optional[str]:
    """The result of a plain numeric computation (``180 + 24 = 204`` -> ``204``; in words,
    ``9 + 2 is 11`` -> ``11``), else None."""
    math = _IS_RESULT.sub(" = ", math) if len(math) < 200 else math
    if "=" not in math or _ARITHMETIC.sub("", math).strip():
        return None
    last = math.rsplit("=", 1)[1].strip()
    return last if re.fullmatch(r"-?\d[\d,]*(?:\.\d+)?|-?\\d?frac\{\d+\}\{\d+\}", last) else None


def value_of(sentence: str, after_marker: bool = False) -> Optional[str]:
    """The value a sentence states: itself if it is a formula; for prose, its bold number, the
    result of its last computation, the number after its last "is", its closing number or its
    only number (``The largest $n$ is 34`` -> 34); after an answer phrase, else its first
    number. A closing sentence without a conclusion word ("so", "因此", "donc") and with several
    numbers states none of them ("There are 5 apples and 3 oranges")."""
    s = HOPE.sub("", sentence).strip(" \t*_").rstrip(".。").strip()
    if not s:
        return None
    spans = list(MATH.finditer(s))
    if spans and not s[spans[-1].end() :].strip(" .,;:!*"):
        inner = group(spans[-1]).strip()
        return computed_result(inner) or inner or None
    plain = MATH.sub(" ", s)
    if len(PROSE_WORD.findall(plain)) < 2 and not has_script(plain):
        computed = computed_result(s.strip("()[] "))
        return computed or s  # a formula or a short answer such as "(C)" or "x = 5"
    for bold in _BOLD.finditer(s):
        number = ANY_NUMBER.search(bold.group(1))
        if number:
            return bare(number.group(1))
    results = list(_RESULT.finditer(plain))
    if results:
        return bare(results[-1].group(1))
    numbers = list(ANY_NUMBER.finditer(plain))
    stated = [n for n in numbers if _IS_WORD.search(plain, max(0, n.start() - 40), n.start())]
    if not after_marker and len(numbers) > 1 and not CONCLUDES.search(plain):
        # several numbers and no conclusion: only a stated value that closes the sentence
        # ("the number is not 10 which is 1,000.99€"), not "There are 5 apples and 3 oranges"
        closing = TRAILING_NUMBER.search(plain)
        if stated and closing and closing.start(1) == stated[-1].start(1):
            return bare(stated[-1].group(1))
        return None
    if stated:
        return bare(stated[-1].group(1))
    number = TRAILING_NUMBER.search(plain)
    first = number or (numbers[0] if numbers else None)
    if first and is_argument(plain, first.start(1)):
        return None  # "the sum of the proper divisors of 284" names the answer, states none
    if number:
        return bare(number.group(1))
    if len(numbers) == 1 and not spans:
        return bare(numbers[0].group(1))
    if len(spans) == 1 and not numbers:
        return group(spans[0]).strip()
    if after_marker and numbers:
        return bare(numbers[0].group(1))
    return None if numbers or not after_marker else s


_OF_THE = re.compile(r"\bthe\s+(?:[A-Za-z]+\s+){1,6}?of\s+$", re.I)


def is_argument(plain: str, start: int) -> bool:
    """Whether the number at ``start`` is the argument of a description, not a value: "the sum
    of the proper divisors of 284" names the answer without stating it."""
    return bool(_OF_THE.search(plain, max(0, start - 80), start))


def bare(number: str) -> str:
    number = number.strip()
    if number.startswith("(") and number.endswith(")"):
        number = number[1:-1].strip()
    return number


_SCRIPT = re.compile(r"[\u0600-\u06ff\u0900-\u097f\u3040-\u30ff\u4e00-\u9fff]")


def has_script(text: str) -> bool:
    """Whether text holds words of a script without spaces or capitals to count (CJK, Arabic,
    Devanagari): prose, even without Latin words."""
    return bool(_SCRIPT.search(text))


def group(match: re.Match) -> str:
    return next(g for g in match.groups() if g is not None)
