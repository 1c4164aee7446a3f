"""Small, pure statistics for the results pages: no Django here.

Every function takes plain numbers (or numpy arrays) so it can be tested against
scipy and statsmodels and reused by alerts and exports. Data often arrives grouped
(``value, count`` pairs from a SQL ``GROUP BY``), so the mean interval has a form
that takes counts as weights and gives exactly what the row-by-row form gives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as sp_stats

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Interval:
    """An estimate with its 95% interval and the number of observations behind it."""

    estimate: float | None
    low: float | None
    high: float | None
    n: int


EMPTY = Interval(None, None, None, 0)


def mean_ci(values, weights=None, confidence: float = 0.95) -> Interval:
    """Mean with a Student t confidence interval.

    ``weights`` are integer frequency weights (how many times each value occurs),
    so ``mean_ci([4, 5], [2, 1])`` equals ``mean_ci([4, 4, 5])``. With one
    observation the interval is undefined (None); with no spread it is the point.
    """
    x = np.asarray(values, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    keep = ~np.isnan(x) & (w > 0)
    x, w = x[keep], w[keep]
    n = float(w.sum())
    if n == 0:
        return EMPTY
    mean = float((w * x).sum() / n)
    if n < 2:
        return Interval(mean, None, None, int(n))
    variance = float((w * (x - mean) ** 2).sum() / (n - 1))
    se = math.sqrt(max(variance, 0.0) / n)
    half = float(sp_stats.t.ppf(0.5 + confidence / 2, n - 1)) * se
    return Interval(mean, mean - half, mean + half, int(n))


def wilson_ci(successes: int, n: int, z: float = Z_95) -> Interval:
    """A proportion with its Wilson score interval (no continuity correction)."""
    if n <= 0:
        return EMPTY
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half), int(n))


def mean_ci_moments(n: float, total: float, total_sq: float, confidence: float = 0.95) -> Interval:
    """The same t-interval as ``mean_ci``, from the count, sum and sum of squares.

    This is what SQL aggregation returns (``COUNT``, ``SUM(x)``, ``SUM(x*x)``), so the
    rows never have to leave the database.
    """
    n = float(n or 0)
    if n <= 0:
        return EMPTY
    mean = float(total) / n
    if n < 2:
        return Interval(mean, None, None, int(n))
    variance = max((float(total_sq) - n * mean * mean) / (n - 1), 0.0)
    half = float(sp_stats.t.ppf(0.5 + confidence / 2, n - 1)) * math.sqrt(variance / n)
    return Interval(mean, mean - half, mean + half, int(n))
