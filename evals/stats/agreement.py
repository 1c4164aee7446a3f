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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from threadpoolctl import threadpool_limits

from evals.stats.weights import DEFAULT_BOOTSTRAP, Plan, Recording, Resampler, Weights, as_weights

LEVELS = ("nominal", "ordinal", "interval", "ratio")

DENSE_COUNT_CELLS = 8_000_000


class AgreementError(ValueError):
    """Ratings that cannot be analysed as given (bad level, duplicate rater on an item)."""


# --- Preparing ratings --------------------------------------------------------------------


@dataclass
class Ratings:
    """Ratings coded to integers: item and rater codes, value codes into ``domain``."""

    item: np.ndarray
    rater: np.ndarray
    code: np.ndarray
    domain: np.ndarray
    level: str
    item_labels: np.ndarray
    rater_labels: np.ndarray
    numeric: np.ndarray | None = None  # float value per rating, for interval/ratio

    @property
    def n_items(self) -> int:
        return len(self.item_labels)

    @property
    def n_values(self) -> int:
        return len(self.domain)


def prepare(
    items: Sequence[Any] | np.ndarray | pd.Series,
    raters: Sequence[Any] | np.ndarray | pd.Series,
    values: Sequence[Any] | np.ndarray | pd.Series,
    level: str = "nominal",
    categories: Sequence[Any] | None = None,
) -> Ratings:
    """Code long-format ratings. Missing values (None, NaN) are dropped.

    ``categories`` is the full scale (for nominal and ordinal data): it fixes the
    order of an ordinal scale and the number of categories Gwet's AC1 uses.
    Raises AgreementError on an unknown level or a rater rating an item twice.
    """
    if level not in LEVELS:
        raise AgreementError(f"Unknown level {level!r}: use one of {', '.join(LEVELS)}.")
    items, raters, raw = _array(items), _array(raters), _array(values)
    if not len(items) == len(raters) == len(raw):
        raise AgreementError("Items, raters and values must have the same length.")
    present = ~pd.isna(raw)
    if not present.all():
        items, raters, raw = items[present], raters[present], raw[present]
    item_codes, item_labels = pd.factorize(items, sort=False)
    rater_codes, rater_labels = pd.factorize(raters, sort=True)
    _check_duplicates(item_codes, rater_codes, items, raters, len(rater_labels))
    numeric = None
    if level == "nominal":
        codes, domain = _code_nominal(raw, categories)
    else:
        try:
            numbers = pd.to_numeric(pd.Series(raw)).to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise AgreementError(f"{level.capitalize()} data must be numbers: {exc}") from None
        if categories is not None:
            domain = np.unique(np.asarray(list(categories), dtype=np.float64))
            extra = np.setdiff1d(np.unique(numbers), domain)
            if extra.size:
                raise AgreementError(f"Values outside the scale: {extra[:5].tolist()}.")
        else:
            domain = np.unique(numbers)
        codes = np.searchsorted(domain, numbers)
        numeric = numbers
        if level == "ratio" and (numbers < 0).any():
            raise AgreementError("Ratio data cannot be negative.")
    return Ratings(
        item=item_codes.astype(np.int64),
        rater=rater_codes.astype(np.int64),
        code=np.asarray(codes, dtype=np.int64),
        domain=np.asarray(domain),
        level=level,
        item_labels=np.asarray(item_labels),
        rater_labels=np.asarray(rater_labels),
        numeric=numeric,
    )


def _array(values: Any) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return values
    if isinstance(values, pd.Series):
        return values.to_numpy()
    return np.asarray(list(values), dtype=object)


def _check_duplicates(
    item_codes: np.ndarray, rater_codes: np.ndarray, items: Any, raters: Any, n_raters: int
) -> None:
    key = item_codes.astype(np.int64) * n_raters + rater_codes
    if key.size and int(key.max()) < 50_000_000:
        seen = np.bincount(key)
        repeated = np.flatnonzero(seen[key] > 1)
    else:
        repeated = np.flatnonzero(pd.Series(key).duplicated(keep=False).to_numpy())
    if repeated.size:
        first = repeated[0]
        raise AgreementError(
            f"Rater {_plain(raters[first])!r} rated item {_plain(items[first])!r} more than once."
        )


