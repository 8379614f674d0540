"""Find the final answer in a model's (possibly very long, possibly hostile) response.

The rules, each with an example, are in ``docs/answers.md`` ("Extraction"); in short, in order:

1. the last complete ``\\boxed{...}`` / ``\\fbox{...}``, with the boxes right before it that are
   joined to it by commas, "and", "or" or spacing (``\\boxed{2}, \\boxed{3}``): its *parts*;
2. a later answer phrase ("the answer is", "Answer:", "the answer should be", "réponse", "答案",
   "الإجابة", "उत्तर", ...) that states a value wins over the box; one whose value is not an
   answer ("so our answer is correct", "the answer is within \\boxed{}"), that checks an answer
   or that supposes one ("if the answer is 90, ...") does not. A last phrase followed by
   nothing or by a description ("**Final Answer**\\nThe largest possible value of \\(x\\)",
   "... The") leaves the answer stated before it ("so 11/2 is the answer");
3. a closing sentence that concludes with a value (``... so t = 24. $180 + 24 = 204$.``,
   ``因此，...是192公斤。``, ``Donc, il a déjà 79 g de cire.``);
4. a math span that ends the response; 5. a short one-line response that is not prose.

The cut: only the last :data:`MAX_RESPONSE_CHARS` characters are read, from the first line
break in the first :data:`CUT_ALIGN_CHARS` characters of that window when there is one; every
step is linear in the length of that window. A number glued to a word or in a path (``x0``,
``test0``, ``/home/u0``, ``pytest-0/``) is never an answer found in free text; box contents are
taken as written. A box left open in the last :data:`_UNCLOSED_TAIL_CHARS` characters (a trace
cut at ``\\boxed{``) is cut off first, so the answer phrase before it counts. A gold answer is
read like a response when it is a whole solution (:func:`is_solution`: a box, a GSM8K
``#### 42`` line, or long text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, Optional

MAX_RESPONSE_CHARS = 100_000  # the end of a response that is read
CUT_ALIGN_CHARS = 1_000
_MAX_JOINED_BOXES = 10
_TAIL_CHARS = 600  # the free text we look at after an answer phrase
_LAST_PARAGRAPH_CHARS = 2_000
_WHOLE_RESPONSE_CHARS = 80


@dataclass(frozen=True)
class Found:
    """An extracted final answer: its text as written and, for joined boxes, the boxes."""

    text: str
    parts: tuple[str, ...]
    how: str  # "box", "marker", "sentence", "math", "whole"


_BOX = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_BRACE_OR_ESCAPE = re.compile(r"\\.|[{}]", re.S)  # an escaped character is skipped whole
_BARE_BOX_ARG = re.compile(r"[^\s$]+")
_BLANKS = re.compile(r"[ \t]+")
_CONNECTOR = r"(?:and|or|et|ou|und|oder|和|或|及|与|و|أو|और|या)"
_BOX_SEPARATOR = re.compile(  # what may stand between boxes that together form one answer:
    # commas, connectors, spacing, math delimiters, a label such as "y_2 =" or "b =", one unit
    # word after a box ("\boxed{1} papers and \boxed{2}"), \text{ for part (a) and }
    r"(?:[\s$,;]|\\[,;:! ()\[\]]|\\q?quad(?![A-Za-z])|" + _CONNECTOR + r"(?![A-Za-z])"
    r"|\\text\{[^{}]{0,40}?\b" + _CONNECTOR + r"\s*\}|\\text\{\s*,?\s*\}"
    r"|(?<![A-Za-z])[A-Za-z](?:_\{?\w{1,3}\}?)?\s*=)*"
)
_UNIT_THEN_CONNECTOR = re.compile(r"[\s$]*[A-Za-z]{1,12}(?=\s*,?\s*" + _CONNECTOR + r"\s)")

_MARKER = re.compile(
    r"final\s+answer(?:\s+is|\s+should\s+be)?\s*[:：]?"
    r"|(?:the\s+)?answer(?:\s+is|\s+should\s+be|\s*[:：=])|####"
    r"|r[ée]ponse(?:\s+finale)?(?:\s+est|\s*[:：=])|respuesta(?:\s+final)?(?:\s+es|\s*[:：=])"
    r"|(?:最终|最后的)?答案(?:是|为|[:：=])|الإجابة(?:\s+النهائية)?(?:\s+هي|\s*[:：])"
    r"|الجواب(?:\s+هو|\s*[:：])|(?:अंतिम\s+)?उत्तर(?:\s+है|\s*[:：])",
    re.I,
)
_QUOTES = re.compile(r"^(?:\\?[\"'\u201c\u201d\u00ab\u00bb]\s*)+")
_MATH_JOIN = re.compile(r"\s*,?\s*(?:" + _CONNECTOR + r"\s*)?,?\s*(?=\$|\\\(|\\\[)")
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
_UNCLOSED_TAIL_CHARS = 200  # an unclosed box this near the end is a cut answer (see find_answer)
_MAX_LOOK_BEFORE = 2  # answer phrases that state no value, looked before (see find_answer)
# $$..$$, \[..\], \(..\), $..$ (an escaped \$ is a dollar sign, not a delimiter)
_MATH = re.compile(
    r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|(?<!\\)\$((?:[^$\\]|\\.)+?)\$",
    re.S,
)
_SENTENCE_END = re.compile(
    r"\.(?=\s|$)|[!?](?=\s|$)|[。！？؟।]|\s(?:because|since|which|so|as)\s", re.I
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
_TRAILING_NUMBER = re.compile(rf"({_NUM}){_UNIT}\s?[\u20ac\u00a3\u00a5$]?[\s.!*]*$")
_ANY_NUMBER = re.compile(rf"({_NUM}){_AFTER_NUMBER}")
_BOLD = re.compile(r"\*\*([^*\n]{1,80})\*\*")
_RESULT = re.compile(rf"=\s*({_NUM}){_AFTER_NUMBER}(?!\s*[-+*/×÷^]\s*\d)")
_IS_WORD = re.compile(
    r"(?:\b(?:is|are|was|equals?|be|est|sont|égale?|vaut|es|हैं?|هو|هي|يساوي)\b"
    r"|\b(?:it|that|which)'s"
    r"|是|为|等于|=)\s*(?:\*\*)?\s*(?:(?:de|d'|of|à|about|around|approximately|exactly)\s*)?$",
    re.I,
)
_CONCLUDES = re.compile(
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
_PROSE_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}")
_CHAT_TOKEN = re.compile(r"<\|[A-Za-z_]{1,30}\|>|</s>|<eos>")
_HOPE = re.compile(r"\s*I hope it is correct\.?\s*$", re.I)
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
_NOT_A_VALUE = re.compile(
    r"\\(?:boxed|fbox)|^\s*(?:correct|right|wrong|above|below|as follows|"
    r"given|shown|within|in the box)\b",
    re.I,
)
_VALUE_SIGN = re.compile(r"\d|\\[A-Za-z]|^\(?[A-Ea-e]\)?$|[∞π√]")


def extract_answer(response: str) -> Optional[str]:
    """The model's final answer as written (without the box/delimiters), or None."""
    found = find_answer(response)
    return found.text if found else None


