"""A stratified sampling run: 1,000 picks out of N logs with two filters, on PostgreSQL.

Logs: four model versions, ten topics, timestamps over 30 days. The rule keeps two
model versions and the last 15 days (two filters) and takes a quota of 100 per topic
(10 strata -> 1,000 picks). Reported next to a plain indexed count of the matching
logs in the same run. Target: the whole run (plan + 1,000 items added) under 2 s.

    python -m benchmarks.bench_sampling 1000000
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta

from benchmarks.common import print_table, setup_django, throwaway_database

TARGET_SECONDS = 2.0
DEFAULT_SIZES = (100_000,)


def _fill(workspace, source, size: int, now) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO evals_log (workspace_id, source_id, external_id, timestamp, model_name,
                model_version, input_text, input_messages, output, metadata, feedback,
                feedback_negative, trace_id, redacted, created_at)
            SELECT %s, %s, 'log-' || n, %s - (n %% 43200) * interval '1 minute', 'assistant',
                'v' || (n %% 4 + 1), 'Question ' || n || ': can I take ibuprofen?', '[]'::jsonb,
                'Answer ' || n || ': check with your pharmacist first.',
                jsonb_build_object('topic', 'topic-' || (n %% 10), 'locale', 'en-GB'),
                '{}'::jsonb, n %% 9 = 0, '', false, %s
            FROM generate_series(1, %s) AS n
            """,
            [workspace.pk, source.pk, now, now, size],
        )
        # A steady-state table, as autovacuum leaves it: statistics, hint bits, visibility map.
        cursor.execute("VACUUM ANALYZE evals_log")


def _measure(size: int) -> list[dict]:
    from django.utils import timezone

    from annotate.models import Workspace
    from evals.models import Log, SamplingRule, SamplingRun, Source
    from evals.sampling import rules as sampling
    from tests.factories import make_queue

    now = timezone.now()
    workspace = Workspace.objects.create(name=f"Bench sampling {size}", slug=f"bench-s-{size}")
    source = Source.objects.create(workspace=workspace, name="bench")
    _fill(workspace, source, size, now)
    since = (now - timedelta(days=15)).isoformat()
    rule = SamplingRule.objects.create(
        workspace=workspace,
        name="bench",
        queue=make_queue(workspace),
        filters={"model_versions": ["v1", "v2"], "since": since},
        strategy=SamplingRule.Strategy.QUOTA,
        count=100,
        strata=["metadata.topic"],
        seed=1234,
    )
    start = time.perf_counter()
    matching = Log.objects.filter(
        workspace=workspace, model_version__in=["v1", "v2"], timestamp__gte=since
    ).count()
    count_s = time.perf_counter() - start

    start = time.perf_counter()
    run = sampling.execute_run(SamplingRun.objects.create(rule=rule))
    run_s = time.perf_counter() - start
    return [
        {
            "case": f"quota sample of {size:,} logs",
            "matching": matching,
            "count_s": round(count_s, 3),
            "run_s": round(run_s, 3),
            "ratio": round(run_s / count_s, 2) if count_s else None,
            "picked": run.added,
            "target_met": run_s < TARGET_SECONDS and run.added == 1000,
        }
    ]


def run(size_args: tuple[int, ...] = DEFAULT_SIZES) -> list[dict]:
    rows = []
    with throwaway_database():
        for size in size_args:
            rows += _measure(size)
    return rows


def main() -> None:
    setup_django()
    sizes = tuple(int(a) for a in sys.argv[1:]) or DEFAULT_SIZES
    print_table(run(sizes))


if __name__ == "__main__":
    main()
