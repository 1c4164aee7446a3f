"""Claiming, releasing and reaping leases on item slots.

An item needs ``judgments_needed`` (k) judgments. ``Item.reserved`` counts the
slots spoken for: submitted judgments plus live leases. A claim takes a slot with a
conditional ``UPDATE ... WHERE reserved < judgments_needed`` and checks that exactly
one row changed, so no interleaving of claims can over-fill an item; the
database's check constraint ``reserved <= judgments_needed`` backs that up. On
PostgreSQL the candidate row is picked with ``FOR UPDATE SKIP LOCKED`` so that
concurrent reviewers do not queue behind each other; on SQLite the write
transaction is ``IMMEDIATE`` and so serialized.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from annotate.models import Assignment, Item, Judgment, Queue, ReviewerPause
from annotate.text import replace_bad_text

CLAIM_ATTEMPTS = 5


def live_assignment(queue: Queue, reviewer: AbstractBaseUser) -> Assignment | None:
    """The reviewer's current lease in this queue, if any (reviewers hold one at a time)."""
    return (
        Assignment.objects.select_related("item")
        .filter(queue=queue, reviewer=reviewer, state=Assignment.State.LEASED)
        .order_by("leased_at")
        .first()
    )


def _candidates(queue: Queue, reviewer: AbstractBaseUser, gold: bool = False):
    seen = Assignment.objects.filter(item=OuterRef("pk"), reviewer=reviewer)
    judged = Judgment.objects.filter(item=OuterRef("pk"), reviewer=reviewer)
    order = "sort_key" if queue.order == Queue.Order.RANDOM else "id"
    qs = (
        Item.objects.filter(queue=queue, state=Item.State.OPEN, reserved__lt=F("judgments_needed"))
        .filter(is_gold=gold, is_practice=False)
        .exclude(Exists(seen))
        .exclude(Exists(judged))
        .order_by(order)
    )
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    return qs


def claim_next(
    queue: Queue, reviewer: AbstractBaseUser, now: datetime | None = None
) -> Assignment | None:
    """Give the reviewer a lease on the next item they may grade, or None when there is none.

    A reviewer who already holds a lease in this queue gets it back (with a fresh expiry),
    so reloading the page never burns a slot.
    """
    now = now or timezone.now()
    if not queue.is_active:
        return None
    expires = now + timedelta(seconds=queue.lease_seconds)
    current = live_assignment(queue, reviewer)
    if current is not None:
        Assignment.objects.filter(pk=current.pk, state=Assignment.State.LEASED).update(
            expires_at=expires
        )
        current.expires_at = expires
        return current
    if queue.gold_min_accuracy is not None and is_paused(queue, reviewer):
        return None  # only a gold threshold pauses reviewers
    gold_first = queue.gold_rate > 0 and gold_turn(queue, reviewer)
    for _ in range(CLAIM_ATTEMPTS):
        with transaction.atomic():
            item = _candidates(queue, reviewer, gold=True).first() if gold_first else None
            item = item or _candidates(queue, reviewer).first()
            if item is None:
                return None
            took = Item.objects.filter(
                pk=item.pk, state=Item.State.OPEN, reserved__lt=F("judgments_needed")
            ).update(reserved=F("reserved") + 1)
            if took != 1:
                continue
            assignment = Assignment.objects.create(
                item=item, queue=queue, reviewer=reviewer, leased_at=now, expires_at=expires
            )
            assignment.item = item
            return assignment
    return None


def gold_turn(queue: Queue, reviewer: AbstractBaseUser) -> bool:
    """Whether the reviewer's next item should be a gold item.

    Drawn at the queue's ``gold_rate`` from a generator seeded by queue, reviewer and
    how many items they have been given, so the mix is unpredictable to the reviewer
    yet reproducible (and a reload does not re-roll it).
    """
    served = Assignment.objects.filter(queue=queue, reviewer=reviewer).count()
    return random.Random(f"{queue.pk}:{reviewer.pk}:{served}").random() < queue.gold_rate


def is_paused(queue: Queue, reviewer: AbstractBaseUser) -> bool:
    """Whether the reviewer is paused in the queue (gold accuracy fell below its threshold)."""
    return ReviewerPause.objects.filter(
        queue=queue, reviewer=reviewer, lifted_at__isnull=True
    ).exists()


def release(assignment: Assignment, reason: str = "", now: datetime | None = None) -> bool:
    """Skip: give the slot back. True if this call released it (False if it was not live)."""
    now = now or timezone.now()
    with transaction.atomic():
        changed = Assignment.objects.filter(pk=assignment.pk, state=Assignment.State.LEASED).update(
            state=Assignment.State.SKIPPED,
            finished_at=now,
            skip_reason=replace_bad_text(reason[:300]),
        )
        if changed == 1:
            Item.objects.filter(pk=assignment.item_id).update(reserved=F("reserved") - 1)
    return changed == 1


def reap_expired_leases(now: datetime | None = None, batch_size: int = 500) -> int:
    """Expire leases past their time and return their slots to the pool. Returns how many."""
    now = now or timezone.now()
    reaped = 0
    while True:
        batch = list(
            Assignment.objects.filter(state=Assignment.State.LEASED, expires_at__lt=now)
            .order_by("expires_at")
            .values_list("pk", "item_id")[:batch_size]
        )
        if not batch:
            return reaped
        with transaction.atomic():
            for assignment_id, item_id in batch:
                changed = Assignment.objects.filter(
                    pk=assignment_id, state=Assignment.State.LEASED, expires_at__lt=now
                ).update(state=Assignment.State.EXPIRED, finished_at=now)
                if changed == 1:
                    Item.objects.filter(pk=item_id).update(reserved=F("reserved") - 1)
                    reaped += 1
        if len(batch) < batch_size:
            return reaped


def retake_slot(assignment: Assignment, now: datetime | None = None) -> bool:
    """Revive an expired lease for a late submit, if the item still has a free slot.

    Must run inside the caller's transaction, with the assignment row locked.
    """
    took = Item.objects.filter(
        pk=assignment.item_id, state=Item.State.OPEN, reserved__lt=F("judgments_needed")
    ).update(reserved=F("reserved") + 1)
    if took != 1:
        return False
    Assignment.objects.filter(pk=assignment.pk).update(state=Assignment.State.LEASED)
    assignment.state = Assignment.State.LEASED
    return True