def find_answer(response: str) -> Optional[Found]:
    """The final answer of ``response`` with the boxes it is made of (see the module doc)."""
    if not isinstance(response, str) or not response.strip():
        return None
    text = _before_unclosed_box(_strip_chat_tail(cut_response(response)))
    for _ in range(_MAX_LOOK_BEFORE + 1):
        found, before = _find(text)
        if found is not None or before is None:
            return found
        text = before  # the last answer phrase states nothing: the value stated before it
    return None


def _find(text: str) -> tuple[Optional[Found], Optional[str]]:
    """The final answer of ``text``, or ``(None, text before its last answer phrase)`` when
    that phrase states no value (``**Final Answer**\\nThe``), else ``(None, None)``."""
    box = _last_box_group(text)
    marker = _last_marker(text, box[1] if box else 0)  # only a later phrase can beat a box
    if marker is not None:
        if _states_nothing(text, marker):
            return None, text[: marker.start()].rstrip(" \t\r\n*_#")
        answer = _plausible(_after_marker(text, marker))
        # a box, or a hedged phrase ("the answer should be positive"), needs a stated value
        needs_value = box is not None or _SHOULD.search(marker.group()) is not None
        if (
            answer
            and not _NOT_A_VALUE.search(answer)
            and (not needs_value or _states_a_value(answer))
        ):
            return Found(answer, (answer,), "marker"), None
    if box:
        return Found(", ".join(box[0]), tuple(box[0]), "box"), None
    for how, finder in (
        ("sentence", _final_sentence),
        ("math", _last_math),
        ("whole", _whole_response),
    ):
        answer = _plausible(finder(text))
        if answer:
            return Found(answer, (answer,), how), None
    return None, None


