"""Gold items: expected answers, checking a reviewer's answers against them, accuracy, pauses.

An author marks an item gold with expected answers (cleaned like a reviewer's, so
pass/fail is a boolean) and, for scales and numbers, a tolerance per criterion. Gold
items are served at the queue's ``gold_rate`` (see ``annotate.assignment``) and look
exactly like any other item. Accuracy is tracked per reviewer and criterion; below
the queue's ``gold_min_accuracy`` the reviewer is paused and the authors are told.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F

from annotate.judging import validate_answers
from annotate.models import (
    Criterion,
    CriterionKind,
    Item,
    Judgment,
    Membership,
    Queue,
    ReviewerPause,
    Role,
)

GOLD_SLOTS = 1_000_000  # a gold item is graded by every reviewer: it never fills up
MIN_GOLD_FOR_PAUSE = 3


class GoldError(ValueError):
    pass


def mark_gold(
    item: Item,
    criteria: Sequence[Criterion],
    answers: dict[str, Any],
    tolerance: dict[str, float] | None = None,
    explanation: str = "",
    practice: bool = False,
) -> Item:
    """Make ``item`` a gold (or calibration practice) item with these expected answers."""
    cleaned, errors = validate_answers(criteria, answers)
    if errors:
        raise GoldError("; ".join(f"{key}: {message}" for key, message in errors.items()))
    if item.judgment_count:
        raise GoldError("This item already has judgments; mark a fresh item as gold.")
    with transaction.atomic():
        if not (item.is_gold or item.is_practice):
            Queue.objects.filter(pk=item.queue_id).update(items_total=F("items_total") - 1)
        item.is_gold = not practice
        item.is_practice = practice
        item.gold_answers = cleaned
        item.gold_tolerance = {key: float(value) for key, value in (tolerance or {}).items()}
        item.gold_explanation = explanation
        item.judgments_needed = GOLD_SLOTS if not practice else item.judgments_needed
        item.save(
            update_fields=[
                "is_gold",
                "is_practice",
                "gold_answers",
                "gold_tolerance",
                "gold_explanation",
                "judgments_needed",
            ]
        )
    return item


def matches(kind: str, given: Any, expected: Any, tolerance: float = 0.0) -> bool | None:
    """Whether an answer matches the gold one; None when it cannot be checked."""
    if expected is None or given is None or kind == CriterionKind.FREE_TEXT:
        return None
    if kind in (CriterionKind.LIKERT, CriterionKind.NUMERIC):
        return abs(float(given) - float(expected)) <= tolerance + 1e-9
    if kind == CriterionKind.PASS_FAIL:
        return bool(given) == bool(expected)
    return str(given) == str(expected)


def check(item: Item, criteria: Sequence[Criterion], answers: dict[str, Any]) -> dict[str, bool]:
    """Per criterion key with a gold answer: did ``answers`` match it?"""
    result = {}
    for criterion in criteria:
        verdict = matches(
            criterion.kind,
            answers.get(criterion.key),
            item.gold_answers.get(criterion.key),
            float(item.gold_tolerance.get(criterion.key, 0)),
        )
        if verdict is not None:
            result[criterion.key] = verdict
    return result


def accuracy(queue: Queue, criteria: Sequence[Criterion]) -> dict[int, dict[str, Any]]:
    """Per reviewer: gold items graded, share correct overall and per criterion."""
    rows = Judgment.objects.filter(queue=queue, item__is_gold=True).values_list(
        "reviewer_id", "answers", "item__gold_answers", "item__gold_tolerance"
    )
    kinds = {criterion.key: criterion.kind for criterion in criteria}
    per: dict[int, dict[str, Any]] = {}
    for reviewer_id, answers, gold, tolerance in rows:
        entry = per.setdefault(reviewer_id, {"items": 0, "right": 0, "checked": 0, "by": {}})
        entry["items"] += 1
        for key, expected in (gold or {}).items():
            verdict = matches(
                kinds.get(key, ""), answers.get(key), expected, float((tolerance or {}).get(key, 0))
            )
            if verdict is None:
                continue
            by = entry["by"].setdefault(key, [0, 0])
            by[0] += int(verdict)
            by[1] += 1
            entry["right"] += int(verdict)
            entry["checked"] += 1
    for entry in per.values():
        entry["accuracy"] = entry["right"] / entry["checked"] if entry["checked"] else None
        entry["by_criterion"] = {key: right / n for key, (right, n) in entry.pop("by").items()}
    return per


def after_gold_judgment(queue: Queue, reviewer, criteria: Sequence[Criterion]) -> bool:
    """Pause the reviewer if their gold accuracy fell below the queue's threshold. True if so."""
    if queue.gold_min_accuracy is None:
        return False
    mine = accuracy(queue, criteria).get(reviewer.pk)
    if not mine or mine["items"] < MIN_GOLD_FOR_PAUSE or mine["accuracy"] is None:
        return False
    if mine["accuracy"] >= queue.gold_min_accuracy:
        return False
    reason = (
        f"Gold accuracy {mine['accuracy']:.0%} on {mine['items']} gold items is below "
        f"the queue's threshold of {queue.gold_min_accuracy:.0%}."
    )
    try:
        with transaction.atomic():
            ReviewerPause.objects.create(queue=queue, reviewer=reviewer, reason=reason)
    except IntegrityError:
        return True  # already paused
    _tell_authors(queue, reviewer, reason)
    return True


def _tell_authors(queue: Queue, reviewer, reason: str) -> None:
    emails = list(
        Membership.objects.filter(
            workspace_id=queue.workspace_id, role__in=[Role.ADMIN, Role.AUTHOR]
        )
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if emails:
        send_mail(
            f"[Quorum] {reviewer.get_username()} paused in {queue.name}",
            f"{reviewer.get_username()} was paused in the queue {queue.name}. {reason}\n"
            "See the queue's reviewers page to review their answers or lift the pause.",
            settings.DEFAULT_FROM_EMAIL,
            emails,
            fail_silently=True,
        )
