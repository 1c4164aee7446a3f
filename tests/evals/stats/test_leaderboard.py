"""The leaderboard math: against choix on the same data, and on cases with known answers."""

from __future__ import annotations

import math

import choix
import numpy as np
import pytest

from evals.stats.leaderboard import (
    SCORE_A,
    SCORE_B,
    SCORE_TIE,
    NoMaximumLikelihood,
    aggregate,
    bootstrap_matrices,
    fit_bradley_terry,
    leaderboard,
    position_bias,
    proportion,
    swap_consistency,
    win_rate_matrix,
)

# Stated tolerance: ratings agree with choix's I-LSR maximum-likelihood estimate to 1e-6
# (both are centred log-strengths; choix stops at an L1 step of 1e-8, we at 1e-10).
CHOIX_TOLERANCE = 1e-6


def simulate(n: int, rows: int, seed: int, tie_share: float = 0.0):
    rng = np.random.default_rng(seed)
    strength = rng.normal(0.0, 1.0, n)
    a = rng.integers(0, n, rows)
    b = (a + rng.integers(1, n, rows)) % n
    p = 1.0 / (1.0 + np.exp(-(strength[a] - strength[b])))
    score = np.where(rng.random(rows) < p, SCORE_A, SCORE_B)
    score[rng.random(rows) < tie_share] = SCORE_TIE
    return a, b, score


def choix_pairs(a, b, score, tie_copies: bool = False) -> list[tuple[int, int]]:
    """choix data: (winner, loser). With ``tie_copies`` every decisive outcome appears twice
    and every tie once each way, which is "ties as half wins" scaled by 2 (the MLE does not
    change when all counts are scaled)."""
    pairs: list[tuple[int, int]] = []
    for x, y, s in zip(a.tolist(), b.tolist(), score.tolist(), strict=True):
        if s == SCORE_TIE:
            pairs += [(x, y), (y, x)]
        else:
            win = (x, y) if s == SCORE_A else (y, x)
            pairs += [win, win] if tie_copies else [win]
    return pairs


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ratings_rank_exactly_like_choix_on_untied_data(seed):
    a, b, score = simulate(n=12, rows=4000, seed=seed)
    ours = fit_bradley_terry(aggregate(12, a, b, score).scored())
    theirs = choix.ilsr_pairwise(12, choix_pairs(a, b, score))
    assert list(np.argsort(-ours)) == list(np.argsort(-theirs))
    assert np.max(np.abs(ours - theirs)) < CHOIX_TOLERANCE


def test_ties_as_half_wins_match_choix_on_the_equivalent_doubled_data():
    a, b, score = simulate(n=8, rows=3000, seed=5, tie_share=0.25)
    ours = fit_bradley_terry(aggregate(8, a, b, score).scored())
    theirs = choix.ilsr_pairwise(8, choix_pairs(a, b, score, tie_copies=True))
    assert list(np.argsort(-ours)) == list(np.argsort(-theirs))
    assert np.max(np.abs(ours - theirs)) < CHOIX_TOLERANCE


def test_the_full_leaderboard_ranks_like_choix():
    a, b, score = simulate(n=10, rows=5000, seed=9)
    names = [f"v{i}" for i in range(10)]
    board = leaderboard(names, a, b, score, rounds=20)
    theirs = choix.ilsr_pairwise(10, choix_pairs(a, b, score))
    assert board.order() == list(np.argsort(-theirs))


def test_three_wins_in_four_give_a_log_odds_gap_of_ln_3():
    a = np.array([0, 0, 0, 0])
    b = np.array([1, 1, 1, 1])
    score = np.array([SCORE_A, SCORE_A, SCORE_A, SCORE_B])
    theta = fit_bradley_terry(aggregate(2, a, b, score).scored())
    assert theta[0] - theta[1] == pytest.approx(math.log(3.0), abs=1e-9)
    assert theta.sum() == pytest.approx(0.0, abs=1e-12)


def test_a_balanced_cycle_rates_everyone_equal():
    # 0 beats 1, 1 beats 2, 2 beats 0, once each way round and the reverse once: all equal.
    a = np.array([0, 1, 2, 1, 2, 0])
    b = np.array([1, 2, 0, 0, 1, 2])
    score = np.full(6, SCORE_A)
    theta = fit_bradley_terry(aggregate(3, a, b, score).scored())
    assert np.allclose(theta, 0.0, atol=1e-9)


def test_only_ties_rate_everyone_equal_and_count_as_half_wins():
    a = np.array([0, 1, 0])
    b = np.array([1, 2, 2])
    score = np.full(3, SCORE_TIE)
    counts = aggregate(3, a, b, score)
    assert counts.wins.sum() == 0
    assert counts.ties[0, 1] == counts.ties[1, 0] == 1
    assert counts.scored()[0, 1] == 0.5
    assert np.allclose(fit_bradley_terry(counts.scored()), 0.0)


