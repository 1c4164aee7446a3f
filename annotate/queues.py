"""Creating, changing, pausing and closing review queues, and their progress.

Changing k (judgments per item) or the cohorts of a running queue takes effect for
new claims: open items get ``judgments_needed = max(new k, reserved)`` so the
database rule ``reserved <= judgments_needed`` holds for slots already taken, and an
open item that already has enough judgments is completed. Changing the rubric
version of a queue that has items is refused: make a new queue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Greatest

from annotate.items import add_items
from annotate.models import Cohort, Item, Judgment, Queue, RubricVersion, Workspace
from annotate.text import check_fields

MIN_LEASE_SECONDS = 30
MAX_K = 50
EDITABLE = (
    "name",
    "kind",
    "rubric_version",
    "judgments_per_item",
    "lease_seconds",
    "instructions",
    "order",
    "due_date",
    "show_metadata",
    "shuffle_sides",
    "rationale_required",
    "rationale_min_length",
    "swap_check_rate",
    "gold_rate",
    "gold_min_accuracy",
    "calibration_required",
    "show_reviewer_names",
)


class QueueError(ValidationError):
    """A queue change broke a rule; ``message_dict`` names the field when it can."""


def _check(workspace: Workspace, fields: Mapping[str, Any], cohorts: Iterable[Cohort]) -> None:
    errors: dict[str, str] = {}
    if "name" in fields and not str(fields["name"]).strip():
        errors["name"] = "Give the queue a name."
    if "kind" in fields and fields["kind"] not in Queue.Kind.values:
        errors["kind"] = "Choose rubric or pairwise."
    version = fields.get("rubric_version")
    if "rubric_version" in fields and (
        not isinstance(version, RubricVersion)
        or version.rubric.workspace_id != workspace.pk
        or not version.is_published
    ):
        errors["rubric_version"] = "Choose a published rubric version."
    elif version is not None and version.rubric.archived_at is not None:
        errors["rubric_version"] = "That rubric is archived; choose another."
    k = fields.get("judgments_per_item")
    if "judgments_per_item" in fields and (not isinstance(k, int) or not 1 <= k <= MAX_K):
        errors["judgments_per_item"] = f"Ask for between 1 and {MAX_K} judgments per item."
    lease = fields.get("lease_seconds")
    if "lease_seconds" in fields and (not isinstance(lease, int) or lease < MIN_LEASE_SECONDS):
        errors["lease_seconds"] = f"A lease lasts at least {MIN_LEASE_SECONDS} seconds."
    if "order" in fields and fields["order"] not in Queue.Order.values:
        errors["order"] = "Choose random or oldest first."
    due = fields.get("due_date")
    if due is not None and not isinstance(due, dt.date):
        errors["due_date"] = "Enter a date."
    if any(c.workspace_id != workspace.pk for c in cohorts):
        errors["cohorts"] = "Choose cohorts of this workspace."
    if errors:
        raise QueueError(errors)


def create_queue(workspace: Workspace, *, cohorts: Iterable[Cohort] = (), **fields: Any) -> Queue:
    """A new active queue. ``fields`` are Queue fields from ``EDITABLE``."""
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValueError("Unknown queue fields: " + ", ".join(sorted(unknown)))
    cohorts = list(cohorts)
    fields.setdefault("name", "")
    fields.setdefault("rubric_version", None)
    _check(workspace, fields, cohorts)
    with transaction.atomic():
        queue = Queue.objects.create(workspace=workspace, **fields)
        queue.cohorts.set(cohorts)
    return queue


def has_work(queue: Queue) -> bool:
    return queue.items_total > 0 or Judgment.objects.filter(queue=queue).exists()


def update_queue(
    queue: Queue, *, cohorts: Iterable[Cohort] | None = None, **fields: Any
) -> list[str]:
    """Change a queue's settings. Returns the names of the fields that changed."""
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValueError("Unknown queue fields: " + ", ".join(sorted(unknown)))
    cohorts = list(cohorts) if cohorts is not None else None
    fields = {name: value for name, value in fields.items() if getattr(queue, name) != value}
    _check(queue.workspace, fields, cohorts or [])
    changed = list(fields)
    if "rubric_version" in changed and has_work(queue):
        raise QueueError(
            {
                "rubric_version": "This queue already has items, so its rubric version cannot "
                "change. Make a new queue for the new version."
            }
        )
    if "kind" in changed and has_work(queue):
        raise QueueError({"kind": "This queue already has items, so its kind cannot change."})
    with transaction.atomic():
        locked = Queue.objects.select_for_update().get(pk=queue.pk)
        for name in changed:
            setattr(locked, name, fields[name])
        if changed:
            locked.save(update_fields=changed)
        if "judgments_per_item" in changed:
            _apply_k(locked)
        if cohorts is not None:
            before = set(locked.cohorts.values_list("pk", flat=True))
            if before != {c.pk for c in cohorts}:
                locked.cohorts.set(cohorts)
                changed.append("cohorts")
    queue.refresh_from_db()
    return changed


