"""Long-format ratings (item, rater, value) coded to integers, and their per-item counts.

Everything the agreement coefficients start from: ``prepare`` checks and codes the
ratings, ``item_stats`` counts values per item once for every coefficient.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

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


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