_GSM8K_ANSWER = re.compile(r"(?:^|\n)####[ \t]*\S")
_SOLUTION_LINES_CHARS = 200  # a gold this long on several lines is a whole solution
_SOLUTION_CHARS = 400  # a gold this long is one, on any number of lines


def is_solution(gold: str) -> bool:
    """Whether a gold answer is a whole solution, read like a response: it holds a box, has a
    GSM8K answer line (``...\\n#### 42``), or is long (see :data:`_SOLUTION_CHARS`)."""
    stripped = gold.strip()
    return bool(
        "\\boxed" in stripped
        or "\\fbox" in stripped
        or _GSM8K_ANSWER.search(stripped)
        or (len(stripped) > _SOLUTION_LINES_CHARS and "\n" in stripped)
        or len(stripped) > _SOLUTION_CHARS
    )


def cut_response(response: str, limit: int = MAX_RESPONSE_CHARS) -> str:
    """The last ``limit`` characters of ``response``, from a line start when one is near the cut."""
    if len(response) <= limit:
        return response
    start = len(response) - limit
    newline = response.find("\n", start, start + CUT_ALIGN_CHARS)
    return response[newline + 1 if newline >= 0 else start :]


def _plausible(answer: Optional[str]) -> Optional[str]:
    """``answer`` unless a number in it is glued to a word or a path (``x0``, ``/home/u0``)."""
    if answer is None or _GLUED.search(answer):
        return None
    return answer


def _states_a_value(answer: str) -> bool:
    """Whether text after an answer phrase is an answer (``$10,455$``, ``(C)``), not a comment
    on one ("correct", "within \\boxed{}")."""
    return not _NOT_A_VALUE.search(answer) and bool(_VALUE_SIGN.search(answer.strip()))


def _strip_chat_tail(text: str) -> str:
    """Cut a chat-template token (``<|im_start|>user``...) that ends a raw generation, and a
    closing "I hope it is correct."."""
    m = _CHAT_TOKEN.search(text, max(0, len(text) - 300))
    if m and text[: m.start()].strip():
        text = text[: m.start()]
    tail_start = max(0, len(text) - 100)
    return text[:tail_start] + _HOPE.sub("", text[tail_start:])


# ----------------------------------------------------------------------------------------------
# Boxes
# ----------------------------------------------------------------------------------------------


def _match_braces(text: str, start: int = 0) -> dict[int, int]:
    """Index of each ``{`` from ``start`` on -> index of its ``}`` (unescaped braces, one pass;
    what comes before ``start`` cannot close a brace after it)."""
    stack: list[int] = []
    pairs: dict[int, int] = {}
    for m in _BRACE_OR_ESCAPE.finditer(text, start):
        ch = m.group()
        if ch == "{":
            stack.append(m.start())
        elif ch == "}" and stack:
            pairs[stack.pop()] = m.start()
    return pairs


_SCAN_LIMIT = 4_000


def _close_of(text: str, j: int) -> Optional[int]:
    """The index of the ``}`` closing the ``{`` at ``j`` (None if it never closes), or -2 when
    that is not found within :data:`_SCAN_LIMIT` characters (then one full pass decides)."""
    depth = 0
    for m in _BRACE_OR_ESCAPE.finditer(text, j, min(len(text), j + _SCAN_LIMIT)):
        ch = m.group()
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return m.start()
    return -2 if j + _SCAN_LIMIT < len(text) else None


