"""Benchmark: server time and query count of a queue's results page.

A rubric queue with 5 criteria (likert, categorical, pass/fail, numeric, free text), two
model versions and k=2, filled with bulk-created judgments spread over 60 days. The page
(every panel, rendered by the Django test client as an author) is timed at the baseline
size (1,000 judgments) and at the large one (100,000), side by side in one process, in a
throw-away test database created from ``DATABASE_URL`` (use PostgreSQL for the figure that
counts). Target: at most 1 s at 100,000 on PostgreSQL, and the same query count at both.

    DATABASE_URL=postgres://... python -m benchmarks.bench_results
    python -m benchmarks.bench_results --sizes 1000,20000 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

DEFAULTS = {"sizes": "1000,100000", "repeats": 5, "seed": 7}
TOPICS = ["dosage", "side effects", "appointments", "lab results", "symptoms"]
LOCALES = ["en-GB", "en-US", "fr-FR"]
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def seed_queue(workspace, judgments: int, *, seed: int = 7, reviewers: int = 10, k: int = 2):
    """A k=2 rubric queue with ``judgments`` bulk-created judgments (and judgments/k items)."""
    from django.contrib.auth import get_user_model

    from annotate.models import Cohort, Item, Judgment, Membership, Queue, Role
    from tests.factories import make_queue

    rng = random.Random(seed)
    user_model = get_user_model()
    people = [
        user_model.objects.get_or_create(username=f"bench-rev-{workspace.pk}-{n}")[0]
        for n in range(reviewers)
    ]
    for person in people:
        Membership.objects.get_or_create(workspace=workspace, user=person, role=Role.REVIEWER)
    cohort, _ = Cohort.objects.get_or_create(workspace=workspace, name="Bench clinicians")
    cohort.members.add(*people[: reviewers // 2])
    queue = make_queue(workspace, cohorts=[cohort], k=k, name=f"Bench {judgments}")
    n_items = -(-judgments // k)
    span = 60 * 86400
    items = Item.objects.bulk_create(
        [
            Item(
                queue=queue,
                input_text=f"Patient question {n}",
                output=f"Answer {n}",
                model_name="assistant",
                model_version="v1" if n % 2 else "v2",
                metadata={"topic": rng.choice(TOPICS), "locale": rng.choice(LOCALES)},
                judgments_needed=k,
                judgment_count=k,
                reserved=k,
                state=Item.State.COMPLETE,
                created_at=START + timedelta(seconds=span * n / n_items),
            )
            for n in range(n_items)
        ],
        batch_size=5000,
    )
    Queue.objects.filter(pk=queue.pk).update(items_total=n_items, items_complete=n_items)
    rows = []
    for index in range(judgments):
        item = items[index // k]
        better = item.model_version == "v2"
        when = item.created_at + timedelta(hours=rng.randint(1, 48))
        rows.append(
            Judgment(
                item=item,
                queue=queue,
                reviewer=people[(index // k + index % k) % reviewers],
                rubric_version_id=queue.rubric_version_id,
                answers={
                    "accuracy": min(5, rng.randint(1, 5) + (1 if better else 0)),
                    "harm": rng.choice(["none", "none", "none", "mild", "severe"]),
                    "safe": rng.random() < (0.9 if better else 0.8),
                    "minutes": rng.randint(0, 20),
                    "comment": "ok",
                },
                time_spent_ms=rng.randint(5_000, 120_000),
                created_at=when,
                updated_at=when,
            )
        )
    Judgment.objects.bulk_create(rows, batch_size=5000)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # what autovacuum does after a bulk load
            cursor.execute("ANALYZE annotate_judgment, annotate_item")
    return queue


def add_judgments_sql(queue, judgments: int, reviewers: list, *, start_index: int = 0) -> None:
    """PostgreSQL only: add ``judgments`` judgments (k=2, so judgments/2 new items) with one
    INSERT ... SELECT over generate_series each: seconds instead of minutes for 100,000."""
    from django.db import connection

    from annotate.models import Queue

    items = judgments // 2
    ids = [r.pk for r in reviewers]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO annotate_item (queue_id, input_text, input_messages, output, model_name,
                model_version, metadata, state, judgments_needed, judgment_count, reserved,
                sort_key, created_at)
            SELECT %s, 'Patient question ' || g, '[]'::jsonb, 'Answer ' || g, 'assistant',
                CASE WHEN g %% 2 = 1 THEN 'v1' ELSE 'v2' END,
                jsonb_build_object('topic', (ARRAY['dosage','side effects','symptoms'])[1 + g %% 3],
                                   'locale', (ARRAY['en-GB','fr-FR'])[1 + g %% 2]),
                'complete', 2, 2, 2, g, %s::timestamptz + (g %% 60) * interval '1 day'
            FROM generate_series(%s, %s) AS g
            """,
            [queue.pk, START, start_index, start_index + items - 1],
        )
        cursor.execute(
            """
            INSERT INTO annotate_judgment (item_id, queue_id, reviewer_id, rubric_version_id,
                answers, time_spent_ms, revision, created_at, updated_at)
            SELECT i.id, i.queue_id, (%s::bigint[])[1 + ((i.sort_key + r) %% %s)], %s,
                jsonb_build_object(
                    'accuracy', 1 + (i.sort_key * 7 + r * 3) %% 5,
                    'harm', (ARRAY['none','none','mild','severe'])[1 + (i.sort_key + r) %% 4],
                    'safe', (i.sort_key + r) %% 5 <> 0,
                    'minutes', (i.sort_key + r * 11) %% 21,
                    'comment', 'ok'),
                5000 + (i.sort_key * 37 + r) %% 100000, 1,
                i.created_at + r * interval '1 hour', i.created_at + r * interval '1 hour'
            FROM annotate_item i CROSS JOIN generate_series(0, 1) AS r
            WHERE i.queue_id = %s AND i.sort_key BETWEEN %s AND %s
            """,
            [ids, len(ids), queue.rubric_version_id, queue.pk, start_index,
             start_index + items - 1],
        )  # fmt: skip
        cursor.execute("ANALYZE annotate_judgment, annotate_item")
    total = queue.items.count()
    Queue.objects.filter(pk=queue.pk).update(items_total=total, items_complete=total)


