"""Spearman rank correlation with its p-value, in the standard library only (scipy is not a
runtime dependency of sparks).

``rho`` is the Pearson correlation of the average ranks (ties share the mean of their ranks),
as in ``scipy.stats.spearmanr``. The two-sided p-value is exact for small samples: for
``n <= EXACT_MAX_N`` every permutation of one variable's ranks is tried (n! of them, 40,320 at
n = 8) and p is the share whose |rho| is at least the observed |rho|; this holds with ties too
and suits a handful of checkpoints, where the usual approximation is poor. For larger ``n``, p
comes from the t-distribution approximation ``t = rho sqrt((n - 2) / (1 - rho^2))`` with
``n - 2`` degrees of freedom (scipy's default), through the regularised incomplete beta
function (continued fraction, Numerical Recipes' ``betacf``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass
from typing import Any, Sequence

__all__ = ["EXACT_MAX_N", "Correlation", "ranks", "spearman", "t_two_sided_p"]

EXACT_MAX_N = 8
_TIE = 1e-12  # permutations whose |rho| equals the observed one up to float noise count as extreme


@dataclass(frozen=True)
class Correlation:
    """A Spearman correlation: ``rho``, its two-sided ``p``, the sample size ``n``, the
    ``method`` of the p-value, and a ``note`` when rho is undefined (then rho and p are None)."""

    rho: float | None
    p: float | None
    n: int
    method: str | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks of ``values``; tied values share the mean of their ranks."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for i in order[start : end + 1]:
            result[i] = (start + end) / 2 + 1
        start = end + 1
    return result


def spearman(x: Sequence[float], y: Sequence[float], min_n: int = 3) -> Correlation:
    """Spearman's rho of paired samples ``x`` and ``y`` and its two-sided p-value (exact for
    ``n <= EXACT_MAX_N``, else the t approximation). Undefined (None, with a note) below
    ``min_n`` pairs or when either variable is constant."""
    if len(x) != len(y):
        raise ValueError(f"paired samples differ in length ({len(x)} and {len(y)})")
    n = len(x)
    if n < min_n:
        return Correlation(None, None, n, note=f"needs at least {min_n} pairs, has {n}")
    rx, ry = ranks(x), ranks(y)
    rho = _pearson(rx, ry)
    if rho is None:
        return Correlation(None, None, n, note="one of the variables is constant")
    if n <= EXACT_MAX_N:
        return Correlation(rho, _exact_p(rx, ry, rho), n, "exact permutation test, two-sided")
    return Correlation(
        rho, t_two_sided_p(rho, n), n, f"t approximation with {n - 2} degrees of freedom, two-sided"
    )


def _pearson(a: Sequence[float], b: Sequence[float]) -> float | None:
    mean_a, mean_b = math.fsum(a) / len(a), math.fsum(b) / len(b)
    da, db = [v - mean_a for v in a], [v - mean_b for v in b]
    spread = math.sqrt(math.fsum(v * v for v in da) * math.fsum(v * v for v in db))
    if spread == 0:
        return None
    return max(-1.0, min(1.0, math.fsum(p * q for p, q in zip(da, db)) / spread))


def _exact_p(rx: Sequence[float], ry: Sequence[float], rho: float) -> float:
    """Share of the permutations of ``ry`` whose |rho| with ``rx`` reaches the observed |rho|."""
    extreme = total = 0
    for permuted in itertools.permutations(ry):
        total += 1
        value = _pearson(rx, permuted)
        extreme += value is not None and abs(value) >= abs(rho) - _TIE
    return extreme / total


def t_two_sided_p(rho: float, n: int) -> float:
    """Two-sided p of rho under the t approximation with ``n - 2`` degrees of freedom."""
    df = n - 2
    if abs(rho) >= 1:
        return 0.0
    t_squared = rho * rho * df / (1 - rho * rho)
    return _betainc(df / 2, 0.5, df / (df + t_squared))


def _betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):  # the continued fraction converges fast on this side
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1 - x) / b


def _betacf(a: float, b: float, x: float, steps: int = 300, eps: float = 1e-15) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz's method)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, steps + 1):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h
