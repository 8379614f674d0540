"""Exact, bounded arithmetic on answer trees without sympy (the fast path of the grader).

Hand-written because sympy costs ~1 s to import and its evaluation is unbounded in time; this
covers the closed forms that competition answers use, exactly, in microseconds:

* a value is a ratio of two *Laurent polynomials* with :class:`fractions.Fraction` coefficients
  over the generators: user variables, ``pi``, ``e`` and ``oo`` (treated as independent
  indeterminates), ``I`` (with ``I**2 == -1``) and ``r:p`` = sqrt(p) for primes p (with
  ``r:p**2 == p``). Square roots of rationals are split into ``s * sqrt(squarefree)``;
* two values are equal iff ``n1*d2 == n2*d1`` as polynomials. That is a proof, not a numeric
  guess: the square roots of distinct primes are linearly independent over Q, and variables,
  ``pi`` and ``e`` are treated as indeterminates, so equal polynomials are equal everywhere;
* anything else (trig, logs, non-square roots of non-rationals, ...) raises :class:`Unsupported`
  and is left to the sympy worker; values that would be too big raise :class:`TooLarge`.
"""

from __future__ import annotations

import math
from decimal import Context, Decimal, InvalidOperation
from fractions import Fraction
from typing import Callable, Dict, Optional, Tuple

from harness_ext.answers_latex import Node, walk

MAX_BITS = 200_000  # largest exact integer we build (about 60,000 digits)
MAX_FACTORIAL = 5_000
MAX_TERMS = 2_000
MAX_NODES = 600
MAX_POLY_POWER = 64

Mono = Tuple[Tuple[str, int], ...]
Poly = Dict[Mono, Fraction]


class Unsupported(Exception):
    """The exact engine cannot decide this (the sympy worker may)."""


class TooLarge(Exception):
    """The expression would build a number too large to compare safely (power towers, 10^10!)."""


# ----------------------------------------------------------------------------------------------
# Monomials and polynomials
# ----------------------------------------------------------------------------------------------