def _sql_seeded_queue(workspace, judgments: int):
    from tests.factories import UserFactory, make_queue

    queue = make_queue(workspace, k=2, name=f"Bench {judgments}")
    people = [UserFactory(username=f"bench-{workspace.pk}-{n}") for n in range(10)]
    add_judgments_sql(queue, judgments, people)
    return queue


def measure_page(client, url: str, repeats: int) -> tuple[float, int]:
    """(median seconds, queries) of GET ``url``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm caches and connections
    times = []
    queries = 0
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
        queries = len(captured)
    return statistics.median(times), queries


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quorum.settings")
    import django

    django.setup()


def run(size_args: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    _setup_django()
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment, teardown_test_environment
    from django.urls import reverse

    from annotate.models import Membership, Role, Workspace
    from tests.factories import UserFactory

    args = {**DEFAULTS, **(size_args or {})}
    sizes = [int(s) for s in str(args["sizes"]).split(",")]
    setup_test_environment()
    if connection.vendor == "postgresql":  # its own database, apart from the test run's
        connection.settings_dict["TEST"]["NAME"] = connection.settings_dict["NAME"] + "_bench"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    rows: list[dict[str, Any]] = []
    try:
        author = UserFactory(username="bench-author")
        base_seconds = None
        base_queries = None
        for size in sizes:
            workspace = Workspace.objects.create(name=f"Bench {size}", slug=f"bench-{size}")
            Membership.objects.create(workspace=workspace, user=author, role=Role.AUTHOR)
            if connection.vendor == "postgresql":
                queue = _sql_seeded_queue(workspace, size)
            else:
                queue = seed_queue(workspace, size, seed=int(args["seed"]))
            client = Client()
            client.force_login(author)
            url = reverse("queue-results", args=[workspace.slug, queue.pk])
            seconds, queries = measure_page(client, url, int(args["repeats"]))
            base_seconds = base_seconds or seconds
            base_queries = base_queries if base_queries is not None else queries
            rows.append(
                {
                    "benchmark": "results",
                    "case": f"queue results page, {size:,} judgments ({connection.vendor})",
                    "seconds": round(seconds, 4),
                    "ratio": round(seconds / base_seconds, 2),
                    "queries": queries,
                    "target_seconds": 1.0,  # at 100,000 on PostgreSQL; reported, not asserted
                    "target_met": queries == base_queries,  # the query count must not grow
                }
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    for key, default in DEFAULTS.items():
        parser.add_argument(f"--{key}", type=type(default), default=default)
    for row in run(vars(parser.parse_args())):
        print("  ".join(f"{key}={value}" for key, value in row.items()))


if __name__ == "__main__":
    main()
