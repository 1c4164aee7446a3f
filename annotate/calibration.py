"""Calibration round: new reviewers grade practice items, with feedback, before real items.

Practice items are items marked with ``gold.mark_gold(..., practice=True)``: they
carry the expected answers and the author's explanation, are never served as real
items, and their answers are ``PracticeAnswer`` rows, not judgments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction

from annotate import gold
from annotate.judging import validate_answers
from annotate.models import Criterion, Item, PracticeAnswer, Queue


def next_practice(queue: Queue, reviewer) -> Item | None:
    """The next practice item this reviewer must grade, or None when calibration is done."""
    if not queue.calibration_required:
        return None
    return (
        Item.objects.filter(queue=queue, is_practice=True)
        .exclude(practice__reviewer=reviewer)
        .order_by("id")
        .first()
    )


def progress(queue: Queue, reviewer) -> tuple[int, int]:
    total = Item.objects.filter(queue=queue, is_practice=True).count()
    done = PracticeAnswer.objects.filter(item__queue=queue, reviewer=reviewer).count()
    return done, total


def record_practice(
    item: Item, reviewer, criteria: Sequence[Criterion], raw: dict[str, Any]
) -> tuple[PracticeAnswer | None, dict[str, str]]:
    """Validate and keep a practice answer (once), with what matched the expected answers."""
    answers, errors = validate_answers(criteria, raw)
    if errors:
        return None, errors
    correct = gold.check(item, criteria, answers)
    try:
        with transaction.atomic():
            answer = PracticeAnswer.objects.create(
                item=item, reviewer=reviewer, answers=answers, correct=correct
            )
    except IntegrityError:
        answer = PracticeAnswer.objects.get(item=item, reviewer=reviewer)
    return answer, {}


def feedback(item: Item, criteria: Sequence[Criterion], answer: PracticeAnswer) -> list[dict]:
    """Per criterion: your answer, the expected one, and whether they match."""
    rows = []
    for criterion in criteria:
        if criterion.key not in item.gold_answers:
            continue
        rows.append(
            {
                "name": criterion.name,
                "yours": show_answer(answer.answers.get(criterion.key)),
                "expected": show_answer(item.gold_answers[criterion.key]),
                "tolerance": item.gold_tolerance.get(criterion.key),
                "correct": answer.correct.get(criterion.key),
            }
        )
    return rows


def show_answer(value: Any) -> str:
    """An answer as reviewers read it: pass / fail, a dash for none."""
    if value is True:
        return "pass"
    if value is False:
        return "fail"
    return "–" if value is None else str(value)
