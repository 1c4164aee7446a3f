"""Production logs, their sources, and the rows that track long background jobs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from annotate.models import Workspace


class Source(models.Model):
    """Where logs come from (an app, an environment). Redaction is configured per source."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="sources")
    name = models.CharField(max_length=100)
    redaction = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="source_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Log(models.Model):
    """One production interaction, as it came in."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="logs")
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="logs")
    external_id = models.CharField(max_length=200)
    timestamp = models.DateTimeField()
    model_name = models.CharField(max_length=200, blank=True)
    model_version = models.CharField(max_length=200, blank=True)
    input_text = models.TextField(blank=True)
    input_messages = models.JSONField(default=list, blank=True)
    output = models.TextField()
    metadata = models.JSONField(default=dict, blank=True)
    feedback = models.JSONField(default=dict, blank=True)
    feedback_negative = models.BooleanField(default=False)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    tokens_in = models.PositiveIntegerField(null=True, blank=True)
    tokens_out = models.PositiveIntegerField(null=True, blank=True)
    trace_id = models.CharField(max_length=200, blank=True)
    redacted = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="log_unique_per_source")
        ]
        indexes = [
            models.Index(fields=["workspace", "timestamp"], name="log_ws_time"),
            models.Index(fields=["workspace", "model_version"], name="log_ws_version"),
        ]

    def __str__(self) -> str:
        return f"log {self.external_id}"


class Job(models.Model):
    """A long background job (ingest, sampling, agreement, judge run, export).

    The page polls this row for its progress bar. Tasks update it; a reaper
    re-queues jobs whose heartbeat went stale because their worker died.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=40)
    task_name = models.CharField(max_length=200, help_text="Celery task that runs this job.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveBigIntegerField(default=0)
    total = models.PositiveBigIntegerField(null=True, blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "kind", "created_at"], name="job_ws_kind"),
            models.Index(fields=["heartbeat_at"], condition=Q(status="running"), name="job_live"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} job {self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.status == self.Status.SUCCEEDED else 0
        return min(100, int(100 * self.progress / self.total))

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED, self.Status.CANCELLED)


class ApiToken(models.Model):
    """A workspace API token. Only a SHA-256 hash of the secret is stored."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


# --- Agreement, reviewer quality, gold, calibration, adjudication (issue 6) ---------------


class AgreementSnapshot(models.Model):
    """One computed agreement report of a queue; the trend plot reads a queue's snapshots."""

    queue = models.ForeignKey(
        "annotate.Queue", on_delete=models.CASCADE, related_name="agreement_snapshots"
    )
    job = models.OneToOneField(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="agreement_snapshot"
    )
    computed_at = models.DateTimeField(default=timezone.now)
    judgment_count = models.PositiveIntegerField()
    report = models.JSONField()

    class Meta:
        indexes = [models.Index(fields=["queue", "computed_at"], name="agreement_snap_queue_time")]

    def __str__(self) -> str:
        return f"agreement of queue {self.queue_id} at {self.computed_at:%Y-%m-%d %H:%M}"


class PracticeAnswer(models.Model):
    """A reviewer's answer on a calibration (practice) item. Not a judgment: never counted."""

    item = models.ForeignKey("annotate.Item", on_delete=models.CASCADE, related_name="practice")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="practice_answers"
    )
    answers = models.JSONField()
    correct = models.JSONField(default=dict, help_text="Per criterion key: matched the gold?")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "reviewer"], name="practice_once_per_item")
        ]

    def __str__(self) -> str:
        return f"practice answer on item {self.item_id}"


class ReviewerPause(models.Model):
    """A reviewer stopped from a queue because their gold accuracy fell below the threshold."""

    queue = models.ForeignKey("annotate.Queue", on_delete=models.CASCADE, related_name="pauses")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="queue_pauses"
    )
    reason = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["queue", "reviewer"],
                condition=Q(lifted_at__isnull=True),
                name="reviewer_pause_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"pause of {self.reviewer_id} in queue {self.queue_id}"


class Adjudication(models.Model):
    """The final answer on a disputed item. The reviewers' judgments stay as they were."""

    item = models.OneToOneField(
        "annotate.Item", on_delete=models.CASCADE, related_name="adjudication"
    )
    queue = models.ForeignKey(
        "annotate.Queue", on_delete=models.CASCADE, related_name="adjudications"
    )
    adjudicator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="adjudications"
    )
    answers = models.JSONField()
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["queue", "created_at"], name="adjudication_queue_time")]

    def __str__(self) -> str:
        return f"adjudication of item {self.item_id}"
