"""Normalise an extracted answer (string level, both sides), and read words and choice letters.

Nothing here parses LaTeX into expressions or evaluates anything: the cleaning is a fixed
series of regex rewrites on a string of at most :data:`MAX_ANSWER_CHARS` characters, and
:func:`text_value` reads words (``\\text{Evelyn}``) and choice letters (``(C)``) as strings.
Plain numbers are read by :mod:`.exact_numbers`; everything else is left to Math-Verify in the
worker process (:mod:`.worker`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Optional

MAX_ANSWER_CHARS = 1_000  # longer answers are only compared as text ("refused" otherwise)

_UNICODE = {
    "\u2212": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2010": "-",
    "\u2011": "-",
    "\u00d7": r"\times ",
    "\u22c5": r"\cdot ",
    "\u00b7": r"\cdot ",
    "\u00f7": r"\div ",
    "\u221a": r"\sqrt",
    "\u03c0": r"\pi ",
    "\u221e": r"\infty ",
    "\u00b0": r"^\circ ",
    "\u2264": r"\le ",
    "\u2265": r"\ge ",
    "\u2260": r"\ne ",
    "\u222a": r"\cup ",
    "\u2208": r"\in ",
    "\u00b1": r"\pm ",
    "\u2213": r"\mp ",
    "\u2205": r"\emptyset ",
    "\u2044": "/",
    "\u00bd": r"\frac{1}{2}",
    "\u2153": r"\frac{1}{3}",
    "\u2154": r"\frac{2}{3}",
    "\u00bc": r"\frac{1}{4}",
    "\u00be": r"\frac{3}{4}",
    "\u2155": r"\frac{1}{5}",
    "\u2159": r"\frac{1}{6}",
    "\u215b": r"\frac{1}{8}",
    "\u00b2": "^2",
    "\u00b3": "^3",
    "\u00b9": "^1",
    "\u2070": "^0",
    "\u2074": "^4",
    "\u2075": "^5",
    "\u2076": "^6",
    "\u2077": "^7",
    "\u2078": "^8",
    "\u2079": "^9",
    "\u00a0": " ",
    "\u2009": " ",
    "\u202f": " ",
    "\u200b": "",
    "\u3000": " ",
    "\uff0c": ",",
    "\uff1a": ":",
    "\uff08": "(",
    "\uff09": ")",
    "\u3002": ".",
}
_UNICODE_RE = re.compile("|".join(map(re.escape, _UNICODE)))
_FULL_WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}  # full-width ASCII -> ASCII

_SIZE_CMDS = re.compile(
    r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr|bigg|Bigg|big|Big)(?![A-Za-z])\s*"
)
_SPACE_CMDS = re.compile(
    r"\\\\|\\(?:[,;:! ]|(?:quad|qquad|enspace|thinspace|medspace|thickspace)(?![A-Za-z]))|~"
)
_STYLE_CMDS = re.compile(r"\\(?:displaystyle|textstyle|scriptstyle|limits|nolimits)(?![A-Za-z])")
_TEXT_WRAP = r"\\(?:text|textrm|textnormal|textsf|mbox|mathrm|textit|textbf|mathbf|emph)"
_UNIT_TAIL = re.compile(
    _TEXT_WRAP + r"\s*\{\s*([A-Za-z][A-Za-z .]*?)\s*\}(?:\s*\^\s*\{?\s*[23]\s*\}?)?\s*$"
)
_PLAIN_UNIT_TAIL = re.compile(  # "5 dollars", "125 miles"; "1,000.99m^2" (m, g, L glued)
    r"(?:(?<=[\d})])\s+([A-Za-z]{2,}(?:\s+[A-Za-z]+)*)|(?<=\d)\s*([mgL]))(?:\^[23])?\s*$"
)
_DEGREE_WORDS = {"degree", "degrees", "deg"}
_PERCENT_WORDS = {"percent", "per cent", "pct", "percentage"}
_KEEP_WORDS = {  # trailing words that are maths, not units
    "and",
    "or",
    "pi",
    "sin",
    "cos",
    "tan",
    "cot",
    "sec",
    "csc",
    "log",
    "ln",
    "exp",
    "sqrt",
    "i",
    "infty",
    "inf",
}
_DOUBLE_ESCAPED = re.compile(  # "\\\\frac" from doubly escaped (JSON) text: one backslash too many
    r"(?<!\\)\\(?=\\(?:frac|dfrac|tfrac|cfrac|left|right|sqrt|pi|boxed|text|mathrm|cdot|times|infty"
    r"|le|leq|ge|geq|ne|neq|in|cup|circ|pm|sin|cos|tan|log|ln|approx)(?![A-Za-z]))"
)
_CURRENCY = re.compile(r"\\?\$|[\u20ac\u00a3\u00a5\u20b9]|\\(?:euro|pounds?)(?![A-Za-z])")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_SPACED_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?: \d{3})+(?:\.\d+)?")
_DECIMAL_COMMA = re.compile(r"([+-]?\d+),(\d+)")
_APPROX = re.compile(r"\\approx(?![A-Za-z])|≈|\\simeq(?![A-Za-z])")
_NUMERIC_PART = re.compile(r"[\d\s.+\-*/()^{}]|\\(?:cdot|times|div|frac)(?![A-Za-z])")
_LABEL = re.compile(  # a left-hand side that only names the answer: x =, a_1 =, f(x) =, |AB| =
    r"\s*(?:[A-Za-z](?:_\{?\w{1,4}\}?)?(?:\^\{?\w\}?)?(?:'{1,2})?(?:\(\s*[A-Za-z]\s*\))?"
    r"|\\[A-Za-z]+(?:_\{?\w{1,4}\}?)?|\|[A-Za-z]{1,3}\|)\s*=(?![=<>])\s*"
)
_PLAIN_FUNCS = re.compile(r"(?<![\\A-Za-z])(sqrt|pi|infinity|infty)(?![A-Za-z])")
_PLAIN_MATHRM_E = re.compile(r"\\math(?:rm|it)\s*\{\s*e\s*\}")


def _strip_delimiters(s: str) -> str:
    """Drop wrapping math delimiters: ``$..$``, ``$$..$$``, ``\\(..\\)``, ``\\[..\\]``."""
    for _ in range(3):
        for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
            if s.startswith(left) and s.endswith(right) and len(s) >= len(left) + len(right):
                s = s[len(left) : len(s) - len(right)].strip()
                break
        else:
            return s
    return s


def _strip_units(s: str) -> str:
    """Remove trailing unit words (``\\text{ cm}^2``, ``5 dollars``, ``1,000.99m^2``); degrees
    become ``^\\circ``, "percent" ``\\%``."""
    for _ in range(3):
        m = _UNIT_TAIL.search(s) or _PLAIN_UNIT_TAIL.search(s)
        if not m:
            break
        word = " ".join(m.group(m.lastindex or 1).lower().replace(".", " ").split())
        head = s[: m.start()].rstrip()
        if word in _KEEP_WORDS or not re.search(r"[\d}\)]$", head) or not head:
            break
        if word in _DEGREE_WORDS:
            return head + r"^\circ"
        s = head + (r"\%" if word in _PERCENT_WORDS else "")
    return s


def _strip_trailing(s: str) -> str:
    """Drop trailing sentence punctuation and LaTeX line breaks (``5.``, ``x = 3;``, ``7 \\\\``)."""
    while True:
        t = s.rstrip(" \t\n.;,")
        if t.endswith("\\\\"):
            t = t[:-2]
        if t == s:
            return s
        s = t


def _numbers_only(s: str) -> bool:
    return not _NUMERIC_PART.sub("", s).strip()


def _top_level_split(s: str, sep: str) -> list[str]:
    """``s`` split at each ``sep`` outside braces, brackets and parentheses."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(s):
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth = max(0, depth - 1)
        elif ch == sep and depth == 0:
            parts.append(s[start:i])
            start = i + 1
    parts.append(s[start:])
    return parts


