"""Adjudication: which items reviewers disagree on, and the final answers an adjudicator records.

Thresholds per criterion type (a queue overrides them in ``adjudication_rules``):
- ``likert_spread`` (default 2): the highest and lowest scale values differ by at least this;
- ``numeric_spread`` (default 0.25): the spread is at least this share of the criterion's
  range (min to max), or of the largest absolute answer when there are no bounds;
- ``categorical`` (default ``"split"``): pass/fail, categories and pairwise preferences are
  disputed when not unanimous (``"split"``) or only when no answer has a strict majority
  (``"no_majority"``).
Exports use the final answer as an item's consensus (``evals.exports.rows.consensus_override``);
the reviewers' judgments are never changed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from django.db import transaction
from django.utils import timezone

from annotate import audit
from annotate.judging import validate_answers
from annotate.models import Adjudication, Criterion, CriterionKind, Item, Judgment, Queue
from annotate.pairwise import PREFERENCE_CHOICES, PREFERENCE_KEY
from annotate.text import text_problem

DEFAULT_RULES = {"likert_spread": 2, "numeric_spread": 0.25, "categorical": "split"}


@dataclass
class Dispute:
    item_id: int
    judgments: int
    reasons: dict[str, str] = field(default_factory=dict)
    adjudicated: bool = False


def rules(queue: Queue) -> dict[str, Any]:
    return {**DEFAULT_RULES, **(queue.adjudication_rules or {})}


def _fields(queue: Queue, criteria: Sequence[Criterion]) -> list[tuple[str, str, dict]]:
    """(key, kind, config) of every criterion that can be disputed."""
    fields = [(c.key, c.kind, c.config) for c in criteria if c.kind != CriterionKind.FREE_TEXT]
    if queue.kind == Queue.Kind.PAIRWISE and PREFERENCE_KEY not in {key for key, _, _ in fields}:
        fields.insert(0, (PREFERENCE_KEY, "preference", {}))
    return fields


def disagreement(kind: str, config: dict, values: list[Any], rule: dict[str, Any]) -> str | None:
    """Why these answers to one criterion count as a dispute, or None."""
    values = [v for v in values if v is not None]
    if len(values) < 2:
        return None
    if kind == CriterionKind.LIKERT:
        spread = max(values) - min(values)
        if spread >= rule["likert_spread"]:
            return f"scores {min(values)} to {max(values)}"
        return None
    if kind == CriterionKind.NUMERIC:
        low, high = config.get("min"), config.get("max")
        scale = (float(high) - float(low)) if low is not None and high is not None else 0.0
        scale = scale or max(abs(float(v)) for v in values) or 1.0
        spread = max(values) - min(values)
        if spread >= rule["numeric_spread"] * scale and spread > 0:
            return f"numbers {min(values)} to {max(values)}"
        return None
    counts = Counter(str(v) for v in values)
    if len(counts) == 1:
        return None
    top = counts.most_common(1)[0][1]
    if rule["categorical"] == "no_majority" and top * 2 > len(values):
        return None
    return "split: " + ", ".join(f"{value} x{n}" for value, n in counts.most_common())


def disputes(queue: Queue, criteria: Sequence[Criterion]) -> list[Dispute]:
    """Items with at least two judgments on which reviewers disagree beyond the thresholds."""
    rule = rules(queue)
    fields = _fields(queue, criteria)
    by_item: dict[int, list[dict]] = {}
    for item_id, answers in (
        Judgment.objects.filter(queue=queue, item__is_gold=False)
        .order_by("item_id", "id")
        .values_list("item_id", "answers")
    ):
        by_item.setdefault(item_id, []).append(answers)
    done = set(Adjudication.objects.filter(queue=queue).values_list("item_id", flat=True))
    found = []
    for item_id, answer_list in by_item.items():
        if len(answer_list) < 2:
            continue
        reasons = {}
        for key, kind, config in fields:
            reason = disagreement(kind, config, [a.get(key) for a in answer_list], rule)
            if reason:
                reasons[key] = reason
        if reasons:
            found.append(Dispute(item_id, len(answer_list), reasons, item_id in done))
    return found


def validate_final(
    queue: Queue, criteria: Sequence[Criterion], raw: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    raw = dict(raw)
    preference = raw.pop(PREFERENCE_KEY, None) if queue.kind == Queue.Kind.PAIRWISE else None
    answers, errors = validate_answers(criteria, raw)
    if queue.kind == Queue.Kind.PAIRWISE and not any(c.key == PREFERENCE_KEY for c in criteria):
        if preference in PREFERENCE_CHOICES:
            answers[PREFERENCE_KEY] = preference
        else:
            errors[PREFERENCE_KEY] = "Choose A, B, tie or both bad."
    return answers, errors


def record(
    queue: Queue,
    item: Item,
    adjudicator,
    criteria: Sequence[Criterion],
    raw: dict[str, Any],
    note: str = "",
) -> tuple[Adjudication | None, dict[str, str]]:
    """Record (or revise) the final answers on an item. Returns (adjudication, errors)."""
    answers, errors = validate_final(queue, criteria, raw)
    if problem := text_problem(note):
        errors["note"] = f"This text {problem}."
    if errors:
        return None, errors
    now = timezone.now()
    with transaction.atomic():
        adjudication, created = Adjudication.objects.select_for_update().get_or_create(
            item=item,
            defaults={
                "queue": queue,
                "adjudicator": adjudicator,
                "answers": answers,
                "note": note.strip(),
                "created_at": now,
                "updated_at": now,
            },
        )
        if not created:
            adjudication.adjudicator = adjudicator
            adjudication.answers = answers
            adjudication.note = note.strip()
            adjudication.updated_at = now
            adjudication.save(update_fields=["adjudicator", "answers", "note", "updated_at"])
        audit.record(
            queue.workspace_id,
            adjudicator,
            "adjudication.create" if created else "adjudication.update",
            adjudication,
            f"Final answers on item {item.pk}",
            answers=answers,
        )
    return adjudication, {}


def majority(kind: str, values: list[Any]) -> Any:
    values = [v for v in values if v is not None]
    if not values:
        return None
    if kind in (CriterionKind.LIKERT, CriterionKind.NUMERIC):
        middle = median(values)
        return int(middle) if kind == CriterionKind.LIKERT and middle == int(middle) else middle
    counts = Counter(values).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return None  # a tie has no majority
    return counts[0][0]
