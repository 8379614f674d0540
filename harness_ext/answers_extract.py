"""Find the final answer in a model's (possibly very long, possibly hostile) response.

The cut: only the last :data:`MAX_RESPONSE_CHARS` characters (100,000, about 30,000 tokens of
math text) are read, starting at the first line break in the first
:data:`CUT_ALIGN_CHARS` characters of that window when there is one. The final answer is at
the end, so a response longer than that is graded on its end; an answer stated only before the
cut is not seen. Within the window every step is linear in its length: braces are matched in
one pass, and the regexes that look at free text only see bounded slices of it (null bytes,
lone surrogates and runs of ``{``/``$``/``\\`` are ordinary characters here).

An answer found in free text (after "the answer is", in a closing sentence or math span, or the
whole response) is rejected when a number in it is glued to a word or sits in a path: ``x0``,
``test0``, ``/home/u0``, ``pytest-0/`` are not the answer 0 (``x = 0``, ``(0)``, ``$0$``, ``-0``,
``0.``, ``\\sqrt2`` and ``5x10^3`` still are). Box contents are taken as written.
"""

from __future__ import annotations

import re
from typing import Iterator, Optional

_BOX = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_BRACE_OR_ESCAPE = re.compile(r"\\.|[{}]", re.S)  # an escaped character is skipped whole
_BARE_BOX_ARG = re.compile(r"[^\s$]+")
_BLANKS = re.compile(r"[ \t]+")
_BOX_SEPARATOR = re.compile(  # what may stand between boxes that together form one answer:
    # commas, "and", spacing, math delimiters and a label such as "y_2 =" or "b ="
    r"(?:[\s$,;]|\\[,;:! ()\[\]]|\\q?quad(?![A-Za-z])|and|or|\\text\{\s*(?:and|or|,)?\s*\}"
    r"|(?<![A-Za-z])[A-Za-z](?:_\{?\w{1,3}\}?)?\s*=)*"
)
_MAX_JOINED_BOXES = 10
MAX_RESPONSE_CHARS = 100_000  # the end of a response that is read (see the module docstring)
CUT_ALIGN_CHARS = 1_000
_MARKER = re.compile(
    r"final\s+answer(?:\s+is)?\s*[:：]?|(?:the\s+)?answer(?:\s+is|\s*[:：=])|####",
    re.I,
)
_MATH = re.compile(  # $$..$$, \[..\], \(..\), $..$ (an escaped \$ is a dollar sign, not a delimiter)
    r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|(?<!\\)\$((?:[^$\\]|\\.)+?)\$",
    re.S,
)
_SENTENCE_END = re.compile(r"\.(?=\s|$)|[!?](?=\s|$)|\s(?:because|since|which|so|as)\s", re.I)
_NUMBER = r"-?\\?\$?\d[\d,]*(?:\.\d+)?(?:/\d+)?\s*(?:\\?%|[\u20ac\u00a3\u00a5])?"
_UNIT = r"(?:\s?[A-Za-z]{1,3}(?:\^?\d|[\u00b2\u00b3])?)?"  # 5 cm, 1,000.99m²
_NOT_IN_WORD = r"(?<![\w./])(?<![A-Za-z]-)"  # a number, not part of "x0", "/tmp/0", "pytest-0"
_TRAILING_NUMBER = re.compile(rf"{_NOT_IN_WORD}({_NUMBER}){_UNIT}[\s.!*]*$")
_ANY_NUMBER = re.compile(rf"{_NOT_IN_WORD}({_NUMBER})(?![\w/])")
# a word glued to a digit ("x0", "test0"; not the command "\sqrt2" nor "5x10"), or a path
_GLUED = re.compile(
    r"(?<![\\A-Za-z0-9])[A-Za-z]+\d"
    r"|(?:^|(?<=[\s(\[{'\"`=:]))(?:~|\.{1,2})?/[\w.~-]*[A-Za-z]"
    r"|[A-Za-z][\w+.-]*://"
)
_PROSE_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}")
_CHAT_TOKEN = re.compile(r"<\|[A-Za-z_]{1,30}\|>|</s>|<eos>")
_HOPE = re.compile(r"\s*I hope it is correct\.?\s*$", re.I)
_SENTENCE_SPLIT = re.compile(r"[.!?](?:\$\$|\$|\\\]|\\\))?\s+")  # "... = 2.$$ Therefore ..." too
_IS_THE_ANSWER = re.compile(
    r"\b(?:is|are|was)\s+(?:the|our|my)\s+(?:final\s+)?(?:answer|solution|result)s?\s*$", re.I
)
_IS_VALUE = re.compile(r"\b(?:is|are|equals|was|be|therefore|thus|hence|so)\b|=", re.I)
_TAIL_CHARS = 600  # the free text we look at after an "answer is" marker
_LAST_PARAGRAPH_CHARS = 2_000
_WHOLE_RESPONSE_CHARS = 80


