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


class AlertRule(models.Model):
    """A threshold an author sets on a queue; the beat task ``check_alerts`` evaluates it.

    ``threshold`` is X in 0..1 for the weighted score and pass rate (of the last ``window``
    judgments of a model version, once it has ``min_judgments``), Y for agreement, and
    ``starved_days`` is Z for a queue that gets no new items.
    """

    class Kind(models.TextChoices):
        WEIGHTED_SCORE_BELOW = "weighted_score_below", "Weighted score of a model version below X"
        PASS_RATE_BELOW = "pass_rate_below", "Pass rate of a model version below X"
        AGREEMENT_BELOW = "agreement_below", "Agreement below Y (needs agreement snapshots)"
        QUEUE_STARVED = "queue_starved", "No new items for Z days"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="alert_rules")
    queue = models.ForeignKey(
        "annotate.Queue", on_delete=models.CASCADE, related_name="alert_rules"
    )
    kind = models.CharField(max_length=40, choices=Kind.choices)
    threshold = models.FloatField(default=0.5, help_text="X or Y, between 0 and 1.")
    window = models.PositiveIntegerField(default=100, help_text="Last N judgments.")
    min_judgments = models.PositiveIntegerField(default=10)
    model_version = models.CharField(
        max_length=200, blank=True, help_text="Blank: every model version in the queue."
    )
    criterion_key = models.SlugField(
        max_length=60, blank=True, help_text="The pass/fail criterion, for pass rate alerts."
    )
    starved_days = models.PositiveIntegerField(default=7, help_text="Z days without new items.")
    emails = models.CharField(max_length=500, blank=True, help_text="Comma-separated addresses.")
    webhook_url = models.URLField(max_length=500, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    kind__in=[
                        "weighted_score_below",
                        "pass_rate_below",
                        "agreement_below",
                        "queue_starved",
                    ]
                ),
                name="alert_rule_kind_valid",
            ),
            models.CheckConstraint(condition=Q(window__gte=1), name="alert_rule_window_min"),
            models.CheckConstraint(
                condition=Q(threshold__gte=0) & Q(threshold__lte=1), name="alert_rule_threshold_0_1"
            ),
        ]
        indexes = [models.Index(fields=["active", "queue"], name="alert_rule_active")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.queue_id}"

    @property
    def email_list(self) -> list[str]:
        return [part.strip() for part in self.emails.split(",") if part.strip()]


class AlertEvent(models.Model):
    """One breach of a rule for one subject (a model version, or the queue itself).

    Raised once when the value crosses the threshold, cleared when it recovers; at most
    one open event per rule and subject (a database constraint).
    """

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="events")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="alert_events")
    queue = models.ForeignKey(
        "annotate.Queue", on_delete=models.CASCADE, related_name="alert_events"
    )
    subject = models.CharField(max_length=200, blank=True)
    value = models.FloatField(null=True, blank=True)
    threshold = models.FloatField()
    message = models.TextField()
    raised_at = models.DateTimeField(default=timezone.now)
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_value = models.FloatField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    notify_error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject"],
                condition=Q(cleared_at__isnull=True),
                name="alert_event_one_open",
            ),
        ]
        indexes = [
            models.Index(
                fields=["workspace", "raised_at"],
                condition=Q(cleared_at__isnull=True),
                name="alert_event_open",
            ),
        ]

    def __str__(self) -> str:
        return self.message

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None