_CONNECTED = re.compile(r"\\text|\\quad|(?<![A-Za-z])(?:and|or)(?![A-Za-z])|[,;]")
_RELATION_SIGNS = re.compile(r"[<>!]=?|\\(?:le|ge|leq|geq|ne|neq|lt|gt|in)(?![A-Za-z])")


def _last_value(s: str) -> str:
    """``x = 5+5+1 = 11`` -> ``x = 11``; ``2+3 = 5`` (a computation) -> ``5``; ``x = \\frac13
    \\approx 0.33`` -> ``x = \\frac13``; ``x \\approx 11`` -> ``11``. Only for one relation: an
    answer with several parts (``p = -1 \\text{ and } p = 2``) is left as it is."""
    if _CONNECTED.search(s) or _RELATION_SIGNS.search(s):
        return s
    m = _APPROX.search(s)
    if m:
        head, tail = s[: m.start()].strip(), s[m.end() :].strip()
        if head and _LABEL.fullmatch(head + "=") and tail:
            return tail
        if head:
            s = head
    if "=" not in s:
        return s
    parts = [p.strip() for p in _top_level_split(s, "=")]
    if len(parts) < 2 or not all(parts):
        return s
    if all(_numbers_only(p) for p in parts):
        return parts[-1]
    if len(parts) > 2 and _LABEL.fullmatch(parts[0] + "="):
        return f"{parts[0]} = {parts[-1]}"
    return s


