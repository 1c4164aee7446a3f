"""Workspaces, people, rubrics, queues, items, assignments and judgments.

Rules that must never break live in the database as constraints: one judgment per
reviewer per item, one assignment per reviewer per item, never more judgments on an
item than it needs, published rubric versions never change (enforced in ``save``
and ``delete`` here and by the only code path that writes criteria).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Workspace(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    AUTHOR = "author", "Rubric author"
    ENGINEER = "engineer", "Engineer"
    REVIEWER = "reviewer", "Reviewer"


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.REVIEWER)
    expertise = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    can_adjudicate = models.BooleanField(
        default=False, help_text="May record final answers on disputed items (admins always may)."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} as {self.role}"

    @property
    def can_author(self) -> bool:
        return self.role in (Role.ADMIN, Role.AUTHOR)

    @property
    def can_read_setup(self) -> bool:
        return self.role in (Role.ADMIN, Role.AUTHOR, Role.ENGINEER)

    @property
    def is_adjudicator(self) -> bool:
        return self.role == Role.ADMIN or self.can_adjudicate


class Cohort(models.Model):
    """A named group of reviewers, such as clinicians or lay reviewers."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="cohorts")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="cohorts", blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="cohort_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Rubric(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="rubrics")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name

    def latest_published(self) -> RubricVersion | None:
        return (
            self.versions.filter(status=RubricVersion.Status.PUBLISHED).order_by("-number").first()
        )


class PublishedVersionError(Exception):
    """Raised on an attempt to change a published rubric version."""


class RubricVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    rubric = models.ForeignKey(Rubric, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    instructions = models.TextField(blank=True, help_text="Markdown shown to reviewers.")
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rubric", "number"], name="rubric_version_unique"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(published_at__isnull=False),
                name="rubric_version_published_has_time",
            ),
        ]
        ordering = ["rubric_id", "number"]

    def __str__(self) -> str:
        return f"{self.rubric.name} v{self.number}"

    def save(self, *args, **kwargs) -> None:
        if self._stored_status() == self.Status.PUBLISHED:
            raise PublishedVersionError(f"{self} is published and cannot change.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._stored_status() == self.Status.PUBLISHED:
            raise PublishedVersionError(f"{self} is published and cannot be deleted.")
        return super().delete(*args, **kwargs)

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    def _stored_status(self) -> str | None:
        if self.pk is None:
            return None
        return RubricVersion.objects.filter(pk=self.pk).values_list("status", flat=True).first()


class CriterionKind(models.TextChoices):
    LIKERT = "likert", "Likert scale"
    PASS_FAIL = "pass_fail", "Pass / fail"
    CATEGORICAL = "categorical", "Categories"
    NUMERIC = "numeric", "Number"
    FREE_TEXT = "free_text", "Free text"


class Criterion(models.Model):
    """One question of a rubric version.

    ``config`` holds what the kind needs:
    likert: ``{"levels": [{"value": 1, "label": "...", "description": "..."}, ...]}``;
    categorical: ``{"options": [{"value": "none", "label": "None", "description": ""}]}``;
    numeric: ``{"min": 0, "max": 10, "step": 1}``; free_text: ``{"max_length": 2000}``.
    """

    rubric_version = models.ForeignKey(
        RubricVersion, on_delete=models.CASCADE, related_name="criteria"
    )
    key = models.SlugField(max_length=60)
    name = models.CharField(max_length=200)
    help_text = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=CriterionKind.choices)
    required = models.BooleanField(default=True)
    weight = models.FloatField(default=1.0)
    position = models.PositiveIntegerField(default=0)
    pairwise_preference = models.BooleanField(default=False)
    config = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["rubric_version_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["rubric_version", "key"], name="criterion_key_unique"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="criterion_weight_positive"),
            models.CheckConstraint(
                condition=Q(kind__in=CriterionKind.values), name="criterion_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.kind})"

    def save(self, *args, **kwargs) -> None:
        if self._version_is_published():
            raise PublishedVersionError("Criteria of a published rubric version cannot change.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._version_is_published():
            raise PublishedVersionError("Criteria of a published rubric version cannot change.")
        return super().delete(*args, **kwargs)

    def _version_is_published(self) -> bool:
        return RubricVersion.objects.filter(
            pk=self.rubric_version_id, status=RubricVersion.Status.PUBLISHED
        ).exists()

    @property
    def levels(self) -> list[dict]:
        return list(self.config.get("levels", []))

    @property
    def options(self) -> list[dict]:
        return list(self.config.get("options", []))

    def choices(self) -> list[dict]:
        """The discrete answers a reviewer picks from, in order, for keyboard shortcuts."""
        if self.kind == CriterionKind.LIKERT:
            return self.levels
        if self.kind == CriterionKind.CATEGORICAL:
            return self.options
        if self.kind == CriterionKind.PASS_FAIL:
            return [
                {"value": "pass", "label": "Pass", "description": ""},
                {"value": "fail", "label": "Fail", "description": ""},
            ]
        return []


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


class AuditEvent(models.Model):
    """One entry of a workspace's append-only audit log.

    Rows are only ever inserted (``annotate.audit.record``); ``save`` refuses updates,
    ``delete`` refuses deletion, and on PostgreSQL a trigger refuses UPDATE and DELETE.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="audit_events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    # The API token that did it (``actor`` is then empty): the token is the actor.
    api_token = models.ForeignKey(
        "evals.ApiToken", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=60)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=60, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"], name="audit_ws_time")]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id} at {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit events are append-only.")

    @property
    def who(self) -> str:
        """The actor as the audit page names it: a username, an API token, or "system"."""
        if self.api_token_id is not None:
            return f"API token '{self.api_token.name}' ({self.api_token.prefix})"
        if self.actor_id is not None:
            return self.actor.get_username()
        legacy = self.details.get("api_token") if isinstance(self.details, dict) else None
        if legacy:  # events recorded before api_token existed kept the prefix in details
            return f"API token ({legacy})"
        return "system"


class Invitation(models.Model):
    """A single-use, expiring link that makes its holder a member of a workspace.

    Only a SHA-256 hash of the token is stored; the token itself appears once, in the
    link shown to the admin (and in the e-mail when e-mail is configured).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.REVIEWER)
    cohorts = models.ManyToManyField(Cohort, related_name="invitations", blank=True)
    expertise = models.CharField(max_length=200, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations_sent",
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations_accepted",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="invitation_role_valid"),
        ]
        indexes = [models.Index(fields=["workspace", "created_at"], name="invitation_ws_time")]

    def __str__(self) -> str:
        return f"invitation to {self.workspace} ({self.email or 'link'})"

    def state(self, now=None) -> str:
        now = now or timezone.now()
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "pending"


def new_ticket() -> str:
    return secrets.token_urlsafe(18)


class Preference(models.TextChoices):
    """A pairwise answer, always in terms of the item's outputs, never of screen sides."""

    A = "a", "A is better"
    B = "b", "B is better"
    TIE = "tie", "Tie"
    BOTH_BAD = "both_bad", "Both bad"


class SwapCheck(models.Model):
    """A pair shown again to a reviewer who judged it, with the sides swapped.

    It is served from the claim logic of pairwise queues at the queue's
    ``swap_check_rate`` and looks like any other pair on the page. It never takes one of
    the item's k slots and never changes the original judgment.
    """

    class State(models.TextChoices):
        LEASED = "leased", "Leased"
        SUBMITTED = "submitted", "Submitted"
        SKIPPED = "skipped", "Skipped"

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="swap_checks")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="swap_checks")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="swap_checks"
    )
    original = models.ForeignKey(Judgment, on_delete=models.CASCADE, related_name="swap_checks")
    a_on_left = models.BooleanField()
    ticket = models.CharField(max_length=32, unique=True, default=new_ticket)
    state = models.CharField(max_length=20, choices=State.choices, default=State.LEASED)
    preference = models.CharField(max_length=20, choices=Preference.choices, blank=True)
    answers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "reviewer"], name="swap_check_once_per_item"),
            models.CheckConstraint(
                condition=Q(state="submitted", preference__in=Preference.values)
                | ~Q(state="submitted"),
                name="swap_check_submitted_has_answer",
            ),
        ]
        indexes = [
            models.Index(
                fields=["queue", "reviewer"], condition=Q(state="leased"), name="swap_check_live"
            ),
        ]

    def __str__(self) -> str:
        return f"swap check {self.pk} on item {self.item_id} ({self.state})"
