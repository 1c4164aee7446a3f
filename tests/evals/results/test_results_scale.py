"""The results page's query count does not grow with the number of judgments."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from benchmarks.bench_results import add_judgments_sql
from tests.factories import UserFactory, make_queue


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_query_count_is_the_same_for_1000_and_100000_judgments(
    postgres, client, workspace, author, clinicians
):
    queue = make_queue(workspace, k=2, cohorts=[clinicians])
    reviewers = [UserFactory(username=f"scale-{n}") for n in range(10)]
    clinicians.members.add(*reviewers[:5])
    url = reverse("queue-results", args=[workspace.slug, queue.pk])
    client.force_login(author)

    add_judgments_sql(queue, 1_000, reviewers)
    assert queue.judgments.count() == 1_000
    with CaptureQueriesContext(connection) as small:
        response = client.get(url)
    assert response.status_code == 200
    assert b'<strong id="judgment-total">1000</strong>' in response.content

    add_judgments_sql(queue, 99_000, reviewers, start_index=500)
    assert queue.judgments.count() == 100_000
    with CaptureQueriesContext(connection) as large:
        response = client.get(f"{url}?cohort={clinicians.pk}&period=week")
    assert response.status_code == 200
    assert len(large) == len(small)
    with CaptureQueriesContext(connection) as full:
        response = client.get(url)
    assert b'<strong id="judgment-total">100000</strong>' in response.content
    assert len(full) == len(small)