def extract_answer(response: str) -> Optional[str]:
    """The model's final answer as written (without the box/delimiters), or None."""
    if not isinstance(response, str) or not response.strip():
        return None
    text = _strip_chat_tail(cut_response(response))
    box = _last_boxed(text)
    marker = _last_marker(text)
    if box and (marker is None or marker.start() < box[1]):
        return box[0]
    if marker is not None:
        answer = _plausible(_after_marker(text, marker))
        if answer:
            return answer
    if box:
        return box[0]
    for finder in (_final_sentence, _last_math, _whole_response):
        answer = _plausible(finder(text))
        if answer:
            return answer
    return None


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


def _boxes(text: str) -> Iterator[tuple[int, int, str]]:
    """Complete boxes ``(start, end, content)``, last first (``\\boxed 5`` included)."""
    pairs: Optional[dict[int, int]] = None
    starts = [m.start() for m in _BOX.finditer(text)]  # ints: no match objects kept alive
    for start in reversed(starts):
        m = _BOX.match(text, start)
        if m is None:  # cannot happen: finditer matched here
            continue
        blanks = _BLANKS.match(text, m.end())
        j = blanks.end() if blanks else m.end()
        if j < len(text) and text[j] == "{":
            if pairs is None:
                pairs = _match_braces(text, starts[0])
            close = pairs.get(j)
            if close is not None:
                yield m.start(), close + 1, text[j + 1 : close].strip()
        elif j > m.end():
            bare = _BARE_BOX_ARG.match(text, j)
            if bare:
                yield m.start(), bare.end(), bare.group(0).rstrip(".,;")


def _last_boxed(text: str) -> Optional[tuple[str, int]]:
    """``(content, end)`` of the last complete ``\\boxed{...}``/``\\fbox{...}``. Boxes right before
    it, separated only by commas, "and" or spacing (``\\boxed{2}, \\boxed{3}``), are joined."""
    found: list[str] = []
    next_start = last_end = 0
    for start, end, content in _boxes(text):
        if not content:
            if found:
                break
            continue
        if found and (end > next_start or not _BOX_SEPARATOR.fullmatch(text, end, next_start)):
            break
        if not found:
            last_end = end
        found.insert(0, content)
        next_start = start
        if len(found) >= _MAX_JOINED_BOXES:
            break
    return (", ".join(found), last_end) if found else None


# ----------------------------------------------------------------------------------------------
# "The final answer is ..." and friends
# ----------------------------------------------------------------------------------------------


def _last_marker(text: str) -> Optional[re.Match]:
    last = None
    for last in _MARKER.finditer(text):
        pass
    return last


def _after_marker(text: str, marker: re.Match) -> Optional[str]:
    """The answer after an "answer is" marker: a leading math span, else the sentence's value."""
    tail = text[marker.end() : marker.end() + _TAIL_CHARS].lstrip(" \t*:_")
    if tail.startswith("\n"):  # the answer is on the next non-empty line
        tail = tail.lstrip()
    math = _MATH.search(tail)
    if math and not tail[: math.start()].strip(" \t*:"):
        return _group(math).strip() or None
    return _value_of(_first_sentence(tail.split("\n", 1)[0]))


