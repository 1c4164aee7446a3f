"""Cohen's kappa for every pair of raters, from the pairs of ratings they share."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from evals.stats.ratings import Ratings
from evals.stats.weights import Weights, as_weights


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
