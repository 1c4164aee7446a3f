"""Inter-rater agreement coefficients over long-format ratings (item, rater, value).

Pure numpy/pandas, no Django, so it can be tested against published examples and
benchmarked alone. Every coefficient is computed from per-item sufficient statistics
(value counts per item) and is written as a function of a matrix of item weights
``W`` (one row per bootstrap resample, one column per item). The point estimate is
the row of ones; a bootstrap resample of items is a row of multinomial counts. So
one code path gives the value and its bootstrap confidence interval, and nothing
ever builds an items x values x values array.

Missing data: reviewers rate different subsets of items. An item with one rating
has no pair of ratings, so it adds nothing to alpha, percent agreement, Fleiss'
kappa or Cohen's kappa (it still counts in Gwet's category prevalence, as Gwet
defines it).

The modules: ``ratings`` (coding, per-item counts), ``coefficients`` (alpha, Fleiss,
percent agreement, Gwet), ``cohen`` (kappa per pair of raters) and ``summaries``
(intervals, readings, report entries). This module runs them on one set of ratings
and is the one callers import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from evals.stats.coefficients import _alpha, _fleiss, _gwet, _percent
from evals.stats.cohen import (
    PairData,
    _kappa_tables,
    _pair_tables,
    _pairs,
    cohen_kappa_table,
    quadratic_weights,
)
from evals.stats.ratings import LEVELS, AgreementError, Ratings, Stats, item_stats, prepare
from evals.stats.summaries import (
    MIN_ITEMS_FOR_INTERVAL,
    _coefficient_entries,
    _cohen_summary,
    _finite,
    _interval_cis,
    read_alpha,
    read_kappa,
    read_percent,
)
from evals.stats.weights import DEFAULT_BOOTSTRAP, Plan, Recording, Resampler

__all__ = [
    "point_alpha",
    "DEFAULT_BOOTSTRAP",
    "LEVELS",
    "MIN_ITEMS_FOR_INTERVAL",
    "AgreementError",
    "PairData",
    "Ratings",
    "Resampler",
    "Stats",
    "_alpha",
    "_interval_cis",
    "agreement",
    "alpha",
    "cohen_kappa_table",
    "compute",
    "item_stats",
    "prepare",
    "quadratic_weights",
    "read_alpha",
    "read_kappa",
    "read_percent",
]

Coefficient = Callable[[Stats, Any], np.ndarray]


def alpha(
    items: Sequence[Any],
    raters: Sequence[Any],
    values: Sequence[Any],
    level: str = "nominal",
) -> float | None:
    """Krippendorff's alpha at ``level``; None when there is no pair of ratings to compare."""
    stats = item_stats(prepare(items, raters, values, level))
    return _finite(float(_alpha(stats, Recording(stats.ratings.n_items))[0]))


def point_alpha(
    items: Sequence[Any], raters: Sequence[Any], values: Sequence[Any], level: str
) -> float | None:
    """Krippendorff's alpha with every item weighted once and no interval (the reviewers
    page computes it per reviewer left out); None when no item has two ratings."""
    ratings = prepare(np.asarray(items), np.asarray(raters), values, level)
    if ratings.n_items == 0 or ratings.n_values == 0:
        return None  # no item with two ratings yet: nothing to agree on
    stats = item_stats(ratings)
    value = float(_alpha(stats, np.ones((1, ratings.n_items)))[0])
    return value if np.isfinite(value) else None


def compute(
    ratings: Ratings,
    resamples: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
    resampler: Resampler | None = None,
    item_columns: np.ndarray | None = None,
    pairs: bool = True,
    n_categories: int | None = None,
) -> dict[str, Any]:
    """Every coefficient for one set of ratings, each with a bootstrap 95% CI.

    ``resampler`` and ``item_columns`` (this set's items as columns of the
    resampler's items) share resamples across the sets of one report.
    """
    stats = item_stats(ratings)
    pairable = stats.pairable
    n_items = int(pairable.sum())
    n_raters = int(np.unique(ratings.rater[pairable[ratings.item]]).size)
    pair_data = _pairs(ratings) if pairs and n_items else None
    weights = None if ratings.level == "nominal" else quadratic_weights(ratings.domain)
    functions = _functions(ratings, n_categories or ratings.n_values, pair_data, weights)
    recording = Recording(ratings.n_items)
    points = {name: fn(stats, recording)[0] for name, fn in functions.items()}
    stacked: dict[str, np.ndarray | None] = dict.fromkeys(functions)
    if resamples and n_items >= 2:
        resampler = resampler or Resampler(ratings.n_items, resamples, seed)
        stacked = _bootstrap(stats, functions, recording, resampler, item_columns)
    result: dict[str, Any] = {
        "level": ratings.level,
        "n_items": n_items,
        "n_raters": n_raters,
        "n_ratings": int(stats.m[pairable].sum()),
        "n_items_single_rating": int((stats.m == 1).sum()),
        "resamples": resamples if n_items >= 2 else 0,
        "coefficients": _coefficient_entries(ratings, stats, points, stacked, n_items, n_raters),
    }
    if "cohen_pairs" in functions:
        result["cohen_pairs"], result["coefficients"]["cohen_kappa_mean"] = _cohen_summary(
            ratings, pair_data, points, stacked, weights is not None
        )
    return result


def _functions(
    ratings: Ratings,
    categories: int,
    pair_data: PairData | None,
    weights: np.ndarray | None,
) -> dict[str, Coefficient]:
    """The coefficients that apply to these ratings, by name, each a function of (stats, W).

    The order is kept: the bootstrap answers the sums each one asks for in this order.
    """
    discrete = ratings.level in ("nominal", "ordinal") or ratings.n_values <= 20
    functions: dict[str, Coefficient] = {"alpha": _alpha}
    if discrete:
        functions["fleiss_kappa"] = _fleiss
        functions["gwet_ac1"] = lambda s, W: _gwet(s, W, categories)
    functions["percent_agreement"] = _percent
    if pair_data is not None and discrete:
        V = ratings.n_values
        functions["cohen_pairs"] = lambda s, W: _kappa_tables(_pair_tables(pair_data, W, V), None)
        if weights is not None:
            functions["cohen_pairs_weighted"] = lambda s, W: _kappa_tables(
                _pair_tables(pair_data, W, V), weights
            )
    return functions


def _bootstrap(
    stats: Stats,
    functions: dict[str, Coefficient],
    recording: Recording,
    resampler: Resampler,
    item_columns: np.ndarray | None,
) -> dict[str, np.ndarray | None]:
    """Each coefficient over every resample, replaying the sums the point estimate asked for."""
    plan = Plan(recording.asked, stats.ratings.n_items, item_columns, resampler.n_items)
    samples: dict[str, list[np.ndarray]] = {name: [] for name in functions}
    # One BLAS thread: many small products, and web/worker processes share the cores.
    with threadpool_limits(limits=1, user_api="blas"):
        for W in resampler.chunks():
            replay = plan.replay(W)
            for name, fn in functions.items():
                samples[name].append(fn(stats, replay))
    return {name: (np.concatenate(parts) if parts else None) for name, parts in samples.items()}


def agreement(
    items: Sequence[Any],
    raters: Sequence[Any],
    values: Sequence[Any],
    level: str = "nominal",
    categories: Sequence[Any] | None = None,
    resamples: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
) -> dict[str, Any]:
    """Every coefficient for long-format ratings, as a JSON-ready dict."""
    ratings = prepare(items, raters, values, level, categories)
    n_categories = len(categories) if categories is not None else None
    return compute(ratings, resamples=resamples, seed=seed, n_categories=n_categories)
