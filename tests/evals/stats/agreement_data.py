"""Builders for queues with judgments already recorded, for agreement tests."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from annotate.models import Cohort, Judgment, Queue, Role, Workspace
from tests.factories import MembershipFactory, make_queue

User = get_user_model()


def reviewers(workspace: Workspace, cohort: Cohort, names: list[str]) -> list:
    users = []
    for name in names:
        user = User.objects.create(username=name, first_name=name.title())  # no slow hashing
        MembershipFactory(workspace=workspace, user=user, role=Role.REVIEWER)
        cohort.members.add(user)
        users.append(user)
    return users


def record(queue: Queue, item, reviewer, answers: dict[str, Any], time_ms: int = 30_000):
    """A judgment written directly (the grading loop is tested elsewhere)."""
    judgment = Judgment.objects.create(
        item=item,
        queue=queue,
        reviewer=reviewer,
        rubric_version_id=queue.rubric_version_id,
        answers=answers,
        time_spent_ms=time_ms,
    )
    item.judgment_count += 1
    item.reserved += 1
    item.save(update_fields=["judgment_count", "reserved"])
    return judgment


def two_cohort_queue(
    workspace: Workspace, items: int = 6, clinic: Cohort | None = None
) -> dict[str, Any]:
    """Clinicians (3) and lay reviewers (2) grading the same items, k = 5."""
    clinic = clinic or Cohort.objects.create(workspace=workspace, name="Clinicians")
    lay = Cohort.objects.create(workspace=workspace, name="Lay reviewers")
    queue = make_queue(workspace, cohorts=[clinic, lay], k=5, items=items)
    return {
        "queue": queue,
        "clinic": clinic,
        "lay": lay,
        "clinicians": reviewers(workspace, clinic, ["doc-a", "doc-b", "doc-c"]),
        "lay_reviewers": reviewers(workspace, lay, ["lay-a", "lay-b"]),
        "items": list(queue.items.order_by("id")),
    }
