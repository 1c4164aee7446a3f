"""Server time and query count of "submit a judgment and render the next item".

Two queues, 1,000 and 100,000 items, in one PostgreSQL database. Submits alternate
between the two queues so both sizes see the same machine conditions. Target: the
same query count for both, and median time at 100,000 at most 1.5x the time at 1,000.
"""

from __future__ import annotations

import time

from benchmarks.common import median_ms, print_table, setup_django, throwaway_database

TARGET_RATIO = 1.5


def _build_queue(workspace, cohort, version, name: str, size: int):
    from annotate.models import Item, Queue

    queue = Queue.objects.create(
        workspace=workspace, name=name, rubric_version=version, judgments_per_item=2
    )
    queue.cohorts.add(cohort)
    batch = []
    for n in range(size):
        batch.append(
            Item(
                queue=queue,
                judgments_needed=2,
                input_text=f"Question {n}: can I take ibuprofen with my blood pressure pills?",
                output=f"Answer {n}: **check with your pharmacist**; ibuprofen can raise BP.",
                model_name="assistant",
                model_version="v1" if n % 2 else "v2",
            )
        )
        if len(batch) == 5000:
            Item.objects.bulk_create(batch)
            batch = []
    Item.objects.bulk_create(batch)
    Queue.objects.filter(pk=queue.pk).update(items_total=size)
    return queue


def _measure(sizes: tuple[int, int], submits: int) -> list[dict]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from annotate.models import Assignment, Cohort, Membership, Workspace
    from tests.factories import UserFactory, published_rubric

    workspace = Workspace.objects.create(name="Bench", slug="bench")
    cohort = Cohort.objects.create(workspace=workspace, name="Clinicians")
    version = published_rubric(workspace)
    queues = [_build_queue(workspace, cohort, version, f"q{s}", s) for s in sizes]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    clients, reviewers = [], []
    for index in range(len(sizes)):
        user = UserFactory(username=f"bench-reviewer-{index}")
        Membership.objects.create(workspace=workspace, user=user)
        cohort.members.add(user)
        client = Client()
        client.force_login(user)
        client.get(reverse("grade", args=[workspace.slug, queues[index].pk]))
        clients.append(client)
        reviewers.append(user)
    answers = {"c-accuracy": "4", "c-harm": "none", "c-safe": "pass"}
    samples: dict[int, list[float]] = {s: [] for s in sizes}
    queries: dict[int, set[int]] = {s: set() for s in sizes}
    for _ in range(submits):
        for index, size in enumerate(sizes):
            queue, client, user = queues[index], clients[index], reviewers[index]
            assignment = Assignment.objects.get(queue=queue, reviewer=user, state="leased")
            url = reverse("submit", args=[workspace.slug, queue.pk, assignment.pk])
            with CaptureQueriesContext(connection) as ctx:
                start = time.perf_counter()
                response = client.post(url, answers, HTTP_HX_REQUEST="true")
                samples[size].append(time.perf_counter() - start)
            assert response.status_code == 200, response.content[:500]
            queries[size].add(len(ctx.captured_queries))
    small, large = sizes
    ratio = median_ms(samples[large]) / median_ms(samples[small])
    rows = [
        {
            "case": f"submit+next, {size:,} items",
            "median_ms": median_ms(samples[size]),
            "queries": ",".join(map(str, sorted(queries[size]))),
        }
        for size in sizes
    ]
    rows.append(
        {
            "case": f"ratio {large:,} / {small:,} (target <= {TARGET_RATIO})",
            "ratio": ratio,
            "target_met": ratio <= TARGET_RATIO and queries[small] == queries[large],
        }
    )
    return rows


def run(small: int = 1_000, large: int = 100_000, submits: int = 200) -> list[dict]:
    with throwaway_database():
        return _measure((small, large), submits)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--submits", type=int, default=200)
    args = parser.parse_args()
    setup_django()
    print_table(run(args.small, args.large, args.submits))


if __name__ == "__main__":
    main()
