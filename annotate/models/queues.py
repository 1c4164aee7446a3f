"""Review queues, their items, the leases on item slots, and judgments."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from annotate.models.rubrics import RubricVersion
from annotate.models.workspaces import Cohort, Workspace


class Queue(models.Model):
    class Kind(models.TextChoices):
        RUBRIC = "rubric", "Rubric"
        PAIRWISE = "pairwise", "Pairwise"

    class Order(models.TextChoices):
        RANDOM = "random", "Random"
        OLDEST = "oldest", "Oldest first"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        CLOSED = "closed", "Closed"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="queues")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.RUBRIC)
    rubric_version = models.ForeignKey(
        RubricVersion, on_delete=models.PROTECT, related_name="queues"
    )
    cohorts = models.ManyToManyField(Cohort, related_name="queues", blank=True)
    judgments_per_item = models.PositiveIntegerField(default=1)
    instructions = models.TextField(blank=True, help_text="Markdown shown to reviewers.")
    lease_seconds = models.PositiveIntegerField(default=settings.QUORUM_DEFAULT_LEASE_SECONDS)
    order = models.CharField(max_length=20, choices=Order.choices, default=Order.RANDOM)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    due_date = models.DateField(null=True, blank=True)
    # Blind options: model names are never shown; these control what else reviewers see.
    show_metadata = models.BooleanField(default=False)
    shuffle_sides = models.BooleanField(default=True)
    items_total = models.PositiveIntegerField(default=0)
    items_complete = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    # Pairwise queues only.
    rationale_required = models.BooleanField(default=False)
    rationale_min_length = models.PositiveIntegerField(default=0)
    swap_check_rate = models.FloatField(
        default=0.0,
        help_text="Share of claims (0 to 1) that show a pair the reviewer already judged "
        "again, with sides swapped. These repeats never count toward k.",
    )
    # Gold items, calibration, adjudication (issue 6).
    gold_rate = models.FloatField(
        default=0.0, help_text="Share of a reviewer's items that are gold items (0 to 1)."
    )
    gold_min_accuracy = models.FloatField(
        null=True,
        blank=True,
        help_text="Pause a reviewer whose gold accuracy falls below this (0 to 1); blank: never.",
    )
    calibration_required = models.BooleanField(
        default=False, help_text="New reviewers first grade the practice items, with feedback."
    )
    show_reviewer_names = models.BooleanField(
        default=False, help_text="Adjudicators see who gave each judgment."
    )
    adjudication_rules = models.JSONField(
        default=dict,
        blank=True,
        help_text='Disagreement thresholds, e.g. {"likert_spread": 2, "numeric_spread": 0.25}.',
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(swap_check_rate__gte=0) & Q(swap_check_rate__lte=1),
                name="queue_swap_check_rate_share",
            ),
            models.CheckConstraint(
                condition=Q(gold_rate__gte=0) & Q(gold_rate__lte=1), name="queue_gold_rate_share"
            ),
            models.CheckConstraint(
                condition=Q(judgments_per_item__gte=1), name="queue_k_at_least_one"
            ),
            models.CheckConstraint(condition=Q(lease_seconds__gte=30), name="queue_lease_min"),
            models.CheckConstraint(
                condition=Q(items_complete__lte=F("items_total")), name="queue_complete_le_total"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


def _random_sort_key() -> int:
    return secrets.randbits(31)


class Item(models.Model):
    """A snapshot of what is graded. It never changes once a judgment refers to it."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        COMPLETE = "complete", "Complete"

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="items")
    input_text = models.TextField(blank=True)
    input_messages = models.JSONField(default=list, blank=True)
    # For pairwise items these three are output A.
    output = models.TextField()
    model_name = models.CharField(max_length=200, blank=True)
    model_version = models.CharField(max_length=200, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    source_log = models.ForeignKey(
        "evals.Log", null=True, blank=True, on_delete=models.SET_NULL, related_name="items"
    )
    # Output B of a pairwise item; blank for rubric items.
    output_b = models.TextField(blank=True, default="", db_default="")
    model_name_b = models.CharField(max_length=200, blank=True, default="", db_default="")
    model_version_b = models.CharField(max_length=200, blank=True, default="", db_default="")
    state = models.CharField(max_length=20, choices=State.choices, default=State.OPEN)
    judgments_needed = models.PositiveIntegerField()
    judgment_count = models.PositiveIntegerField(default=0)
    # Judgments plus live leases: the number of the item's k slots already spoken for.
    reserved = models.PositiveIntegerField(default=0)
    sort_key = models.PositiveIntegerField(default=_random_sort_key)
    created_at = models.DateTimeField(default=timezone.now)
    # Gold and practice items (issue 6): expected answers, tolerance for scales, explanation.
    # Database defaults too, so bulk loaders writing SQL directly need not name these columns.
    is_gold = models.BooleanField(default=False, db_default=False)
    is_practice = models.BooleanField(default=False, db_default=False)
    gold_answers = models.JSONField(default=dict, db_default={}, blank=True)
    gold_tolerance = models.JSONField(
        default=dict,
        db_default={},
        blank=True,
        help_text='Per criterion key, e.g. {"accuracy": 1}.',
    )
    gold_explanation = models.TextField(
        blank=True, db_default="", help_text="Markdown shown after practice."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(reserved__lte=F("judgments_needed")), name="item_reserved_within_k"
            ),
            models.CheckConstraint(
                condition=Q(judgment_count__lte=F("reserved")), name="item_judgments_le_reserved"
            ),
        ]
        indexes = [
            models.Index(
                fields=["queue", "sort_key"],
                condition=Q(state="open"),
                name="item_open_random",
            ),
            models.Index(
                fields=["queue", "id"], condition=Q(state="open"), name="item_open_oldest"
            ),
            models.Index(fields=["queue", "state"], name="item_queue_state"),
            models.Index(fields=["queue", "id"], condition=Q(is_gold=True), name="item_queue_gold"),
        ]

    def __str__(self) -> str:
        return f"item {self.pk} in queue {self.queue_id}"


