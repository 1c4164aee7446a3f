"""Agreement coefficients: published worked examples, and the reference libraries on random data."""

from __future__ import annotations

from fractions import Fraction

import krippendorff
import numpy as np
import pytest
from statsmodels.stats.inter_rater import aggregate_raters, cohens_kappa, fleiss_kappa

from evals.stats import agreement as ag

NAN = np.nan

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C:
# four observers, twelve units, values 1-5, with missing data.
KRIPPENDORFF_DATA = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]
KRIPPENDORFF_PUBLISHED = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}

# Fleiss (1971): 30 patients, 6 psychiatrists each, 5 diagnoses; kappa = 0.430.
FLEISS_1971 = [
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5],
    [2, 2, 2, 4, 4, 4], [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4],
    [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5], [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4],
    [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5], [3, 3, 3, 3, 3, 5],
    [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4],
    [1, 4, 4, 4, 4, 5], [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
]  # fmt: skip


def long_format(matrix) -> tuple[list, list, list]:
    """Raters x items matrix (NaN = missing) to long (item, rater, value) lists."""
    items, raters, values = [], [], []
    for rater, row in enumerate(matrix):
        for item, value in enumerate(row):
            if not (isinstance(value, float) and np.isnan(value)):
                items.append(item)
                raters.append(f"r{rater}")
                values.append(value)
    return items, raters, values


def table_to_long(table) -> tuple[list, list, list]:
    """A two-rater confusion table to long-format ratings."""
    items, raters, values = [], [], []
    n = 0
    for a, row in enumerate(table):
        for b, count in enumerate(row):
            for _ in range(count):
                items += [n, n]
                raters += ["first", "second"]
                values += [a, b]
                n += 1
    return items, raters, values


def random_matrix(rng, raters=6, items=80, values=5, missing=0.3):
    truth = rng.integers(1, values + 1, items)
    noise = rng.integers(1, values + 1, (raters, items))
    data = np.where(rng.random((raters, items)) < 0.6, truth, noise).astype(float)
    data[rng.random((raters, items)) < missing] = NAN
    return data


@pytest.mark.parametrize("level", ag.LEVELS)
def test_alpha_reproduces_krippendorffs_worked_example(level):
    items, raters, values = long_format(KRIPPENDORFF_DATA)
    value = ag.alpha(items, raters, values, level)
    assert round(value, 3) == KRIPPENDORFF_PUBLISHED[level]
    reference = krippendorff.alpha(np.array(KRIPPENDORFF_DATA), level_of_measurement=level)
    assert value == pytest.approx(reference, abs=1e-12)


def test_fleiss_kappa_reproduces_fleiss_1971():
    diagnoses = np.array(FLEISS_1971)
    items = np.repeat(np.arange(30), 6)
    raters = np.tile(np.arange(6), 30)
    result = ag.agreement(items, raters, diagnoses.ravel(), "nominal", resamples=0)
    fleiss = result["coefficients"]["fleiss_kappa"]
    assert round(fleiss["value"], 3) == 0.430
    assert fleiss["value"] == pytest.approx(0.4302445, abs=1e-7)
    assert fleiss["n_items"] == 30 and "note" not in fleiss


@pytest.mark.parametrize(
    ("table", "published"),
    [
        ([[20, 5], [10, 15]], 0.4),  # Wikipedia, "Cohen's kappa", simple example
        ([[45, 15], [25, 15]], 0.1304),  # same agreement, different margins
        ([[25, 35], [5, 35]], 0.2593),
    ],
)
def test_cohen_kappa_reproduces_textbook_examples(table, published):
    assert ag.cohen_kappa_table(np.array(table)) == pytest.approx(published, abs=5e-5)
    result = ag.agreement(*table_to_long(table), level="nominal", resamples=0)
    (pair,) = result["cohen_pairs"]
    assert pair["kappa"]["value"] == pytest.approx(published, abs=5e-5)
    assert pair["n_items"] == sum(map(sum, table))