def _boxes(text: str) -> Iterator[tuple[int, int, str]]:
    """Complete boxes ``(start, end, content)``, last first (``\\boxed 5`` included)."""
    pairs: Optional[dict[int, int]] = None
    starts = [m.start() for m in _BOX.finditer(text)]  # ints: no match objects kept alive
    for index, start in enumerate(reversed(starts)):
        m = _BOX.match(text, start)
        if m is None:  # cannot happen: finditer matched here
            continue
        blanks = _BLANKS.match(text, m.end())
        j = blanks.end() if blanks else m.end()
        if j < len(text) and text[j] == "{":
            close = _close_of(text, j) if index == 0 else -2  # the last box: a short scan
            if close == -2:  # earlier boxes, or a long last one: one pass for all
                if pairs is None:
                    pairs = _match_braces(text, starts[0])
                close = pairs.get(j)
            if close is not None:
                yield m.start(), close + 1, text[j + 1 : close].strip()
        elif j > m.end():
            bare = _BARE_BOX_ARG.match(text, j)
            if bare:
                yield m.start(), bare.end(), bare.group(0).rstrip(".,;")


def _joined(text: str, end: int, next_start: int) -> bool:
    """Whether what lies between one box (ending at ``end``) and the next is only a separator."""
    unit = _UNIT_THEN_CONNECTOR.match(text, end, next_start)
    return bool(_BOX_SEPARATOR.fullmatch(text, unit.end() if unit else end, next_start))


def _last_box_group(text: str) -> Optional[tuple[list[str], int]]:
    """``(contents, end)`` of the last complete box and the boxes joined to it, in order."""
    found: list[str] = []
    next_start = last_end = 0
    for start, end, content in _boxes(text):
        if not content:
            if found:
                break
            continue
        if found and (end > next_start or not _joined(text, end, next_start)):
            break
        if not found:
            last_end = end
        found.insert(0, content)
        next_start = start
        if len(found) >= _MAX_JOINED_BOXES:
            break
    return (found, last_end) if found else None


def _last_boxed(text: str) -> Optional[tuple[str, int]]:
    """``(content, end)`` of the last box group, its boxes joined by ", " (the task filters)."""
    group = _last_box_group(text)
    return (", ".join(group[0]), group[1]) if group else None


def _before_unclosed_box(text: str) -> str:
    """``text`` up to a box left open at its end (a trace cut at ``\\boxed{``): the box hides
    nothing, and the answer phrase just before it ("the answer is 42. $\\boxed{") counts."""
    boxes = list(_BOX.finditer(text, max(0, len(text) - _UNCLOSED_TAIL_CHARS - 10)))
    if not boxes:
        return text
    last = boxes[-1]
    blanks = _BLANKS.match(text, last.end())
    j = blanks.end() if blanks else last.end()
    if j == len(text) or (text[j] == "{" and _close_of(text, j) is None):
        return text[: last.start()].rstrip(" \t\r\n$\\([")
    return text


# ----------------------------------------------------------------------------------------------
# Answer phrases ("the final answer is ...", "Réponse :", "答案：")
# ----------------------------------------------------------------------------------------------


def _last_marker(text: str, start: int = 0) -> Optional[re.Match]:
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
    tail = text[marker.end() : marker.end() + _TAIL_CHARS].lstrip(" \t*:_：")
    if tail.startswith("\n"):  # the answer is on the next non-empty line
        tail = tail.lstrip()
    return _QUOTES.sub("", tail)


def _states_nothing(text: str, marker: re.Match) -> bool:
    """Whether an answer phrase is followed by nothing (a cut trace) or by a description of the
    answer without a number ("**Final Answer**\\nThe largest possible value of \\( x \\)",
    "the answer is an integer"): then the value stated before the phrase is the answer."""
    tail = _marker_tail(text, marker).rstrip()
    if not tail:
        return True
    if _MATH.match(tail):
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
    math = _MATH.match(tail)
    if math:
        inner = [_group(math).strip()]
        while len(inner) < _MAX_JOINED_BOXES:  # "$12$ and $13$": one answer of two parts
            more = _MATH_JOIN.match(tail, math.end())
            if not more:
                break
            math = _MATH.match(tail, more.end())
            if not math:
                break
            inner.append(_group(math).strip())
        if len(inner) > 1:
            return ", ".join(inner)
        return _computed(inner[0]) or inner[0] or None
    return _value_of(_first_sentence(tail.split("\n", 1)[0]), after_marker=True)


