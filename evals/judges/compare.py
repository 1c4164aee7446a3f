"""The judge as one more rater: its agreement with the humans, per criterion.

Pure number code over pandas frames (no Django): ``evals.judges.compare_data`` loads
the frames. The coefficients come from the libraries: Cohen's kappa from statsmodels
(quadratic weights for ordered scales), Krippendorff's alpha from ``krippendorff``.

Frames:
- ``human``: one row per (item, rater, criterion) with ``item``, ``rater``, ``cohort``
  (may be empty), ``criterion``, ``value``;
- ``judge``: one row per (item, criterion) with ``item``, ``criterion``, ``value``, ``at``
  (when the judge answered, for drift).

Consensus per item: the lower median for ordered scales (so it stays on the scale),
the most frequent answer for categories (ties go to the first in the rubric's order).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import krippendorff
import numpy as np
import pandas as pd
from statsmodels.stats.inter_rater import cohens_kappa

ORDERED = {"likert", "numeric"}
COMPARABLE = {"likert", "numeric", "pass_fail", "categorical"}


@dataclass(frozen=True)
class CriterionSpec:
    key: str
    name: str
    kind: str
    categories: tuple[Any, ...]  # every possible value, in the rubric's order

    @property
    def ordered(self) -> bool:
        return self.kind in ORDERED


@dataclass
class Agreement:
    n_items: int
    kappa: float | None
    kappa_ci: tuple[float | None, float | None]
    alpha: float | None
    alpha_ci: tuple[float | None, float | None]
    exact: float | None  # share of items where the judge equals the consensus


@dataclass
class CriterionComparison:
    spec: CriterionSpec
    consensus: Agreement
    cohorts: dict[str, Agreement] = field(default_factory=dict)
    confusion: list[list[int]] = field(default_factory=list)  # rows human, columns judge
    drift: list[dict[str, Any]] = field(default_factory=list)


def _clean(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def consensus(values: Sequence[Any], spec: CriterionSpec) -> Any:
    """The humans' answer on one item: lower median (ordered) or majority (categories)."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    if spec.ordered:
        ordered = sorted(present, key=lambda v: _code(v, spec))
        return ordered[(len(ordered) - 1) // 2]
    counts = pd.Series(present).value_counts()
    top = counts[counts == counts.max()].index
    return min(top, key=lambda v: _code(v, spec))


def _code(value: Any, spec: CriterionSpec) -> int:
    return spec.categories.index(value)


def _codes(values: Sequence[Any], spec: CriterionSpec) -> np.ndarray:
    index = {value: n for n, value in enumerate(spec.categories)}
    return np.array([index[v] for v in values], dtype=np.int64)


def _kappa_codes(h: np.ndarray, j: np.ndarray, size: int, ordered: bool) -> float | None:
    if h.size == 0:
        return None
    table = np.bincount(h * size + j, minlength=size * size).reshape(size, size)
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            value = cohens_kappa(
                table.astype(float), wt="quadratic" if ordered else None, return_results=False
            )
    except (ZeroDivisionError, ValueError):
        return None
    return _clean(float(value))


def _alpha_codes(h: np.ndarray, j: np.ndarray, size: int, ordered: bool) -> float | None:
    if h.size == 0 or (np.all(h == h[0]) and np.all(j == h[0])):
        return None
    try:
        value = krippendorff.alpha(
            reliability_data=np.vstack([h, j]).astype(float),
            level_of_measurement="ordinal" if ordered else "nominal",
            value_domain=list(range(size)),
        )
    except (ValueError, ZeroDivisionError):
        return None
    return _clean(value)


def kappa(human: Sequence[Any], judge: Sequence[Any], spec: CriterionSpec) -> float | None:
    """Cohen's kappa of two raters (quadratic weights for ordered scales)."""
    size = len(spec.categories)
    return _kappa_codes(_codes(human, spec), _codes(judge, spec), size, spec.ordered)


def _percentile_ci(samples: list[float | None]) -> tuple[float | None, float | None]:
    finite = [s for s in samples if s is not None and math.isfinite(s)]
    if len(finite) < 10:
        return None, None
    low, high = np.percentile(finite, [2.5, 97.5])
    return float(low), float(high)


def agreement(
    human: Sequence[Any],
    judge: Sequence[Any],
    spec: CriterionSpec,
    *,
    bootstrap: int = 500,
    seed: int = 0,
) -> Agreement:
    """Kappa and alpha with bootstrap 95% CIs (items resampled with replacement)."""
    h, j = _codes(human, spec), _codes(judge, spec)
    n, size, ordered = int(h.size), len(spec.categories), spec.ordered
    if n == 0:
        return Agreement(0, None, (None, None), None, (None, None), None)
    rng = np.random.default_rng(seed)
    kappas, alphas = [], []
    for _ in range(bootstrap if n > 1 else 0):
        picks = rng.integers(0, n, n)
        kappas.append(_kappa_codes(h[picks], j[picks], size, ordered))
        alphas.append(_alpha_codes(h[picks], j[picks], size, ordered))
    return Agreement(
        n_items=n,
        kappa=_kappa_codes(h, j, size, ordered),
        kappa_ci=_percentile_ci(kappas),
        alpha=_alpha_codes(h, j, size, ordered),
        alpha_ci=_percentile_ci(alphas),
        exact=float(np.mean(h == j)),
    )


def confusion(human: Sequence[Any], judge: Sequence[Any], spec: CriterionSpec) -> list[list[int]]:
    size = len(spec.categories)
    matrix = [[0] * size for _ in range(size)]
    for h, j in zip(human, judge, strict=True):
        matrix[_code(h, spec)][_code(j, spec)] += 1
    return matrix


def _pairs(human: pd.DataFrame, judge: pd.DataFrame, spec: CriterionSpec) -> pd.DataFrame:
    """One row per item both sides answered: consensus, judge value, judge time."""
    mine = human[human["criterion"] == spec.key]
    theirs = judge[judge["criterion"] == spec.key]
    answers = dict(
        zip(theirs["item"], zip(theirs["value"], theirs["at"], strict=True), strict=True)
    )
    allowed = set(spec.categories)
    rows = []
    for item, values in mine.groupby("item", sort=True)["value"].agg(list).items():
        if item not in answers:
            continue
        value, at = answers[item]
        agreed = consensus(values, spec)
        if agreed is None or value is None or value not in allowed:
            continue
        rows.append({"item": item, "human": agreed, "judge": value, "at": at})
    return pd.DataFrame(rows, columns=["item", "human", "judge", "at"])


def drift(
    pairs: pd.DataFrame, spec: CriterionSpec, *, freq: str = "W", bootstrap: int = 0
) -> list[dict[str, Any]]:
    """Agreement per period of the judge's answer time: is the judge drifting?"""
    if pairs.empty:
        return []
    times = pd.to_datetime(pairs["at"], utc=True).dt.tz_localize(None)
    periods = times.dt.to_period(freq)
    out = []
    for period, group in pairs.groupby(periods, sort=True):
        result = agreement(list(group["human"]), list(group["judge"]), spec, bootstrap=bootstrap)
        out.append(
            {
                "period": str(period.start_time.date()),
                "n_items": result.n_items,
                "kappa": result.kappa,
                "alpha": result.alpha,
                "exact": result.exact,
            }
        )
    return out


def compare(
    human: pd.DataFrame,
    judge: pd.DataFrame,
    specs: Sequence[CriterionSpec],
    *,
    bootstrap: int = 500,
    freq: str = "W",
) -> list[CriterionComparison]:
    """Per criterion: judge vs human consensus, vs each cohort's consensus, the confusion
    matrix (human consensus rows, judge columns) and the drift over time."""
    out = []
    for spec in specs:
        if spec.kind not in COMPARABLE or not spec.categories:
            continue
        pairs = _pairs(human, judge, spec)
        result = CriterionComparison(
            spec=spec,
            consensus=agreement(
                list(pairs["human"]), list(pairs["judge"]), spec, bootstrap=bootstrap
            ),
            confusion=confusion(list(pairs["human"]), list(pairs["judge"]), spec),
            drift=drift(pairs, spec, freq=freq),
        )
        cohorts = sorted(c for c in human["cohort"].dropna().unique() if c)
        for cohort in cohorts:
            sub = _pairs(human[human["cohort"] == cohort], judge, spec)
            result.cohorts[cohort] = agreement(
                list(sub["human"]), list(sub["judge"]), spec, bootstrap=bootstrap
            )
        out.append(result)
    return out
