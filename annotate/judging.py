"""Validate a reviewer's answers against a rubric version, and record judgments.

``validate_answers`` is shared by the grading form, the API and imports: it takes
raw values (form strings or JSON values) keyed by criterion key and returns the
cleaned answers and, per criterion key, an error message. Nothing is saved unless
every answer is valid.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from annotate import audit
from annotate.assignment import retake_slot
from annotate.models import (
    Assignment,
    Criterion,
    CriterionKind,
    Item,
    Judgment,
    JudgmentRevision,
    Queue,
)
from annotate.text import text_problem

DEFAULT_TEXT_LIMIT = 5000
UNKNOWN = "unknown_criteria"


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _as_number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        number = float(value.strip())
    else:
        raise ValueError
    if not math.isfinite(number):
        raise ValueError
    return number


def _clean_likert(criterion: Criterion, value: Any) -> int:
    allowed = [int(level["value"]) for level in criterion.levels]
    try:
        number = _as_number(value)
    except ValueError:
        raise ValueError("Choose one of the levels.") from None
    if number != int(number) or int(number) not in allowed:
        raise ValueError(f"Choose a level from {min(allowed)} to {max(allowed)}.")
    return int(number)


def _clean_pass_fail(criterion: Criterion, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"pass", "true", "1", "yes"}:
        return True
    if text in {"fail", "false", "0", "no"}:
        return False
    raise ValueError("Answer pass or fail.")


def _clean_categorical(criterion: Criterion, value: Any) -> str:
    allowed = [str(option["value"]) for option in criterion.options]
    if not isinstance(value, str | int) or isinstance(value, bool) or str(value) not in allowed:
        raise ValueError("Choose one of: " + ", ".join(allowed) + ".")
    return str(value)


def _clean_numeric(criterion: Criterion, value: Any) -> float | int:
    try:
        number = _as_number(value)
    except ValueError:
        raise ValueError("Enter a number.") from None
    low, high = criterion.config.get("min"), criterion.config.get("max")
    if low is not None and number < float(low):
        raise ValueError(f"Enter a number of at least {low}.")
    if high is not None and number > float(high):
        raise ValueError(f"Enter a number of at most {high}.")
    step = criterion.config.get("step")
    if step:
        base = float(low) if low is not None else 0.0
        steps = (number - base) / float(step)
        if abs(steps - round(steps)) > 1e-9:
            raise ValueError(f"Enter a multiple of {step}" + (f" from {low}." if low else "."))
    return int(number) if number == int(number) else number


def _clean_free_text(criterion: Criterion, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("Enter text.")
    limit = int(criterion.config.get("max_length", DEFAULT_TEXT_LIMIT))
    text = value.strip()
    if len(text) > limit:
        raise ValueError(f"Keep this under {limit} characters (it has {len(text)}).")
    if problem := text_problem(text):
        raise ValueError(f"This text {problem}.")
    return text


CLEANERS = {
    CriterionKind.LIKERT: _clean_likert,
    CriterionKind.PASS_FAIL: _clean_pass_fail,
    CriterionKind.CATEGORICAL: _clean_categorical,
    CriterionKind.NUMERIC: _clean_numeric,
    CriterionKind.FREE_TEXT: _clean_free_text,
}


def validate_answers(
    criteria: Sequence[Criterion], raw: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Clean ``raw`` answers against ``criteria``. Returns (answers, errors by criterion key).

    Unknown keys are reported under ``UNKNOWN``. A blank optional answer is left out.
    """
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    known = {criterion.key for criterion in criteria}
    unknown = sorted(str(key) for key in raw if key not in known)
    if unknown:
        errors[UNKNOWN] = "Unknown criteria: " + ", ".join(unknown) + "."
    for criterion in criteria:
        value = raw.get(criterion.key)
        if _blank(value):
            if criterion.required:
                errors[criterion.key] = "This criterion needs an answer."
            continue
        try:
            answers[criterion.key] = CLEANERS[criterion.kind](criterion, value)
        except ValueError as exc:
            errors[criterion.key] = str(exc)
    return answers, errors


Validator = Callable[
    [Sequence[Criterion], Mapping[str, Any]], tuple[dict[str, Any], dict[str, str]]
]


class Outcome(StrEnum):
    SAVED = "saved"
    INVALID = "invalid"
    DUPLICATE = "duplicate"
    TOO_LATE = "too_late"
    SKIPPED = "skipped"


@dataclass
class SubmitResult:
    outcome: Outcome
    judgment: Judgment | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return MESSAGES.get(self.outcome, "")


