"""The Math-Verify side of the grader: runs only in the worker process
(``python -m harness_ext.answers.worker``).

The parent never imports this module. The worker imports Math-Verify (with sympy and
latex2sympy2_extended) once, hardens it (below), warms its caches, prints ``ready`` and serves
JSON-line requests on stdin. Each request is computed in a child forked from the warm worker
(copy-on-write, a few ms; every child starts from the same state, so the same request costs the
same CPU time) with a memory limit and a CPU-time limit (``cpu``: the kernel ends the child with
SIGPROF once it has used that much CPU, however busy the machine): that limit, and nothing that
depends on the clock, decides a "timeout". At most :data:`MAX_CHILDREN` children (one per usable
CPU) run at once; the rest wait in order, and waiting counts against nothing. The worker writes
``alive`` at least every :data:`HEARTBEAT_S` so that the caller's watchdog can tell a busy worker
from a hung one. A child still alive after :data:`STALL_S` of wall-clock time is stuck (the
comparison is pure computation, which its CPU limit ends far sooner even on a machine hundreds
of times oversubscribed): it is killed and the request runs again in a fresh child; after
:data:`MAX_STALLS` stuck children the answer is "error:stalled", never a verdict.
Math-Verify's own signal timeouts are off (``parsing_timeout=None``, ``timeout_seconds=None``):
signals are only ever *sent* to our own children (and SIGPROF by the kernel to a child).

Requests: ``{"id": n, "pred": text, "gold": text, "cpu": seconds}``: the two
answers as extracted and cleaned by the parent. Answers: ``{"id": n, "result": r, "cpu": s}``
with ``r`` one of "equal", "equal_numeric", "unequal", "parse_error", "gold_parse_error",
"refused", "timeout" or "error:<exception>", and ``s`` the CPU seconds the child used (null
when it did not finish).

Safety (model text is never evaluated). Only Math-Verify's LaTeX extraction is used, never its
``ExprExtractionConfig`` (whose ``parse_expr`` runs ``eval``). latex2sympy2 turns number tokens
into sympy numbers with ``sympy.Number(text)``, which goes through ``sympify`` -> ``parse_expr`` ->
``eval``: :func:`harden` replaces that with an exact reading of the digits, and then makes
``parse_expr`` and sympy's ``eval_expr`` (every reference to them, so also ``sympify`` of a
string) refuse in this process: text cannot reach ``eval`` through sympy. Modules that
``sympify`` strings of their own when first imported (``sympy.physics.units``) are imported
before that. With ``SPARKS_ANSWERS_AUDIT=path`` every refused call, and every call of the
builtins ``eval``/``exec``/``compile`` on source text with the module that made it, is appended
to that file: the tests show that none is refused and that only sympy's own code templates
(``sympy.polys.monomials``) are ever executed, for hostile and for ordinary answers.

Our conventions replace Math-Verify's numeric equality (:func:`numeric_eq`): a decimal equals a
value only to a relative 1e-9 (Math-Verify rounds to 6 places, so ``1.0000001 = 1``); two exact
constants are equal only if they agree to 45 significant digits (Math-Verify compares
``(a - b).evalf(15, chop=True)`` with 0, so ``1/2004! = 1/2006!``). Answers whose evaluation would
run away (power towers, huge exponents, factorials of big numbers) are "refused" before
anything is evaluated (:func:`vet`).
"""

from __future__ import annotations

import builtins
import json
import math
import os
import re
import select
import signal
import sys
import time
from collections import deque
from typing import Any, Callable

