"""Our numeric equality, replacing Math-Verify's ``sympy_numeric_eq`` in the worker process.

A decimal equals a value only to a relative 1e-9 (Math-Verify rounds to 6 places, so
``1.0000001 = 1``); two exact constants are equal only if they agree to 45 significant digits
(Math-Verify compares ``(a - b).evalf(15, chop=True)`` with 0, so ``1/2004! = 1/2006!``).
:func:`install` puts :func:`numeric_eq` in Math-Verify's place (a module attribute of
``math_verify.grader``; Math-Verify has no option for its tolerance). :data:`numeric_hits`
records whether a comparison was decided numerically (the verdict "equal_numeric").
"""

from __future__ import annotations

from typing import Any

REL_TOL_DECIMAL = 1e-9  # a decimal against an exact value: 1e-9 relative
REL_TOL_BOTH_DECIMAL = 1e-12  # two decimals: equal as written (only binary rounding noise)
REL_TOL_EXACT = 1e-45  # two exact constants: 45 significant digits

numeric_hits: list[bool] = []  # cleared before each comparison (symbolic.compare)


def install() -> None:
    """Make Math-Verify's ``verify`` use :func:`numeric_eq` (in the worker process only)."""
    from math_verify import grader

    grader.sympy_numeric_eq = numeric_eq


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
            numeric_hits.append(True)  # a decimal was compared: "numeric", even if equal
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
        numeric_hits.append(True)
    return same
