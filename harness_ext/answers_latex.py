"""Normalise an extracted answer and parse its LaTeX into a small, inert syntax tree.

Hand-written on purpose: sympy's and latex2sympy2's parsers are slow to import, unbounded in time,
and (``parse_expr``) call ``eval``. This parser only builds tuples, never runs code, and raises
:class:`ParseError` on anything it does not know; callers then fall back to comparing text.

Tree nodes are tuples ``(kind, *args)`` with plain ints/strs/bools/lists, so they hash, cache and
serialise as JSON (for the sympy worker):

* numbers ``("num", p, q, is_decimal)``, ``("var", name)``, ``("pi",)``, ``("e",)``, ``("i",)``,
  ``("inf",)``, ``("based", digits, base)`` (``204_5``);
* arithmetic ``("add", [..])``, ``("neg", x)``, ``("mul", [..])``, ``("div", a, b)``, ``("pow", a, b)``,
  ``("sqrt", x)``, ``("root", n, x)``, ``("fn", name, x)``, ``("log", base, x)``, ``("fact", x)``,
  ``("binom", n, k)``, ``("pm", a, b)`` (``a \\pm b``), ``("deg", x)``, ``("pct", x)``;
* structure ``("list", [..])`` (bare ``1, 2``), ``("tuple", [..])``, ``("set", [..])``,
  ``("interval", left_closed, a, b, right_closed)``, ``("union", [..])``, ``("rel", op, a, b)``,
  ``("chain", [a, op, b, op, c])``, ``("matrix", [[..], ..])``.
"""

from __future__ import annotations

import re
import unicodedata
from fractions import Fraction
from typing import Any, Iterator

Node = tuple

MAX_TOKENS = 600  # answers longer than this are not parsed (the text compare still runs)
MAX_DEPTH = 100
MAX_LITERAL_DIGITS = 400
MAX_ALTERNATIVES = 16


class ParseError(ValueError):
    """The answer is not LaTeX math this parser understands."""


# ----------------------------------------------------------------------------------------------
# Cleaning (string level)
# ----------------------------------------------------------------------------------------------

_UNICODE = {
    "\u2212": "-", "\u2013": "-", "\u2014": "-", "\u2010": "-", "\u2011": "-",
    "\u00d7": r"\times ", "\u22c5": r"\cdot ", "\u00b7": r"\cdot ", "\u00f7": r"\div ",
    "\u221a": r"\sqrt", "\u03c0": r"\pi ", "\u221e": r"\infty ", "\u00b0": r"^\circ ",
    "\u2264": r"\le ", "\u2265": r"\ge ", "\u2260": r"\ne ", "\u222a": r"\cup ", "\u2208": r"\in ",
    "\u00b1": r"\pm ", "\u2213": r"\mp ", "\u2205": r"\emptyset ", "\u2044": "/",
    "\u00bd": r"\frac{1}{2}", "\u2153": r"\frac{1}{3}", "\u2154": r"\frac{2}{3}",
    "\u00bc": r"\frac{1}{4}", "\u00be": r"\frac{3}{4}", "\u2155": r"\frac{1}{5}",
    "\u2159": r"\frac{1}{6}", "\u215b": r"\frac{1}{8}",
    "\u00b2": "^2", "\u00b3": "^3", "\u00b9": "^1", "\u2070": "^0", "\u2074": "^4",
    "\u2075": "^5", "\u2076": "^6", "\u2077": "^7", "\u2078": "^8", "\u2079": "^9",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "",
}
_UNICODE_RE = re.compile("|".join(map(re.escape, _UNICODE)))

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
_PLAIN_UNIT_TAIL = re.compile(r"(?<=[\d})])\s+([A-Za-z]{2,}(?:\s+[A-Za-z]+)*)(?:\^[23])?\s*$")
_DEGREE_WORDS = {"degree", "degrees", "deg"}
_PERCENT_WORDS = {"percent", "per cent"}
_KEEP_WORDS = {  # trailing words that are maths, not units
    "and", "or", "pi", "sin", "cos", "tan", "cot", "sec", "csc", "log", "ln", "exp", "sqrt", "i",
    "infty", "inf",
}
_DOUBLE_ESCAPED = re.compile(  # "\\\\frac" from doubly escaped (JSON) text: one backslash too many
    r"(?<!\\)\\(?=\\(?:frac|dfrac|tfrac|cfrac|left|right|sqrt|pi|boxed|text|mathrm|cdot|times|infty|le|leq"
    r"|ge|geq|ne|neq|in|cup|circ|pm|sin|cos|tan|log|ln|approx)(?![A-Za-z]))"
)
_CURRENCY = re.compile(r"\\?\$|[\u20ac\u00a3\u00a5\u20b9]")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_SPACED_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?: \d{3})+(?:\.\d+)?")