MAX_CHILDREN = max(
    1,
    min(
        8,
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1),
    ),
)
MEMORY_LIMIT = 2 << 30
WORK_EXHAUSTED = 86  # a child's exit status when it used up its work limit (Python calls)
HEARTBEAT_S = 0.5  # the worker writes "alive" at least this often (the caller's watchdog)
STALL_S = 300.0  # a child alive this long without finishing is stuck, not computing (see below)
MAX_STALLS = 2  # stuck children of one request before it is answered "error:stalled"
REL_TOL_DECIMAL = 1e-9  # a decimal against an exact value: 1e-9 relative
REL_TOL_BOTH_DECIMAL = 1e-12  # two decimals: equal as written (only binary rounding noise)
REL_TOL_EXACT = 1e-45  # two exact constants: 45 significant digits
MAX_NODES = 2_000
MAX_BITS = 200_000
MAX_FACTORIAL_ARG = 50_000
AUDIT_ENV = "SPARKS_ANSWERS_AUDIT"

_NUMBER_TOKEN = re.compile(r"\d+|\d*\.\d+|\d+\.|(?:\d+\.?\d*|\.\d+)[eE][+-]?\d+")


class CodeRefused(Exception):
    """Something tried to evaluate source text in the worker (never expected)."""


# ----------------------------------------------------------------------------------------------
# Hardening
# ----------------------------------------------------------------------------------------------