def _code_nominal(raw: np.ndarray, categories: Sequence[Any] | None) -> tuple[np.ndarray, Any]:
    if categories is None:
        codes, uniques = pd.factorize(raw, sort=False)
        return codes, np.asarray(uniques, dtype=object)
    domain = list(categories)
    codes = pd.Index(pd.Series(domain, dtype=object)).get_indexer(pd.Series(raw, dtype=object))
    if (codes < 0).any():
        bad = raw[np.flatnonzero(codes < 0)[0]]
        raise AgreementError(f"Value {_plain(bad)!r} is not one of the categories.")
    return codes.astype(np.int64), np.asarray(domain, dtype=object)


# --- Per-item sufficient statistics -------------------------------------------------------


@dataclass
class Stats:
    """Per-item value counts and the sums each coefficient needs."""

    ratings: Ratings
    m: np.ndarray  # ratings per item
    counts: sparse.csr_matrix  # items x values
    sumsq: np.ndarray  # sum over values of count^2, per item
    entry_item: np.ndarray
    entry_code: np.ndarray
    entry_count: np.ndarray
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def pairable(self) -> np.ndarray:
        return self.m >= 2


def item_stats(ratings: Ratings) -> Stats:
    n_items, n_values = ratings.n_items, max(ratings.n_values, 1)
    if n_items * n_values <= DENSE_COUNT_CELLS:
        dense = np.bincount(ratings.item * n_values + ratings.code, minlength=n_items * n_values)
        keys = np.flatnonzero(dense)
        entry_count = dense[keys]
    else:
        keys, entry_count = np.unique(ratings.item * n_values + ratings.code, return_counts=True)
    entry_item, entry_code = np.divmod(keys, n_values)
    counts = sparse.csr_matrix(
        (entry_count.astype(np.float64), (entry_item, entry_code)), shape=(n_items, n_values)
    )
    m = np.bincount(ratings.item, minlength=n_items).astype(np.float64)
    sumsq = np.bincount(entry_item, entry_count.astype(np.float64) ** 2, minlength=n_items)
    return Stats(ratings, m, counts, sumsq, entry_item, entry_code, entry_count)


def _wsum(W: Weights, x: np.ndarray) -> np.ndarray:
    return W.dot(x)


def _wcounts(W: Weights, counts: sparse.spmatrix) -> np.ndarray:
    """Weighted value totals per resample: (b x items) @ (items x values)."""
    return W.counts(counts)


# --- Krippendorff's alpha -----------------------------------------------------------------


def _alpha_nominal(stats: Stats, W: np.ndarray) -> np.ndarray:
    m = stats.m
    pair = stats.pairable
    d = np.zeros_like(m)
    d[pair] = (m[pair] ** 2 - stats.sumsq[pair]) / (m[pair] - 1)
    observed = _wsum(W, d)
    pc = stats._cache.get("pair_counts")
    if pc is None:
        pc = stats._cache["pair_counts"] = sparse.diags(pair.astype(np.float64)) @ stats.counts
    n_c = _wcounts(W, pc)
    n = n_c.sum(axis=1)
    expected = n**2 - (n_c**2).sum(axis=1)
    return _alpha_from(observed, expected, n)


def _alpha_interval(stats: Stats, W: np.ndarray) -> np.ndarray:
    """Interval alpha in closed form: squared differences are variances, no value matrix."""
    r = stats.ratings
    pair = stats.pairable
    m = stats.m
    x = r.numeric - r.numeric[pair[r.item]].mean() if pair.any() else r.numeric
    n_items = r.n_items
    s1 = np.bincount(r.item, x, minlength=n_items)
    means = np.divide(s1, m, out=np.zeros_like(s1), where=m > 0)
    ss = np.bincount(r.item, (x - means[r.item]) ** 2, minlength=n_items)
    d = np.zeros_like(m)
    d[pair] = 2 * m[pair] * ss[pair] / (m[pair] - 1)
    observed = _wsum(W, d)
    mp = np.where(pair, m, 0.0)
    n = _wsum(W, mp)
    s1p = _wsum(W, np.where(pair, s1, 0.0))
    s2p = _wsum(W, np.where(pair, np.bincount(r.item, x**2, minlength=n_items), 0.0))
    expected = 2 * (n * s2p - s1p**2)
    return _alpha_from(observed, expected, n)