def _strip_delimiters(s: str) -> str:
    """Drop one pair of wrapping math delimiters: ``$..$``, ``$$..$$``, ``\\(..\\)``, ``\\[..\\]``."""
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if s.startswith(left) and s.endswith(right) and len(s) >= len(left) + len(right):
            return s[len(left) : len(s) - len(right)].strip()
    return s


def _strip_units(s: str) -> str:
    """Remove trailing unit words (``\\text{ cm}^2``, ``5 dollars``); degrees become ``^\\circ``."""
    for _ in range(3):
        m = _UNIT_TAIL.search(s) or _PLAIN_UNIT_TAIL.search(s)
        if not m:
            break
        word = " ".join(m.group(1).lower().replace(".", " ").split())
        head = s[: m.start()].rstrip()
        if word in _KEEP_WORDS or not re.search(r"[\d}\)]$", head):
            break
        if word in _DEGREE_WORDS:
            return head + r"^\circ"
        s = head + (r"\%" if word in _PERCENT_WORDS else "")
    return s


def clean(s: str) -> str:
    """String-level normalisation shared by every comparison (cheap, no parsing)."""
    s = _UNICODE_RE.sub(lambda m: _UNICODE[m.group(0)], s)
    s = unicodedata.normalize("NFKC", s).strip()
    s = _strip_delimiters(s)
    s = _DOUBLE_ESCAPED.sub("", s)
    s = re.sub(r"\\(?:left|right)\.", "", s)
    s = _SIZE_CMDS.sub("", s)
    s = _STYLE_CMDS.sub("", s)
    s = re.sub(r"\\[dtc]frac(?![A-Za-z])", r"\\frac", s)
    s = re.sub(r"\\[dt]binom(?![A-Za-z])", r"\\binom", s)
    s = re.sub(r"(\d),\\!\s*(?=\d{3})", r"\1", s)  # 10,\!080
    s = re.sub(r"(\d)\s*\{\s*,\s*\}\s*(?=\d{3})", r"\1", s)  # 10{,}080
    s = re.sub(r"\\hspace\*?\{[^{}]*\}", " ", s)
    s = _SPACE_CMDS.sub(lambda m: m.group(0) if m.group(0) == "\\\\" else " ", s)
    s = _CURRENCY.sub("", s)
    s = re.sub(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\degree(?![A-Za-z])", r"^\\circ", s)
    s = re.sub(r"(?<!\\)%", r"\\%", s)
    s = _strip_trailing(s)
    s = _strip_units(s).strip()
    if _THOUSANDS.fullmatch(s):
        s = s.replace(",", "")
    elif _SPACED_THOUSANDS.fullmatch(s):
        s = s.replace(" ", "")
    return s


def _strip_trailing(s: str) -> str:
    """Drop trailing sentence punctuation and LaTeX line breaks (``5.``, ``x = 3;``, ``7 \\\\``)."""
    while True:
        t = s.rstrip(" \t\n.;")
        if t.endswith("\\\\"):
            t = t[:-2]
        if t == s:
            return s
        s = t


def squash(s: str) -> str:
    """A cleaned answer with all whitespace removed: the key of the string fast path."""
    return "".join(s.split())


# ----------------------------------------------------------------------------------------------
# Text answers and multiple-choice letters
# ----------------------------------------------------------------------------------------------

_WRAPPED = re.compile(_TEXT_WRAP + r"\s*\{(.*)\}$", re.S)
_CHOICE = re.compile(r"\(\s*([A-E])\s*\)|([A-E])")
_WORDS = re.compile(r"[A-Za-z][A-Za-z '\-]*")
_MATH_WORDS = {"sin", "cos", "tan", "cot", "sec", "csc", "log", "ln", "exp", "sqrt", "pi", "infty"}


def text_value(s: str) -> str | None:
    """``"choice:C"`` for a multiple-choice letter, ``"text:<words>"`` for a word answer, else None.

    A bare single capital ``C`` counts as a choice only when it is wrapped in ``\\text`` or
    parentheses; otherwise it stays a variable.
    """
    body, wrapped = s.strip(), False
    while True:
        m = _WRAPPED.match(body)
        if not m or not _balanced(m.group(1)):
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


def _balanced(s: str) -> bool:
    depth = 0
    for ch in s:
        depth += (ch == "{") - (ch == "}")
        if depth < 0:
            return False
    return depth == 0


# ----------------------------------------------------------------------------------------------
# Tokenizer
# ----------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"(?P<ws>\s+)|(?P<num>\d+(?:\.\d*)?|\.\d+)|(?P<cmd>\\(?:[A-Za-z]+|.))|(?P<word>[A-Za-z]+)"
    r"|(?P<op>!=|<=|>=|[-+*/^_()\[\]{},=<>!|&':;])",
    re.S,
)
_BARE_NAMES = {
    "sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "sinh", "cosh",
    "tanh", "log", "ln", "exp", "sqrt", "pi", "infty", "inf", "and", "or",
}
_TEXT_CMDS = {"text", "textrm", "textnormal", "textsf", "mbox", "textit", "textbf", "texttt", "emph"}
_UNWRAP_CMDS = {"mathbf", "boldsymbol", "mathit", "mathsf", "bm", "mathbb", "mathcal", "vec", "overline"}

