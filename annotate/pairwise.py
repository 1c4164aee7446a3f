"""Pairwise grading: side placement, swap checks, and validating and recording answers.

Answers are always stored in terms of the item's outputs ("a", "b", "tie", "both_bad"),
never of screen sides. The page only ever speaks of "Response A" (the left one) and
"Response B" (the right one): letters for screen positions, not outputs. The form posts
"left" / "right"; ``to_output`` maps that to the outputs with the placement stored on the
assignment (``a_on_left``).

Placement is balanced with permuted blocks of two per reviewer and queue: the first
assignment of each block gets a random side, the second the other one. Every reviewer
therefore sees output A on the left in half of their assignments (give or take one),
and no reviewer can predict the side from the order.

Swap checks: at the queue's ``swap_check_rate``, a claim that leased a new pair serves
first a pair the reviewer judged earlier, at least ``SWAP_CHECK_GAP`` judgments ago, with
the sides swapped (the new pair comes right after). A reviewer with nothing new left gets
no repeats, since one would then stand out. A repeat is a ``SwapCheck`` row, not an
assignment, so it never takes one of the item's k slots. On the page it is
indistinguishable from a new pair: both are addressed by an opaque random ``ticket``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from annotate.assignment import claim_next, live_assignment, release
from annotate.judging import UNKNOWN, Outcome, SubmitResult, Validator, submit_judgment
from annotate.models import (
    Assignment,
    Criterion,
    Item,
    Judgment,
    Preference,
    Queue,
    SwapCheck,
    new_ticket,
)
from annotate.signals import pairwise_judgment_saved
from annotate.text import text_problem

LEFT, RIGHT, TIE, BOTH_BAD = "left", "right", "tie", "both_bad"
# The overall preference in a pairwise judgment's answers, in terms of the outputs.
PREFERENCE_KEY = "preference"
PREFERENCE_CHOICES = [choice.value for choice in Preference]
SCREEN_CHOICES = (LEFT, RIGHT, TIE, BOTH_BAD)
CRITERION_CHOICES = (LEFT, RIGHT, TIE)
STRENGTHS = {"1": 1, "2": 2}  # slightly, clearly
RATIONALE_LIMIT = 5000
SWAP_CHECK_GAP = 3
SWAP_CHECK_POOL = 50


def to_output(screen: str, a_on_left: bool) -> str:
    """What the reviewer chose on screen, as an answer about the outputs."""
    if screen == LEFT:
        return Preference.A if a_on_left else Preference.B
    if screen == RIGHT:
        return Preference.B if a_on_left else Preference.A
    return screen


def to_screen(answer: str, a_on_left: bool) -> str:
    """The inverse of ``to_output``, to show a stored answer on the page again."""
    if answer == Preference.A:
        return LEFT if a_on_left else RIGHT
    if answer == Preference.B:
        return RIGHT if a_on_left else LEFT
    return answer


def preference_criteria(criteria: Sequence[Criterion]) -> list[Criterion]:
    """The rubric's criteria that ask for a per-criterion preference in pairwise queues."""
    return [c for c in criteria if c.pairwise_preference]


def _clean_rationale(queue: Queue, value: Any) -> tuple[str, str]:
    text = value.strip() if isinstance(value, str) else ""
    if value is not None and not isinstance(value, str):
        return "", "Enter text."
    if len(text) > RATIONALE_LIMIT:
        return text, f"Keep this under {RATIONALE_LIMIT} characters (it has {len(text)})."
    if problem := text_problem(text):
        return text, f"This text {problem}."
    if queue.rationale_required:
        needed = max(1, queue.rationale_min_length)
        if len(text) < needed:
            if not text:
                return text, "Say why: this queue needs a rationale."
            return text, (
                f"Explain your choice in at least {needed} characters (you wrote {len(text)})."
            )
    return text, ""