_GROUP_SPLIT = re.compile(
    r"\s*(?:;|\\text\{\s*(?:and|or)\s*\}|(?<![A-Za-z])(?:and|or)(?![A-Za-z]))\s*"
)
_ASSIGNMENT = re.compile(r"([A-Za-z](?:_\{?\w{1,4}\}?)?)\s*=\s*([^=]+)")


def _solution_groups(s: str) -> str:
    """Several solutions written as groups of assignments, ``p = 5, q = 2 \\text{ and } p = 7,
    q = 2`` or ``p=5,q=2;p=7,q=2``, as the tuples ``(5, 2), (7, 2)`` (variables in name order);
    anything else unchanged."""
    groups = _GROUP_SPLIT.split(s)
    if len(groups) < 2 or len(groups) > 20:
        return s
    solutions = []
    for group in groups:
        pairs = [_ASSIGNMENT.fullmatch(item.strip()) for item in _top_level_split(group, ",")]
        if len(pairs) < 2 or not all(pairs):
            return s
        solution = {m[1]: m[2].strip() for m in pairs if m}
        if len(solution) != len(pairs):
            return s
        solutions.append(solution)
    names = sorted(solutions[0])
    if any(sorted(solution) != names for solution in solutions):
        return s
    return ", ".join("(" + ", ".join(sol[n] for n in names) + ")" for sol in solutions)


def _plain_to_latex(s: str) -> str:
    """Plain notation in an answer, as LaTeX: ``sqrt(2)`` -> ``\\sqrt{2}``, ``pi`` -> ``\\pi``,
    ``x**2`` -> ``x^2`` (a string rewrite: plain text is never evaluated)."""
    if "**" in s:
        s = s.replace("**", "^")
    if _PLAIN_FUNCS.search(s):
        s = _PLAIN_FUNCS.sub(lambda m: "\\" + ("infty" if m[1] == "infinity" else m[1]), s)
        s = re.sub(r"\\sqrt\s*\(([^()]{1,60})\)", r"\\sqrt{\1}", s)
    return s


_SIMPLE = re.compile(r"[+-]?\d+(?:\.\d+)?")


@lru_cache(maxsize=16_384)
def clean(s: str) -> str:
    """String-level normalisation shared by every comparison (cheap, no parsing)."""
    if _SIMPLE.fullmatch(s):
        return s  # the common case, a plain number: nothing to clean
    if not s.isascii():
        s = _UNICODE_RE.sub(lambda m: _UNICODE[m.group(0)], s).translate(_FULL_WIDTH)
    s = _strip_delimiters(s.strip())
    if "\\" in s:
        s = _latex_cleanups(s)
    if "{" in s:
        s = _COMMA_THOUSANDS.sub(r"\1", s)
    if "$" in s or not s.isascii():
        s = _CURRENCY.sub("", s)
    if "%" in s:
        s = re.sub(r"(?<!\\)%", r"\\%", s)
    s = _strip_trailing(_strip_delimiters(s.strip()))
    if _LETTER.search(s):
        s = _strip_units(s).strip()
        s = _plain_to_latex(s)
    if "=" in s or "\\approx" in s:
        s = _last_value(s)
        if "=" in s and ("," in s or ";" in s):
            s = _solution_groups(s)
    if "(" in s:
        s = _unwrap_parenthesised_number(s)
    if "," in s:
        if _THOUSANDS.fullmatch(s) and not re.match(r"[+-]?0,", s):
            s = s.replace(",", "")
        else:
            m = _DECIMAL_COMMA.fullmatch(s)
            if m and (m[1].lstrip("+-") == "0" or len(m[1].lstrip("+-")) > 3 or len(m[2]) == 2):
                s = f"{m[1]}.{m[2]}"  # a decimal comma: 2,74 / 0,111 / 1000,99 (not 1,5, 1,000)
    elif " " in s and _SPACED_THOUSANDS.fullmatch(s):
        s = s.replace(" ", "")
    return s