def _first_sentence(line: str) -> str:
    """``line`` up to the first sentence end that is not inside a math span."""
    spans = [m.span() for m in _MATH.finditer(line)]
    for end in _SENTENCE_END.finditer(line):
        if not any(a <= end.start() < b for a, b in spans):
            return line[: end.start()]
    return line


def _value_of(sentence: str) -> Optional[str]:
    """The value a sentence states: itself if it is a formula; for prose, its closing math or
    number (``The largest $n$ is 34`` -> 34), or its only number."""
    s = _HOPE.sub("", sentence).strip(" \t*_").rstrip(".").strip()
    if not s:
        return None
    spans = list(_MATH.finditer(s))
    if spans and not s[spans[-1].end() :].strip(" .,;:!*"):
        return _group(spans[-1]).strip() or None
    if len(_PROSE_WORD.findall(_MATH.sub(" ", s))) < 2:
        return s  # a formula or a short answer such as "(C)" or "x = 5"
    number = _TRAILING_NUMBER.search(s)
    if number:
        return number.group(1).strip()
    numbers = _ANY_NUMBER.findall(_MATH.sub(" ", s))
    if len(numbers) == 1 and not spans:
        return numbers[0].strip()
    return _group(spans[0]).strip() if len(spans) == 1 else s


def _final_sentence(text: str) -> Optional[str]:
    """No marker, no box: a closing sentence that states a value ("... is 2/3.")."""
    body = text.rstrip()[-_TAIL_CHARS:]
    line = body.rsplit("\n", 1)[-1].rstrip(" .!")
    sentence = _SENTENCE_SPLIT.split(line)[-1]
    if len(_PROSE_WORD.findall(_MATH.sub(" ", sentence))) < 3 or not _IS_VALUE.search(sentence):
        return None
    named = _IS_THE_ANSWER.search(sentence)
    if named:  # "$x \\ge 5$ is the solution", "so 12 is our answer"
        head = sentence[: named.start()]
        spans = list(_MATH.finditer(head))
        if spans and not head[spans[-1].end() :].strip():
            return _group(spans[-1]).strip() or None
        number = _TRAILING_NUMBER.search(head)
        return number.group(1).strip() if number else None
    if _MATH.search(sentence):
        return None  # a closing math span: _last_math takes it
    number = _TRAILING_NUMBER.search(sentence)
    if number:
        return number.group(1).strip()
    numbers = _ANY_NUMBER.findall(sentence)
    return numbers[0].strip() if len(numbers) == 1 else None


# ----------------------------------------------------------------------------------------------
# Last resorts
# ----------------------------------------------------------------------------------------------


def _last_math(text: str) -> Optional[str]:
    """A ``$...$`` / ``\\(...\\)`` / ``\\[...\\]`` that ends the response (``So $x = 5$.``);
    math in the middle of a (possibly truncated) text is not an answer."""
    paragraph = text.rstrip()[-_LAST_PARAGRAPH_CHARS:].split("\n\n")[-1]
    found = None
    for found in _MATH.finditer(paragraph):
        pass
    if found is None or paragraph[found.end() :].strip(" \t\n.,;!"):
        return None
    return _group(found).strip() or None


def _whole_response(text: str) -> Optional[str]:
    """A short one-line response that is not prose is its own answer (``"33"``, ``"x = 5."``)."""
    stripped = text.strip()
    if len(stripped) > _WHOLE_RESPONSE_CHARS or "\n" in stripped:
        return None
    if len(_PROSE_WORD.findall(stripped)) > 2 or _BOX.search(stripped):  # prose, or a broken box
        return None
    return stripped.rstrip(".").strip() or None


def _group(match: re.Match) -> str:
    return next(g for g in match.groups() if g is not None)