MESSAGES = {
    Outcome.SAVED: "Saved.",
    Outcome.DUPLICATE: "That answer was already saved; here is your next item.",
    Outcome.TOO_LATE: (
        "Your time on that item ran out and other reviewers completed it, so your answer "
        "was not saved. Here is your next item."
    ),
    Outcome.SKIPPED: "You had skipped that item, so the answer was not saved.",
}


def _complete_if_full(item_id: int, queue_id: int) -> None:
    finished = Item.objects.filter(
        pk=item_id, state=Item.State.OPEN, judgment_count__gte=F("judgments_needed")
    ).update(state=Item.State.COMPLETE)
    if finished:
        Queue.objects.filter(pk=queue_id).update(items_complete=F("items_complete") + 1)


def submit_judgment(
    queue: Queue,
    assignment: Assignment,
    criteria: Sequence[Criterion],
    raw: Mapping[str, Any],
    now: datetime | None = None,
    validate: Validator | None = None,
) -> SubmitResult:
    """Validate and record the answers for a leased assignment, exactly once.

    ``validate`` replaces ``validate_answers`` for queues whose answers are not one
    value per criterion (pairwise queues pass ``annotate.pairwise`` validation).
    """
    now = now or timezone.now()
    answers, errors = (validate or validate_answers)(criteria, raw)
    if errors:
        return SubmitResult(Outcome.INVALID, answers=answers, errors=errors)
    try:
        with transaction.atomic():
            locked = Assignment.objects.select_for_update().get(pk=assignment.pk)
            if locked.state == Assignment.State.SUBMITTED:
                existing = Judgment.objects.filter(
                    item_id=locked.item_id, reviewer_id=locked.reviewer_id
                ).first()
                return SubmitResult(Outcome.DUPLICATE, judgment=existing)
            if locked.state == Assignment.State.SKIPPED:
                return SubmitResult(Outcome.SKIPPED)
            if locked.state == Assignment.State.EXPIRED and not retake_slot(locked, now):
                return SubmitResult(Outcome.TOO_LATE)
            Assignment.objects.filter(pk=locked.pk).update(
                state=Assignment.State.SUBMITTED, finished_at=now
            )
            spent = max(0, int((now - locked.leased_at).total_seconds() * 1000))
            judgment = Judgment.objects.create(
                item_id=locked.item_id,
                queue_id=locked.queue_id,
                reviewer_id=locked.reviewer_id,
                assignment=locked,
                rubric_version_id=queue.rubric_version_id,
                answers=answers,
                time_spent_ms=min(spent, 2**31 - 1),
                created_at=now,
                updated_at=now,
            )
            Item.objects.filter(pk=locked.item_id).update(judgment_count=F("judgment_count") + 1)
            _complete_if_full(locked.item_id, locked.queue_id)
    except IntegrityError:
        # A concurrent duplicate reached the unique constraint first: that one counts.
        existing = Judgment.objects.filter(
            item_id=assignment.item_id, reviewer_id=assignment.reviewer_id
        ).first()
        if existing is None:
            raise
        return SubmitResult(Outcome.DUPLICATE, judgment=existing)
    return SubmitResult(Outcome.SAVED, judgment=judgment, answers=answers)


def edit_judgment(
    judgment: Judgment,
    criteria: Sequence[Criterion],
    raw: Mapping[str, Any],
    now: datetime | None = None,
    actor=None,
) -> SubmitResult:
    """Change a judgment's answers, keeping the earlier answers as a revision."""
    now = now or timezone.now()
    answers, errors = validate_answers(criteria, raw)
    if errors:
        return SubmitResult(Outcome.INVALID, answers=answers, errors=errors)
    with transaction.atomic():
        locked = Judgment.objects.select_for_update().get(pk=judgment.pk)
        JudgmentRevision.objects.create(
            judgment=locked,
            revision=locked.revision,
            answers=locked.answers,
            time_spent_ms=locked.time_spent_ms,
            recorded_at=locked.updated_at,
            replaced_at=now,
        )
        Judgment.objects.filter(pk=locked.pk).update(
            answers=answers, revision=F("revision") + 1, updated_at=now
        )
        audit.record(
            locked.queue.workspace_id,
            actor or locked.reviewer,
            "judgment.edit",
            locked,
            f"Judgment {locked.pk} edited (revision {locked.revision} kept)",
            previous=locked.answers,
            current=answers,
        )
    locked.refresh_from_db()
    return SubmitResult(Outcome.SAVED, judgment=locked, answers=answers)
