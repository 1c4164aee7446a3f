"""Krippendorff's alpha, Fleiss' kappa, percent agreement and Gwet's AC1.

Each is a function of the per-item counts (``Stats``) and item weights ``W``: the
row of ones gives the point estimate, multinomial rows give bootstrap resamples.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from evals.stats.ratings import Stats
from evals.stats.weights import Weights, as_weights


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
