"""Pairwise leaderboards: counts, win rates, Bradley–Terry ratings with bootstrap CIs,
the position-bias audit and swap consistency. Pure numpy/scipy, no Django.

Outcomes are three parallel arrays: ``a`` and ``b`` (variant indices of the two outputs)
and ``score`` (1.0 when A was preferred, 0.0 when B was, 0.5 for a tie).

Ties are handled as half wins: a tie between i and j adds 0.5 to i's wins over j and
0.5 to j's wins over i (so it adds one game to the pair). "Both bad" says nothing about
which of the two is better, so callers pass it as a tie too (as LMSYS's Chatbot Arena
does); it is still counted separately in the win/tie/loss table. On untied data the
ratings are the ordinary Bradley–Terry maximum-likelihood estimate, the one
``choix.ilsr_pairwise`` computes.

The work is done on the aggregated n×n win matrix, never on the raw rows:
``aggregate`` turns a million outcomes into the matrix with ``np.bincount``; the fit
is Newton's method on the matrix (a Laplacian system per step, batched over bootstrap
rounds); the bootstrap resamples outcome counts per (pair, result) cell from a
multinomial with the observed frequencies, which is exactly resampling the rows with
replacement, without touching the rows.

Ratings are log-strengths θ centred to mean 0 (P(i beats j) = σ(θ_i − θ_j)); ``elo``
maps them to the familiar 400·log10 scale around 1000 for display.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats
from scipy.sparse.csgraph import connected_components

ELO_SCALE = 400.0 / math.log(10.0)
ELO_BASE = 1000.0
SCORE_A, SCORE_B, SCORE_TIE = 1.0, 0.0, 0.5
MAX_STEP = 2.0
# Resamples of small data can separate (a variant wins every game it drew), where the
# rating is unbounded; the bootstrap fits add this many pseudo-wins each way per pair.
BOOTSTRAP_PRIOR = 1e-3


class NoMaximumLikelihood(ValueError):
    """The win graph is not strongly connected, so some rating would be infinite."""


@dataclass(frozen=True)
class Counts:
    """``wins[i, j]``: decisive wins of i over j; ``ties[i, j]``: ties of i and j (symmetric)."""

    wins: np.ndarray
    ties: np.ndarray

    @property
    def n(self) -> int:
        return int(self.wins.shape[0])

    def scored(self) -> np.ndarray:
        """Wins with ties as half wins: the matrix the rating is fitted on."""
        return self.wins + 0.5 * self.ties

    def games(self) -> np.ndarray:
        return self.wins + self.wins.T + self.ties


def aggregate(n: int, a: np.ndarray, b: np.ndarray, score: np.ndarray) -> Counts:
    """Aggregate outcomes into win and tie matrices with one ``np.bincount``.

    Each outcome gets the key ``(a * n + b) * 3 + 2 * score`` (0: B won, 1: tie, 2: A won),
    so a single counting pass over the rows fills an (n, n, 3) table.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    score = np.asarray(score)
    if not (a.shape == b.shape == score.shape):
        raise ValueError("a, b and score must have the same length.")
    size = n * n * 3
    key = a.astype(np.int64) * (3 * n)
    key += b * 3
    key += (score * 2).astype(np.int64)
    try:
        table = np.bincount(key, minlength=size)
    except ValueError:
        raise ValueError("Variant index out of range.") from None
    if table.size > size:
        raise ValueError("Variant index out of range.")
    table = table.reshape(n, n, 3).astype(np.float64)
    if np.any(np.diagonal(table, axis1=0, axis2=1)):
        raise ValueError("A variant cannot be compared with itself.")
    wins = table[:, :, 2] + table[:, :, 0].T
    ties = table[:, :, 1] + table[:, :, 1].T
    return Counts(wins, ties)


def win_rate_matrix(counts: Counts) -> np.ndarray:
    """``rate[i, j]``: share of i's games against j that i won (ties as half); NaN if none."""
    games = counts.games()
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(games > 0, counts.scored() / games, np.nan)
    np.fill_diagonal(rate, np.nan)
    return rate


def _check_connected(scored: np.ndarray) -> None:
    graph = (scored > 0).astype(np.int8)
    found, _ = connected_components(graph, directed=True, connection="strong")
    if found > 1:
        raise NoMaximumLikelihood(
            "Some variants won or lost every comparison they were in (or were never "
            "compared), so their Bradley–Terry rating is unbounded; use a prior."
        )