Token = tuple  # (kind, value)
_NUMERIC_TEXT = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")


def _brace_group(s: str, i: int) -> tuple[str, int]:
    """The raw text of the ``{...}`` group starting at ``s[i]`` (after spaces) and the end index."""
    while i < len(s) and s[i].isspace():
        i += 1
    if i >= len(s) or s[i] != "{":
        raise ParseError("expected {")
    depth = 0
    for j in range(i, len(s)):
        if s[j] == "\\":
            continue
        if s[j] == "{" and (j == 0 or s[j - 1] != "\\"):
            depth += 1
        elif s[j] == "}" and s[j - 1] != "\\":
            depth -= 1
            if depth == 0:
                return s[i + 1 : j], j + 1
    raise ParseError("unbalanced braces")


def tokenize(s: str) -> list[Token]:
    """Split cleaned LaTeX into tokens; raises ParseError on unknown characters or size."""
    out: list[Token] = []
    i = 0
    while i < len(s):
        m = _TOKEN_RE.match(s, i)
        if not m:
            raise ParseError(f"unexpected character {s[i]!r}")
        kind, val, i = m.lastgroup, m.group(0), m.end()
        if kind == "ws":
            continue
        if kind == "cmd":
            name = val[1:]
            if name in _TEXT_CMDS or name == "mathrm" or name == "operatorname":
                body, i = _brace_group(s, i)
                body = " ".join(body.split())
                if name == "operatorname":
                    out.append(("cmd", body))
                elif _NUMERIC_TEXT.fullmatch(body):  # \textbf{5}: a number in bold is a number
                    out.extend(tokenize(body))
                elif name == "mathrm" and re.fullmatch(r"[A-Za-z]", body):
                    out.append(("word", body))
                else:
                    out.append(("text", body))
                continue
            if name in ("begin", "end"):
                body, i = _brace_group(s, i)
                out.append((name, body.strip()))
                continue
            if name in _UNWRAP_CMDS:
                continue
            out.append(("cmd", name))
        elif kind == "word":
            if val.lower() in _BARE_NAMES:
                out.append(("cmd", val.lower()) if val.lower() not in ("and", "or") else ("text", val))
            else:
                out.extend(("word", ch) for ch in val)
        elif kind == "num":
            if len(val) > MAX_LITERAL_DIGITS:
                raise ParseError("number literal too long")
            out.append(("num", val))
        else:
            out.append(("op", val))
        if len(out) > MAX_TOKENS:
            raise ParseError("answer too long to parse")
    return out


# ----------------------------------------------------------------------------------------------
# Parser
# ----------------------------------------------------------------------------------------------