def _pair_coincidences(stats: Stats) -> sparse.csr_matrix:
    """Per-item coincidence contributions, items x (values*values), as a sparse matrix."""
    cached = stats._cache.get("coincidences")
    if cached is not None:
        return cached
    V = stats.ratings.n_values
    keep = stats.m[stats.entry_item] >= 2
    frame = pd.DataFrame(
        {
            "item": stats.entry_item[keep],
            "code": stats.entry_code[keep],
            "count": stats.entry_count[keep].astype(np.float64),
        }
    )
    pairs = frame.merge(frame, on="item", suffixes=("_a", "_b"))
    item = pairs["item"].to_numpy()
    ca, cb = pairs["code_a"].to_numpy(), pairs["code_b"].to_numpy()
    na, nb = pairs["count_a"].to_numpy(), pairs["count_b"].to_numpy()
    value = (na * nb - np.where(ca == cb, na, 0.0)) / (stats.m[item] - 1)
    matrix = sparse.csr_matrix((value, (item, ca * V + cb)), shape=(stats.ratings.n_items, V * V))
    stats._cache["coincidences"] = matrix
    return matrix


def _delta_ratio(domain: np.ndarray) -> np.ndarray:
    v = domain.astype(np.float64)
    total = v[:, None] + v[None, :]
    diff = v[:, None] - v[None, :]
    return np.divide(diff, total, out=np.zeros_like(diff), where=total != 0) ** 2


def _delta_ordinal(n_c: np.ndarray) -> np.ndarray:
    """Ordinal squared distances per resample, from the value marginals (b x V -> b x V x V)."""
    cum = np.cumsum(n_c, axis=1)
    lo = cum[:, :, None] - n_c[:, :, None]  # sum of n_g for g < c
    between = cum[:, None, :] - lo  # sum over g = c..k, for c <= k
    delta = between - (n_c[:, :, None] + n_c[:, None, :]) / 2
    upper = np.triu(np.ones(n_c.shape[1], dtype=bool))
    delta = np.where(upper, delta, np.swapaxes(delta, 1, 2))
    return delta**2


def _alpha_matrix(stats: Stats, W: np.ndarray) -> np.ndarray:
    V = stats.ratings.n_values
    o = W.counts(_pair_coincidences(stats)).reshape(-1, V, V)
    n_c = o.sum(axis=2)
    n = n_c.sum(axis=1)
    if stats.ratings.level == "ordinal":
        delta = _delta_ordinal(n_c)
    else:
        delta = _delta_ratio(stats.ratings.domain)[None, :, :]
    observed = (o * delta).sum(axis=(1, 2))
    expected = np.einsum("bi,bij,bj->b", n_c, np.broadcast_to(delta, o.shape), n_c)
    return _alpha_from(observed, expected, n)