def validate_pairwise(
    queue: Queue, a_on_left: bool, criteria: Sequence[Criterion], raw: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Clean a pairwise answer given in screen terms; returns (answers, errors by field).

    ``raw``: ``choice`` ("left", "right", "tie", "both_bad"), ``strength`` ("", "1", "2"),
    ``rationale``, and ``criteria`` ({criterion key: "left" | "right" | "tie"}).
    Errors are keyed ``choice``, ``strength``, ``rationale``, ``pc-<key>`` and ``UNKNOWN``.
    """
    errors: dict[str, str] = {}
    choice = str(raw.get("choice") or "").strip()
    preference = ""
    if not choice:
        errors["choice"] = "Choose which response is better, a tie, or both bad."
    elif choice not in SCREEN_CHOICES:
        errors["choice"] = "Choose response A, response B, tie or both bad."
    else:
        preference = to_output(choice, a_on_left)
    strength_raw = str(raw.get("strength") or "").strip()
    strength = None
    if strength_raw:
        if strength_raw not in STRENGTHS:
            errors["strength"] = "Choose slightly (1) or clearly (2) better."
        elif preference in (Preference.A, Preference.B):
            strength = STRENGTHS[strength_raw]
    rationale, problem = _clean_rationale(queue, raw.get("rationale"))
    if problem:
        errors["rationale"] = problem
    asked = preference_criteria(criteria)
    given = raw.get("criteria") or {}
    unknown = sorted(str(key) for key in given if key not in {c.key for c in asked})
    if unknown:
        errors[UNKNOWN] = "Unknown criteria: " + ", ".join(unknown) + "."
    per_criterion: dict[str, str] = {}
    for criterion in asked:
        value = str(given.get(criterion.key) or "").strip()
        if not value:
            if criterion.required:
                errors[f"pc-{criterion.key}"] = "Choose which response is better on this."
            continue
        if value not in CRITERION_CHOICES:
            errors[f"pc-{criterion.key}"] = "Choose response A, response B or tie."
            continue
        per_criterion[criterion.key] = to_output(value, a_on_left)
    answers = {
        "preference": preference,
        "strength": strength,
        "rationale": rationale,
        "criteria": per_criterion,
        "a_on_left": a_on_left,
        "chose_left": _chose_left(preference, a_on_left),
    }
    return answers, errors


def _chose_left(preference: str, a_on_left: bool) -> bool | None:
    if preference not in (Preference.A, Preference.B):
        return None
    return (preference == Preference.A) == a_on_left


def validator_for(queue: Queue, a_on_left: bool) -> Validator:
    def validate(criteria: Sequence[Criterion], raw: Mapping[str, Any]):
        return validate_pairwise(queue, a_on_left, criteria, raw)

    return validate


# --- What the reviewer is shown -----------------------------------------------------------


@dataclass
class PairTask:
    """One pair on the reviewer's screen: a new assignment or a swap check, alike on the page."""

    item: Item
    a_on_left: bool
    ticket: str
    assignment: Assignment | None = None
    check: SwapCheck | None = None

    @property
    def left(self) -> str:
        return self.item.output if self.a_on_left else self.item.output_b

    @property
    def right(self) -> str:
        return self.item.output_b if self.a_on_left else self.item.output


def choose_side(queue: Queue, reviewer: AbstractBaseUser, rng: random.Random | None = None) -> bool:
    """Whether output A goes on the left for the reviewer's next assignment (blocks of two)."""
    placed = Assignment.objects.filter(
        queue=queue, reviewer=reviewer, a_on_left__isnull=False
    ).aggregate(total=Count("id"), left=Count("id", filter=Q(a_on_left=True)))
    total, left = placed["total"], placed["left"]
    if total % 2 == 1:
        # Completed blocks are half left, so the open block's first side is the majority.
        return not (2 * left > total)
    return (rng or random).random() < 0.5


def _place(queue: Queue, assignment: Assignment, rng: random.Random | None) -> Assignment:
    if assignment.a_on_left is None or not assignment.ticket:
        side = choose_side(queue, assignment.reviewer, rng)
        ticket = new_ticket()
        placed = Assignment.objects.filter(pk=assignment.pk, a_on_left__isnull=True).update(
            a_on_left=side, ticket=ticket
        )
        if placed == 1:
            assignment.a_on_left, assignment.ticket = side, ticket
        else:
            assignment.refresh_from_db(fields=["a_on_left", "ticket"])
    return assignment


def _start_swap_check(
    queue: Queue, reviewer: AbstractBaseUser, now: datetime, rng: random.Random | None
) -> SwapCheck | None:
    """A swap check on a pair judged at least ``SWAP_CHECK_GAP`` judgments ago, if any."""
    candidates = list(
        Judgment.objects.filter(queue=queue, reviewer=reviewer, assignment__a_on_left__isnull=False)
        .exclude(item__swap_checks__reviewer=reviewer)
        .order_by("-created_at", "-id")
        .values_list("pk", "item_id", "assignment__a_on_left")[
            SWAP_CHECK_GAP : SWAP_CHECK_GAP + SWAP_CHECK_POOL
        ]
    )
    if not candidates:
        return None
    judgment_id, item_id, a_on_left = (rng or random).choice(candidates)
    try:
        with transaction.atomic():
            return SwapCheck.objects.create(
                queue=queue,
                item_id=item_id,
                reviewer=reviewer,
                original_id=judgment_id,
                a_on_left=not a_on_left,
                created_at=now,
            )
    except IntegrityError:
        return None


def _check_task(check: SwapCheck) -> PairTask:
    return PairTask(item=check.item, a_on_left=check.a_on_left, ticket=check.ticket, check=check)


def _assignment_task(assignment: Assignment) -> PairTask:
    return PairTask(
        item=assignment.item,
        a_on_left=bool(assignment.a_on_left),
        ticket=assignment.ticket,
        assignment=assignment,
    )


def claim_pair(
    queue: Queue,
    reviewer: AbstractBaseUser,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> PairTask | None:
    """The reviewer's next pair: their open one, a swap check at the queue's rate, or a new one."""
    now = now or timezone.now()
    if not queue.is_active:
        return None
    pending = (
        SwapCheck.objects.select_related("item")
        .filter(queue=queue, reviewer=reviewer, state=SwapCheck.State.LEASED)
        .first()
    )
    if pending is not None:
        return _check_task(pending)
    checking = queue.swap_check_rate > 0
    fresh = checking and live_assignment(queue, reviewer) is None
    assignment = claim_next(queue, reviewer, now)
    if assignment is None:
        # Nothing new left for this reviewer: a repeat now would give itself away.
        return None
    assignment = _place(queue, assignment, rng)
    if fresh and (rng or random).random() < queue.swap_check_rate:
        # The new pair stays leased and comes next, after the repeat.
        check = _start_swap_check(queue, reviewer, now, rng)
        if check is not None:
            check.item = Item.objects.get(pk=check.item_id)
            return _check_task(check)
    return _assignment_task(assignment)


def find_task(queue: Queue, reviewer: AbstractBaseUser, ticket: str) -> PairTask | None:
    """The reviewer's pair behind ``ticket`` in this queue, in whatever state it is now."""
    if not ticket:
        return None
    assignment = (
        Assignment.objects.select_related("item")
        .filter(queue=queue, reviewer=reviewer, ticket=ticket)
        .first()
    )
    if assignment is not None:
        return _assignment_task(assignment)
    check = (
        SwapCheck.objects.select_related("item")
        .filter(queue=queue, reviewer=reviewer, ticket=ticket)
        .first()
    )
    return _check_task(check) if check is not None else None


# --- Recording ---------------------------------------------------------------------------


def submit_pair(
    queue: Queue,
    task: PairTask,
    criteria: Sequence[Criterion],
    raw: Mapping[str, Any],
    now: datetime | None = None,
) -> SubmitResult:
    """Validate and record the answer to a pair exactly once (a judgment or a swap check)."""
    now = now or timezone.now()
    if task.check is not None:
        return _submit_swap_check(queue, task.check, criteria, raw, now)
    assert task.assignment is not None
    result = submit_judgment(
        queue, task.assignment, criteria, raw, now, validate=validator_for(queue, task.a_on_left)
    )
    if result.outcome == Outcome.SAVED:
        pairwise_judgment_saved.send(sender=Queue, queue=queue)
    return result


def _submit_swap_check(
    queue: Queue,
    check: SwapCheck,
    criteria: Sequence[Criterion],
    raw: Mapping[str, Any],
    now: datetime,
) -> SubmitResult:
    answers, errors = validate_pairwise(queue, check.a_on_left, criteria, raw)
    if errors:
        return SubmitResult(Outcome.INVALID, answers=answers, errors=errors)
    changed = SwapCheck.objects.filter(pk=check.pk, state=SwapCheck.State.LEASED).update(
        state=SwapCheck.State.SUBMITTED,
        preference=answers["preference"],
        answers=answers,
        finished_at=now,
    )
    if changed == 1:
        return SubmitResult(Outcome.SAVED, answers=answers)
    state = SwapCheck.objects.filter(pk=check.pk).values_list("state", flat=True).first()
    if state == SwapCheck.State.SUBMITTED:
        return SubmitResult(Outcome.DUPLICATE)
    return SubmitResult(Outcome.SKIPPED)


def skip_pair(task: PairTask, reason: str = "", now: datetime | None = None) -> bool:
    """Skip the pair: release the assignment's slot, or set the swap check aside."""
    now = now or timezone.now()
    if task.check is not None:
        return (
            SwapCheck.objects.filter(pk=task.check.pk, state=SwapCheck.State.LEASED).update(
                state=SwapCheck.State.SKIPPED, finished_at=now
            )
            == 1
        )
    assert task.assignment is not None
    return release(task.assignment, reason=reason, now=now)