_SUBSCRIPT = re.compile(r"[A-Za-z0-9]{1,12}")
GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta",
    "iota", "kappa", "lambda", "mu", "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "varphi",
    "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Phi", "Psi", "Omega",
}

FUNCTIONS = {
    "sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "arccot", "sinh",
    "cosh", "tanh", "ln", "log", "exp", "lg",
}
_RELATIONS = {
    "=": "=", "<": "<", ">": ">", "!=": "!=", "<=": "<=", ">=": ">=", "le": "<=", "leq": "<=", "leqslant": "<=", "ge": ">=",
    "geq": ">=", "geqslant": ">=", "lt": "<", "gt": ">", "ne": "!=", "neq": "!=", "approx": "~",
    "in": "in", "equiv": "=",
}
_OP_RELATIONS = {"=", "<", ">", "!=", "<=", ">="}
_CONNECTORS = {"", "and", "or", ",", "or,", "and,"}
_MATRIX_ENVS = {"pmatrix", "bmatrix", "Bmatrix", "matrix", "smallmatrix", "array"}
_CONSTANT_CMDS = {"pi", "infty", "inf", "emptyset", "varnothing", "imath"}
_PRIMARY_CMDS = (
    FUNCTIONS | _CONSTANT_CMDS | GREEK
    | {"frac", "sqrt", "binom", "{", "lfloor", "lceil", "lvert", "vert"}
)

ONE: Node = ("num", 1, 1, False)
ZERO: Node = ("num", 0, 1, False)


def number(text: str) -> Node:
    """A numeric literal as an exact ``("num", p, q, is_decimal)`` node."""
    if "." in text:
        value = Fraction(text if not text.endswith(".") else text[:-1])
        return ("num", value.numerator, value.denominator, True)
    return ("num", int(text), 1, False)


def mul(factors: list[Node]) -> Node:
    return factors[0] if len(factors) == 1 else ("mul", factors)


def add(terms: list[Node]) -> Node:
    return terms[0] if len(terms) == 1 else ("add", terms)


