"""Compare two extracted answers: text, structure (sets, tuples, intervals, equations, matrices)
and values (exact engine first, then the sympy worker under a deadline)."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Iterator, Optional

from harness_ext import answers_algebra as alg
from harness_ext.answers_pool import symbolic_compare, wait_until_ready
from harness_ext.answers_latex import (
    Node,
    ParseError,
    clean,
    contains,
    expand_pm,
    parse,
    squash,
    text_value,
    walk,
)

log = logging.getLogger("harness_ext.answers")

MAX_ANSWER_CHARS = 1_000  # longer answers are only compared as text
BUDGET_S = 0.8  # wall-clock budget of one check (extraction and the sympy part included)
SYMPY_TIMEOUT_S = 0.6
MIN_SYMPY_S = 0.05
REL_TOL = Decimal("1e-9")
MAX_SET_SIZE = 24


class TimedOut(Exception):
    """A comparison ran out of time (not cached; reported as reason "timeout")."""


_call_deadline: contextvars.ContextVar[Optional[float]] = contextvars.ContextVar(
    "answers_call_deadline", default=None
)


@contextlib.contextmanager
def time_budget(seconds: float = BUDGET_S) -> Iterator[None]:
    """Share one deadline among all comparisons made inside (e.g. the candidates of a check).

    Budgets nest: inside another budget the earlier deadline wins, so a caller (a whole
    ``label()``) can bound everything its checks do."""
    deadline = time.monotonic() + seconds
    outer = _call_deadline.get()
    token = _call_deadline.set(deadline if outer is None else min(outer, deadline))
    try:
        yield
    finally:
        _call_deadline.reset(token)


@dataclass(frozen=True)
class Prepared:
    """An answer after cleaning, ready to compare (cached per distinct string)."""

    raw: str
    cleaned: Optional[str]
    key: str
    text: Optional[str] = None
    tree: Optional[Node] = None
    error: str = ""


@lru_cache(maxsize=16_384)
def prepare(answer: str) -> Prepared:
    """Clean, classify and parse one answer; never raises."""
    if len(answer) > MAX_ANSWER_CHARS:
        return Prepared(answer, None, squash(answer), error="too_long")
    cleaned = clean(answer)
    key = squash(cleaned)
    text = text_value(cleaned)
    if text is not None:
        return Prepared(answer, cleaned, key, text=text)
    try:
        tree = parse(cleaned)
        alg.vet(tree)
    except ParseError as exc:
        return Prepared(answer, cleaned, key, error=f"parse_error: {exc}")
    except alg.TooLarge as exc:
        return Prepared(answer, cleaned, key, error=f"refused: {exc}")
    return Prepared(answer, cleaned, key, tree=_expand(tree))


def _expand(tree: Node) -> Node:
    """Expand ``\\pm`` into alternatives: a top-level ``1 \\pm 2`` becomes the list ``1+2, 1-2``."""
    if not contains(tree, "pm"):
        return tree
    try:
        if tree[0] in ("set", "list"):
            return (tree[0], [alt for item in tree[1] for alt in expand_pm(item)])
        alts = expand_pm(tree)
    except ParseError:
        return tree
    return alts[0] if len(alts) == 1 else ("list", alts)


@dataclass
class _Ctx:
    deadline: float
    reasons: set = field(default_factory=set)
    timed_out: bool = False
    refused: bool = False


def compare(pred: str, gold: str) -> tuple[bool, str]:
    """``(equal, reason)`` for two extracted answers; results (not timeouts) are cached."""
    if len(pred) > MAX_ANSWER_CHARS or len(gold) > MAX_ANSWER_CHARS:
        # compared as text only, and not cached: hostile answers must not fill the caches
        pk, gk = (squash(x) if len(x) > MAX_ANSWER_CHARS else prepare(x).key for x in (pred, gold))
        return (True, "exact") if pk and pk == gk else (False, "refused")
    try:
        return _compare_cached(pred, gold)
    except TimedOut:
        log.warning("answer check timed out: pred=%.80r gold=%.80r", pred, gold)
        return False, "timeout"


@lru_cache(maxsize=16_384)
def _compare_cached(pred: str, gold: str) -> tuple[bool, str]:
    p, g = prepare(pred), prepare(gold)
    if p.key == g.key and p.key:
        return True, "exact"
    if p.cleaned is None or g.cleaned is None:
        return False, "refused"
    if p.text is not None or g.text is not None:
        same = _compare_text(p, g)
        return same, "exact" if same else "mismatch"
    if g.tree is None or p.tree is None:
        loose = _loose_key(p.key) == _loose_key(g.key)
        if loose:
            return True, "exact"
        return False, ("refused" if p.error.startswith("refused") else "parse_error" if p.error else "mismatch")
    deadline = time.monotonic() + BUDGET_S
    ctx = _Ctx(deadline=min(deadline, _call_deadline.get() or deadline))
    equal = _eq(p.tree, g.tree, ctx)
    if equal:
        return True, next((r for r in ("symbolic", "numeric") if r in ctx.reasons), "exact")
    if ctx.timed_out:
        raise TimedOut
    return False, "refused" if ctx.refused else "mismatch"


def _loose_key(key: str) -> str:
    return key.replace("{", "").replace("}", "").lower()


def _compare_text(p: Prepared, g: Prepared) -> bool:
    if p.text is not None and p.text == g.text:
        return True
    for a, b in ((p, g), (g, p)):
        if not a.text or b.text is not None or b.cleaned is None:
            continue
        if a.text.startswith("choice:") and b.key == a.text[7:]:  # (C) against a bare C
            return True
        if a.text.startswith("text:") and " ".join(b.cleaned.lower().split()) == a.text[5:]:
            return True  # \text{e} against e
    return False


# ----------------------------------------------------------------------------------------------
# Structure
# ----------------------------------------------------------------------------------------------

_UNORDERED = ("set", "list")
_ARITHMETIC = ("add", "mul", "neg", "div", "pow")
_SEQUENCES = ("tuple", "list")


_LABEL_KINDS = ("var", "mul", "div", "tuple")


def _is_label(node: Node) -> bool:
    """A left-hand side that names the answer: ``x``, ``a_1``, ``f(x)``, ``(p, q)``, ``|AB|``,
    ``NO/BO``, ``A:B`` - variables combined only by products, quotients, tuples, ``|.|``."""
    return all(n[0] in _LABEL_KINDS or n[:2] == ("fn", "abs") for n in walk(node))


def _normalize_relation(node: Node) -> Node:
    """``x = 5+5+1 = 11`` -> ``x = 11``; ``x = 1/3 \\approx 0.33`` -> ``x = 1/3``;
    ``2+3 = 5`` (a computation) -> ``5``; anything else unchanged."""
    if node[0] == "chain":
        parts = node[1]
        ops = parts[1::2]
        if "~" in ops:
            parts = parts[: 2 * ops.index("~") + 1]
            ops = parts[1::2]
        if len(parts) == 1:
            return parts[0]
        if len(parts) == 3:
            return _normalize_relation(("rel", parts[1], parts[0], parts[2]))
        if all(op == "=" for op in ops):
            return ("rel", "=", parts[0], parts[-1]) if _is_label(parts[0]) else parts[-1]
        return node
    if node[0] == "rel" and node[1] in ("=", "~") and not _is_label(node[2]):
        if node[1] == "~":
            return node[2]
        if not alg.has_variables(node[2]) and not alg.has_variables(node[3]):
            return node[3]
    return node


def _eq(p: Node, g: Node, ctx: _Ctx) -> bool:
    """Whether predicted tree ``p`` equals gold tree ``g`` (the gold decides the rules)."""
    if p == g:
        ctx.reasons.add("exact")
        return True
    p, g = _normalize_relation(p), _normalize_relation(g)
    pk, gk = p[0], g[0]
    if pk == "rel" and gk == "rel":
        return _eq_rel(p, g, ctx)
    if pk == "rel" and p[1] in ("=", "~", "in") and _is_label(p[2]):
        return _eq(p[3], g, ctx)  # "x = 5" against "5"; "x \in [1, 2]" against "[1, 2]"
    if gk == "rel" and g[1] in ("=", "in") and _is_label(g[2]):
        return _eq(p, g[3], ctx)
    p, g = _as_interval(p), _as_interval(g)
    pk, gk = p[0], g[0]
    if gk in _UNORDERED or pk in _UNORDERED:
        return _eq_collection(p, g, ctx)
    if gk == "matrix" and pk in _ARITHMETIC and contains(p, "matrix"):
        return _symbolic(p, g, ctx, False)  # a matrix expression such as A + B or A B
    if gk == "tuple" and pk == "interval" and len(g[1]) == 2:
        g, gk = ("interval", False, g[1][0], g[1][1], False), "interval"
    elif gk == "tuple" or gk == "matrix":
        if pk == gk == "matrix":
            if (len(p[1]), len(p[1][0])) != (len(g[1]), len(g[1][0])):
                return False
            items_p, items_g = _cells(p), _cells(g)
        else:
            items_p, items_g = _flat(p), _flat(g)
        if items_p is None or items_g is None or len(items_p) != len(items_g):
            return False
        return all(_eq(a, b, ctx) for a, b in zip(items_p, items_g))
    if gk == "interval":
        if pk == "tuple" and len(p[1]) == 2:
            p = ("interval", False, p[1][0], p[1][1], False)
        if p[0] != "interval" or p[1] != g[1] or p[4] != g[4]:
            return False
        return _eq(p[2], g[2], ctx) and _eq(p[3], g[3], ctx)
    if gk == "union":
        return pk == "union" and _match_unordered(p[1], g[1], ctx)
    if pk in ("tuple", "matrix", "interval", "union", "rel", "chain") or gk in ("rel", "chain"):
        return False
    return _leaf(p, g, ctx)


def _eq_collection(p: Node, g: Node, ctx: _Ctx) -> bool:
    if g[0] not in _UNORDERED:  # a bare list against a scalar or a tuple
        if p[0] == "list" and len(p[1]) == 1:
            return _eq(p[1][0], g, ctx)
        if p[0] == "list" and g[0] == "tuple":
            return _eq(("tuple", p[1]), g, ctx)
        return False
    if p[0] not in _UNORDERED:
        if g[0] == "list" and p[0] == "tuple":
            p = ("list", p[1])  # "(1, -2)" for the solutions "1, -2"
        elif len(g[1]) == 1:
            return _eq(p, g[1][0], ctx)
        else:
            return False
    ps, gs = _dedupe(p[1]), _dedupe(g[1])
    return len(ps) == len(gs) and _match_unordered(ps, gs, ctx)


def _dedupe(items: list) -> list:
    """Drop repeated items (written the same way): a set lists each element once."""
    out: list = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _match_unordered(ps: list, gs: list, ctx: _Ctx) -> bool:
    if len(ps) != len(gs) or len(gs) > MAX_SET_SIZE:
        return False
    left = list(ps)
    for gi in gs:
        for j, pj in enumerate(left):
            if _eq(pj, gi, ctx):
                del left[j]
                break
        else:
            return False
    return True


def _cells(matrix: Node) -> list:
    return [x for row in matrix[1] for x in row]


def _flat(node: Node) -> Optional[list]:
    """Items of a tuple/list, or of a matrix (row by row; a column vector is a tuple)."""
    if node[0] in _SEQUENCES:
        return list(node[1])
    if node[0] == "matrix" and (len(node[1]) == 1 or len(node[1][0]) == 1):
        return _cells(node)
    return None


def _eq_rel(p: Node, g: Node, ctx: _Ctx) -> bool:
    """Equations: same sides (either order) or ``lhs - rhs`` proportional; inequalities: same."""
    flip = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "=": "=", "!=": "!=", "~": "~", "in": ""}
    if p[1] == g[1] and _eq(p[2], g[2], ctx) and _eq(p[3], g[3], ctx):
        return True
    if flip.get(p[1]) == g[1] and _eq(p[3], g[2], ctx) and _eq(p[2], g[3], ctx):
        return True
    if p[1] == g[1] == "=" or (p[1] in _INEQUALITIES and g[1] in _INEQUALITIES):
        if _same_relation(p, g):
            ctx.reasons.add("symbolic")
            return True
    pi, gi = _as_interval(p), _as_interval(g)
    if pi is not p or gi is not g:
        return _eq(pi, gi, ctx)
    return False


_INEQUALITIES = ("<", "<=", ">", ">=")


def _same_relation(p: Node, g: Node) -> bool:
    """``lhs - rhs`` of one is a constant multiple of the other's: any nonzero constant for
    equations (``2x+2y=2`` is ``x+y=1``), a positive one for inequalities (``-x > -1`` is
    ``x < 1``, after writing both as ``expr < 0`` or ``expr <= 0``)."""

    def side(rel: Node) -> Node:
        if rel[1] in (">", ">="):
            return ("add", [rel[3], ("neg", rel[2])])
        return ("add", [rel[2], ("neg", rel[3])])

    if p[1] != "=" and (p[1] in ("<", ">")) != (g[1] in ("<", ">")):
        return False
    try:
        a, b = alg.canon(side(p)), alg.canon(side(g))
    except (alg.Unsupported, alg.TooLarge):
        return False
    k = alg.r_ratio(a, b)
    if k is None:
        return False
    return p[1] == "=" or (k > 0 and a[1] == alg.ONE_POLY and b[1] == alg.ONE_POLY)


_INF: Node = ("inf",)


def _as_interval(node: Node) -> Node:
    """``x > 3`` -> ``(3, oo)``; ``1 <= x < 2`` -> ``[1, 2)``; anything else unchanged."""
    if node[0] == "rel" and node[1] in ("<", "<=", ">", ">="):
        op, a, b = node[1], node[2], node[3]
        if _is_label(b) and not _is_label(a):
            op, a, b = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op], b, a
        if not _is_label(a):
            return node
        if op in ("<", "<="):
            return ("interval", False, ("neg", _INF), b, op == "<=")
        return ("interval", op == ">=", b, _INF, False)
    if node[0] == "chain" and len(node[1]) == 5:
        lo, op1, x, op2, hi = node[1]
        if _is_label(x) and op1 in ("<", "<=") and op2 in ("<", "<="):
            return ("interval", op1 == "<=", lo, hi, op2 == "<=")
        if _is_label(x) and op1 in (">", ">=") and op2 in (">", ">="):
            return ("interval", op2 == ">=", hi, lo, op1 == ">=")
    return node


# ----------------------------------------------------------------------------------------------
# Values
# ----------------------------------------------------------------------------------------------


def _units(node: Node) -> tuple[Node, bool, bool]:
    """Strip a top-level percent or degree mark: ``(value, is_percent, is_degrees)``."""
    if node[0] == "neg":
        inner, pct, deg = _units(node[1])
        return ("neg", inner), pct, deg
    if node[0] == "pct":
        return node[1], True, False
    if node[0] == "deg":
        return node[1], False, True
    return node, False, False


_HUNDRED: Node = ("num", 100, 1, False)
_DEG_TO_RAD: Node = ("div", ("pi",), ("num", 180, 1, False))


def _leaf(p: Node, g: Node, ctx: _Ctx) -> bool:
    """Scalar values, with the percent rule and the degrees-vs-radians rule."""
    p0, p_pct, p_deg = _units(p)
    g0, g_pct, g_deg = _units(g)
    pairs = [(p0, g0)]
    if p_pct and not g_pct:
        pairs.append((("div", p0, _HUNDRED), g0))  # 50% against 0.5
    if g_pct and not p_pct:
        pairs.append((p0, ("div", g0, _HUNDRED)))  # 0.5 against 50%
    if p_deg and not g_deg and contains(g0, "pi"):
        pairs.append((("mul", [p0, _DEG_TO_RAD]), g0))
    if g_deg and not p_deg and contains(p0, "pi"):
        pairs.append((p0, ("mul", [g0, _DEG_TO_RAD])))
    return any(_scalar(a, b, ctx) for a, b in pairs)


def _scalar(a: Node, b: Node, ctx: _Ctx) -> bool:
    if a == b:
        ctx.reasons.add("exact")
        return True
    if a[0] == "based" or b[0] == "based":
        return _based_equal(a, b, ctx)
    mixed = alg.has_decimal(a) != alg.has_decimal(b)
    try:
        va, vb = alg.canon(a), alg.canon(b)
    except alg.TooLarge:
        ctx.refused = True
        return False
    except alg.Unsupported:
        return _symbolic(a, b, ctx, mixed)
    if alg.r_equal(va, vb):
        exact = alg.r_const(va) is not None
        ctx.reasons.add("exact" if exact else "symbolic")
        return True
    if not mixed or alg.has_variables(a) or alg.has_variables(b):
        return False
    da, db = alg.decimal_value(a), alg.decimal_value(b)
    if da is None or db is None:
        return _symbolic(a, b, ctx, True)
    if abs(da - db) <= REL_TOL * max(abs(da), abs(db)):
        ctx.reasons.add("numeric")
        return True
    return False


def _based_equal(a: Node, b: Node, ctx: _Ctx) -> bool:
    """``2516_8`` equals ``2516_{8}``, the same value in another base, or the bare digits 2516."""
    def value(n: Node) -> Optional[int]:
        try:
            return int(n[1], n[2]) if 2 <= n[2] <= 36 else None
        except ValueError:
            return None

    if a[0] == b[0] == "based":
        ok = value(a) is not None and value(a) == value(b)
    else:
        based, other = (a, b) if a[0] == "based" else (b, a)
        ok = other[0] == "num" and other[2] == 1 and not other[3] and int(based[1]) == other[1]
    if ok:
        ctx.reasons.add("exact")
    return ok


def _symbolic(a: Node, b: Node, ctx: _Ctx, tol: bool) -> bool:
    """Ask the sympy worker, within what is left of the budget (its one-time start-up excluded)."""
    waited = wait_until_ready()
    if waited is None:
        return False
    ctx.deadline += waited
    left = ctx.deadline - time.monotonic()
    if left < MIN_SYMPY_S:
        ctx.timed_out = True
        return False
    # the worker's child may use SYMPY_TIMEOUT_S of CPU time, and the answer (queueing in the
    # worker included) never takes longer than what is left of the wall-clock budget
    result = symbolic_compare(a, b, tol, min(SYMPY_TIMEOUT_S, left), wall=left)
    if result == "timeout":
        ctx.timed_out = True
        return False
    if result.startswith("equal"):
        ctx.reasons.add("numeric" if result == "equal_numeric" else "symbolic")
        return True
    return False


def integer_value(answer: str) -> Optional[int]:
    """The exact integer an answer denotes (``033``, ``x = 33``, ``33.0``), else None."""
    tree = prepare(answer).tree
    if tree is None:
        return None
    if tree[0] == "rel" and tree[1] == "=" and _is_label(tree[2]):
        tree = tree[3]
    try:
        value = alg.r_const(alg.canon(tree))
    except (alg.Unsupported, alg.TooLarge):
        return None
    if value is None or value.denominator != 1:
        return None
    return int(value)