def _first_sentence(line: str) -> str:
    """``line`` up to the first sentence end that is not inside a math span or parentheses."""
    spans = [m.span() for m in _MATH.finditer(line)]
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


_ARITHMETIC = re.compile(
    r"[\d\s.,+\-*/×÷·()=^{}]|\\(?:cdot|times|div|frac|dfrac|left|right)"
    r"(?![A-Za-z])"
)


_IS_RESULT = re.compile(r"\s+(?:is|equals|makes|gives)\s+", re.I)


def _computed(math: str) -> Optional[str]:
    """The result of a plain numeric computation (``180 + 24 = 204`` -> ``204``; in words,
    ``9 + 2 is 11`` -> ``11``), else None."""
    math = _IS_RESULT.sub(" = ", math) if len(math) < 200 else math
    if "=" not in math or _ARITHMETIC.sub("", math).strip():
        return None
    last = math.rsplit("=", 1)[1].strip()
    return last if re.fullmatch(r"-?\d[\d,]*(?:\.\d+)?|-?\\d?frac\{\d+\}\{\d+\}", last) else None


def _value_of(sentence: str, after_marker: bool = False) -> Optional[str]:
    """The value a sentence states: itself if it is a formula; for prose, its bold number, the
    result of its last computation, the number after its last "is", its closing number or its
    only number (``The largest $n$ is 34`` -> 34); after an answer phrase, else its first
    number. A closing sentence without a conclusion word ("so", "因此", "donc") and with several
    numbers states none of them ("There are 5 apples and 3 oranges")."""
    s = _HOPE.sub("", sentence).strip(" \t*_").rstrip(".。").strip()
    if not s:
        return None
    spans = list(_MATH.finditer(s))
    if spans and not s[spans[-1].end() :].strip(" .,;:!*"):
        inner = _group(spans[-1]).strip()
        return _computed(inner) or inner or None
    plain = _MATH.sub(" ", s)
    if len(_PROSE_WORD.findall(plain)) < 2 and not _has_script(plain):
        computed = _computed(s.strip("()[] "))
        return computed or s  # a formula or a short answer such as "(C)" or "x = 5"
    for bold in _BOLD.finditer(s):
        number = _ANY_NUMBER.search(bold.group(1))
        if number:
            return _bare(number.group(1))
    results = list(_RESULT.finditer(plain))
    if results:
        return _bare(results[-1].group(1))
    numbers = list(_ANY_NUMBER.finditer(plain))
    stated = [n for n in numbers if _IS_WORD.search(plain, max(0, n.start() - 40), n.start())]
    if not after_marker and len(numbers) > 1 and not _CONCLUDES.search(plain):
        # several numbers and no conclusion: only a stated value that closes the sentence
        # ("the number is not 10 which is 1,000.99€"), not "There are 5 apples and 3 oranges"
        closing = _TRAILING_NUMBER.search(plain)
        if stated and closing and closing.start(1) == stated[-1].start(1):
            return _bare(stated[-1].group(1))
        return None
    if stated:
        return _bare(stated[-1].group(1))
    number = _TRAILING_NUMBER.search(plain)
    first = number or (numbers[0] if numbers else None)
    if first and _is_argument(plain, first.start(1)):
        return None  # "the sum of the proper divisors of 284" names the answer, states none
    if number:
        return _bare(number.group(1))
    if len(numbers) == 1 and not spans:
        return _bare(numbers[0].group(1))
    if len(spans) == 1 and not numbers:
        return _group(spans[0]).strip()
    if after_marker and numbers:
        return _bare(numbers[0].group(1))
    return None if numbers or not after_marker else s


_OF_THE = re.compile(r"\bthe\s+(?:[A-Za-z]+\s+){1,6}?of\s+$", re.I)


def _is_argument(plain: str, start: int) -> bool:
    """Whether the number at ``start`` is the argument of a description, not a value: "the sum
    of the proper divisors of 284" names the answer without stating it."""
    return bool(_OF_THE.search(plain, max(0, start - 80), start))


