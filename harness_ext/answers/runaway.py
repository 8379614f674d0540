"""Refuse answers whose evaluation would run away (power towers, huge exponents, factorials of
big numbers) before anything is evaluated: :func:`vet` raises :class:`Refused`."""

from __future__ import annotations

import math
from typing import Any

MAX_NODES = 2_000
MAX_BITS = 200_000
MAX_FACTORIAL_ARG = 50_000


class Refused(Exception):
    """An answer too large to evaluate safely (power towers, 10^10!)."""


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