class _Parser:
    """Recursive descent over the token list; every method consumes what it parses."""

    def __init__(self, tokens: list[Token]) -> None:
        self.toks = tokens
        self.i = 0
        self.depth = 0

    # -- token helpers ------------------------------------------------------------------------
    def peek(self, k: int = 0) -> Token:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else ("end", "")

    def next(self) -> Token:
        tok = self.peek()
        self.i += 1
        return tok

    def is_(self, kind: str, *vals: str) -> bool:
        tok = self.peek()
        return tok[0] == kind and (not vals or tok[1] in vals)

    def expect(self, kind: str, val: str) -> None:
        if not self.is_(kind, val):
            raise ParseError(f"expected {val!r}")
        self.i += 1

    def take_char(self) -> Token:
        """Take one character of a multi-digit number (``\\frac12``, ``x^23``)."""
        kind, val = self.peek()
        if kind == "num" and len(val) > 1:
            self.toks[self.i] = ("num", val[1:])
            return ("num", val[0])
        return self.next()

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError("answer nested too deeply")

    # -- grammar ------------------------------------------------------------------------------
    def parse(self) -> Node:
        items = self.seq(())
        if self.peek()[0] != "end":
            raise ParseError(f"unexpected {self.peek()[1]!r}")
        return items[0] if len(items) == 1 else ("list", items)

    def seq(self, closers: tuple[Token, ...]) -> list[Node]:
        """Comma-separated items (commas or ``\\text{and}``) up to a closer or the end."""
        items = [self.item()]
        while self.is_("op", ",", ";") or (self.is_("text") and self.peek()[1].lower() in _CONNECTORS):
            self.next()
            if self.peek() in closers or self.peek()[0] == "end":
                break
            items.append(self.item())
        return items

    def item(self) -> Node:
        self.enter()
        parts: list[Any] = [self.ratio()]
        while True:
            tok = self.peek()
            op = _RELATIONS.get(tok[1]) if tok[0] in ("op", "cmd") else None
            if op is None or (tok[0] == "op" and tok[1] not in _OP_RELATIONS):
                break
            self.next()
            parts += [op, self.ratio()]
        self.depth -= 1
        if len(parts) == 1:
            return parts[0]
        if len(parts) == 3:
            return ("rel", parts[1], parts[0], parts[2])
        return ("chain", parts)

    def ratio(self) -> Node:
        """``a:b`` (a ratio) is the quotient ``a/b``."""
        node = self.union()
        if self.is_("op", ":"):
            self.next()
            node = ("div", node, self.union())
        return node

    def union(self) -> Node:
        parts = [self.expr()]
        while self.is_("cmd", "cup"):
            self.next()
            parts.append(self.expr())
        return parts[0] if len(parts) == 1 else ("union", parts)

    def expr(self) -> Node:
        terms = [self.term()]
        while True:
            if self.is_("op", "+"):
                self.next()
                terms.append(self.term())
            elif self.is_("op", "-"):
                self.next()
                terms.append(("neg", self.term()))
            elif self.is_("cmd", "pm", "mp"):
                sign = self.next()[1]
                rhs = self.term()
                terms = [("pm", add(terms), rhs if sign == "pm" else ("neg", rhs))]
            else:
                return add(terms)

    def term(self) -> Node:
        if self.is_("op", "-"):
            self.next()
            return ("neg", self.term())
        if self.is_("op", "+"):
            self.next()
            return self.term()
        if self.is_("cmd", "pm", "mp"):
            self.next()
            return ("pm", ZERO, self.term())
        first_is_int = self.is_("num") and "." not in self.peek()[1]
        factors = [self.power()]
        if first_is_int and factors[0][0] == "num" and self.is_("cmd", "frac"):
            factors = [self.mixed_number(factors[0])]
        while True:
            tok = self.peek()
            if tok in (("op", "*"), ("cmd", "cdot"), ("cmd", "times"), ("cmd", "ast")):
                self.next()
                factors.append(self.signed_power())
            elif tok in (("op", "/"), ("cmd", "div")):
                self.next()
                factors = [("div", mul(factors), self.signed_power())]
            elif self.starts_factor(tok):
                if tok[0] == "num" and factors[-1][0] == "num":
                    raise ParseError("two numbers side by side")
                factors.append(self.power())
            else:
                return mul(factors)

    def mixed_number(self, whole: Node) -> Node:
        """``3\\frac{1}{2}`` is 3 + 1/2 when both parts of the fraction are integer literals."""
        save = self.i
        frac = self.power()
        if frac[0] == "div" and all(x[0] == "num" and not x[3] and x[2] == 1 for x in frac[1:]):
            return ("add", [whole, frac])
        self.i = save
        return whole

    def starts_factor(self, tok: Token) -> bool:
        kind, val = tok
        if kind in ("num", "word", "begin"):
            return True
        if kind == "cmd":
            return val in _PRIMARY_CMDS
        return kind == "op" and val == "("

    def signed_power(self) -> Node:
        if self.is_("op", "-"):
            self.next()
            return ("neg", self.signed_power())
        if self.is_("op", "+"):
            self.next()
        return self.power()

    def power(self) -> Node:
        node = self.primary()
        while True:
            if self.is_("op", "!"):
                self.next()
                node = ("fact", node)
            elif self.is_("op", "^"):
                self.next()
                if self.is_("cmd", "circ"):
                    self.next()
                    node = ("deg", node)
                else:
                    node = ("pow", node, self.exponent())
            elif self.is_("cmd", "%"):
                self.next()
                node = ("pct", node)
            else:
                return node

    def exponent(self) -> Node:
        kind, val = self.peek()
        if kind == "op" and val == "{":
            return self.group()
        if kind == "op" and val == "-":
            self.next()
            return ("neg", self.exponent())
        if kind == "num":
            return number(self.take_char()[1])
        if kind == "word":
            return self.primary()
        if kind == "cmd":
            return self.primary()
        raise ParseError("bad exponent")

    def group(self) -> Node:
        self.expect("op", "{")
        node = self.item()
        self.expect("op", "}")
        return node

    def arg(self) -> Node:
        """One argument of ``\\frac``/``\\sqrt``/``\\binom``: a group or a single token."""
        kind, val = self.peek()
        if kind == "op" and val == "{":
            return self.group()
        if kind == "num":
            return number(self.take_char()[1])
        if kind in ("word", "cmd") or (kind == "op" and val == "("):
            return self.primary()
        raise ParseError("bad argument")

    def subscript(self) -> str:
        """The raw text of a subscript (``_1``, ``_{10}``, ``_{n+1}``) used as part of a name."""
        self.expect("op", "_")
        if self.is_("op", "{"):
            self.next()
            parts = []
            while not self.is_("op", "}"):
                if self.peek()[0] == "end":
                    raise ParseError("unclosed subscript")
                parts.append(self.next()[1])
            self.next()
            name = "".join(parts)
            if not _SUBSCRIPT.fullmatch(name):  # names stay plain identifiers, e.g. for sympy
                raise ParseError("bad subscript")
            return name
        kind, val = self.peek()
        if kind in ("num", "word"):
            return self.take_char()[1]
        raise ParseError("bad subscript")

    def primary(self) -> Node:
        self.enter()
        try:
            return self._primary()
        finally:
            self.depth -= 1

    def _primary(self) -> Node:
        kind, val = self.next()
        if kind == "num":
            node = number(val)
            if self.is_("op", "_"):
                base = self.subscript()
                if not base.isdigit() or "." in val:
                    raise ParseError("bad base subscript")
                return ("based", val, int(base))
            return node
        if kind == "word":
            if self.is_("op", "_"):
                return ("var", f"{val}_{self.subscript()}")
            return {"i": ("i",), "e": ("e",)}.get(val, ("var", val))
        if kind == "cmd":
            return self.command(val)
        if kind == "begin":
            return self.matrix(val)
        if kind == "op" and val in "([":
            return self.bracketed(val)
        if kind == "op" and val == "{":
            items = self.seq((("op", "}"),))
            self.expect("op", "}")
            return items[0] if len(items) == 1 else ("list", items)
        if kind == "op" and val == "|":
            inner = self.expr()
            self.expect("op", "|")
            return ("fn", "abs", inner)
        raise ParseError(f"unexpected {val!r}")

    def bracketed(self, opener: str) -> Node:
        items = self.seq((("op", ")"), ("op", "]")))
        closer = self.next()
        if closer not in (("op", ")"), ("op", "]")):
            raise ParseError("unclosed bracket")
        if len(items) == 1 and (opener, closer[1]) in (("(", ")"), ("[", "]")):
            return items[0]
        if len(items) == 2 and (opener, closer[1]) != ("(", ")"):
            return ("interval", opener == "[", items[0], items[1], closer[1] == "]")
        if (opener, closer[1]) in (("(", ")"), ("[", "]")):
            return ("tuple", items)
        raise ParseError("bad interval")

    def command(self, name: str) -> Node:
        if name == "frac":
            return ("div", self.arg(), self.arg())
        if name == "sqrt":
            if self.is_("op", "["):
                self.next()
                index = self.expr()
                self.expect("op", "]")
                return ("root", index, self.arg())
            return ("sqrt", self.arg())
        if name in ("pi",):
            return ("pi",)
        if name in ("infty", "inf"):
            return ("inf",)
        if name == "imath":
            return ("i",)
        if name in ("emptyset", "varnothing"):
            return ("set", [])
        if name == "binom":
            return ("binom", self.arg(), self.arg())
        if name == "{":
            if self.is_("cmd", "}"):
                self.next()
                return ("set", [])
            items = self.seq((("cmd", "}"),))
            self.expect("cmd", "}")
            return ("set", items)
        if name in ("lfloor", "lceil", "lvert", "vert"):
            inner = self.expr()
            closer = {"lfloor": "rfloor", "lceil": "rceil", "lvert": "rvert", "vert": "vert"}[name]
            self.expect("cmd", closer)
            return ("fn", {"lfloor": "floor", "lceil": "ceil"}.get(name, "abs"), inner)
        if name in FUNCTIONS:
            return self.function(name)
        if name in GREEK:
            if self.is_("op", "_"):
                return ("var", f"{name}_{self.subscript()}")
            return ("var", name)
        raise ParseError(f"unsupported command \\{name}")

    def function(self, name: str) -> Node:
        power: Node | None = None
        base: Node | None = None
        for _ in range(2):
            if self.is_("op", "^"):
                self.next()
                power = self.exponent()
            elif self.is_("op", "_") and name == "log":
                self.next()
                base = self.arg()
        if self.is_("op", "("):
            self.next()
            arg = self.item()
            self.expect("op", ")")
        elif self.is_("op", "{"):
            arg = self.group()
        else:
            factors = [self.power()]
            while self.peek()[0] in ("num", "word") or self.is_("cmd", "pi"):
                factors.append(self.power())
            arg = mul(factors)
        name = {"lg": "log10"}.get(name, name)
        node: Node = ("log", base, arg) if base is not None else ("fn", name, arg)
        if power is not None:
            if power == ("neg", ONE) and name in ("sin", "cos", "tan", "cot"):
                return ("fn", "arc" + name, arg)
            node = ("pow", node, power)
        return node

    def matrix(self, env: str) -> Node:
        if env not in _MATRIX_ENVS:
            raise ParseError(f"unsupported environment {env}")
        if env == "array" and self.is_("op", "{"):
            self.group_raw()
        rows: list[list[Node]] = [[]]
        while True:
            if self.peek() == ("end", env):
                self.next()
                break
            rows[-1].append(self.expr())
            if self.is_("op", "&"):
                self.next()
            elif self.is_("cmd", "\\"):
                self.next()
                if self.peek() != ("end", env):
                    rows.append([])
            elif self.peek() != ("end", env):
                raise ParseError("bad matrix")
        if not rows[0] or len({len(r) for r in rows}) != 1:
            raise ParseError("ragged matrix")
        return ("matrix", rows)

    def group_raw(self) -> None:
        self.expect("op", "{")
        while not self.is_("op", "}"):
            if self.next()[0] == "end":
                raise ParseError("unclosed group")
        self.next()


