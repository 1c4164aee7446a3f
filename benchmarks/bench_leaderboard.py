"""Benchmark: the full pairwise leaderboard against one ``choix.ilsr_pairwise`` fit.

The leaderboard (aggregation of the raw outcome arrays into the win matrix, the
Bradley–Terry fit, ``rounds`` bootstrap refits, counts and the win-rate matrix) runs
side by side with a single choix I-LSR fit on the same outcomes. The target: at most
0.1× choix's time, with the same ranking of variants.

    python -m benchmarks.bench_leaderboard            # 1,000,000 outcomes, 50 variants
    python -m benchmarks.bench_leaderboard --rows 100000
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np

from evals.stats.leaderboard import SCORE_A, SCORE_B, leaderboard

DEFAULTS = {"rows": 1_000_000, "variants": 50, "rounds": 100, "repeats": 3, "seed": 7}


def simulate(rows: int, variants: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Untied outcomes drawn from a Bradley–Terry model with normal strengths."""
    rng = np.random.default_rng(seed)
    strength = rng.normal(0.0, 1.0, variants)
    a = rng.integers(0, variants, rows)
    b = (a + rng.integers(1, variants, rows)) % variants
    p = 1.0 / (1.0 + np.exp(-(strength[a] - strength[b])))
    score = np.where(rng.random(rows) < p, SCORE_A, SCORE_B)
    return a, b, score


TARGET_RATIO = 0.1


def run(**sizes: int) -> list[dict[str, Any]]:
    """Rows for the table; ``sizes`` overrides ``rows``, ``variants``, ``rounds``, ``repeats``."""
    import choix

    args = {**DEFAULTS, **sizes}
    rows, variants, rounds = int(args["rows"]), int(args["variants"]), int(args["rounds"])
    a, b, score = simulate(rows, variants, int(args["seed"]))
    names = [f"variant-{i:02d}" for i in range(variants)]
    winners = np.where(score == SCORE_A, a, b).tolist()
    losers = np.where(score == SCORE_A, b, a).tolist()
    pairs = list(zip(winners, losers, strict=True))

    ours: list[float] = []
    board = None
    for _ in range(int(args["repeats"])):
        start = time.perf_counter()
        board = leaderboard(names, a, b, score, rounds=rounds)
        ours.append(time.perf_counter() - start)
    start = time.perf_counter()
    params = choix.ilsr_pairwise(variants, pairs)
    choix_seconds = time.perf_counter() - start

    assert board is not None
    same = board.order() == [int(i) for i in np.argsort(-params, kind="stable")]
    gap = float(np.max(np.abs(np.asarray(board.rating) - params)))
    median = statistics.median(ours)
    label = f"{rows:,} outcomes, {variants} variants"
    return [
        {
            "benchmark": "leaderboard",
            "case": f"choix.ilsr_pairwise, one fit ({label})",
            "seconds": round(choix_seconds, 4),
            "ratio": 1.0,
            "same_ranking": True,
        },
        {
            "benchmark": "leaderboard",
            "case": f"full leaderboard, {rounds} bootstrap rounds ({label}), median of {len(ours)}",
            "seconds": round(median, 4),
            "ratio": round(median / choix_seconds, 4),
            "same_ranking": same,
            "max_rating_gap": gap,
            "target_met": median / choix_seconds <= TARGET_RATIO and same,
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for key, value in DEFAULTS.items():
        parser.add_argument(f"--{key}", type=int, default=value)
    rows = run(**vars(parser.parse_args()))
    for row in rows:
        print(" | ".join(f"{k}={v}" for k, v in row.items()))
    mine = rows[-1]
    verdict = "OK" if mine["target_met"] else "MISSED"
    print(f"{verdict}: leaderboard takes {mine['ratio']:.3f}x one choix fit (target <= 0.1x)")


if __name__ == "__main__":
    main()
