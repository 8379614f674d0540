"""Boxes in a response: ``\\boxed{...}`` / ``\\fbox{...}`` (and ``\\boxed 5``), the boxes joined
to the last one (``\\boxed{2}, \\boxed{3}``: one answer of two parts), and a box left open at
the end of a cut trace. Every scan is linear in the length of the text."""

from __future__ import annotations

import re
from typing import Iterator, Optional

MAX_JOINED_BOXES = 10
UNCLOSED_TAIL_CHARS = 200  # an unclosed box this near the end is a cut answer (see find_answer)

BOX = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_BRACE_OR_ESCAPE = re.compile(r"\\.|[{}]", re.S)  # an escaped character is skipped whole
_BARE_BOX_ARG = re.compile(r"[^\s$]+")
_BLANKS = re.compile(r"[ \t]+")
CONNECTOR = r"(?:and|or|et|ou|und|oder|和|或|及|与|و|أو|और|या)"
_BOX_SEPARATOR = re.compile(  # what may stand between boxes that together form one answer:
    # commas, connectors, spacing, math delimiters, a label such as "y_2 =" or "b =", one unit
    # word after a box ("\boxed{1} papers and \boxed{2}"), \text{ for part (a) and }
    r"(?:[\s$,;]|\\[,;:! ()\[\]]|\\q?quad(?![A-Za-z])|" + CONNECTOR + r"(?![A-Za-z])"
    r"|\\text\{[^{}]{0,40}?\b" + CONNECTOR + r"\s*\}|\\text\{\s*,?\s*\}"
    r"|(?<![A-Za-z])[A-Za-z](?:_\{?\w{1,3}\}?)?\s*=)*"
)
_UNIT_THEN_CONNECTOR = re.compile(r"[\s$]*[A-Za-z]{1,12}(?=\s*,?\s*" + CONNECTOR + r"\s)")


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


def close_of(text: str, j: int) -> Optional[int]:
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


def boxes(text: str) -> Iterator[tuple[int, int, str]]:
    """Complete boxes ``(start, end, content)``, last first (``\\boxed 5`` included)."""
    pairs: Optional[dict[int, int]] = None
    starts = [m.start() for m in BOX.finditer(text)]  # ints: no match objects kept alive
    for index, start in enumerate(reversed(starts)):
        m = BOX.match(text, start)
        if m is None:  # cannot happen: finditer matched here
            continue
        blanks = _BLANKS.match(text, m.end())
        j = blanks.end() if blanks else m.end()
        if j < len(text) and text[j] == "{":
            close = close_of(text, j) if index == 0 else -2  # the last box: a short scan
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


def last_box_group(text: str) -> Optional[tuple[list[str], int]]:
    """``(contents, end)`` of the last complete box and the boxes joined to it, in order."""
    found: list[str] = []
    next_start = last_end = 0
    for start, end, content in boxes(text):
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
        if len(found) >= MAX_JOINED_BOXES:
            break
    return (found, last_end) if found else None


def last_boxed(text: str) -> Optional[tuple[str, int]]:
    """``(content, end)`` of the last box group, its boxes joined by ", " (the task filters)."""
    group = last_box_group(text)
    return (", ".join(group[0]), group[1]) if group else None


def before_unclosed_box(text: str) -> str:
    """``text`` up to a box left open at its end (a trace cut at ``\\boxed{``): the box hides
    nothing, and the answer phrase just before it ("the answer is 42. $\\boxed{") counts."""
    boxes = list(BOX.finditer(text, max(0, len(text) - UNCLOSED_TAIL_CHARS - 10)))
    if not boxes:
        return text
    last = boxes[-1]
    blanks = _BLANKS.match(text, last.end())
    j = blanks.end() if blanks else last.end()
    if j == len(text) or (text[j] == "{" and close_of(text, j) is None):
        return text[: last.start()].rstrip(" \t\r\n$\\([")
    return text