def _bare(number: str) -> str:
    number = number.strip()
    if number.startswith("(") and number.endswith(")"):
        number = number[1:-1].strip()
    return number


_SCRIPT = re.compile(r"[\u0600-\u06ff\u0900-\u097f\u3040-\u30ff\u4e00-\u9fff]")


def _has_script(text: str) -> bool:
    """Whether text holds words of a script without spaces or capitals to count (CJK, Arabic,
    Devanagari): prose, even without Latin words."""
    return bool(_SCRIPT.search(text))


_LEADING_CONCLUSION = re.compile(
    r"\s*(?:so|therefore|thus|hence|finally|donc|ainsi)\b[\s,:]*", re.I
)


def _final_sentence(text: str) -> Optional[str]:
    """No marker, no box: a closing sentence that concludes with a value ("... is 2/3.",
    "因此，...是192公斤。", "Donc, il a déjà 79 g de cire.")."""
    body = text.rstrip()[-_TAIL_CHARS:]
    parts = [p for p in _SENTENCE_SPLIT.split(body.rstrip(" .!。")) if p.strip(" *")]
    if not parts:
        return None
    sentence = parts[-1].strip()
    plain = _MATH.sub(" ", sentence)
    conclusion = _LEADING_CONCLUSION.match(plain)
    if conclusion:  # "So, 4 + 9 = 13." concludes with the computation's result
        computed = _computed(plain[conclusion.end() :].strip(" *"))
        if computed:
            return computed
    if len(_PROSE_WORD.findall(plain)) < 3 and not _has_script(plain):
        return None
    if not (_IS_VALUE.search(sentence) or _CONCLUDES.search(sentence)):
        return None
    named = _IS_THE_ANSWER.search(sentence)
    if named:  # "$x \\ge 5$ is the solution", "so 12 is our answer"
        head = sentence[: named.start()]
        spans = list(_MATH.finditer(head))
        if spans and not head[spans[-1].end() :].strip():
            return _group(spans[-1]).strip() or None
        number = _TRAILING_NUMBER.search(head)
        return _bare(number.group(1)) if number else None
    if _MATH.search(sentence):
        return None  # math in a closing sentence: _last_math takes it when it ends the text
    return _value_of(sentence)


# ----------------------------------------------------------------------------------------------
# Last resorts
# ----------------------------------------------------------------------------------------------


def _last_math(text: str) -> Optional[str]:
    """A ``$...$`` / ``\\(...\\)`` / ``\\[...\\]`` that ends the response (``So $x = 5$.``);
    math in the middle of a (possibly truncated) text is not an answer."""
    paragraph = text.rstrip()[-_LAST_PARAGRAPH_CHARS:].split("\n\n")[-1]
    found = next(reversed(list(_MATH.finditer(paragraph))), None)  # the last math span
    if found is None or paragraph[found.end() :].strip(" \t\n.,;!"):
        return None
    inner = _group(found).strip()
    if len(_PROSE_WORD.findall(inner)) >= 2 and "\\" not in inner:  # "$? just about 1$"
        return _value_of(inner)
    return _computed(inner) or inner or None


def _whole_response(text: str) -> Optional[str]:
    """A short one-line response is its own answer when it is not prose (``"33"``,
    ``"x = 5."``); a short line of words with one number is that number (``Soucis : 2,74 $``)."""
    stripped = text.strip()
    if len(stripped) > _WHOLE_RESPONSE_CHARS or "\n" in stripped or _BOX.search(stripped):
        return None
    words = len(_PROSE_WORD.findall(stripped))
    if words and "=" not in stripped and not _MATH.search(stripped):
        numbers = list(_ANY_NUMBER.finditer(stripped))
        if len(numbers) == 1:
            if _is_argument(stripped, numbers[0].start(1)):
                return None
            return _bare(numbers[0].group(1))
    if words > 2 or _has_script(stripped):
        return None
    stripped = stripped.rstrip(".").strip()
    return _computed(stripped) or stripped or None


def _group(match: re.Match) -> str:
    return next(g for g in match.groups() if g is not None)