def _alpha_from(observed: np.ndarray, expected: np.ndarray, n: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        result = 1 - (n - 1) * observed / expected
    return np.where((expected > 0) & (n > 1), result, np.nan)


def _alpha(stats: Stats, W: np.ndarray | Weights) -> np.ndarray:
    W = as_weights(W)
    level = stats.ratings.level
    if level == "nominal":
        return _alpha_nominal(stats, W)
    if level == "interval":
        return _alpha_interval(stats, W)
    return _alpha_matrix(stats, W)


# --- Fleiss, percent agreement, Gwet ------------------------------------------------------


def _fleiss_m(stats: Stats) -> int:
    """The number of ratings Fleiss' kappa uses: the most common count among pairable items."""
    pair_m = stats.m[stats.pairable].astype(np.int64)
    return int(np.bincount(pair_m).argmax()) if pair_m.size else 0


def _fleiss(stats: Stats, W: np.ndarray | Weights) -> np.ndarray:
    W = as_weights(W)
    k = _fleiss_m(stats)
    if k < 2:
        return np.full(W.rows, np.nan)
    chosen = (stats.m == k).astype(np.float64)
    p_i = chosen * (stats.sumsq - k) / (k * (k - 1))
    total = _wsum(W, chosen)
    key = f"fleiss_counts_{k}"
    if key not in stats._cache:
        stats._cache[key] = sparse.diags(chosen) @ stats.counts
    with np.errstate(divide="ignore", invalid="ignore"):
        p_c = _wcounts(W, stats._cache[key]) / (k * total[:, None])
        p_bar = _wsum(W, p_i) / total
        p_e = (p_c**2).sum(axis=1)
        result = (p_bar - p_e) / (1 - p_e)
    return np.where((total > 0) & (p_e < 1), result, np.nan)


def _item_agreement(stats: Stats) -> np.ndarray:
    m, pair = stats.m, stats.pairable
    a = np.zeros_like(m)
    a[pair] = (stats.sumsq[pair] - m[pair]) / (m[pair] * (m[pair] - 1))
    return a


def _percent(stats: Stats, W: np.ndarray | Weights) -> np.ndarray:
    W = as_weights(W)
    total = _wsum(W, stats.pairable.astype(np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, _wsum(W, _item_agreement(stats)) / total, np.nan)


def _gwet(stats: Stats, W: np.ndarray | Weights, n_categories: int) -> np.ndarray:
    W = as_weights(W)
    if n_categories < 2:
        return np.full(W.rows, np.nan)
    pair = stats.pairable.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_a = _wsum(W, _item_agreement(stats)) / _wsum(W, pair)
    rated = (stats.m > 0).astype(np.float64)
    if "shares" not in stats._cache:
        inverse = np.divide(1.0, stats.m, out=np.zeros_like(stats.m), where=stats.m > 0)
        stats._cache["shares"] = sparse.diags(inverse) @ stats.counts
    with np.errstate(divide="ignore", invalid="ignore"):
        pi = _wcounts(W, stats._cache["shares"]) / _wsum(W, rated)[:, None]
        p_e = (pi * (1 - pi)).sum(axis=1) / (n_categories - 1)
        result = (p_a - p_e) / (1 - p_e)
    return np.where(p_e < 1, result, np.nan)


# --- Cohen's kappa per pair of raters -----------------------------------------------------


def cohen_kappa_table(table: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Cohen's kappa from a square confusion table; ``weights`` are disagreement weights."""
    table = np.asarray(table, dtype=np.float64)
    return float(_kappa_tables(table[None, :, :], weights)[0])


def _kappa_tables(tables: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """Kappa for a stack of tables (... x V x V); unweighted when ``weights`` is None."""
    n = tables.sum(axis=(-2, -1))
    rows, cols = tables.sum(axis=-1), tables.sum(axis=-2)
    V = tables.shape[-1]
    w = (1 - np.eye(V)) if weights is None else np.asarray(weights, dtype=np.float64)
    observed = (tables * w).sum(axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.einsum("...i,ij,...j->...", rows, w, cols) / n
        result = 1 - observed / expected
    return np.where((expected > 0) & (n > 0), result, np.nan)


def quadratic_weights(domain: np.ndarray) -> np.ndarray:
    v = np.asarray(domain, dtype=np.float64)
    return (v[:, None] - v[None, :]) ** 2


@dataclass
class PairData:
    """Every pair of ratings on the same item, grouped by pair of raters."""

    rater_a: np.ndarray
    rater_b: np.ndarray
    n_shared: np.ndarray
    cells: sparse.csr_matrix  # items x (pairs * V * V)


def _pairs(ratings: Ratings) -> PairData:
    order = np.lexsort((ratings.rater, ratings.item))
    item, rater, code = ratings.item[order], ratings.rater[order], ratings.code[order]
    V, R = ratings.n_values, len(ratings.rater_labels)
    first, second = [], []
    for offset in range(1, len(item)):
        same = np.flatnonzero(item[:-offset] == item[offset:])
        if same.size == 0:
            break
        first.append(same)
        second.append(same + offset)
    if not first:
        empty = np.zeros(0, dtype=np.int64)
        return PairData(empty, empty, empty, sparse.csr_matrix((ratings.n_items, 0)))
    a, b = np.concatenate(first), np.concatenate(second)
    pair_key = rater[a] * R + rater[b]  # rater[a] < rater[b]: sorted within an item
    pair_ids, pair_index = np.unique(pair_key, return_inverse=True)
    n_pairs = len(pair_ids)
    cell = pair_index * V * V + code[a] * V + code[b]
    cells = sparse.csr_matrix(
        (np.ones(len(a)), (item[a], cell)), shape=(ratings.n_items, n_pairs * V * V)
    )
    return PairData(
        rater_a=pair_ids // R,
        rater_b=pair_ids % R,
        n_shared=np.bincount(pair_index, minlength=n_pairs),
        cells=cells,
    )


def _pair_tables(pairs: PairData, W: np.ndarray | Weights, V: int) -> np.ndarray:
    W = as_weights(W)
    flat = W.counts(pairs.cells)
    return flat.reshape(W.rows, len(pairs.n_shared), V, V)


# --- Bootstrap ----------------------------------------------------------------------------


def _interval_cis(
    samples: np.ndarray | None, count: int
) -> list[tuple[float | None, float | None]]:
    """Percentile intervals for each column of (resamples x columns) at once."""
    if samples is None or samples.size == 0:
        return [(None, None)] * count
    finite = np.isfinite(samples)
    counts = finite.sum(axis=0)
    enough = counts >= max(10, samples.shape[0] // 2)
    ordered = np.sort(np.where(finite, samples, np.inf), axis=0)  # non-finite last
    columns = np.arange(samples.shape[1])
    bounds = []
    for q in (0.025, 0.975):  # linear interpolation, as numpy.percentile does
        position = q * np.maximum(counts - 1, 0)
        below = np.floor(position).astype(np.int64)
        above = np.minimum(below + 1, np.maximum(counts - 1, 0))
        low_value, high_value = ordered[below, columns], ordered[above, columns]
        with np.errstate(invalid="ignore"):
            bounds.append(low_value + (position - below) * (high_value - low_value))
    return [
        (float(lo), float(hi)) if ok else (None, None)
        for lo, hi, ok in zip(bounds[0], bounds[1], enough, strict=True)
    ]


def _interval_ci(samples: np.ndarray) -> tuple[float | None, float | None]:
    good = samples[np.isfinite(samples)]
    if good.size < max(10, samples.size // 2):
        return None, None
    low, high = np.percentile(good, [2.5, 97.5])
    return float(low), float(high)


# --- Readings -----------------------------------------------------------------------------


def read_alpha(value: float | None) -> str:
    """Krippendorff's own guideline for alpha."""
    if value is None:
        return "Not enough paired ratings to compute."
    if value >= 0.8:
        return "Reliable: reviewers agree well enough to draw conclusions from these labels."
    if value >= 0.667:
        return "Tentative: agreement is acceptable only for tentative conclusions."
    if value > 0:
        return "Unreliable: reviewers agree too little to trust these labels."
    return "No agreement beyond chance: reviewers agree no more than random labels would."


def read_kappa(value: float | None) -> str:
    """Landis and Koch's bands, used for kappa and AC1."""
    if value is None:
        return "Not enough paired ratings to compute."
    bands = [
        (0.81, "Almost perfect agreement beyond chance."),
        (0.61, "Substantial agreement beyond chance."),
        (0.41, "Moderate agreement beyond chance."),
        (0.21, "Fair agreement beyond chance: treat these labels with care."),
        (0.0, "Slight agreement beyond chance: these labels are mostly noise."),
    ]
    for floor, text in bands:
        if value >= floor:
            return text
    return "Less agreement than chance: reviewers systematically disagree."


def read_percent(value: float | None) -> str:
    if value is None:
        return "Not enough paired ratings to compute."
    return (
        f"{value * 100:.0f}% of pairs of ratings on the same item are identical "
        "(not corrected for chance)."
    )


# --- The report for one set of ratings ----------------------------------------------------


def _finite(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


# Below this many items a coefficient gets no interval and its reading says so: the
# resamples of a handful of items are the same few items again, and their percentiles
# say nothing (two items gave alpha 0.83 with an "interval" of -0.50 to 0.83).
MIN_ITEMS_FOR_INTERVAL = 10


def _coefficient(
    name: str,
    point: float,
    samples: np.ndarray | None,
    n_items: int,
    n_raters: int,
    reading,
    ci: tuple[float | None, float | None] | None = None,
) -> dict[str, Any]:
    value = _finite(point)
    few = n_items < MIN_ITEMS_FOR_INTERVAL
    if value is None or few:
        low, high = None, None
    elif ci is not None:
        low, high = ci
    else:
        low, high = (None, None) if samples is None else _interval_ci(samples)
    text = reading(value)
    if value is not None and few:
        text = f"Only {n_items} item{'' if n_items == 1 else 's'}: too few to rely on. {text}"
    return {
        "name": name,
        "value": value,
        "ci_low": _at_most_one(low),
        "ci_high": _at_most_one(high),
        "n_items": n_items,
        "n_raters": n_raters,
        "reading": text,
    }


def _at_most_one(bound: float | None) -> float | None:
    """Every coefficient here is at most 1; a shifted bootstrap bound may pass it."""
    return None if bound is None else min(bound, 1.0)


def alpha(
    items: Sequence[Any],
    raters: Sequence[Any],
    values: Sequence[Any],
    level: str = "nominal",
) -> float | None:
    """Krippendorff's alpha at ``level``; None when there is no pair of ratings to compare."""
    stats = item_stats(prepare(items, raters, values, level))
    return _finite(float(_alpha(stats, Recording(stats.ratings.n_items))[0]))


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
    raters_with_pairs = np.unique(ratings.rater[pairable[ratings.item]])
    n_raters = int(raters_with_pairs.size)
    categories = n_categories or ratings.n_values
    fleiss_k = _fleiss_m(stats)
    fleiss_items = int((stats.m == fleiss_k).sum()) if fleiss_k >= 2 else 0
    discrete = ratings.level in ("nominal", "ordinal") or ratings.n_values <= 20
    functions: dict[str, Any] = {"alpha": _alpha}
    if discrete:
        functions["fleiss_kappa"] = _fleiss
        functions["gwet_ac1"] = lambda s, W: _gwet(s, W, categories)
    functions["percent_agreement"] = _percent
    pair_data = _pairs(ratings) if pairs and n_items else None
    weights = None if ratings.level == "nominal" else quadratic_weights(ratings.domain)
    if pair_data is not None and discrete:
        V = ratings.n_values
        functions["cohen_pairs"] = lambda s, W: _kappa_tables(_pair_tables(pair_data, W, V), None)
        if weights is not None:
            functions["cohen_pairs_weighted"] = lambda s, W: _kappa_tables(
                _pair_tables(pair_data, W, V), weights
            )
    recording = Recording(ratings.n_items)
    points = {name: fn(stats, recording)[0] for name, fn in functions.items()}
    samples: dict[str, list[np.ndarray]] = {name: [] for name in functions}
    if resamples and n_items >= 2:
        resampler = resampler or Resampler(ratings.n_items, resamples, seed)
        plan = Plan(recording.asked, ratings.n_items, item_columns, resampler.n_items)
        # One BLAS thread: many small products, and web/worker processes share the cores.
        with threadpool_limits(limits=1, user_api="blas"):
            for W in resampler.chunks():
                replay = plan.replay(W)
                for name, fn in functions.items():
                    samples[name].append(fn(stats, replay))
    stacked = {name: (np.concatenate(parts) if parts else None) for name, parts in samples.items()}
    result: dict[str, Any] = {
        "level": ratings.level,
        "n_items": n_items,
        "n_raters": n_raters,
        "n_ratings": int(stats.m[pairable].sum()),
        "n_items_single_rating": int((stats.m == 1).sum()),
        "resamples": resamples if n_items >= 2 else 0,
        "coefficients": {},
    }
    coefficients = result["coefficients"]
    coefficients["krippendorff_alpha"] = _coefficient(
        f"Krippendorff's alpha ({ratings.level})",
        points["alpha"],
        stacked["alpha"],
        n_items,
        n_raters,
        read_alpha,
    )
    if "fleiss_kappa" in functions:
        raters_fleiss = np.unique(ratings.rater[(stats.m == fleiss_k)[ratings.item]]).size
        entry = _coefficient(
            "Fleiss' kappa",
            points["fleiss_kappa"],
            stacked["fleiss_kappa"],
            fleiss_items,
            int(raters_fleiss),
            read_kappa,
        )
        entry["ratings_per_item"] = fleiss_k
        if fleiss_items < n_items:
            entry["note"] = (
                f"Computed on the {fleiss_items} items with exactly {fleiss_k} ratings; "
                "Fleiss' kappa needs the same number of ratings on every item."
            )
        coefficients["fleiss_kappa"] = entry
        coefficients["gwet_ac1"] = _coefficient(
            "Gwet's AC1",
            points["gwet_ac1"],
            stacked["gwet_ac1"],
            n_items,
            n_raters,
            read_kappa,
        )
    coefficients["percent_agreement"] = _coefficient(
        "Percent agreement",
        points["percent_agreement"],
        stacked["percent_agreement"],
        n_items,
        n_raters,
        read_percent,
    )
    if "cohen_pairs" in functions:
        result["cohen_pairs"], coefficients["cohen_kappa_mean"] = _cohen_summary(
            ratings, pair_data, points, stacked, weights is not None
        )
    return result


def _cohen_summary(
    ratings: Ratings,
    pair_data: PairData,
    points: dict[str, np.ndarray],
    stacked: dict[str, np.ndarray | None],
    weighted: bool,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows = []
    count = len(pair_data.n_shared)
    plain_ci = _interval_cis(stacked["cohen_pairs"], count)
    weighted_ci = _interval_cis(stacked.get("cohen_pairs_weighted"), count) if weighted else None
    for index in range(count):
        shared = int(pair_data.n_shared[index])
        row = {
            "rater_a": _plain(ratings.rater_labels[pair_data.rater_a[index]]),
            "rater_b": _plain(ratings.rater_labels[pair_data.rater_b[index]]),
            "n_items": shared,
            "kappa": _coefficient(
                "Cohen's kappa",
                points["cohen_pairs"][index],
                None,
                shared,
                2,
                read_kappa,
                ci=plain_ci[index],
            ),
        }
        if weighted_ci is not None:
            row["kappa_quadratic"] = _coefficient(
                "Cohen's kappa (quadratic weights)",
                points["cohen_pairs_weighted"][index],
                None,
                shared,
                2,
                read_kappa,
                ci=weighted_ci[index],
            )
        rows.append(row)
    key = "cohen_pairs_weighted" if weighted else "cohen_pairs"
    mean_point = _nanmean(points[key])
    samples = stacked[key]
    mean_samples = None
    if samples is not None and samples.size:
        finite = np.isfinite(samples)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_samples = np.where(finite, samples, 0).sum(axis=1) / finite.sum(axis=1)
        # Kappa on small per-pair tables is biased low in resamples (pairs share few
        # items), so the mean's percentile interval is shifted by the bootstrap bias.
        good = mean_samples[np.isfinite(mean_samples)]
        if good.size and np.isfinite(mean_point):
            mean_samples = mean_samples - (good.mean() - mean_point)
    summary = _coefficient(
        "Mean Cohen's kappa over pairs of reviewers" + (" (quadratic weights)" if weighted else ""),
        mean_point,
        mean_samples,
        int(np.unique(pair_data.cells.nonzero()[0]).size),
        int(np.unique(np.concatenate([pair_data.rater_a, pair_data.rater_b])).size),
        read_kappa,
    )
    summary["n_pairs"] = len(rows)
    return rows, summary


def _nanmean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


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