class Assignment(models.Model):
    """A reviewer's lease on one of an item's k slots."""

    class State(models.TextChoices):
        LEASED = "leased", "Leased"
        SUBMITTED = "submitted", "Submitted"
        SKIPPED = "skipped", "Skipped"
        EXPIRED = "expired", "Expired"

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="assignments")
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="assignments")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.LEASED)
    leased_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    skip_reason = models.CharField(max_length=300, blank=True)
    # Pairwise only: whether output A was shown on the left (null for rubric queues), and
    # an opaque handle the page submits to, so a repeat (SwapCheck) looks the same.
    a_on_left = models.BooleanField(null=True, blank=True)
    ticket = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "reviewer"], name="assignment_once_per_item"),
            models.UniqueConstraint(
                fields=["ticket"], condition=~Q(ticket=""), name="assignment_ticket_unique"
            ),
        ]
        indexes = [
            models.Index(
                fields=["queue", "reviewer"], condition=Q(state="leased"), name="assignment_live"
            ),
            models.Index(
                fields=["expires_at"], condition=Q(state="leased"), name="assignment_expiry"
            ),
        ]

    def __str__(self) -> str:
        return f"assignment {self.pk} ({self.state})"


class Judgment(models.Model):
    """One reviewer's answers on one item. Edits keep the earlier answers as revisions."""

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="judgments")
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="judgments")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="judgments"
    )
    assignment = models.OneToOneField(
        Assignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="judgment"
    )
    rubric_version = models.ForeignKey(
        RubricVersion, on_delete=models.PROTECT, related_name="judgments"
    )
    answers = models.JSONField()
    time_spent_ms = models.PositiveIntegerField(default=0)
    revision = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "reviewer"], name="judgment_once_per_item"),
        ]
        indexes = [
            models.Index(fields=["queue", "reviewer"], name="judgment_queue_reviewer"),
            models.Index(fields=["queue", "created_at"], name="judgment_queue_time"),
        ]

    def __str__(self) -> str:
        return f"judgment {self.pk} on item {self.item_id}"


class JudgmentRevision(models.Model):
    """An earlier version of a judgment's answers, kept when the judgment is edited."""

    judgment = models.ForeignKey(Judgment, on_delete=models.CASCADE, related_name="revisions")
    revision = models.PositiveIntegerField()
    answers = models.JSONField()
    time_spent_ms = models.PositiveIntegerField(default=0)
    recorded_at = models.DateTimeField()
    replaced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["judgment", "revision"], name="judgment_revision_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"revision {self.revision} of judgment {self.judgment_id}"
