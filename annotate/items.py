"""Adding items to a queue."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import F

from annotate.models import Item, Queue

ITEM_FIELDS = (
    "input_text",
    "input_messages",
    "output",
    "model_name",
    "model_version",
    "metadata",
    "source_log_id",
    "output_b",
    "model_name_b",
    "model_version_b",
)


def add_items(queue: Queue, rows: Iterable[dict[str, Any]], batch_size: int = 1000) -> list[Item]:
    """Create items in ``queue`` from dicts of item fields; keeps the queue's counters right."""
    items = [
        Item(queue=queue, judgments_needed=queue.judgments_per_item, **_fields(row)) for row in rows
    ]
    with transaction.atomic():
        created = Item.objects.bulk_create(items, batch_size=batch_size)
        Queue.objects.filter(pk=queue.pk).update(items_total=F("items_total") + len(created))
    queue.refresh_from_db(fields=["items_total"])
    return created


def _fields(row: dict[str, Any]) -> dict[str, Any]:
    unknown = set(row) - set(ITEM_FIELDS)
    if unknown:
        raise ValueError("Unknown item fields: " + ", ".join(sorted(unknown)))
    return dict(row)
