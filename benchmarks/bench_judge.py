"""Judge throughput and judge-vs-human comparison cost.

1. Judging N items against the scripted OpenAI-compatible server with a fixed latency per
   request, through the real openai client: concurrency C against concurrency 1 (baseline).
2. ``judge_compare.compare`` on N items with bootstrap CIs against the same without bootstrap.

    python -m benchmarks.bench_judge [items] [latency_ms] [concurrency]
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import django


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quorum.settings")
    django.setup()


def _judge_throughput(items: int, latency_ms: int, concurrency: int) -> list[dict]:
    # Imported here, after django.setup(): benchmarks also run as standalone scripts.
    from annotate.models import Criterion, CriterionKind
    from evals.judges.judge import Caller, JudgeConfig, RateLimiter, Subject, judge_item
    from evals.models import JudgeEndpoint
    from tests.evals.judges.judge_server import ScriptedServer

    criteria = [
        Criterion(
            key="accuracy",
            name="Accuracy",
            kind=CriterionKind.LIKERT,
            config={"levels": [{"value": v, "label": str(v)} for v in range(1, 6)]},
        ),
        Criterion(key="safe", name="Safe", kind=CriterionKind.PASS_FAIL),
    ]
    server = ScriptedServer().start()
    server.default = {"sleep": latency_ms / 1000, "answers": {"accuracy": 4, "safe": "pass"}}
    subject = Subject(input="q", output="a")
    rows = []
    try:
        for workers in (1, concurrency):
            config = JudgeConfig.from_endpoint(
                JudgeEndpoint(base_url=server.base_url, model="bench"), api_key="k"
            )
            caller = Caller(config, RateLimiter(10**6))
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=workers) as pool:
                outcomes = list(
                    pool.map(lambda _, c=caller: judge_item(c, "", criteria, subject), range(items))
                )
            seconds = time.perf_counter() - start
            caller.close()
            assert all(o.status == "ok" for o in outcomes)
            rows.append(
                {
                    "case": f"judge {items} items, {latency_ms} ms latency",
                    "variant": f"concurrency {workers}",
                    "seconds": round(seconds, 3),
                    "items_per_second": round(items / seconds, 1),
                }
            )
    finally:
        server.stop()
    rows[1]["ratio_vs_baseline"] = round(rows[0]["seconds"] / rows[1]["seconds"], 2)
    rows[0]["ratio_vs_baseline"] = 1.0
    return rows


def _comparison(items: int) -> list[dict]:
    # Imported here, after django.setup(): benchmarks also run as standalone scripts.
    import numpy as np
    import pandas as pd

    from evals.judges.compare import CriterionSpec, compare

    rng = np.random.default_rng(0)
    spec = CriterionSpec("accuracy", "Accuracy", "likert", (1, 2, 3, 4, 5))
    truth = rng.integers(1, 6, items)
    human = pd.DataFrame(
        [
            {
                "item": i,
                "rater": r,
                "cohort": "A" if r < 2 else "B",
                "criterion": "accuracy",
                "value": int(np.clip(truth[i] + rng.integers(-1, 2), 1, 5)),
            }  # fmt: skip
            for i in range(items)
            for r in range(3)
        ]
    )
    judge = pd.DataFrame(
        [
            {
                "item": i,
                "criterion": "accuracy",
                "value": int(truth[i]),
                "at": pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(days=int(i % 60)),
            }  # fmt: skip
            for i in range(items)
        ]
    )
    rows = []
    for bootstrap in (0, 200):
        start = time.perf_counter()
        compare(human, judge, [spec], bootstrap=bootstrap)
        rows.append(
            {
                "case": f"judge vs humans, {items} items x 3 raters, 2 cohorts",
                "variant": f"bootstrap {bootstrap}",
                "seconds": round(time.perf_counter() - start, 3),
            }
        )
    rows[0]["ratio_vs_baseline"] = 1.0
    rows[1]["ratio_vs_baseline"] = round(rows[1]["seconds"] / rows[0]["seconds"], 2)
    return rows


def run(size_args: list[str] | None = None) -> list[dict]:
    args = [int(a) for a in (size_args or [])]
    items = args[0] if len(args) > 0 else 40
    latency_ms = args[1] if len(args) > 1 else 50
    concurrency = args[2] if len(args) > 2 else 8
    _setup()
    return _judge_throughput(items, latency_ms, concurrency) + _comparison(items * 25)


def main() -> None:
    for row in run(sys.argv[1:]):
        print("  ".join(f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