def test_quadratic_weighted_kappa_matches_a_hand_computation():
    table = [[5, 2, 0], [1, 6, 2], [0, 1, 3]]
    n = Fraction(sum(map(sum, table)))
    rows = [Fraction(sum(r)) for r in table]
    cols = [Fraction(sum(table[i][j] for i in range(3))) for j in range(3)]
    observed = sum(Fraction((i - j) ** 2 * table[i][j]) for i in range(3) for j in range(3))
    expected = sum((i - j) ** 2 * rows[i] * cols[j] / n for i in range(3) for j in range(3))
    hand = 1 - observed / expected
    result = ag.agreement(*table_to_long(table), level="ordinal", resamples=0)
    assert result["cohen_pairs"][0]["kappa_quadratic"]["value"] == pytest.approx(
        float(hand), abs=1e-12
    )


@pytest.mark.parametrize("level", ag.LEVELS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_alpha_matches_the_krippendorff_package_on_random_data_with_missing_values(level, seed):
    data = random_matrix(np.random.default_rng(seed))
    items, raters, values = long_format(data)
    ours = ag.alpha(items, raters, values, level)
    assert ours == pytest.approx(krippendorff.alpha(data, level_of_measurement=level), abs=1e-9)


def test_alpha_on_continuous_interval_data_matches_the_package():
    rng = np.random.default_rng(7)
    data = rng.normal(size=(4, 60)).round(3) + rng.normal(size=60)
    data[rng.random(data.shape) < 0.25] = NAN
    ours = ag.alpha(*long_format(data), level="interval")
    assert ours == pytest.approx(
        krippendorff.alpha(data, level_of_measurement="interval"), abs=1e-9
    )


@pytest.mark.parametrize("seed", [4, 5])
def test_fleiss_kappa_matches_statsmodels_on_random_complete_data(seed):
    rng = np.random.default_rng(seed)
    data = random_matrix(rng, raters=5, items=70, missing=0)
    items, raters, values = long_format(data)
    ours = ag.agreement(items, raters, values, "nominal", resamples=0)
    table, _ = aggregate_raters(data.T.astype(int))
    assert ours["coefficients"]["fleiss_kappa"]["value"] == pytest.approx(
        fleiss_kappa(table, method="fleiss"), abs=1e-9
    )


def test_fleiss_kappa_uses_only_items_with_the_common_number_of_ratings():
    rng = np.random.default_rng(6)
    data = random_matrix(rng, raters=4, items=50, missing=0)
    data[0, :10] = NAN  # ten items with three ratings, forty with four
    result = ag.agreement(*long_format(data), level="nominal", resamples=0)
    fleiss = result["coefficients"]["fleiss_kappa"]
    table, _ = aggregate_raters(data[:, 10:].T.astype(int))
    assert fleiss["value"] == pytest.approx(fleiss_kappa(table), abs=1e-9)
    assert fleiss["n_items"] == 40 and fleiss["ratings_per_item"] == 4
    assert "40 items with exactly 4 ratings" in fleiss["note"]


@pytest.mark.parametrize("seed", [8, 9])
def test_cohen_kappa_per_pair_matches_statsmodels_with_missing_values(seed):
    data = random_matrix(np.random.default_rng(seed), raters=4, items=90, missing=0.25)
    result = ag.agreement(*long_format(data), level="ordinal", resamples=0)
    assert len(result["cohen_pairs"]) == 6
    for pair in result["cohen_pairs"]:
        a, b = int(pair["rater_a"][1:]), int(pair["rater_b"][1:])
        both = ~np.isnan(data[a]) & ~np.isnan(data[b])
        table = np.zeros((5, 5))
        np.add.at(table, (data[a, both].astype(int) - 1, data[b, both].astype(int) - 1), 1)
        assert pair["n_items"] == both.sum()
        plain = cohens_kappa(table, return_results=False)
        quadratic = cohens_kappa(
            table, weights=np.arange(1, 6), wt="quadratic", return_results=False
        )
        assert pair["kappa"]["value"] == pytest.approx(plain, abs=1e-9)
        assert pair["kappa_quadratic"]["value"] == pytest.approx(quadratic, abs=1e-9)


def _gwet_by_hand(data: np.ndarray, categories: list) -> float:
    """Gwet (2014), AC1 with missing ratings, written out loop by loop."""
    q = len(categories)
    agreement, paired, shares, rated = 0.0, 0, np.zeros(q), 0
    for column in data.T:
        present = column[~np.isnan(column)]
        r = len(present)
        counts = np.array([(present == c).sum() for c in categories], dtype=float)
        if r >= 1:
            shares += counts / r
            rated += 1
        if r >= 2:
            agreement += (counts * (counts - 1)).sum() / (r * (r - 1))
            paired += 1
    p_a = agreement / paired
    pi = shares / rated
    p_e = (pi * (1 - pi)).sum() / (q - 1)
    return (p_a - p_e) / (1 - p_e)


def test_gwet_ac1_matches_the_formula_with_missing_ratings():
    data = random_matrix(np.random.default_rng(10), raters=5, items=60, missing=0.35)
    result = ag.agreement(
        *long_format(data), level="nominal", categories=[1, 2, 3, 4, 5], resamples=0
    )
    expected = _gwet_by_hand(data, [1, 2, 3, 4, 5])
    assert result["coefficients"]["gwet_ac1"]["value"] == pytest.approx(expected, abs=1e-12)


def test_gwet_ac1_stays_high_when_one_answer_dominates_but_kappa_collapses():
    # 2 raters, 100 items: 95 agree on "pass", 5 split. Kappa is near zero (the
    # "paradox"), AC1 is near the 95% raw agreement.
    table = [[95, 2], [3, 0]]
    result = ag.agreement(*table_to_long(table), level="nominal", resamples=0)
    coefficients = result["coefficients"]
    assert coefficients["percent_agreement"]["value"] == pytest.approx(0.95)
    assert result["cohen_pairs"][0]["kappa"]["value"] < 0.05
    assert coefficients["gwet_ac1"]["value"] > 0.9


def test_items_with_a_single_rating_do_not_count_toward_alpha():
    items, raters, values = long_format(KRIPPENDORFF_DATA)
    base = ag.agreement(items, raters, values, "interval", resamples=0)
    extra = (items + [100, 101, 102], raters + ["r0", "r1", "r9"], values + [1, 5, 3])
    with_singles = ag.agreement(*extra, level="interval", resamples=0)
    a0 = base["coefficients"]["krippendorff_alpha"]
    a1 = with_singles["coefficients"]["krippendorff_alpha"]
    assert a1["value"] == pytest.approx(a0["value"], abs=1e-12)
    assert a1["n_items"] == a0["n_items"] == 11
    assert with_singles["n_items_single_rating"] == 4
    assert a1["n_raters"] == 4  # r9 rated only a lone item


def test_reviewers_rating_disjoint_subsets_give_no_coefficient():
    result = ag.agreement([1, 2, 3], ["a", "b", "c"], ["x", "y", "x"], resamples=100)
    alpha = result["coefficients"]["krippendorff_alpha"]
    assert alpha["value"] is None and alpha["n_items"] == 0
    assert alpha["reading"] == "Not enough paired ratings to compute."


def test_missing_values_are_dropped_not_counted_as_a_category():
    with_none = ag.alpha([1, 1, 2, 2, 3, 3], list("ababab"), ["x", "x", "y", None, "y", "y"])
    without = ag.alpha([1, 1, 2, 3, 3], list("abaab"), ["x", "x", "y", "y", "y"])
    assert with_none == pytest.approx(without)


def test_bootstrap_interval_brackets_the_value_and_is_reproducible():
    data = random_matrix(np.random.default_rng(11), raters=4, items=120, missing=0.2)
    first = ag.agreement(*long_format(data), level="ordinal", resamples=300, seed=3)
    second = ag.agreement(*long_format(data), level="ordinal", resamples=300, seed=3)
    assert first == second
    for entry in first["coefficients"].values():
        assert entry["ci_low"] <= entry["value"] <= entry["ci_high"], entry["name"]
        assert entry["ci_high"] - entry["ci_low"] < 0.5


def test_a_bootstrap_weight_of_two_counts_an_item_twice():
    # Resamples are item weights; weight 2 everywhere must equal duplicating every item.
    data = random_matrix(np.random.default_rng(12), raters=3, items=40)
    ratings = ag.prepare(*long_format(data), level="ratio")
    stats = ag.item_stats(ratings)
    doubled = 2 * np.ones((1, ratings.n_items))
    reference = krippendorff.alpha(np.hstack([data, data]), level_of_measurement="ratio")
    assert ag._alpha(stats, doubled)[0] == pytest.approx(reference, abs=1e-9)


def test_readings_are_plain_language():
    assert ag.read_alpha(0.85).startswith("Reliable")
    assert ag.read_alpha(0.7).startswith("Tentative")
    assert ag.read_alpha(0.3).startswith("Unreliable")
    assert ag.read_kappa(0.5) == "Moderate agreement beyond chance."
    assert ag.read_kappa(-0.1).startswith("Less agreement than chance")
    assert ag.read_percent(0.5).startswith("50% of pairs")


def test_a_rater_rating_an_item_twice_is_an_error():
    with pytest.raises(ag.AgreementError, match="more than once"):
        ag.agreement([1, 1], ["a", "a"], [1, 2])


def test_an_unknown_level_or_non_numeric_interval_data_is_an_error():
    with pytest.raises(ag.AgreementError, match="Unknown level"):
        ag.prepare([1], ["a"], [1], level="fuzzy")
    with pytest.raises(ag.AgreementError, match="must be numbers"):
        ag.prepare([1, 1], ["a", "b"], ["high", "low"], level="interval")


def test_vectorized_intervals_equal_numpy_percentiles_per_column():
    rng = np.random.default_rng(13)
    samples = rng.normal(size=(200, 6))
    samples[:30, 2] = np.nan  # some resamples undefined for one pair
    samples[:, 5] = np.nan  # never defined
    intervals = ag._interval_cis(samples, 6)
    for column in range(5):
        good = samples[:, column][np.isfinite(samples[:, column])]
        expected = np.percentile(good, [2.5, 97.5])
        assert intervals[column] == pytest.approx(tuple(expected), abs=1e-12)
    assert intervals[5] == (None, None)


def _bounds(report):
    """Every coefficient dict in a report, however deep."""
    if isinstance(report, dict):
        if "ci_high" in report:
            yield report
        for value in report.values():
            yield from _bounds(value)
    elif isinstance(report, list):
        for value in report:
            yield from _bounds(value)


def test_no_interval_passes_one():
    """Twelve items, three reviewers who mostly agree: the mean Cohen's kappa's
    bias-shifted interval reached 1.006 before bounds were held at 1."""
    rng = np.random.default_rng(1)
    items, raters, values = [], [], []
    for item in range(12):
        truth = int(rng.integers(0, 2))
        for rater in range(3):
            items.append(item)
            raters.append(rater)
            values.append(truth if rng.random() < 0.93 else 1 - truth)
    report = ag.agreement(items, raters, values, resamples=200, seed=0)
    found = [c for c in _bounds(report) if c["ci_high"] is not None]
    assert found and all(c["ci_low"] <= c["ci_high"] <= 1 for c in found)
    assert any(c["ci_high"] == 1.0 for c in found)


def test_too_few_items_get_no_interval_and_a_reading_that_says_so():
    report = ag.agreement([1, 1, 2, 2], ["a", "b", "a", "b"], ["x", "x", "y", "x"])
    coefficients = list(_bounds(report))
    assert coefficients and all(c["ci_low"] is c["ci_high"] is None for c in coefficients)
    alpha = next(c for c in coefficients if c["name"].startswith("Krippendorff"))
    assert alpha["value"] is not None and alpha["n_items"] == 2
    assert alpha["reading"].startswith("Only 2 items: too few to rely on.")