def parse(s: str) -> Node:
    """Parse a cleaned answer into a tree; raises ParseError."""
    tokens = tokenize(s)
    if not tokens:
        raise ParseError("empty answer")
    try:
        return _Parser(tokens).parse()
    except (RecursionError, ValueError, ZeroDivisionError) as exc:
        if isinstance(exc, ParseError):
            raise
        raise ParseError(str(exc)) from None


# ----------------------------------------------------------------------------------------------
# Tree helpers
# ----------------------------------------------------------------------------------------------


def children(node: Node) -> Iterator[Node]:
    """The child nodes of ``node`` (descending into list arguments)."""
    for arg in node[1:]:
        if isinstance(arg, tuple) and arg and isinstance(arg[0], str):
            yield arg
        elif isinstance(arg, list):
            for x in arg:
                if isinstance(x, tuple):
                    yield x
                elif isinstance(x, list):
                    yield from (y for y in x if isinstance(y, tuple))


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, parents first (iterative: trees may be deep)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(children(n))


def contains(node: Node, *kinds: str) -> bool:
    return any(n[0] in kinds for n in walk(node))


def expand_pm(node: Node) -> list[Node]:
    """All sign choices of ``\\pm`` in ``node`` (``1 \\pm 2`` -> ``[1+2, 1-2]``), capped."""
    if not contains(node, "pm"):
        return [node]
    if node[0] == "pm":
        out = []
        for a in expand_pm(node[1]):
            for b in expand_pm(node[2]):
                out += [add([a, b]) if a != ZERO else b, add([a, ("neg", b)]) if a != ZERO else ("neg", b)]
        return _cap(out)
    options: list[list[Any]] = [[]]
    for arg in node[1:]:
        if isinstance(arg, tuple) and arg and isinstance(arg[0], str):
            alts: list[Any] = expand_pm(arg)
        elif isinstance(arg, list):
            alts = [list(combo) for combo in _product([expand_pm(x) if isinstance(x, tuple) else [x] for x in arg])]
        else:
            alts = [arg]
        options = _cap([o + [a] for o in options for a in alts])
    return [(node[0], *o) for o in options]


def _product(lists: list[list[Any]]) -> list[list[Any]]:
    out: list[list[Any]] = [[]]
    for alts in lists:
        out = _cap([o + [a] for o in out for a in alts])
    return out


def _cap(items: list[Any]) -> list[Any]:
    if len(items) > MAX_ALTERNATIVES:
        raise ParseError("too many \\pm combinations")
    return items