def fit_bradley_terry(
    scored: np.ndarray,
    prior: float = 0.0,
    max_iter: int = 200,
    tol: float = 1e-10,
    initial: np.ndarray | None = None,
) -> np.ndarray:
    """Bradley–Terry log-strengths (mean 0) from a win matrix, or a stack of them.

    ``scored`` is (n, n) or (rounds, n, n) with ``scored[..., i, j]`` = i's wins over j
    (ties as half wins). ``prior`` adds that many pseudo-wins each way to every pair, a
    symmetric regularization that keeps ratings finite on sparse data; with ``prior=0``
    this is the maximum-likelihood estimate, and a win graph that is not strongly
    connected raises ``NoMaximumLikelihood``. ``initial`` (n,) starts Newton's method
    there (the bootstrap starts from the full-data estimate).
    """
    stack = np.asarray(scored, dtype=np.float64)
    single = stack.ndim == 2
    if single:
        stack = stack[None]
    rounds, n, _ = stack.shape
    off = 1.0 - np.eye(n)
    stack = stack * off + prior * off
    if prior <= 0 and single:
        _check_connected(stack[0])
    games = stack + np.swapaxes(stack, 1, 2)
    won = stack.sum(axis=2)
    theta = np.zeros((rounds, n))
    if initial is not None:
        theta += np.asarray(initial, dtype=np.float64)
    centre = np.full((n, n), 1.0 / n)
    for _ in range(max_iter):
        diff = theta[:, :, None] - theta[:, None, :]
        p = 1.0 / (1.0 + np.exp(-diff))
        grad = won - (games * p).sum(axis=2)
        weight = games * p * (1.0 - p)
        laplacian = -weight
        idx = np.arange(n)
        laplacian[:, idx, idx] = weight.sum(axis=2)
        step = np.linalg.solve(laplacian + centre, grad[..., None])[..., 0]
        biggest = np.abs(step).max(axis=1, keepdims=True)
        step = step * np.minimum(1.0, MAX_STEP / np.maximum(biggest, 1e-300))
        theta = theta + step
        if biggest.max() < tol:
            break
    else:
        if not np.all(np.isfinite(theta)):
            raise NoMaximumLikelihood("The Bradley–Terry fit did not converge.")
    theta = theta - theta.mean(axis=1, keepdims=True)
    return theta[0] if single else theta


def bootstrap_matrices(counts: Counts, rounds: int, rng: np.random.Generator) -> np.ndarray:
    """``rounds`` resampled scored matrices, as if the outcome rows were drawn with replacement.

    The outcomes fall in cells (unordered pair, result); drawing N rows with replacement
    is a multinomial draw of N over those cells with the observed frequencies.
    """
    n = counts.n
    upper_i, upper_j = np.triu_indices(n, 1)
    cells = np.concatenate(
        [
            counts.wins[upper_i, upper_j],
            counts.wins[upper_j, upper_i],
            counts.ties[upper_i, upper_j],
        ]
    )
    total = int(round(cells.sum()))
    out = np.zeros((rounds, n, n))
    if total == 0:
        return out
    draws = rng.multinomial(total, cells / cells.sum(), size=rounds).astype(np.float64)
    pairs = upper_i.size
    i_wins, j_wins, tied = draws[:, :pairs], draws[:, pairs : 2 * pairs], draws[:, 2 * pairs :]
    out[:, upper_i, upper_j] = i_wins + 0.5 * tied
    out[:, upper_j, upper_i] = j_wins + 0.5 * tied
    return out


def elo(theta: np.ndarray | float) -> np.ndarray | float:
    return ELO_BASE + ELO_SCALE * np.asarray(theta)


@dataclass
class Board:
    """One leaderboard: per variant totals and rating with its bootstrap interval."""

    variants: list[str]
    comparisons: int
    rating: list[float]
    ci_low: list[float]
    ci_high: list[float]
    rank: list[int]
    wins: list[int]
    ties: list[int]
    losses: list[int]
    both_bad: list[int]
    win_matrix: list[list[float]]
    tie_matrix: list[list[float]]
    win_rate: list[list[float | None]]
    rounds: int
    prior: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def order(self) -> list[int]:
        """Variant indices, best first."""
        return sorted(range(len(self.variants)), key=lambda i: self.rank[i])


def _ranks(values: np.ndarray) -> np.ndarray:
    """Rank 1 for the highest value; equal values share the better rank."""
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[order] = np.arange(1, len(values) + 1)
    for i in range(1, len(order)):
        if math.isclose(values[order[i]], values[order[i - 1]], abs_tol=1e-9):
            ranks[order[i]] = ranks[order[i - 1]]
    return ranks