_LETTER = re.compile(r"[A-Za-z]")


_COMMA_THOUSANDS = re.compile(r"(\d)\s*\{\s*,\s*\}\s*(?=\d{3})")  # 10{,}080
_DEGREE = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\degree(?![A-Za-z])|\\circ(?![A-Za-z])")


def _latex_cleanups(s: str) -> str:
    """The LaTeX part of :func:`clean`: commands that do not change the value."""
    s = _DOUBLE_ESCAPED.sub("", s)
    s = re.sub(r"\\(?:left|right)\.", "", s)
    s = _SIZE_CMDS.sub("", s)
    s = _STYLE_CMDS.sub("", s)
    s = re.sub(r"\\[dtc]frac(?![A-Za-z])", r"\\frac", s)
    s = re.sub(r"\\[dt]binom(?![A-Za-z])", r"\\binom", s)
    s = re.sub(r"(\d),\\!\s*(?=\d{3})", r"\1", s)  # 10,\!080
    s = re.sub(r"\\hspace\*?\{[^{}]*\}", " ", s)
    s = _SPACE_CMDS.sub(lambda m: m.group(0) if m.group(0) == "\\\\" else " ", s)
    s = _CURRENCY.sub("", s)
    s = _DEGREE.sub(r"^\\circ", s)
    return _PLAIN_MATHRM_E.sub("e", s)


_PAREN_NUMBER = re.compile(r"\(\s*([+-]?\d+(?:\.\d+)?)\s*\)")


def _unwrap_parenthesised_number(s: str) -> str:
    """AoPS writes an AIME answer as a choice: ``\\textbf{(113) }`` is 113."""
    m = WRAPPED.fullmatch(s)
    body = m.group(1).strip() if m and balanced(m.group(1)) else s
    p = _PAREN_NUMBER.fullmatch(body)
    return p.group(1) if p else s


def squash(s: str) -> str:
    """A cleaned answer with all whitespace removed: the key of the string fast path."""
    return "".join(s.split())


# ----------------------------------------------------------------------------------------------
# Text answers and multiple-choice letters
# ----------------------------------------------------------------------------------------------

WRAPPED = re.compile(_TEXT_WRAP + r"\s*\{(.*)\}", re.S)
_CHOICE = re.compile(r"\(\s*([A-E])\s*\)|([A-E])")
_WORDS = re.compile(r"[A-Za-z][A-Za-z '\-]*")
_MATH_WORDS = {"sin", "cos", "tan", "cot", "sec", "csc", "log", "ln", "exp", "sqrt", "pi", "infty"}
CHOICE_PREFIX = re.compile(
    r"(?:\\(?:textbf|text|mathrm|mathbf)\s*\{\s*)?\(\s*([A-E])\s*\)\s*\}?\s*(.*)", re.S
)


def text_value(s: str) -> Optional[str]:
    """``"choice:C"`` for a multiple-choice letter, ``"text:<words>"`` for a word answer, else None.

    A bare single capital ``C`` counts as a choice only when it is wrapped in ``\\text`` or
    parentheses; otherwise it stays a variable.
    """
    body, wrapped = s.strip(), False
    while True:
        m = WRAPPED.fullmatch(body)
        if not m or not balanced(m.group(1)):
            break
        body, wrapped = m.group(1).strip(), True
    m = _CHOICE.fullmatch(body)
    if m and (wrapped or m.group(1)):
        return "choice:" + (m.group(1) or m.group(2))
    if _WORDS.fullmatch(body):
        words = body.replace("-", " ").split()
        if wrapped or any(len(w) >= 3 and w.lower() not in _MATH_WORDS for w in words):
            return "text:" + " ".join(w.lower() for w in words)
    return None


def balanced(s: str) -> bool:
    """Whether the braces of ``s`` close in order (``{a}{b}`` yes, ``a}{b`` no)."""
    depth = 0
    for ch in s:
        depth += (ch == "{") - (ch == "}")
        if depth < 0:
            return False
    return depth == 0
