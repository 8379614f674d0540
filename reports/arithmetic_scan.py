"""The tokens of a response and the edges of a stated claim, for :mod:`harness_ext.reports.arithmetic`.

:func:`tokenize` splits a response into numbers, operators, brackets, words and delimiters;
:func:`left_side` and :func:`right_side` find the two sides of an ``=`` when the claim's edges
are clear (the rules are in :mod:`harness_ext.reports.arithmetic`'s docstring). Nothing here
computes a value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, Optional

__all__ = ["MAX_TOKENS", "OPENERS", "Tok", "left_side", "right_side", "solid", "tokenize"]

MAX_TOKENS = 48

_TOKEN = re.compile(
    r"(?P<num>\d{1,3}(?:(?:\{,\}|,)\d{3})+(?![\d])(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"|(?P<bold>\*\*)"
    r"|(?P<op>\\times(?![A-Za-z])|\\cdot(?![A-Za-z])|\\div(?![A-Za-z])|\\ast(?![A-Za-z])"
    r"|[+\-*/\u00d7\u00b7\u00f7\u2212\u22c5])"
    r"|(?P<lparen>\\left\s*\(|\()|(?P<rparen>\\right\s*\)|\))"
    r"|(?P<frac>\\[dt]?frac(?![A-Za-z]))"
    r"|(?P<delim>\$|\\\(|\\\)|\\\[|\\\])"
    r"|(?P<brk>\\\\|\n)"
    r"|(?P<space>\\[,;:! ]|[ \t\r\f\v~&]+)"
    r"|(?P<lbrace>\{)|(?P<rbrace>\})|(?P<caret>\^)"
    r"|(?P<rel>==|<=|>=|!=|:=|=>|=<|\\n?eq(?![A-Za-z])|\\approx(?![A-Za-z]))"
    r"|(?P<eq>=)"
    r"|(?P<punct>[.,;:?!])"
    r"|(?P<word>[A-Za-z]+)"
    r"|(?P<cmd>\\[A-Za-z]+)"
    r"|(?P<other>.)",
    re.S,
)
_ARITH = {"num", "op", "lparen", "rparen", "frac", "lbrace", "rbrace", "caret", "fact"}
OPENERS = {"lparen": "rparen", "lbrace": "rbrace"}
_STRONG_LEFT = {"brk", "delim", "eq", "bold"}
_ARROWS = {
    r"\implies",
    r"\Rightarrow",
    r"\rightarrow",
    r"\Longrightarrow",
    r"\to",
    r"\therefore",
    r"\because",
    r"\quad",
    r"\qquad",
    r"\iff",
    r"\text",
    r"\textbf",
    r"\mathrm",
    r"\hence",
}
_MOD = {"mod", "modulo", r"\pmod", r"\bmod", r"\mod"}


@dataclass(frozen=True)
class Tok:
    """One token: its kind (a group name of the pattern), text and place."""

    kind: str
    text: str
    start: int
    end: int


def tokenize(text: str) -> list[Tok]:
    tokens: list[Tok] = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "other"
        if (
            m.group() == "!"
            and tokens
            and tokens[-1].kind in ("num", "rparen")
            and tokens[-1].end == m.start()
        ):
            kind = "fact"  # 7! (glued to its number); "= 7 !" or "Wow!" stay punctuation
        tokens.append(Tok(kind, m.group(), m.start(), m.end()))
    return tokens


def solid(tokens: list[Tok], start: int, stop: int, step: int) -> Iterator[int]:
    """Indexes from ``start`` towards ``stop`` that are not spacing."""
    i = start
    while i != stop:
        if tokens[i].kind != "space":
            yield i
        i += step


def left_side(tokens: list[Tok], eq: int) -> Optional[tuple[int, int]]:
    """The token range [first, eq) of the claim's left side, or None when its edge is unclear."""
    first = None
    depth = 0
    count = 0
    for i in solid(tokens, eq - 1, -1, -1):
        kind = tokens[i].kind
        if kind not in _ARITH:
            break
        if kind in ("rparen", "rbrace"):
            depth += 1
        elif kind in OPENERS:
            if depth == 0:
                break  # an unmatched opener: the formula starts after it
            depth -= 1
        first = i
        count += 1
        if count > MAX_TOKENS:
            return None
    if first is None or depth != 0:
        return None
    before = next(solid(tokens, first - 1, -1, -1), None)
    starts_with_sign = tokens[first].kind == "op" and tokens[first].text in "+-\u2212"
    if tokens[first].kind not in ("num", "lparen", "lbrace", "frac") and not starts_with_sign:
        return None
    # a sign may follow a word only when glued to its number: "then -3 + 5", not "y - 3 + 5"
    glued = starts_with_sign and first + 1 < eq and tokens[first + 1].kind == "num"
    if not _left_edge_ok(tokens, before, first, strong_only=starts_with_sign and not glued):
        return None
    return first, eq


def _left_edge_ok(
    tokens: list[Tok], before: Optional[int], first: int, *, strong_only: bool
) -> bool:
    if before is None:
        return True
    tok = tokens[before]
    if tok.kind in _STRONG_LEFT or tok.kind in OPENERS:
        return True
    if tok.kind == "punct":  # "!" glued to a number is a factorial, not punctuation
        return True
    if strong_only:
        return False
    spaced = before + 1 < first and tokens[before + 1].kind == "space"
    if tok.kind == "word":
        return spaced and len(tok.text) >= 2 and tok.text.lower() not in _MOD
    if tok.kind == "cmd":
        return tok.text in _ARROWS
    return False


def right_side(tokens: list[Tok], eq: int) -> Optional[tuple[int, int]]:
    """The token range (eq, last] of the claim's right side, or None when its edge is unclear."""
    last = None
    depth = 0
    count = 0
    end = len(tokens)
    for i in solid(tokens, eq + 1, end, 1):
        kind = tokens[i].kind
        if kind not in _ARITH:
            break
        if kind in OPENERS:
            depth += 1
        elif kind in ("rparen", "rbrace"):
            if depth == 0:
                break  # an unmatched closer ends the formula
            depth -= 1
        last = i
        count += 1
        if count > MAX_TOKENS:
            return None
    if last is None or depth != 0 or tokens[last].kind in ("op", "caret"):
        return None
    after = next(solid(tokens, last + 1, end, 1), None)
    if not _right_edge_ok(tokens, last, after):
        return None
    return eq + 1, last + 1


def _right_edge_ok(tokens: list[Tok], last: int, after: Optional[int]) -> bool:
    if after is None:
        return True
    tok = tokens[after]
    for i in solid(tokens, after, min(len(tokens), after + 6), 1):
        if tokens[i].text.lower() in _MOD:
            return False
    if tok.kind in ("brk", "delim", "eq", "bold", "rparen", "rbrace"):
        return True
    if tok.kind == "punct":  # "!" glued to a number is a factorial, not punctuation
        return True
    spaced = last + 1 < after and tokens[last + 1].kind == "space"
    if tok.kind == "word":
        return spaced and len(tok.text) >= 2
    if tok.kind == "cmd":
        return tok.text in _ARROWS
    return False