def _audit(kind: str, source: Any, caller: str = "") -> None:
    path = os.environ.get(AUDIT_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(
                json.dumps(
                    {
                        "pid": os.getpid(),
                        "call": kind,
                        "caller": caller,
                        "source": repr(source)[:300],
                    }
                )
                + "\n"
            )


def _refuse(kind: str) -> Callable[..., Any]:
    def refused(*args: Any, **kwargs: Any) -> Any:
        _audit(kind, args[0] if args else None)
        raise CodeRefused(f"{kind} is disabled in the answer worker")

    return refused


def _audited(kind: str, real: Any) -> Callable[..., Any]:
    """``real`` (builtins eval/exec/compile), recording every call on source text and who made
    it (audit mode only: the tests show that only sympy's own code templates get there)."""

    def audited(source: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(source, (str, bytes, bytearray)) or type(source).__module__ == "ast":
            caller = sys._getframe(1).f_globals.get("__name__", "?")
            _audit(kind, source, caller)
        return real(source, *args, **kwargs)

    audited.__wrapped__ = real  # type: ignore[attr-defined]
    return audited


def safe_number(text: str) -> Any:
    """A number token of latex2sympy2 (digits, a decimal point, an exponent, commas) as a sympy
    number, read exactly without ``sympify``; anything else is refused."""
    import sympy

    text = text.replace(",", "")
    if not _NUMBER_TOKEN.fullmatch(text):
        raise CodeRefused(f"not a number token: {text[:40]!r}")
    if text.isdigit():
        return sympy.Integer(int(text))
    return sympy.Float(text)  # parsed by mpmath from the digits: no eval


def two_stage_parsing() -> None:
    """Parse with ANTLR's fast SLL prediction first and with full LL only when SLL reports a
    syntax error (the standard two-stage strategy): latex2sympy2's grammar makes full LL
    prediction slow (30 ms for ``(3,4)``), and SLL decides the same parse whenever it succeeds
    (no difference on the 812 distinct answers of the benchmark; ``tests/test_answers_worker.py``
    checks a sample)."""
    import latex2sympy2_extended.latex2sympy2 as l2s
    from antlr4.atn.PredictionMode import PredictionMode

    converter = l2s._Latex2Sympy
    if getattr(converter, "_sparks_two_stage", False):
        return
    create_parser, parse = converter.create_parser, converter.parse

    def create(self: Any, latex_str: str) -> Any:
        parser = create_parser(self, latex_str)
        if getattr(self, "_sparks_sll", False):
            parser._interp.predictionMode = PredictionMode.SLL
        return parser

    def two_stage(self: Any, latex_str: str) -> Any:
        self._sparks_sll = True
        try:
            return parse(self, latex_str)
        except Exception:  # noqa: BLE001 - SLL gave up (or the input is wrong): full LL decides
            self._sparks_sll = False
            return parse(self, latex_str)

    converter.create_parser, converter.parse = create, two_stage
    converter._sparks_two_stage = True


def case_sensitive_symbols() -> None:
    """``R`` and ``r`` are different variables (latex2sympy2 lowercases every symbol by
    default, so ``3R^2`` would equal ``3r^2``); word answers are compared case-insensitively
    before Math-Verify (``normalize.text_value``)."""
    import dataclasses

    import latex2sympy2_extended.latex2sympy2 as l2s

    converter = l2s._Latex2Sympy
    if getattr(converter, "_sparks_case", False):
        return
    init = converter.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.config = dataclasses.replace(self.config, lowercase_symbols=False)

    converter.__init__ = __init__
    converter._sparks_case = True


def harden() -> None:
    """Make this process unable to evaluate source text (see the module docstring)."""
    import latex2sympy2_extended.latex2sympy2 as l2s
    import math_verify.parser as mvp
    import sympy.parsing
    import sympy.parsing.sympy_parser as sympy_parser

    l2s._Latex2Sympy.parse_number = lambda self, text: safe_number(text)

    def convert_number(number: str) -> Any:
        if "," in number and number.startswith("0"):
            number = number.replace(",", ".")
        number = number.replace(" ", "").replace(",", "")
        return safe_number(number.lstrip("0") or "0" if number.isdigit() else number)

    l2s.convert_number = convert_number
    refuse = _refuse("parse_expr")
    sympy_parser.parse_expr = refuse
    sympy_parser.eval_expr = _refuse("eval_expr")
    sympy.parsing.parse_expr = refuse
    mvp.parse_expr = refuse
    mvp.parse_expr_cached = refuse
    l2s.parse_expr = refuse
    if os.environ.get(AUDIT_ENV):
        for name in ("eval", "exec", "compile"):
            real = getattr(builtins, name)
            setattr(builtins, name, _audited(name, getattr(real, "__wrapped__", real)))


# ----------------------------------------------------------------------------------------------
# Our conventions on top of Math-Verify
# ----------------------------------------------------------------------------------------------

_numeric_hits: list[bool] = []


def _evalf(x: Any, digits: int) -> Any:
    import sympy

    value = x.evalf(digits)
    if not value.is_number or value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        return None
    return value


def _close(a: Any, b: Any, rel: float, digits: int) -> bool:
    va, vb = _evalf(a, digits), _evalf(b, digits)
    if va is None or vb is None:
        return False
    diff = abs(va - vb)
    scale = max(abs(va), abs(vb))
    return bool(diff == 0) if scale == 0 else bool(diff <= rel * scale)


def numeric_eq(a: Any, b: Any, float_rounding: int = 6, numeric_precision: int = 15) -> bool:
    """Math-Verify's ``sympy_numeric_eq`` with our tolerances (replaces it in the worker).

    As upstream, it only runs when neither side is a relation, set or symbol; matrices are
    compared entry by entry, percentages of integers against integers. A decimal literal on
    exactly one side: equal to a relative 1e-9 (upstream: both rounded to ``float_rounding``
    places); on both sides: equal as written (1e-12, binary rounding noise). Otherwise,
    constants: equal to a relative 1e-45 at 60 digits (upstream: ``(a-b).evalf(15, chop=True)
    == 0``); expressions with variables are left to the symbolic comparison.
    """
    from math_verify import grader
    from sympy import Float, Integer, MatrixBase, Number
    from sympy.matrices.expressions.matexpr import MatrixExpr

    if isinstance(a, (MatrixBase, MatrixExpr)) and isinstance(b, (MatrixBase, MatrixExpr)):
        a, b = grader.safe_sympy_doit(a), grader.safe_sympy_doit(b)
        if isinstance(a, MatrixBase) and isinstance(b, MatrixBase) and a.shape == b.shape:
            return all(numeric_eq(x, y) for x, y in zip(a.flat(), b.flat()))
        return False
    try:
        floats = (a.has(Float), b.has(Float))
        rel = (
            REL_TOL_DECIMAL
            if floats[0] != floats[1]
            else REL_TOL_BOTH_DECIMAL
            if floats[0]
            else REL_TOL_EXACT
        )
        if grader.is_atomic_or_pct_atomic(a, Number) or grader.is_atomic_or_pct_atomic(b, Number):
            if grader.is_atomic_or_pct_atomic(a, Integer) and grader.is_atomic_or_pct_atomic(
                b, Integer
            ):
                return grader.get_pct_val(a, a) == grader.get_pct_val(b, b)
            a, b = grader.safe_sympy_doit(a), grader.safe_sympy_doit(b)
        if a.free_symbols or b.free_symbols:
            return False
        if not any(floats):
            exact = _exact_difference(a, b)
            if exact is not None:
                return exact
        same = _constants_equal(a, b, rel)
        if same and any(floats):
            _numeric_hits.append(True)  # a decimal was compared: "numeric", even if equal
        return same
    except Exception:  # noqa: BLE001 - as upstream: a failed comparison is "not equal"
        return False


def _exact_difference(a: Any, b: Any) -> bool | None:
    """Two exact constants decided without a tolerance: equal when they evaluate to the same
    expression (``\\sqrt{12}`` and ``2\\sqrt{3}``), unequal when their difference is a nonzero
    rational (``1/2004! + 1`` and ``1/2006! + 1``, equal to 5000 digits); None otherwise."""
    try:
        diff = a.doit() - b.doit()
        if diff == 0:
            return True
        return False if diff.is_Rational else None
    except Exception:  # noqa: BLE001
        return None


def _constants_equal(a: Any, b: Any, rel: float) -> bool:
    if getattr(a, "free_symbols", None) or getattr(b, "free_symbols", None):
        return False
    if bool(a == b):
        return True
    same = _close(a, b, rel, 60)
    if same:
        _numeric_hits.append(True)
    return same


def vet(expr: Any) -> None:
    """Raise :class:`Refused` for expressions whose evaluation could run away: more than
    :data:`MAX_NODES` nodes, power towers, huge exponents, factorials of big numbers."""
    import sympy

    count = 0
    for node in sympy.preorder_traversal(expr):
        count += 1
        if count > MAX_NODES:
            raise Refused("expression too large")
        if isinstance(node, sympy.Pow):
            _vet_power(node.base, node.exp)
        elif isinstance(
            node,
            (sympy.factorial, sympy.factorial2, sympy.binomial, sympy.gamma, sympy.subfactorial),
        ):
            for arg in node.args:
                if not getattr(arg, "free_symbols", True):
                    v = _approx(arg)
                    if v is None or not math.isfinite(v) or abs(v) > MAX_FACTORIAL_ARG:
                        raise Refused("factorial too large")


class Refused(Exception):
    """An answer too large to evaluate safely (power towers, 10^10!)."""


def _vet_power(base: Any, exp: Any) -> None:
    import sympy

    if getattr(exp, "free_symbols", None):
        if any(isinstance(n, (sympy.Pow, sympy.factorial)) for n in sympy.preorder_traversal(exp)):
            raise Refused("nested symbolic exponent")
        return
    e = _approx(exp)
    if e is None:
        return  # e.g. e^{i\pi}: the exponent's own powers are vetted too
    if not math.isfinite(e):
        raise Refused("exponent too large")
    if abs(e) <= 1_000:
        return
    if getattr(base, "free_symbols", None):
        raise Refused("exponent too large")
    b = _approx(base)
    if b is not None and abs(b) in (0.0, 1.0):
        return
    if b is None or not math.isfinite(b) or abs(e) * math.log2(abs(b) + 2) > MAX_BITS:
        raise Refused("power too large")


def _approx(x: Any) -> float | None:
    """A float estimate of a constant expression built from numbers, +, *, powers and
    factorials, without evaluating big powers (inf when too big), else None."""
    import sympy

    try:
        if isinstance(x, sympy.Integer):
            return float(x) if abs(x.p).bit_length() < 1000 else math.inf
        if isinstance(x, (sympy.Rational, sympy.Float)):
            return float(x)
        if isinstance(x, sympy.Pow):
            b, e = _approx(x.base), _approx(x.exp)
            if b is None or e is None:
                return None
            if b == 0:
                return 0.0
            log = e * math.log(abs(b)) if math.isfinite(e) else math.inf
            return math.inf if log > 700 else math.exp(log) if log > -700 else 0.0
        if isinstance(x, (sympy.Add, sympy.Mul)):
            maybe = [_approx(arg) for arg in x.args]
            vals = [v for v in maybe if v is not None]
            if len(vals) < len(maybe):
                return None
            total = 0.0 if isinstance(x, sympy.Add) else 1.0
            for v in vals:
                total = total + v if isinstance(x, sympy.Add) else total * v
            return total
        if isinstance(x, sympy.factorial):
            n = _approx(x.args[0])
            return None if n is None else math.inf if n > 170 else math.gamma(n + 1)
        if x.is_number and not x.has(sympy.Pow, sympy.factorial):
            return float(x.evalf(15))
    except (OverflowError, ValueError, TypeError):
        return math.inf
    return None


# ----------------------------------------------------------------------------------------------
# Comparing two answers
# ----------------------------------------------------------------------------------------------

_CONFIG: list[Any] = []


def _configs() -> list[Any]:
    if not _CONFIG:
        from math_verify import LatexExtractionConfig

        _CONFIG.append(LatexExtractionConfig(boxed_match_priority=0))
    return _CONFIG


def parse_answer(text: str) -> list[Any]:
    """Math-Verify's parse of one extracted answer (given as the content of a box); the
    variable ``i`` is the imaginary unit (Math-Verify keeps it a variable)."""
    import sympy
    from math_verify import parse

    parsed = parse(
        "\\boxed{" + text + "}", _configs(), fallback_mode="first_match", parsing_timeout=None
    )
    out = []
    for item in parsed:
        if isinstance(item, (sympy.Basic, sympy.MatrixBase)):
            names = {s: sympy.I for s in getattr(item, "free_symbols", ()) if str(s) == "i"}
            if names:
                item = item.xreplace(names)
            item = _real_odd_roots(item)
        out.append(item)
    return out


def _real_odd_roots(expr: Any) -> Any:
    """``\\sqrt[3]{-8}`` is -2 (the real root, as in competition answers), not sympy's
    principal complex root ``2(-1)^{1/3}``."""
    import sympy

    def odd_root_of_negative(e: Any) -> bool:
        return (
            isinstance(e, sympy.Pow)
            and e.exp.is_Rational
            and not e.exp.is_Integer
            and e.exp.q % 2 == 1
            and e.base.is_number
            and e.base.is_negative is True
        )

    try:
        if not expr.has(sympy.Pow):
            return expr
        return expr.replace(
            odd_root_of_negative, lambda e: (-1) ** e.exp.p * sympy.Pow(-e.base, e.exp)
        )
    except Exception:  # noqa: BLE001 - leave the expression as Math-Verify read it
        return expr


def _same_shape(gold: Any, pred: Any) -> tuple[Any, Any]:
    """Our conventions where Math-Verify has none: a tuple (or the open interval "(a, b)")
    against a row or column vector is compared as a vector; two inequalities in the same one
    variable are compared as the sets they define (``2x \\le 4`` is ``x \\le 2``)."""
    import sympy

    def vector(x: Any) -> Any:
        if isinstance(x, sympy.MatrixBase) and 1 in x.shape:
            return list(x)
        return None

    def items(x: Any) -> Any:
        if isinstance(x, sympy.Tuple):
            return list(x)
        if isinstance(x, sympy.Interval) and x.left_open and x.right_open:
            return [x.start, x.end]
        return None

    for a, b, flip in ((gold, pred, False), (pred, gold, True)):
        va, ib = vector(a), items(b)
        if va is not None and ib is not None and len(va) == len(ib):
            b = sympy.Matrix(ib).reshape(*a.shape)
            return (b, a) if flip else (a, b)
    inequalities = (
        sympy.StrictLessThan,
        sympy.LessThan,
        sympy.StrictGreaterThan,
        sympy.GreaterThan,
    )
    if isinstance(gold, inequalities) and isinstance(pred, inequalities):
        symbols = gold.free_symbols | pred.free_symbols
        if len(symbols) == 1 and gold.free_symbols == pred.free_symbols:
            try:
                return gold.as_set(), pred.as_set()
            except Exception:  # noqa: BLE001 - not solvable: compare as written
                pass
    return gold, pred


def compare(pred: str, gold: str) -> str:
    """Whether two extracted answers are equal (see the module docstring for the results)."""
    from math_verify import verify

    gold_parsed = parse_answer(gold)
    pred_parsed = parse_answer(pred)
    try:
        for parsed in (gold_parsed, pred_parsed):
            for item in parsed:
                if not isinstance(item, str):
                    vet(item)
    except Refused:
        return "refused"
    if not gold_parsed:
        return "gold_parse_error"
    if not pred_parsed:
        return "parse_error"
    del _numeric_hits[:]
    if (
        len(gold_parsed)
        and len(pred_parsed)
        and not isinstance(gold_parsed[0], str)
        and not isinstance(pred_parsed[0], str)
    ):
        gold_parsed[0], pred_parsed[0] = _same_shape(gold_parsed[0], pred_parsed[0])
    equal = verify(
        gold_parsed, pred_parsed, timeout_seconds=None, strict=True, allow_set_relation_comp=True
    )
    if equal:
        return "equal_numeric" if _numeric_hits else "equal"
    if all(isinstance(p, str) for p in pred_parsed):
        return "parse_error"
    if all(isinstance(g, str) for g in gold_parsed):
        return "gold_parse_error"
    return "unequal"


WARM_UP = [  # run once in the worker before it serves: lazy imports and caches are filled
    ("\\frac{1}{2}", "0.5"),
    ("\\sin(kx)^2+\\cos(kx)^2", "1"),
    ("2\\sqrt{3}", "\\sqrt{12}"),
    ("(1, 2)", "\\{1, 2\\}"),
    ("[1, 2)", "x \\in [1, 2)"),
    ("x > 3", "(3, \\infty)"),
    ("y = 2x + 3", "2x + 3 = y"),
    (
        "\\begin{pmatrix}1 & 2\\\\3 & 4\\end{pmatrix}",
        "\\begin{pmatrix}1 & 2\\\\3 & 4\\end{pmatrix}",
    ),
    ("\\log_2 8", "3"),
    ("e^{i\\pi}", "-1"),
    ("\\text{Evelyn}", "Evelyn"),
    ("50\\%", "0.5"),
    ("1 \\pm \\sqrt{19}", "1+\\sqrt{19}, 1-\\sqrt{19}"),
    ("\\frac{1}{2004!}", "\\frac{1}{2006!}"),
    ("\\tan(\\pi/4)", "1"),
    ("(x+1)^2", "x^2+2x+1"),
    ("\\arctan 1", "\\frac{\\pi}{4}"),
    ("-2 \\le x \\le 7", "[-2, 7]"),
    ("3.14159265359", "\\pi"),
    ("2^{10}", "1024"),
    ("\\{1\\} \\cup [0,7)", "[0, 7) \\cup \\{1\\}"),
    ("f(x)=2x+1", "2x+1"),
]
PARSE_WARM_UP = [  # parsed once more in the worker: fills the SLL prediction cache (the DFA)
    "F_n = \\sum_{k=0}^{n-1} F_k F_{n-k-1}",
    "\\prod_{i=1}^{n} (1 + x_i)",
    "\\int_0^1 x^2 \\, dx",
    "\\lim_{x \\to 0} \\frac{\\sin x}{x}",
    "a_{n+1} = 2a_n + 1",
    "\\binom{n}{k} p^k (1-p)^{n-k}",
    "\\left\\lfloor \\frac{n}{2} \\right\\rfloor",
    "|z - 1| \\le 2",
    "x^2/16 + y^2/12 = 1/4",
    "(x, y) = (3, -1)",
    "\\{(1, 2), (3, 4)\\}",
    "(-\\infty, 2) \\cup (3, \\infty)",
    "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}^{-1}",
    "\\vec{v} = \\langle 1, 2, 3 \\rangle",
    "\\log_{3}(x+1) + \\ln 2",
    "e^{-x^2/2}",
    "\\sqrt[3]{2} + \\sqrt{5}",
    "\\cos^2 \\theta",
    "f(x) = \\frac{x^2 - 1}{x + 1}",
    "y = -\\frac{1}{2}x + \\frac{3}{4}",
    "12:00",
    "2516_8",
    "\\text{Evelyn}, \\text{Navin}",
    "x \\equiv 3 \\pmod{7}",
    "n! + (n+1)!",
    "0.\\overline{3}",
]


# ----------------------------------------------------------------------------------------------
# Worker loop
# ----------------------------------------------------------------------------------------------


def _child(request: dict, write_fd: int) -> None:
    """Runs in the forked child: compute, write one JSON object, exit without cleanup."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):
        pass
    calls = [0]
    try:
        _limit_cpu(float(request.get("cpu", 10.0)))
        _limit_work(int(request.get("work", 1_000_000)), calls)
        result = compare(str(request["pred"]), str(request["gold"]))
    except CodeRefused:
        result = "refused"
    except BaseException as exc:  # noqa: BLE001 - report every failure as "error"
        result = "error:" + type(exc).__name__
    sys.settrace(None)
    _limit_cpu(0.0)  # the answer is known: let it be written
    try:
        import resource

        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu = round(usage.ru_utime + usage.ru_stime, 4)
    except (ImportError, OSError):
        cpu = None
    payload = json.dumps({"result": result, "cpu": cpu, "work": calls[0]}).encode()
    try:
        while payload:
            payload = payload[os.write(write_fd, payload) :]
    finally:
        os._exit(0)


def _limit_work(limit: int, calls: list[int]) -> None:
    """End this (child) process with exit status :data:`WORK_EXHAUSTED` once it has made
    ``limit`` Python function calls; ``calls[0]`` counts them.

    Why count calls, not seconds: the same comparison makes the same calls whatever the load
    (every child forks from the same warm state), while its CPU time moves by tens of percent
    on a busy machine, so a comparison near a CPU-time limit could land on either side. The
    trace function sees only "call" events (it returns None: no line events), which costs
    about 2x the comparison's CPU time. Python has no cheaper deterministic counter before 3.12
    (``sys.monitoring``).
    """

    def count(frame: Any, event: str, arg: Any) -> None:
        calls[0] += 1
        if calls[0] > limit:
            os._exit(WORK_EXHAUSTED)

    sys.settrace(count)


def _limit_cpu(seconds: float) -> None:
    """End this (child) process with SIGPROF once it has used ``seconds`` of CPU time."""
    if hasattr(signal, "setitimer"):  # 0 cancels the limit
        signal.signal(signal.SIGPROF, signal.SIG_DFL)  # default action: terminate, even in C code
        signal.setitimer(signal.ITIMER_PROF, max(seconds, 0.0))


def _out_of_work(status: int) -> bool:
    """Whether a child was ended by its work limit or its CPU-time backstop."""
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status) == WORK_EXHAUSTED
    return (
        hasattr(signal, "SIGPROF")
        and os.WIFSIGNALED(status)
        and os.WTERMSIG(status) == signal.SIGPROF
    )


class _Server:
    """Reads requests from stdin, runs each in a child (at most MAX_CHILDREN at once, the rest
    queued in order) and writes the replies and a heartbeat to stdout."""

    def __init__(self) -> None:
        self.stdin = sys.stdin.fileno()
        self.stdout = sys.stdout.buffer
        self.queue: deque[dict] = deque()
        self.children: dict[int, list[Any]] = {}  # read fd -> [pid, request, started, buffer]
        self.stalls: dict[Any, int] = {}  # request id -> children of it that stalled
        self.inbuf = b""
        self.beat = time.monotonic()

    def write(self, line: bytes) -> None:
        self.stdout.write(line + b"\n")
        self.stdout.flush()
        self.beat = time.monotonic()

    def reply(
        self, req_id: Any, result: str, cpu: float | None = None, work: int | None = None
    ) -> None:
        self.stalls.pop(req_id, None)
        line = {"id": req_id, "result": result, "cpu": cpu, "work": work}
        self.write(json.dumps(line).encode())

    def start(self, request: dict) -> None:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _child(request, write_fd)
        os.close(write_fd)
        self.children[read_fd] = [pid, request, time.monotonic(), b""]

    def finish(self, fd: int, stalled: bool = False) -> None:
        pid, request, _, data = self.children.pop(fd)
        if stalled:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.close(fd)
        _, status = os.waitpid(pid, 0)
        req_id = request.get("id")
        if stalled:
            self.stalls[req_id] = self.stalls.get(req_id, 0) + 1
            if self.stalls[req_id] < MAX_STALLS:
                self.queue.appendleft(request)  # run again in a fresh child: not a verdict
            else:
                self.reply(req_id, "error:stalled")
            return
        try:
            reply = json.loads(data.decode())
            result, cpu, work = reply["result"], reply.get("cpu"), reply.get("work")
        except (ValueError, KeyError):
            result, cpu, work = ("timeout" if _out_of_work(status) else "error"), None, None
        self.reply(req_id, result, cpu, work)

    def read_requests(self) -> bool:
        data = os.read(self.stdin, 1 << 16)
        if not data:
            return False
        self.inbuf += data
        *lines, self.inbuf = self.inbuf.split(b"\n")
        for line in lines:
            try:
                request = json.loads(line)
            except ValueError:
                continue
            if isinstance(request, dict):
                self.queue.append(request)
        return True

    def step(self) -> bool:
        while self.queue and len(self.children) < MAX_CHILDREN:
            self.start(self.queue.popleft())
        ready, _, _ = select.select([self.stdin, *self.children], [], [], HEARTBEAT_S)
        for fd in ready:
            if fd == self.stdin:
                if not self.read_requests():
                    return False
                continue
            chunk = os.read(fd, 1 << 16)
            if chunk:
                self.children[fd][3] += chunk
            else:
                self.finish(fd)
        now = time.monotonic()
        for fd in [fd for fd, c in self.children.items() if now - c[2] > STALL_S]:
            self.finish(fd, stalled=True)
        if now - self.beat >= HEARTBEAT_S:
            self.write(b"alive")
        return True

    def serve(self) -> None:
        self.write(b"ready")
        try:
            while self.step():
                pass
        finally:
            for fd in list(self.children):
                pid = self.children.pop(fd)[0]
                try:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                except (ProcessLookupError, ChildProcessError):
                    pass


def prepare_process() -> None:
    """Import, harden and warm Math-Verify in this process (the worker, before it serves)."""
    import logging

    logging.getLogger("math_verify").setLevel(logging.CRITICAL)  # "timeout is disabled" notes
    from math_verify import grader

    grader.sympy_numeric_eq = numeric_eq
    two_stage_parsing()
    case_sensitive_symbols()
    import sympy.physics.units  # noqa: F401 - it sympifies its own strings on first import

    harden()
    for gold, pred in WARM_UP:
        compare(pred, gold)
    for text in PARSE_WARM_UP:
        parse_answer(text)


def main() -> None:
    """Serve requests until stdin closes (the parent exited or called shutdown)."""
    prepare_process()
    _Server().serve()


if __name__ == "__main__":
    main()
