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
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    rows: list[dict[str, Any]] = []
    try:
        author = UserFactory(username="bench-author")
        base_seconds = None
        for size in sizes:
            workspace = Workspace.objects.create(name=f"Bench {size}", slug=f"bench-{size}")
            Membership.objects.create(workspace=workspace, user=author, role=Role.AUTHOR)
            queue = seed_queue(workspace, size, seed=int(args["seed"]))
            client = Client()
            client.force_login(author)
            url = reverse("queue-results", args=[workspace.slug, queue.pk])
            seconds, queries = measure_page(client, url, int(args["repeats"]))
            base_seconds = base_seconds or seconds
            rows.append(
                {
                    "benchmark": "results",
                    "case": f"queue results page, {size:,} judgments ({connection.vendor})",
                    "seconds": round(seconds, 4),
                    "ratio": round(seconds / base_seconds, 2),
                    "queries": queries,
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