def _clean(matrix: np.ndarray) -> list[list[float | None]]:
    return [[None if not np.isfinite(v) else round(float(v), 6) for v in row] for row in matrix]


def leaderboard(
    variants: Sequence[str],
    a: np.ndarray,
    b: np.ndarray,
    score: np.ndarray,
    *,
    both_bad: np.ndarray | None = None,
    rounds: int = 100,
    prior: float = 0.0,
    seed: int = 0,
    level: float = 0.95,
) -> Board:
    """The full leaderboard for outcomes among ``variants``.

    ``both_bad`` (optional boolean array) marks which ties were "both bad" answers, for
    the table only: they are scored as ties. Intervals are percentile bootstrap
    intervals at ``level`` over ``rounds`` resamples.
    """
    n = len(variants)
    counts = aggregate(n, a, b, score)
    theta = fit_bradley_terry(counts.scored(), prior=prior)
    notes = ["Ties and 'both bad' count as half a win for each side."]
    if rounds > 0:
        rng = np.random.default_rng(seed)
        matrices = bootstrap_matrices(counts, rounds, rng)
        boot = fit_bradley_terry(matrices, prior=max(prior, BOOTSTRAP_PRIOR), initial=theta)
        tail = (1.0 - level) / 2.0 * 100.0
        low, high = np.percentile(boot, [tail, 100.0 - tail], axis=0)
    else:
        low, high = np.full(n, np.nan), np.full(n, np.nan)
    bad = np.zeros(n, dtype=np.int64)
    if both_bad is not None:
        mask = np.asarray(both_bad, dtype=bool)
        bad = np.bincount(np.asarray(a)[mask], minlength=n) + np.bincount(
            np.asarray(b)[mask], minlength=n
        )
    return Board(
        variants=list(variants),
        comparisons=int(len(score)),
        rating=[float(v) for v in theta],
        ci_low=[float(v) for v in low],
        ci_high=[float(v) for v in high],
        rank=[int(r) for r in _ranks(theta)],
        wins=[int(v) for v in counts.wins.sum(axis=1)],
        ties=[int(v) for v in counts.ties.sum(axis=1)],
        losses=[int(v) for v in counts.wins.sum(axis=0)],
        both_bad=[int(v) for v in bad],
        win_matrix=counts.wins.tolist(),
        tie_matrix=counts.ties.tolist(),
        win_rate=_clean(win_rate_matrix(counts)),
        rounds=rounds,
        prior=prior,
        notes=notes,
    )


@dataclass(frozen=True)
class Proportion:
    successes: int
    trials: int
    share: float | None
    low: float | None
    high: float | None
    p_value: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def proportion(successes: int, trials: int, level: float = 0.95, null: float = 0.5) -> Proportion:
    """A share with its Wilson interval and the two-sided binomial test against ``null``."""
    if trials == 0:
        return Proportion(0, 0, None, None, None, None)
    test = stats.binomtest(int(successes), int(trials), null)
    ci = test.proportion_ci(confidence_level=level, method="wilson")
    return Proportion(
        int(successes), int(trials), successes / trials, float(ci.low), float(ci.high),
        float(test.pvalue),
    )  # fmt: skip


def position_bias(chose_left: Sequence[bool]) -> Proportion:
    """Share of decisive answers that picked the output shown on the left.

    Pass only decisive answers (A or B better); an unbiased pool sits near 0.5.
    """
    values = np.asarray(chose_left, dtype=bool)
    return proportion(int(values.sum()), int(values.size))


def swap_consistency(reviewers: Sequence[str], first: Sequence[str], second: Sequence[str]) -> dict:
    """How often a reviewer gave the same answer (in output terms) when a pair came back swapped.

    ``first`` and ``second`` are the two answers ("a", "b", "tie", "both_bad") per check.
    Returns ``{"overall": Proportion, "by_reviewer": {reviewer: Proportion}}``.
    """
    if not (len(reviewers) == len(first) == len(second)):
        raise ValueError("reviewers, first and second must have the same length.")
    same = np.asarray([x == y for x, y in zip(first, second, strict=True)], dtype=bool)
    names = np.asarray(list(reviewers), dtype=object)
    by_reviewer = {}
    for name in sorted(set(reviewers)):
        mine = same[names == name]
        by_reviewer[name] = proportion(int(mine.sum()), int(mine.size))
    return {"overall": proportion(int(same.sum()), int(same.size)), "by_reviewer": by_reviewer}
