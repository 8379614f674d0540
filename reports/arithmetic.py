"""Re-check the arithmetic a response states (``12 \\times 13 = 156``), exactly and safely.

A *claim* is ``LHS = RHS`` where both sides are pure arithmetic on written numbers: integers,
decimals, ``1,000``/``1{,}000``, ``\\frac{a}{b}``, ``+ - \\times \\cdot * / \\div ^``,
factorials glued to their number (``7!``, up to 100!) and parentheses or braces. The left side
needs at least one operation; the right side is one value (a number, a fraction or a power,
optionally negative): ``2 \\times 3 = 6 + 1 = 7`` is a running computation, not a claim that
``6 = 7``, so a right side with ``+``, ``-``, ``\\times``, ``\\div`` or ``!`` is skipped.
Everything is parsed by hand into :class:`fractions.Fraction` values; nothing is evaluated. A
claim is only taken when its edges are clear:

* the left side starts a formula: at the start of a line, after ``$``, ``\\(``, ``=``, an open
  bracket, ``,;:.?``, an arrow (``\\implies``, ``\\Rightarrow``...), or after a word of two or
  more letters and a space (``so 3 + 4 = 7``); never after a variable, a command such as
  ``\\sqrt`` or ``\\pi``, a subscript or an exponent (``x^2 + 3 = 7`` is not a claim);
* the right side ends the formula: end of line, ``$``, punctuation, a closing bracket, another
  ``=``, a word after a space, or ``\\text``/``\\quad``/an arrow; never a variable (``= 7x``),
  ``%``, a factorial (``= 7!``) or ``mod`` (modular arithmetic is skipped).

A claim may also be stated in words: ``9 + 8 is 610`` or ``7 + 7 equals 12`` (the relation
word :data:`RELATION_WORDS` between the same two sides) is checked like ``9 + 8 = 610``; ``2 + 7
is a classic example`` is no claim (its right side is no number).

A *simplification* is checked too: both sides sums of terms in one one-letter name (``3x``,
``x``, ``5``; ``+`` and ``-`` only, edges at a delimiter, line break, punctuation or ``=``),
the left side with more terms than the right and the same coefficient of the name. Then the
constants must agree: ``3x - 2 + 1 = 3x + 1`` is false (it is ``3x - 1``). An equation to
solve changes the coefficient (``2x + 3 = 7``, ``y - 3 + 5 = 9``) and is no claim.

A decimal on the right is read at its own precision: it must be the left side rounded or cut
to that many places (``1/3 = 0.333`` and ``2/3 = 0.66`` are true, ``1/3 = 0.34`` is false).
Sizes are bounded (:data:`MAX_TOKENS` tokens a side, :data:`MAX_DIGITS` digits a number,
powers up to :data:`MAX_POWER_BITS` bits, factorials up to :data:`MAX_FACTORIAL`); anything
larger is skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator, Optional

from harness_ext.reports.arithmetic_scan import (
    MAX_TOKENS,
    OPENERS,
    Tok,
    left_side,
    right_side,
    solid,
    tokenize,
)

__all__ = ["Claim", "check_claims", "find_false_claim", "plain_value"]

MAX_DIGITS = 40
MAX_POWER_BITS = 4096
MAX_FACTORIAL = 100
MAX_CLAIMS = 2000  # per response; a 32k-token response rarely states more
RELATION_WORDS = frozenset({"is", "equals"})  # "9 + 8 is 17" states "9 + 8 = 17"


@dataclass(frozen=True)
class Claim:
    """One stated ``lhs = rhs`` and what it is really."""

    text: str  # the claim as written
    start: int  # character offsets in the response
    end: int
    stated: Fraction  # the right side
    actual: Fraction  # the left side, computed exactly
    true: bool
    relation: str = "="  # "=" or a word of RELATION_WORDS, as written
    note: str = ""  # the one-line description, when it is not "lhs = actual, not stated"

    def describe(self) -> str:
        """``lhs = actual, not stated`` in one line."""
        if self.note:
            return f"{self.text.split('=', 1)[0].strip()} = {self.note}"
        cut = self.text.rfind(self.relation)
        lhs = (self.text[:cut] if cut > 0 else self.text).strip()
        return f"{lhs} = {_show(self.actual)}, not {_show(self.stated)}"


class _Skip(Exception):
    """Not a checkable claim (unknown form, too large, division by zero)."""


def _show(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    decimal = float(value)
    return f"{value.numerator}/{value.denominator} (~{decimal:.6g})"


class _Parser:
    """Recursive descent over arithmetic tokens into an exact Fraction; raises _Skip."""

    def __init__(self, tokens: list[Tok]) -> None:
        self.toks = [t for t in tokens if t.kind != "space"]
        self.i = 0
        self.ops = 0
        self.decimals = 0

    def parse(self) -> Fraction:
        value = self.expr()
        if self.i != len(self.toks):
            raise _Skip("trailing tokens")
        return value

    def peek(self) -> Optional[Tok]:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, kind: str) -> Tok:
        tok = self.peek()
        if tok is None or tok.kind != kind:
            raise _Skip(f"expected {kind}")
        self.i += 1
        return tok

    def expr(self) -> Fraction:
        value = self.term()
        while (tok := self.peek()) is not None and tok.kind == "op" and tok.text in "+-\u2212":
            self.i += 1
            self.ops += 1
            right = self.term()
            value = value + right if tok.text == "+" else value - right
        return value

    def term(self) -> Fraction:
        value = self.unary()
        while (tok := self.peek()) is not None and tok.kind == "op" and tok.text not in "+-\u2212":
            self.i += 1
            self.ops += 1
            right = self.unary()
            if tok.text in ("/", "\\div", "\u00f7"):
                if right == 0:
                    raise _Skip("division by zero")
                value = value / right
            else:
                value = value * right
            _bounded(value)
        return value

    def unary(self) -> Fraction:
        tok = self.peek()
        if tok is not None and tok.kind == "op" and tok.text in "+-\u2212":
            self.i += 1
            value = self.unary()
            return value if tok.text == "+" else -value
        return self.power()

    def power(self) -> Fraction:
        base = self.atom()
        while (tok := self.peek()) is not None and tok.kind == "fact":
            self.i += 1
            self.ops += 1
            if base.denominator != 1 or not 0 <= base <= MAX_FACTORIAL:
                raise _Skip("factorial out of range")
            base = Fraction(math.factorial(int(base)))
        if (tok := self.peek()) is not None and tok.kind == "caret":
            self.i += 1
            self.ops += 1
            exponent = self.exponent()
            bits = max(base.numerator.bit_length(), base.denominator.bit_length())
            if exponent.denominator != 1 or bits * abs(exponent.numerator) > MAX_POWER_BITS:
                raise _Skip("power too large or not an integer power")
            if base == 0 and exponent < 0:
                raise _Skip("division by zero")
            return base ** int(exponent)
        return base

    def exponent(self) -> Fraction:
        tok = self.peek()
        if tok is not None and tok.kind == "num":  # x^23 is x to the 23rd in plain text
            self.i += 1
            return _number(tok.text, self)
        if tok is not None and tok.kind in OPENERS:
            return self.group()
        raise _Skip("unknown exponent")

    def atom(self) -> Fraction:
        tok = self.peek()
        if tok is None:
            raise _Skip("missing value")
        if tok.kind == "num":
            self.i += 1
            value = _number(tok.text, self)
            nxt = self.peek()
            if nxt is not None and nxt.kind in ("num", "lparen", "lbrace", "frac"):
                raise _Skip("implicit multiplication")
            return value
        if tok.kind in OPENERS:
            return self.group()
        if tok.kind == "frac":
            self.i += 1
            self.ops += 1
            numerator = self.braced()
            denominator = self.braced()
            if denominator == 0:
                raise _Skip("division by zero")
            return numerator / denominator
        raise _Skip(f"unexpected {tok.text!r}")

    def group(self) -> Fraction:
        opener = self.peek()
        assert opener is not None
        self.i += 1
        value = self.expr()
        self.take(OPENERS[opener.kind])
        return value

    def braced(self) -> Fraction:
        tok = self.peek()
        if tok is not None and tok.kind == "num" and len(tok.text) == 1:  # \frac12
            self.i += 1
            return Fraction(int(tok.text))
        if tok is None or tok.kind != "lbrace":
            raise _Skip("\\frac without braces")
        return self.group()


def _number(text: str, parser: _Parser) -> Fraction:
    digits = text.replace("{,}", "").replace(",", "")
    if len(digits) > MAX_DIGITS:
        raise _Skip("number too long")
    if "." in digits:
        parser.decimals = max(parser.decimals, len(digits.split(".", 1)[1]))
    return Fraction(digits)


def _bounded(value: Fraction) -> None:
    if max(value.numerator.bit_length(), value.denominator.bit_length()) > MAX_POWER_BITS:
        raise _Skip("value too large")


def _rounds_to(value: Fraction, stated: Fraction, decimals: int) -> bool:
    """``stated`` is ``value`` rounded (either way at a tie) or cut to ``decimals`` places."""
    unit = Fraction(1, 10**decimals)
    if abs(value - stated) <= unit / 2:
        return True
    truncated = Fraction(int(value / unit)) * unit  # int() cuts toward zero
    return stated == truncated


def _simple_value(tokens: list[Tok]) -> bool:
    """The right side is one value: no +, -, times or divide after a leading sign."""
    solid = [t for t in tokens if t.kind != "space"]
    for index, tok in enumerate(solid):
        if tok.kind == "fact":
            return False
        if tok.kind == "op" and not (index == 0 and tok.text in "-\u2212"):
            if tok.text != "/":
                return False
    return True


def check_claims(response: str) -> Iterator[Claim]:
    """Every checkable ``lhs = rhs`` claim of a response, in order, with whether it holds."""
    tokens = tokenize(response)
    found = 0
    for eq, tok in enumerate(tokens):
        if not _is_relation(tok):
            continue
        claim = _arithmetic_claim(response, tokens, eq)
        if claim is None and tok.kind == "eq":
            claim = _simplification_claim(response, tokens, eq)
        if claim is None:
            continue
        yield claim
        found += 1
        if found >= MAX_CLAIMS:
            return


def _arithmetic_claim(response: str, tokens: list[Tok], eq: int) -> Optional[Claim]:
    """The claim of the relation at ``eq`` when both sides are plain arithmetic."""
    left = left_side(tokens, eq)
    right = right_side(tokens, eq) if left else None
    if left is None or right is None or not _simple_value(tokens[right[0] : right[1]]):
        return None
    try:
        lhs_parser = _Parser(tokens[left[0] : left[1]])
        actual = lhs_parser.parse()
        if lhs_parser.ops == 0:
            return None  # "7 = 7" states nothing
        rhs_parser = _Parser(tokens[right[0] : right[1]])
        stated = rhs_parser.parse()
    except (_Skip, ValueError, ZeroDivisionError, OverflowError):
        return None
    start, end = tokens[left[0]].start, tokens[right[1] - 1].end
    if rhs_parser.decimals:
        holds = _rounds_to(actual, stated, rhs_parser.decimals)
    else:
        holds = actual == stated
    return Claim(response[start:end], start, end, stated, actual, holds, tokens[eq].text)


# ------------------------------------------------- simplifications: "3x - 2 + 1 = 3x + 1"

_LINEAR = {"num", "op", "word"}


def _linear_side(tokens: list[Tok], eq: int, step: int) -> Optional[list[Tok]]:
    """The solid tokens of one side of ``eq`` when it is a sum of terms ``3x``, ``x``, ``5``
    (one-letter names, ``+`` and ``-`` only) with clear edges; None otherwise."""
    side: list[Tok] = []
    stop = -1 if step < 0 else len(tokens)
    for i in solid(tokens, eq + step, stop, step):
        tok = tokens[i]
        if tok.kind in ("delim", "brk", "eq") or (tok.kind == "punct" and tok.text in ".,;:?"):
            break
        if (
            tok.kind not in _LINEAR
            or (tok.kind == "word" and len(tok.text) > 1)
            or (tok.kind == "op" and tok.text not in "+-\u2212")
        ):
            return None
        side.append(tok)
        if len(side) > MAX_TOKENS:
            return None
    return side[::-1] if step < 0 else side


def _linear_form(side: list[Tok]) -> Optional[tuple[str, Fraction, Fraction, int]]:
    """(name, coefficient, constant, terms) of a side such as ``3x - 2 + 1``."""
    name, coefficient, constant, terms, sign, i = "", Fraction(0), Fraction(0), 0, 1, 0
    expect_term = True
    while i < len(side):
        tok = side[i]
        if tok.kind == "op":
            if not expect_term and tok.text == "+":
                sign = 1
            elif tok.text in "-\u2212":
                sign = -sign if expect_term else -1
            expect_term = True
            i += 1
            continue
        if not expect_term:
            return None  # two terms without an operation between them
        value, letter, i = _linear_term(side, i)
        if value is None or (letter and name and letter != name):
            return None
        name = name or letter
        coefficient += sign * value if letter else 0
        constant += sign * value if not letter else 0
        terms, sign, expect_term = terms + 1, 1, False
    return (name, coefficient, constant, terms) if terms and not expect_term else None


def _linear_term(side: list[Tok], i: int) -> tuple[Optional[Fraction], str, int]:
    """One term at ``side[i]``: (value, name or "", next index); ``3x`` needs no space."""
    tok = side[i]
    if tok.kind == "word":
        return Fraction(1), tok.text, i + 1
    if tok.kind != "num" or len(tok.text) > MAX_DIGITS:
        return None, "", i + 1
    value = Fraction(tok.text.replace("{,}", "").replace(",", ""))
    nxt = side[i + 1] if i + 1 < len(side) else None
    if nxt is not None and nxt.kind == "word" and nxt.start == tok.end:
        return value, nxt.text, i + 2
    return value, "", i + 1


def _simplification_claim(response: str, tokens: list[Tok], eq: int) -> Optional[Claim]:
    """``3x - 2 + 1 = 3x + 1``: a left side simplified into fewer terms of the same name with
    the same coefficient must keep its constant (an equation to solve, ``2x + 3 = 7``, changes
    the coefficient and is no claim)."""
    left, right = _linear_side(tokens, eq, -1), _linear_side(tokens, eq, 1)
    forms = (_linear_form(left), _linear_form(right)) if left and right else (None, None)
    lhs, rhs = forms
    if lhs is None or rhs is None or not lhs[0] or lhs[0] != rhs[0]:
        return None
    if lhs[1] != rhs[1] or lhs[1] == 0 or lhs[3] <= rhs[3]:
        return None
    assert left is not None and right is not None
    start, end = left[0].start, right[-1].end
    note = f"{_show_linear(lhs[1], lhs[0], lhs[2])}, not {_show_linear(rhs[1], rhs[0], rhs[2])}"
    return Claim(response[start:end], start, end, rhs[2], lhs[2], lhs[2] == rhs[2], "=", note)


def _show_linear(coefficient: Fraction, name: str, constant: Fraction) -> str:
    """``3x - 1`` for (3, "x", -1)."""
    term = f"{_show(coefficient) if coefficient != 1 else ''}{name}"
    if constant == 0:
        return term
    return f"{term} {'+' if constant > 0 else '-'} {_show(abs(constant))}"


def _is_relation(tok: Tok) -> bool:
    """``=``, or a relation word such as ``is`` (see the module docstring)."""
    return tok.kind == "eq" or (tok.kind == "word" and tok.text.lower() in RELATION_WORDS)


def plain_value(text: str) -> Optional[Fraction]:
    """The exact value of ``text`` when it is one written number: ``156``, ``-1``, ``1,000``,
    ``2.5``, ``\\frac{14}{3}``, ``14/3``, ``2^{10}``; None for anything else (``-1 + 5``,
    ``2x``). Nothing is evaluated."""
    tokens = [t for t in tokenize(text) if t.kind not in ("space", "delim")]
    if not tokens or len(tokens) > MAX_TOKENS or not _simple_value(tokens):
        return None
    try:
        return _Parser(tokens).parse()
    except (_Skip, ValueError, ZeroDivisionError, OverflowError):
        return None


def find_false_claim(response: str) -> Optional[Claim]:
    """The first false arithmetic claim in ``response``, or None."""
    return next((claim for claim in check_claims(response) if not claim.true), None)
