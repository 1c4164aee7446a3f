"""Benchmark: Krippendorff's alpha against the ``krippendorff`` package, side by side.

100,000 items x 5 raters with 20% of ratings missing: nominal alpha (5 categories)
must be no slower than the package; interval alpha over 50 distinct values at least
10x faster with at most a tenth of its peak memory (tracemalloc). Ours starts from
long-format arrays (item, rater, value), the package from its raters x items matrix.
The full queue report from PostgreSQL is timed by ``benchmarks.bench_agreement_report``.

    python -m benchmarks.bench_agreement                 # 100,000 items
    python -m benchmarks.bench_agreement --items 20000
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from evals.stats import agreement

DEFAULTS = {
    "items": 100_000,
    "raters": 5,
    "missing": 0.2,
    "repeats": 5,
    "seed": 11,
    "levels": "nominal,interval",
}
CASES = (("nominal", 5), ("interval", 50))


def simulate(items: int, raters: int, values: int, missing: float, seed: int) -> np.ndarray:
    """Raters x items with NaN for missing: each rater copies a true value 70% of the time."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, values, items)
    noise = rng.integers(0, values, (raters, items))
    data = np.where(rng.random((raters, items)) < 0.7, truth, noise).astype(np.float64)
    data[rng.random((raters, items)) < missing] = np.nan
    return data


def _ours(data: np.ndarray, level: str) -> Callable[[], float]:
    rater, item = np.nonzero(~np.isnan(data))
    value = data[rater, item]
    return lambda: agreement.alpha(item, rater, value, level)


def _measure(fn: Callable[[], float], repeats: int) -> tuple[float, float, int]:
    """(best-of-repeats seconds, value, peak bytes under tracemalloc in a separate run).

    The best of several runs, because the machines these run on are shared: the
    minimum is the least disturbed measurement of both sides alike.
    """
    times = []
    value = float("nan")
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return min(times), value, peak


def run(size_args: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    import krippendorff

    args = {**DEFAULTS, **(size_args or {})}
    items, raters = int(args["items"]), int(args["raters"])
    rows: list[dict[str, Any]] = []
    wanted = set(str(args["levels"]).split(","))
    for level, values in CASES:
        if level not in wanted:
            continue
        data = simulate(items, raters, values, float(args["missing"]), int(args["seed"]))
        label = f"{items:,} items x {raters} raters, {values} values, {args['missing']:.0%} missing"
        repeats = int(args["repeats"]) if level == "nominal" else 1  # the package takes minutes

        def theirs(data=data, level=level) -> float:
            return float(krippendorff.alpha(data, level_of_measurement=level))

        base_s, base_value, base_peak = _measure(theirs, repeats)
        our_s, our_value, our_peak = _measure(_ours(data, level), int(args["repeats"]))
        rows.append(
            {
                "benchmark": "agreement",
                "case": f"krippendorff.alpha {level} ({label})",
                "seconds": round(base_s, 4),
                "ratio": 1.0,
                "peak_mb": round(base_peak / 2**20, 1),
                "alpha": base_value,
            }
        )
        rows.append(
            {
                "benchmark": "agreement",
                "case": f"evals.stats.agreement.alpha {level} ({label})",
                "seconds": round(our_s, 4),
                "ratio": round(our_s / base_s, 4),
                "speedup": round(base_s / our_s, 1),
                "peak_mb": round(our_peak / 2**20, 1),
                "memory_ratio": round(our_peak / base_peak, 4),
                "alpha": our_value,
                "same_value": abs(our_value - base_value) < 1e-9,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    for key, default in DEFAULTS.items():
        parser.add_argument(f"--{key}", type=type(default), default=default)
    rows = run(vars(parser.parse_args()))
    for row in rows:
        print("  ".join(f"{key}={value}" for key, value in row.items()))


if __name__ == "__main__":
    main()
