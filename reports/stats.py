"""Paired statistics for comparing two runs on the same problems.

* Single samples (every score 0 or 1 in both runs): McNemar's exact test, i.e. a two-sided
  binomial test on the discordant pairs (b problems only the baseline solved, c only the
  candidate solved): ``p = min(1, 2 * P(X <= min(b, c)))`` with ``X ~ Binomial(b + c, 1/2)``.
* Scores averaged over n samples (pass@1): a paired bootstrap over problems. The differences
  ``d_i = candidate_i - baseline_i`` are resampled with replacement (:data:`BOOTSTRAP_SAMPLES`
  times, seeded); the two-sided p value is the share of resampled means of the *centred*
  differences ``d_i - mean(d)`` at least as far from 0 as the observed mean (plus one, over
  samples plus one). On a handful of problems the bootstrap is over-confident, so its p value
is floored at ``2 / 2**k`` for k problems whose scores differ: the smallest p value any exact
paired test (sign test, sign-flip permutation) can reach with k informative pairs.

The 95% confidence interval of the difference is the percentile interval of the same paired
bootstrap in both cases (so every delta in a report has a comparable interval); the decision
"significant" uses the test's p value and ``alpha`` (0.05). No correction for testing several
tasks and tiers is applied: a report lists every test it made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "BOOTSTRAP_SAMPLES",
    "Comparison",
    "bootstrap_mean_ci",
    "compare_paired",
    "mcnemar_exact",
    "paired_bootstrap",
]

BOOTSTRAP_SAMPLES = 10_000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Comparison:
    """Candidate minus baseline on paired problems."""

    n: int  # paired problems
    baseline: float  # mean score
    candidate: float
    delta: float  # candidate - baseline
    ci_low: float  # 95% interval of delta
    ci_high: float
    p_value: float
    test: str  # "mcnemar-exact", "paired-bootstrap" or "none"
    worse: int  # problems whose score dropped
    better: int

    def significant(self, alpha: float = 0.05) -> bool:
        return self.n > 0 and self.p_value < alpha

    def regression(self, alpha: float = 0.05) -> bool:
        """Significantly worse than the baseline."""
        return self.significant(alpha) and self.delta < 0


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p value for ``b`` and ``c`` discordant pairs."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def _rng(seed: int) -> np.random.Generator:
    import numpy as np

    return np.random.default_rng(seed)


def paired_bootstrap(
    differences: Sequence[float], *, seed: int = 0, samples: int = BOOTSTRAP_SAMPLES
) -> tuple[float, float, float]:
    """(ci_low, ci_high, p_value) of the mean of paired differences, by bootstrap over items."""
    import numpy as np

    d = np.asarray(differences, dtype=float)
    if d.size == 0:
        return 0.0, 0.0, 1.0
    observed = float(d.mean())
    informative = int(np.count_nonzero(d))
    floor = min(1.0, 2 * 0.5**informative) if informative else 1.0
    if np.all(d == d[0]):
        return observed, observed, floor
    rng = _rng(seed)
    index = rng.integers(0, d.size, size=(samples, d.size))
    means = d[index].mean(axis=1)
    alpha = 1 - CONFIDENCE
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    centred = means - observed
    extreme = int(np.count_nonzero(np.abs(centred) >= abs(observed) - 1e-12))
    p_value = (extreme + 1) / (samples + 1)
    return float(low), float(high), float(min(1.0, max(p_value, floor)))


def bootstrap_mean_ci(
    values: Sequence[float], *, seed: int = 0, samples: int = BOOTSTRAP_SAMPLES
) -> tuple[float, float]:
    """95% percentile interval of the mean of ``values`` (bootstrap over items)."""
    low, high, _ = paired_bootstrap(values, seed=seed, samples=samples)
    return low, high


def compare_paired(
    baseline: Sequence[float], candidate: Sequence[float], *, seed: int = 0
) -> Comparison:
    """Compare paired per-problem scores (each in [0, 1]) of a baseline and a candidate."""
    if len(baseline) != len(candidate):
        raise ValueError("paired scores must have the same length")
    n = len(baseline)
    if n == 0:
        return Comparison(0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, "none", 0, 0)
    differences = [c - b for b, c in zip(baseline, candidate, strict=True)]
    low, high, p_boot = paired_bootstrap(differences, seed=seed)
    binary = all(v in (0.0, 1.0) for v in (*baseline, *candidate))
    worse = sum(1 for d in differences if d < 0)
    better = sum(1 for d in differences if d > 0)
    if binary:
        p_value, test = mcnemar_exact(worse, better), "mcnemar-exact"
    else:
        p_value, test = p_boot, "paired-bootstrap"
    base_mean, cand_mean = sum(baseline) / n, sum(candidate) / n
    return Comparison(
        n, base_mean, cand_mean, cand_mean - base_mean, low, high, p_value, test, worse, better
    )
