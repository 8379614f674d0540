"""Compare two extracted answers with Math-Verify's LaTeX parser and ``verify``, under our
conventions (worker process only: :mod:`.worker` calls :func:`compare`).

Only Math-Verify's LaTeX extraction is used, never its ``ExprExtractionConfig`` (whose
``parse_expr`` runs ``eval``). On top of Math-Verify: our numeric equality (:mod:`.numeric`),
runaway answers refused (:mod:`.runaway`), ``i`` as the imaginary unit, real odd roots, tuples
against vectors and inequalities as sets (:func:`_same_shape`).
"""

from __future__ import annotations

from typing import Any

from .numeric import numeric_hits
from .runaway import Refused, vet

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
    del numeric_hits[:]
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
        return "equal_numeric" if numeric_hits else "equal"
    if all(isinstance(p, str) for p in pred_parsed):
        return "parse_error"
    if all(isinstance(g, str) for g in gold_parsed):
        return "gold_parse_error"
    return "unequal"
