"""Coefficients as report entries: bootstrap intervals, plain-language readings, Cohen summary."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from evals.stats.coefficients import _fleiss_m
from evals.stats.cohen import PairData
from evals.stats.ratings import Ratings, Stats, _plain

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


# --- One coefficient as a report entry ----------------------------------------------------


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


# --- The coefficients of one set of ratings -----------------------------------------------


def _coefficient_entries(
    ratings: Ratings,
    stats: Stats,
    points: dict[str, np.ndarray],
    stacked: dict[str, np.ndarray | None],
    n_items: int,
    n_raters: int,
) -> dict[str, dict[str, Any]]:
    """Alpha, Fleiss' kappa and Gwet's AC1 (when computed) and percent agreement, in order."""
    coefficients = {
        "krippendorff_alpha": _coefficient(
            f"Krippendorff's alpha ({ratings.level})",
            points["alpha"],
            stacked["alpha"],
            n_items,
            n_raters,
            read_alpha,
        )
    }
    if "fleiss_kappa" in points:
        coefficients["fleiss_kappa"] = _fleiss_entry(ratings, stats, points, stacked, n_items)
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
    return coefficients


def _fleiss_entry(
    ratings: Ratings,
    stats: Stats,
    points: dict[str, np.ndarray],
    stacked: dict[str, np.ndarray | None],
    n_items: int,
) -> dict[str, Any]:
    """Fleiss' kappa, counted on the items it uses: those with the most common rating count."""
    fleiss_k = _fleiss_m(stats)
    fleiss_items = int((stats.m == fleiss_k).sum()) if fleiss_k >= 2 else 0
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
    return entry


# --- Cohen's kappa per pair of raters, and its mean ---------------------------------------


def _cohen_summary(
    ratings: Ratings,
    pair_data: PairData,
    points: dict[str, np.ndarray],
    stacked: dict[str, np.ndarray | None],
    weighted: bool,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One row per pair of raters, and the mean kappa over pairs (weighted if ``weighted``)."""
    rows = _cohen_rows(ratings, pair_data, points, stacked, weighted)
    key = "cohen_pairs_weighted" if weighted else "cohen_pairs"
    mean_point = _nanmean(points[key])
    summary = _coefficient(
        "Mean Cohen's kappa over pairs of reviewers" + (" (quadratic weights)" if weighted else ""),
        mean_point,
        _mean_samples(stacked[key], mean_point),
        int(np.unique(pair_data.cells.nonzero()[0]).size),
        int(np.unique(np.concatenate([pair_data.rater_a, pair_data.rater_b])).size),
        read_kappa,
    )
    summary["n_pairs"] = len(rows)
    return rows, summary


def _cohen_rows(
    ratings: Ratings,
    pair_data: PairData,
    points: dict[str, np.ndarray],
    stacked: dict[str, np.ndarray | None],
    weighted: bool,
) -> list[dict[str, Any]]:
    """Cohen's kappa (and its quadratic-weighted form) for each pair of raters."""
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
    return rows


def _mean_samples(samples: np.ndarray | None, mean_point: float) -> np.ndarray | None:
    """The mean kappa over pairs in each resample, shifted by the bootstrap bias."""
    if samples is None or not samples.size:
        return None
    finite = np.isfinite(samples)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_samples = np.where(finite, samples, 0).sum(axis=1) / finite.sum(axis=1)
    # Kappa on small per-pair tables is biased low in resamples (pairs share few
    # items), so the mean's percentile interval is shifted by the bootstrap bias.
    good = mean_samples[np.isfinite(mean_samples)]
    if good.size and np.isfinite(mean_point):
        mean_samples = mean_samples - (good.mean() - mean_point)
    return mean_samples


def _nanmean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")