def _reduce(exps: dict[str, int]) -> tuple[Fraction, Mono]:
    """Apply ``I**2 = -1`` and ``sqrt(p)**2 = p``; returns (coefficient factor, monomial)."""
    coef = Fraction(1)
    out = []
    for gen, k in sorted(exps.items()):
        if k == 0:
            continue
        if gen == "I":
            coef *= (1, 1, -1, -1)[k % 4]
            k %= 2
        elif gen.startswith("r:"):
            coef *= Fraction(int(gen[2:])) ** (k // 2)
            k %= 2
        if k:
            out.append((gen, k))
    return coef, tuple(out)


def _mono_mul(a: Mono, b: Mono) -> tuple[Fraction, Mono]:
    if not a or not b:
        return Fraction(1), a or b
    exps = dict(a)
    for gen, k in b:
        exps[gen] = exps.get(gen, 0) + k
    return _reduce(exps)


def const(c: Fraction | int) -> Poly:
    return {(): Fraction(c)} if c else {}


def gen(name: str) -> Poly:
    return {((name, 1),): Fraction(1)}


def p_add(a: Poly, b: Poly, sign: int = 1) -> Poly:
    out = dict(a)
    for m, c in b.items():
        v = out.get(m, 0) + sign * c
        if v:
            out[m] = v
        else:
            out.pop(m, None)
    return out


def p_mul(a: Poly, b: Poly) -> Poly:
    if len(a) * len(b) > MAX_TERMS * 4:
        raise Unsupported("polynomial too large")
    out: Poly = {}
    for ma, ca in a.items():
        for mb, cb in b.items():
            f, m = _mono_mul(ma, mb)
            v = out.get(m, 0) + ca * cb * f
            if v:
                out[m] = v
            else:
                out.pop(m, None)
    if len(out) > MAX_TERMS:
        raise Unsupported("polynomial too large")
    return out


def p_pow(a: Poly, n: int) -> Poly:
    """``a ** n`` for ``n >= 0`` by repeated squaring, bounded in size."""
    if len(a) == 1:
        ((m, c),) = a.items()
        if max(c.numerator.bit_length(), c.denominator.bit_length()) * n > MAX_BITS:
            raise TooLarge("power too large")
        if n > 100_000:
            raise TooLarge("exponent too large")
        f, mono = _reduce({g: k * n for g, k in m})
        return {mono: c**n * f}
    if n > MAX_POLY_POWER:
        raise Unsupported("polynomial power too large")
    result: Poly = const(1)
    base = a
    while n:
        if n & 1:
            result = p_mul(result, base)
        n >>= 1
        if n:
            base = p_mul(base, base)
    return result


# ----------------------------------------------------------------------------------------------
# Rational functions: (numerator, denominator); single-term denominators are absorbed
# ----------------------------------------------------------------------------------------------

RatFunc = Tuple[Poly, Poly]
ONE_POLY: Poly = {(): Fraction(1)}


def _normalize(num: Poly, den: Poly) -> RatFunc:
    if not den:
        raise Unsupported("division by zero")
    if len(den) == 1:
        ((m, c),) = den.items()
        f, inv = _reduce({g: -k for g, k in m})
        return p_mul(num, {inv: f / c}), ONE_POLY
    return num, den


def r_add(a: RatFunc, b: RatFunc, sign: int = 1) -> RatFunc:
    if a[1] == b[1]:
        return p_add(a[0], b[0], sign), a[1]
    return _normalize(p_add(p_mul(a[0], b[1]), p_mul(b[0], a[1]), sign), p_mul(a[1], b[1]))


def r_mul(a: RatFunc, b: RatFunc) -> RatFunc:
    return _normalize(p_mul(a[0], b[0]), p_mul(a[1], b[1]))


def r_div(a: RatFunc, b: RatFunc) -> RatFunc:
    if not b[0]:
        raise Unsupported("division by zero")
    return _normalize(p_mul(a[0], b[1]), p_mul(a[1], b[0]))


def r_pow(a: RatFunc, n: int) -> RatFunc:
    if n < 0:
        if not a[0]:
            raise Unsupported("division by zero")
        a, n = (a[1], a[0]), -n
    return _normalize(p_pow(a[0], n), p_pow(a[1], n))


def r_equal(a: RatFunc, b: RatFunc) -> bool:
    if a[1] == b[1]:
        return a[0] == b[0]
    return p_mul(a[0], b[1]) == p_mul(b[0], a[1])


def r_const(a: RatFunc) -> Optional[Fraction]:
    """The value when ``a`` is a plain rational number, else None."""
    num, den = a
    if den != ONE_POLY or any(m for m in num):
        return None
    return num.get((), Fraction(0))


def r_ratio(a: RatFunc, b: RatFunc) -> Optional[Fraction]:
    """The rational k with ``a == k * b`` (k != 0), or None."""
    x, y = p_mul(a[0], b[1]), p_mul(b[0], a[1])
    if not x or not y or x.keys() != y.keys():
        return None
    m = next(iter(x))
    k = x[m] / y[m]
    return k if all(x[t] == k * y[t] for t in x) else None


# ----------------------------------------------------------------------------------------------
# Square roots of rationals
# ----------------------------------------------------------------------------------------------

_SMALL_PRIMES: list[int] = []


def _primes() -> list[int]:
    if not _SMALL_PRIMES:
        sieve = bytearray([1]) * 10_001
        sieve[0:2] = b"\x00\x00"
        for p in range(2, 101):
            if sieve[p]:
                sieve[p * p :: p] = bytearray(len(sieve[p * p :: p]))
        _SMALL_PRIMES.extend(i for i, v in enumerate(sieve) if v)
    return _SMALL_PRIMES


def _split_square(n: int) -> tuple[int, list[int]]:
    """``n = s**2 * prod(rads)`` with ``rads`` pairwise coprime squarefree factors (n > 0)."""
    if n.bit_length() > 80:
        raise Unsupported("radicand too large to factor")
    s, rads = 1, []
    for p in _primes():
        if p * p > n:
            break
        if n % p == 0:
            k = 0
            while n % p == 0:
                n //= p
                k += 1
            s *= p ** (k // 2)
            if k % 2:
                rads.append(p)
    if n > 1:
        r = math.isqrt(n)
        if r * r == n:
            s *= r
        elif n < 10_007**3:  # no prime factor <= 10^4 left: n is p, p*q (squarefree) or p**2
            rads.append(n)
        else:
            raise Unsupported("radicand too large to factor")
    return s, rads


def sqrt_rational(c: Fraction) -> RatFunc:
    """sqrt(c) exactly: ``s * sqrt(p1) * sqrt(p2) ...`` (times ``I`` when c < 0)."""
    if c == 0:
        return {}, ONE_POLY
    imag = c < 0
    c = abs(c)
    s, rads = _split_square(c.numerator * c.denominator)
    mono = tuple(sorted([(f"r:{p}", 1) for p in rads] + ([("I", 1)] if imag else [])))
    return {mono: Fraction(s, c.denominator)}, ONE_POLY


def _int_root(n: int, k: int) -> Optional[int]:
    """The exact k-th root of n >= 0, or None."""
    if n < 2:
        return n
    r = round(n ** (1.0 / k)) if n.bit_length() < 1000 else None
    if r is None:
        return None
    for cand in (r - 1, r, r + 1):
        if cand >= 0 and cand**k == n:
            return cand
    return None


def rational_root(c: Fraction, k: int) -> RatFunc:
    """The real k-th root of a rational, exactly; sqrt of rationals in general."""
    if k == 2:
        return sqrt_rational(c)
    if k < 1 or k > 64:
        raise Unsupported("root index")
    sign = -1 if c < 0 else 1
    if sign < 0 and k % 2 == 0:
        raise Unsupported("even root of a negative number")
    num, den = _int_root(abs(c.numerator), k), _int_root(c.denominator, k)
    if num is None or den is None:
        raise Unsupported("irrational root")
    return const(Fraction(sign * num, den)), ONE_POLY


# ----------------------------------------------------------------------------------------------
# Tree -> exact value
# ----------------------------------------------------------------------------------------------


def canon(node: Node) -> RatFunc:
    """The exact value of ``node``; raises Unsupported or TooLarge."""
    kind = node[0]
    handler = _HANDLERS.get(kind)
    if handler is None:
        raise Unsupported(kind)
    return handler(node)


def _num(node: Node) -> RatFunc:
    return const(Fraction(node[1], node[2])), ONE_POLY


def _gen_node(name: str) -> Callable[[Node], RatFunc]:
    return lambda node: (gen(name), ONE_POLY)


def _add(node: Node) -> RatFunc:
    acc: RatFunc = ({}, ONE_POLY)
    for t in node[1]:
        acc = r_add(acc, canon(t))
    return acc


def _mul(node: Node) -> RatFunc:
    acc: RatFunc = (const(1), ONE_POLY)
    for f in node[1]:
        acc = r_mul(acc, canon(f))
    return acc


def _pow(node: Node) -> RatFunc:
    base = canon(node[1])
    exp = r_const(canon(node[2]))
    if exp is None:
        raise Unsupported("symbolic exponent")
    if exp.denominator == 1:
        return r_pow(base, exp.numerator)
    value = r_const(base)
    if value is None or value < 0 or exp.denominator > 64:
        raise Unsupported("fractional power")
    return r_pow(rational_root(value, exp.denominator), exp.numerator)


def _sqrt(node: Node) -> RatFunc:
    value = r_const(canon(node[1]))
    if value is None:
        raise Unsupported("square root of a non-rational")
    return sqrt_rational(value)


def _root(node: Node) -> RatFunc:
    k = r_const(canon(node[1]))
    value = r_const(canon(node[2]))
    if k is None or value is None or k.denominator != 1:
        raise Unsupported("root")
    return rational_root(value, int(k))


def _fact(node: Node) -> RatFunc:
    value = r_const(canon(node[1]))
    if value is None or value.denominator != 1 or value < 0:
        raise Unsupported("factorial")
    if value > MAX_FACTORIAL:
        raise TooLarge("factorial too large")
    return const(math.factorial(int(value))), ONE_POLY


def _binom(node: Node) -> RatFunc:
    n, k = r_const(canon(node[1])), r_const(canon(node[2]))
    if n is None or k is None or n.denominator != 1 or k.denominator != 1 or n < 0:
        raise Unsupported("binomial")
    if n > 50_000:
        raise TooLarge("binomial too large")
    return const(math.comb(int(n), int(k)) if 0 <= k <= n else 0), ONE_POLY


def _fn(node: Node) -> RatFunc:
    name = node[1]
    if name in ("abs", "floor", "ceil"):
        value = r_const(canon(node[2]))
        if value is not None:
            out = {"abs": abs(value), "floor": math.floor(value), "ceil": math.ceil(value)}[name]
            return const(Fraction(out)), ONE_POLY
    raise Unsupported(name)


_HANDLERS = {
    "num": _num,
    "var": lambda node: (gen("v:" + node[1]), ONE_POLY),
    "pi": _gen_node("pi"),
    "e": _gen_node("e"),
    "i": _gen_node("I"),
    "inf": _gen_node("oo"),
    "add": _add,
    "mul": _mul,
    "neg": lambda node: r_mul((const(-1), ONE_POLY), canon(node[1])),
    "div": lambda node: r_div(canon(node[1]), canon(node[2])),
    "pow": _pow,
    "sqrt": _sqrt,
    "root": _root,
    "fact": _fact,
    "binom": _binom,
    "fn": _fn,
    "deg": lambda node: canon(node[1]),
    "pct": lambda node: r_div(canon(node[1]), (const(100), ONE_POLY)),
}


# ----------------------------------------------------------------------------------------------
# Vetting (before anything reaches sympy) and high-precision numeric values
# ----------------------------------------------------------------------------------------------


def has_variables(node: Node) -> bool:
    return any(n[0] == "var" for n in walk(node))


def _approx(node: Node) -> Optional[float]:
    """A float estimate (``inf`` on overflow) for vetting sizes; None if not a real constant."""
    kind = node[0]
    try:
        if kind == "num":
            return node[1] / node[2]
        if kind in ("pi", "e"):
            return math.pi if kind == "pi" else math.e
        if kind in ("add", "mul"):
            vals = [_approx(c) for c in node[1]]
            if any(v is None for v in vals):
                return None
            return math.fsum(vals) if kind == "add" else math.prod(vals)  # type: ignore[arg-type]
        if kind in ("neg", "deg", "pct"):
            v = _approx(node[1])
            return None if v is None else (-v if kind == "neg" else v)
        if kind == "div":
            a, b = _approx(node[1]), _approx(node[2])
            return None if a is None or b is None or b == 0 else a / b
        if kind == "pow":
            a, b = _approx(node[1]), _approx(node[2])
            if a is None or b is None:
                return None
            return math.inf if abs(b) * math.log2(abs(a) + 1e-300) > 1020 else abs(a) ** b
        if kind in ("sqrt", "root", "fn", "log", "binom", "fact"):
            return None
    except (OverflowError, ValueError, ZeroDivisionError):
        return math.inf
    return None


def vet(node: Node) -> None:
    """Raise TooLarge for trees that could make sympy (or Decimal) run away: power towers,
    huge exponents, factorials of big numbers. Bounded: at most MAX_NODES nodes."""
    count = 0
    for n in walk(node):
        count += 1
        if count > MAX_NODES:
            raise TooLarge("expression too large")
        kind = n[0]
        if kind == "pow":
            _vet_power(n[1], n[2])
        elif kind in ("fact", "binom"):
            for arg in n[1:]:
                if not has_variables(arg):
                    v = _approx(arg)
                    if v is None or not math.isfinite(v) or abs(v) > MAX_FACTORIAL * 10:
                        raise TooLarge("factorial too large")


def _vet_power(base: Node, exp: Node) -> None:
    if has_variables(exp):
        if any(n[0] in ("pow", "fact") for n in walk(exp)):
            raise TooLarge("nested symbolic exponent")
        return
    e = _approx(exp)
    if e is None:
        return  # e.g. e^{i\pi}: sympy handles it; the exponent's own powers are vetted too
    if not math.isfinite(e):
        raise TooLarge("exponent too large")
    if abs(e) <= 1_000:
        return
    if has_variables(base):
        raise TooLarge("exponent too large")
    b = _approx(base)
    if b is None or not math.isfinite(b) or abs(e) * math.log2(abs(b) + 2) > MAX_BITS:
        if b is not None and abs(b) in (0.0, 1.0):
            return
        raise TooLarge("power too large")


_PI = Decimal("3.14159265358979323846264338327950288419716939937510582097494459230781640628620899")
_CTX = Context(prec=50, Emax=10**9, Emin=-(10**9))


def decimal_value(node: Node) -> Optional[Decimal]:
    """The real value of a constant tree to 50 digits, or None (variables, i, functions)."""
    try:
        return _dec(node)
    except (InvalidOperation, OverflowError, ZeroDivisionError, ValueError):
        return None


def _dec(node: Node) -> Optional[Decimal]:
    kind, c = node[0], _CTX
    if kind == "num":
        return c.divide(Decimal(node[1]), Decimal(node[2]))
    if kind == "pi":
        return +_PI
    if kind == "e":
        return c.exp(Decimal(1))
    sub = [_dec(x) for x in node[1]] if kind in ("add", "mul") else None
    if sub is not None:
        if any(v is None for v in sub):
            return None
        acc = Decimal(0) if kind == "add" else Decimal(1)
        for v in sub:
            acc = c.add(acc, v) if kind == "add" else c.multiply(acc, v)
        return acc
    if kind in ("neg", "deg", "pct", "sqrt"):
        v = _dec(node[1])
        if v is None:
            return None
        return {"neg": c.minus, "deg": c.plus, "sqrt": c.sqrt}.get(kind, lambda x: c.divide(x, 100))(v)
    if kind in ("div", "pow", "root"):
        a, b = _dec(node[1]), _dec(node[2])
        if a is None or b is None:
            return None
        if kind == "div":
            return c.divide(a, b)
        if kind == "root":
            a, b = b, c.divide(1, a)
        if b == b.to_integral_value() and abs(b) <= 10_000:
            return c.power(a, int(b))
        return c.power(a, b) if a > 0 else None
    if kind == "fact":
        v = _dec(node[1])
        if v is None or v != v.to_integral_value() or not 0 <= v <= MAX_FACTORIAL:
            return None
        return c.plus(Decimal(math.factorial(int(v))))
    return None


def has_decimal(node: Node) -> bool:
    """Whether the tree contains a decimal literal (``0.5``), which allows the float tolerance."""
    return any(n[0] == "num" and n[3] for n in walk(node))
