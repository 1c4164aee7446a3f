"""Builders for results tests: judgments written directly, with chosen answers and times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from annotate.models import Item, Judgment, Queue
from tests.factories import UserFactory

DAY0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def make_item(queue: Queue, model_version: str = "v1", **fields: Any) -> Item:
    item = Item.objects.create(
        queue=queue,
        output="An answer.",
        model_name="assistant",
        model_version=model_version,
        judgments_needed=queue.judgments_per_item,
        **fields,
    )
    Queue.objects.filter(pk=queue.pk).update(items_total=queue.items.count())
    return item


def judge(
    queue: Queue,
    item: Item,
    answers: dict[str, Any],
    *,
    reviewer=None,
    day: int = 0,
    ms: int = 30_000,
) -> Judgment:
    reviewer = reviewer or UserFactory()
    when = DAY0 + timedelta(days=day)
    return Judgment.objects.create(
        item=item,
        queue=queue,
        reviewer=reviewer,
        rubric_version_id=queue.rubric_version_id,
        answers=answers,
        time_spent_ms=ms,
        created_at=when,
        updated_at=when,
    )


def judged_items(queue: Queue, model_version: str, answer_list: list[dict], **kw) -> list[Item]:
    """One item per answers dict, each judged once, on day ``kw.get('day', 0)``."""
    items = []
    for answers in answer_list:
        item = make_item(queue, model_version)
        judge(queue, item, answers, **kw)
        items.append(item)
    return items