def _apply_k(queue: Queue) -> None:
    """Open items need the new k (never less than the slots already reserved)."""
    open_items = Item.objects.filter(queue=queue, state=Item.State.OPEN)
    open_items.update(judgments_needed=Greatest(queue.judgments_per_item, F("reserved")))
    finished = open_items.filter(judgment_count__gte=F("judgments_needed")).update(
        state=Item.State.COMPLETE
    )
    if finished:
        Queue.objects.filter(pk=queue.pk).update(items_complete=F("items_complete") + finished)


def _set_status(queue: Queue, status: str, allowed_from: Iterable[str]) -> Queue:
    updated = Queue.objects.filter(pk=queue.pk, status__in=list(allowed_from)).update(status=status)
    queue.refresh_from_db(fields=["status"])
    if not updated and queue.status != status:
        raise QueueError(f"A {queue.get_status_display().lower()} queue cannot be changed so.")
    return queue


def pause(queue: Queue) -> Queue:
    """Stop new claims; leases already given can still be submitted."""
    return _set_status(queue, Queue.Status.PAUSED, [Queue.Status.ACTIVE])


def resume(queue: Queue) -> Queue:
    return _set_status(queue, Queue.Status.ACTIVE, [Queue.Status.PAUSED])


def close(queue: Queue) -> Queue:
    """Close for good: reviewers no longer see it. Its judgments stay."""
    return _set_status(queue, Queue.Status.CLOSED, [Queue.Status.ACTIVE, Queue.Status.PAUSED])


def add_item_by_hand(
    queue: Queue,
    *,
    output: str,
    input_text: str = "",
    model_name: str = "",
    model_version: str = "",
) -> Item:
    """One item pasted in by an author."""
    if queue.status == Queue.Status.CLOSED:
        raise QueueError("This queue is closed; items cannot be added.")
    texts = {"input_text": input_text, "output": output}
    names = {"model_name": model_name.strip(), "model_version": model_version.strip()}
    errors = check_fields(Item, **texts, **names)
    if not output.strip():
        errors["output"] = "Paste the output to grade."
    if not input_text.strip():
        errors["input_text"] = "Paste the input the output answers."
    if errors:
        raise QueueError(errors)
    row = {
        "input_text": input_text.strip(),
        "output": output.strip(),
        "model_name": model_name.strip(),
        "model_version": model_version.strip(),
    }
    return add_items(queue, [row])[0]


@dataclass
class Progress:
    total: int
    complete: int
    partial: int
    untouched: int
    judgments: int
    per_reviewer: list[dict[str, Any]]

    @property
    def percent_complete(self) -> int:
        return round(100 * self.complete / self.total) if self.total else 0


def progress(queue: Queue) -> Progress:
    """Items complete / partial / untouched, and judgments per reviewer (most first)."""
    counts = Item.objects.filter(queue=queue).aggregate(
        total=Count("pk"),
        complete=Count("pk", filter=Q(state=Item.State.COMPLETE)),
        partial=Count("pk", filter=Q(state=Item.State.OPEN, judgment_count__gt=0)),
        untouched=Count("pk", filter=Q(state=Item.State.OPEN, judgment_count=0)),
    )
    per_reviewer = list(
        Judgment.objects.filter(queue=queue)
        .values("reviewer_id", "reviewer__username", "reviewer__first_name", "reviewer__last_name")
        .annotate(count=Count("pk"))
        .order_by("-count", "reviewer__username")
    )
    return Progress(
        total=counts["total"],
        complete=counts["complete"],
        partial=counts["partial"],
        untouched=counts["untouched"],
        judgments=sum(row["count"] for row in per_reviewer),
        per_reviewer=per_reviewer,
    )
