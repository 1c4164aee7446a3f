"""Fixtures for export, import and API tests: a graded queue and tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from annotate.assignment import claim_next
from annotate.judging import submit_judgment
from annotate.models import Queue
from evals.tokens import create_token
from tests.factories import make_queue

BASE_TIME = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

ANSWER_SETS = [
    {"accuracy": 4, "harm": "none", "safe": "pass", "comment": '=HYPERLINK("x")'},
    {"accuracy": 5, "harm": "none", "safe": "pass", "minutes": 3},
    {"accuracy": 2, "harm": "mild", "safe": "fail", "comment": "Line one\nline, two"},
    {"accuracy": 2, "harm": "severe", "safe": "fail", "comment": "-dangerous"},
]


def grade_queue(queue: Queue, reviewers: list, answer_sets=ANSWER_SETS) -> None:
    """Every reviewer grades every item they can claim, with answers cycled from a list."""
    criteria = list(queue.rubric_version.criteria.all())
    n = 0
    for reviewer in reviewers:
        while (assignment := claim_next(queue, reviewer)) is not None:
            when = BASE_TIME + timedelta(minutes=n)
            assignment.leased_at = when - timedelta(seconds=30 + n)
            submit_judgment(
                queue, assignment, criteria, answer_sets[n % len(answer_sets)], now=when
            )
            n += 1


@pytest.fixture
def graded_queue(workspace, clinicians, reviewer, second_reviewer) -> Queue:
    queue = make_queue(workspace, cohorts=[clinicians], k=2, items=4, order=Queue.Order.OLDEST)
    queue.items.filter(pk=queue.items.order_by("pk").first().pk).update(
        input_text="@SUM(A1:A2) is this safe?", metadata={"topic": "dosage", "locale": "en"}
    )
    grade_queue(queue, [reviewer, second_reviewer])
    return queue


@pytest.fixture
def api_token(workspace) -> str:
    return create_token(workspace, "tests")[1]


@pytest.fixture
def auth(api_token) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token}"}
