"""The exact fast paths: plain numbers read exactly as :class:`fractions.Fraction` (``033``,
``-3.5``, ``1,000``, ``\\frac{3}{4}``, ``3\\frac12``, ``25\\%``, ``1.2\\times10^{5}``, ``a^k``,
``n!``) and numbers in a base (``2516_8``), from answers already cleaned by :mod:`.normalize`.
Nothing is evaluated beyond integer arithmetic within :data:`MAX_EXPONENT` and
:data:`MAX_FACTORIAL`; everything else is left to Math-Verify in the worker process."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Optional

from .normalize import WRAPPED, balanced, squash

MAX_EXPONENT = 400  # 10^k and a^k in the fast path: |k| at most this (else Math-Verify)
MAX_FACTORIAL = 5_000
_BASED = re.compile(r"([0-9A-Za-z]+)_\{?\s*(\d{1,2})\s*\}?")


@dataclass(frozen=True)
class Num:
    """A plain number read exactly: its value and how it was written."""

    value: Fraction
    decimal: bool = False  # written with a decimal point (a possibly rounded value)
    percent: bool = False  # 25\%
    degrees: bool = False  # 30^\circ
    label: str = ""  # "x" of "x = 5"


_INT = r"[+-]?\d+"
_DEC = r"[+-]?(?:\d+\.\d*|\.\d+)"
_BRACED = r"\{\s*([+-]?\d+)\s*\}"
_FRAC = re.compile(rf"([+-])?\\frac(?:{_BRACED}|(\d))(?:{_BRACED}|(\d))")
_MIXED = re.compile(rf"([+-])?(\d+)\s*\\frac(?:{_BRACED}|(\d))(?:{_BRACED}|(\d))")
_SLASH = re.compile(rf"({_INT})\s*/\s*(\d+)")
_SCI = re.compile(
    rf"({_DEC}|{_INT})\s*(?:\\times|\\cdot|\*|x)\s*10\s*\^\s*"
    rf"(?:\{{\s*({_INT})\s*\}}|(\d))"
)
_POW = re.compile(rf"({_INT})\s*\^\s*(?:\{{\s*({_INT})\s*\}}|(\d))")
_FACT = re.compile(r"(\d{1,4})\s*!")
_LABEL_PREFIX = re.compile(r"[A-Za-z](?:_\{?\w{1,4}\}?)?\s*=\s*(?=[^=]*$)")


def _frac(sign: Optional[str], a: str, b: str) -> Optional[Fraction]:
    den = int(b)
    if den == 0:
        return None
    value = Fraction(int(a), den)
    return -value if sign == "-" else value


def _plain_value(body: str) -> Optional[tuple[Fraction, bool]]:
    """``(value, decimal)`` of a plain number written without units, else None."""
    if re.fullmatch(_INT, body):
        return Fraction(int(body)), False
    if re.fullmatch(_DEC, body):
        return Fraction(body[:-1] if body.endswith(".") else body), True
    m = _FRAC.fullmatch(body)
    if m:
        value = _frac(m[1], m[2] or m[3], m[4] or m[5])
        return (value, False) if value is not None else None
    m = _MIXED.fullmatch(body)
    if m:
        part = _frac(None, m[3] or m[4], m[5] or m[6])
        if part is None or part >= 1 or part <= 0:
            return None
        value = int(m[2]) + part
        return (-value if m[1] == "-" else value), False
    m = _SLASH.fullmatch(body)
    if m:
        value = _frac(None, m[1], m[2])
        return (value, False) if value is not None else None
    m = _SCI.fullmatch(body)
    if m:
        exp = int(m[2] or m[3])
        if abs(exp) > MAX_EXPONENT:
            return None
        return Fraction(m[1]) * Fraction(10) ** exp, "." in m[1]
    m = _POW.fullmatch(body)
    if m:
        exp = int(m[2] or m[3])
        base = int(m[1])
        if abs(exp) > MAX_EXPONENT or abs(base) > 10**6 or (base == 0 and exp < 0):
            return None
        return Fraction(base) ** exp, False
    m = _FACT.fullmatch(body)
    if m and int(m[1]) <= MAX_FACTORIAL:
        import math

        return Fraction(math.factorial(int(m[1]))), False
    return None


@lru_cache(maxsize=16_384)
def number(cleaned: str) -> Optional[Num]:
    """The exact number a cleaned answer denotes (``033``, ``x = 3.5``, ``\\frac{-3}{8}``,
    ``3\\frac12``, ``25\\%``, ``30^\\circ``, ``10^{3}``, ``\\textbf{5}``), else None."""
    body = squash(cleaned)
    if len(body) > 60:
        return None
    m = WRAPPED.fullmatch(body)
    if m and balanced(m.group(1)):
        body = m.group(1)
    label = ""
    if "=" in body:
        m = _LABEL_PREFIX.match(body)
        if m:
            label, body = m.group(0).split("=")[0], body[m.end() :]
    if body.startswith("{") and body.endswith("}") and balanced(body[1:-1]):
        body = body[1:-1]
    percent = body.endswith("\\%")
    if percent:
        body = body[:-2]
    degrees = body.endswith("^\\circ")
    if degrees:
        body = body[: -len("^\\circ")]
    if body.startswith("+"):
        body = body[1:]
    read = _plain_value(body)
    if read is None:
        return None
    return Num(read[0], read[1], percent, degrees, label)


def based(cleaned: str) -> Optional[tuple[str, int]]:
    """``("2516", 8)`` for a number written in a base: ``2516_8``, ``2516_{8}``."""
    m = _BASED.fullmatch(squash(cleaned))
    if not m or not 2 <= int(m[2]) <= 36:
        return None
    try:
        int(m[1], int(m[2]))
    except ValueError:
        return None
    return m[1], int(m[2])