def test_aggregate_counts_wins_by_output_and_win_rates_include_half_ties():
    a = np.array([0, 0, 1, 0])
    b = np.array([1, 1, 0, 1])
    score = np.array([SCORE_A, SCORE_B, SCORE_A, SCORE_TIE])
    counts = aggregate(2, a, b, score)
    assert counts.wins.tolist() == [[0.0, 1.0], [2.0, 0.0]]  # 0 beat 1 once, 1 beat 0 twice
    assert counts.ties.tolist() == [[0.0, 1.0], [1.0, 0.0]]
    rate = win_rate_matrix(counts)
    assert rate[0, 1] == pytest.approx(1.5 / 4)
    assert rate[1, 0] == pytest.approx(2.5 / 4)
    assert rate[0, 1] + rate[1, 0] == pytest.approx(1.0)
    assert math.isnan(rate[0, 0])


def test_aggregate_refuses_a_variant_against_itself_and_unknown_indices():
    with pytest.raises(ValueError, match="itself"):
        aggregate(2, np.array([0]), np.array([0]), np.array([SCORE_A]))
    with pytest.raises(ValueError, match="out of range"):
        aggregate(2, np.array([0]), np.array([5]), np.array([SCORE_A]))


def test_a_variant_that_never_loses_has_no_mle_unless_a_prior_is_given():
    a = np.array([0, 0, 1])
    b = np.array([1, 2, 2])
    score = np.array([SCORE_A, SCORE_A, SCORE_A])
    scored = aggregate(3, a, b, score).scored()
    with pytest.raises(NoMaximumLikelihood):
        fit_bradley_terry(scored)
    theta = fit_bradley_terry(scored, prior=0.5)
    assert np.all(np.isfinite(theta))
    assert theta[0] > theta[1] > theta[2]


def test_bootstrap_resamples_keep_the_number_of_outcomes():
    a, b, score = simulate(n=5, rows=1000, seed=3, tie_share=0.2)
    counts = aggregate(5, a, b, score)
    boots = bootstrap_matrices(counts, 7, np.random.default_rng(0))
    assert boots.shape == (7, 5, 5)
    assert np.allclose(boots.sum(axis=(1, 2)), 1000)
    assert not np.allclose(boots[0], boots[1])


def test_bootstrap_intervals_contain_the_estimate_and_narrow_with_more_data():
    names = ["a", "b", "c", "d"]
    small = leaderboard(names, *simulate(4, 400, seed=1), rounds=200)
    large = leaderboard(names, *simulate(4, 40000, seed=1), rounds=200)
    for board in (small, large):
        for low, mid, high in zip(board.ci_low, board.rating, board.ci_high, strict=True):
            assert low <= mid <= high
    width = np.subtract(small.ci_high, small.ci_low).mean()
    assert np.subtract(large.ci_high, large.ci_low).mean() < width / 3


def test_leaderboard_counts_both_bad_answers_separately_but_scores_them_as_ties():
    a = np.array([0, 0, 1])
    b = np.array([1, 1, 0])
    score = np.array([SCORE_A, SCORE_TIE, SCORE_A])
    board = leaderboard(["x", "y"], a, b, score, both_bad=np.array([False, True, False]))
    assert board.wins == [1, 1] and board.losses == [1, 1] and board.ties == [1, 1]
    assert board.both_bad == [1, 1]
    assert board.rating == pytest.approx([0.0, 0.0], abs=1e-9)


def test_position_bias_reports_the_left_share_with_a_wilson_interval():
    fair = position_bias([True, False] * 50)
    assert fair.share == 0.5 and fair.low < 0.5 < fair.high
    assert fair.p_value == pytest.approx(1.0)
    biased = position_bias([True] * 80 + [False] * 20)
    assert biased.share == 0.8 and biased.low > 0.5 and biased.p_value < 1e-6
    # Wilson interval by hand for 80 of 100.
    z, p, n = 1.959963984540054, 0.8, 100
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert biased.low == pytest.approx(centre - half, abs=1e-9)
    assert biased.high == pytest.approx(centre + half, abs=1e-9)


def test_proportion_of_nothing_is_empty():
    assert proportion(0, 0).share is None


def test_swap_consistency_per_reviewer_and_overall():
    result = swap_consistency(
        ["ann", "ann", "bob", "bob", "bob"],
        ["a", "b", "tie", "a", "both_bad"],
        ["a", "a", "tie", "a", "b"],
    )
    assert result["overall"].successes == 3 and result["overall"].trials == 5
    assert result["by_reviewer"]["ann"].share == 0.5
    assert result["by_reviewer"]["bob"].successes == 2


def test_the_benchmark_runs_and_ranks_like_choix_at_a_small_size():
    from benchmarks.bench_leaderboard import run

    rows = run(rows=20000, variants=8, rounds=5, repeats=1)
    assert [row["same_ranking"] for row in rows] == [True, True]
    assert rows[1]["max_rating_gap"] < CHOIX_TOLERANCE
