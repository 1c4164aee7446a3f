"""Production logs, their sources, and the rows that track long background jobs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
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


class IngestChunk(models.Model):
    """One chunk of an uploaded file (a byte range), ingested in one transaction.

    The chunk's counts are written in the same transaction as its logs, so a worker
    killed mid-chunk leaves nothing behind and the retried chunk redoes only its lines.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="ingest_chunks")
    index = models.PositiveIntegerField()
    start_offset = models.PositiveBigIntegerField()
    end_offset = models.PositiveBigIntegerField()
    first_line = models.PositiveBigIntegerField()
    lines = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    lines_read = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    duplicate = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    reasons = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="ingest_chunk_unique"),
            models.CheckConstraint(
                condition=Q(status="pending")
                | Q(lines_read=F("accepted") + F("duplicate") + F("rejected")),
                name="ingest_chunk_counts_add_up",
            ),
        ]

    def __str__(self) -> str:
        return f"chunk {self.index} of job {self.job_id}"


class SamplingRule(models.Model):
    """Which logs go into a review queue, how many, and how often."""

    class Strategy(models.TextChoices):
        RATE = "rate", "A share of matching logs"
        FIXED = "fixed", "A fixed number per run"
        QUOTA = "quota", "A quota per stratum"
        NEGATIVE_FIRST = "negative_first", "Logs users disliked first"

    class Schedule(models.TextChoices):
        MANUAL = "manual", "Only when run by hand"
        EVERY_N_MINUTES = "minutes", "Every N minutes"
        HOURLY = "hourly", "Hourly"
        DAILY = "daily", "Daily"

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="sampling_rules"
    )
    name = models.CharField(max_length=200)
    queue = models.ForeignKey(
        "annotate.Queue", on_delete=models.CASCADE, related_name="sampling_rules"
    )
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.CASCADE, related_name="sampling_rules"
    )
    # Filters: {"model_names": [...], "model_versions": [...], "since": iso, "until": iso,
    # "last_hours": n, "metadata": {key: value}, "feedback_negative": bool,
    # "text_contains": str, "min_length": n, "max_length": n}
    filters = models.JSONField(default=dict, blank=True)
    strategy = models.CharField(max_length=20, choices=Strategy.choices, default=Strategy.RATE)
    rate = models.FloatField(null=True, blank=True, help_text="Share of matching logs, 0–1.")
    count = models.PositiveIntegerField(
        null=True, blank=True, help_text="Logs per run (fixed), or per stratum (quota)."
    )
    strata = models.JSONField(
        default=list, blank=True, help_text='Stratum keys: "model_version", "metadata.topic".'
    )
    seed = models.BigIntegerField(default=0)
    schedule = models.CharField(max_length=20, choices=Schedule.choices, default=Schedule.MANUAL)
    every_minutes = models.PositiveIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="sampling_rule_name_unique"),
            models.CheckConstraint(
                condition=Q(rate__isnull=True) | Q(rate__gt=0, rate__lte=1),
                name="sampling_rule_rate_range",
            ),
        ]
        indexes = [
            models.Index(fields=["next_run_at"], condition=Q(active=True), name="sampling_due")
        ]

    def __str__(self) -> str:
        return self.name


class SamplingRun(models.Model):
    """One run of a rule: its frozen pick list, and what it found and added."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    rule = models.ForeignKey(SamplingRule, on_delete=models.CASCADE, related_name="runs")
    job = models.OneToOneField(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="sampling_run"
    )
    trigger = models.CharField(max_length=20, default="manual")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLANNED)
    planned = models.BooleanField(default=False)
    picks = models.JSONField(default=list, blank=True, help_text="[log id, stratum] pairs.")
    considered = models.PositiveIntegerField(default=0)
    picked = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    skipped_duplicates = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    by_stratum = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["rule", "created_at"], name="sampling_run_rule")]

    def __str__(self) -> str:
        return f"run {self.pk} of {self.rule_id}"


class QueuedLog(models.Model):
    """A log that entered a queue (by sampling): never the same log twice in one queue."""

    queue = models.ForeignKey("annotate.Queue", on_delete=models.CASCADE, related_name="+")
    log = models.ForeignKey(Log, on_delete=models.CASCADE, related_name="queued")
    run = models.ForeignKey(
        SamplingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="queued"
    )
    item = models.ForeignKey(
        "annotate.Item", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stratum = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["queue", "log"], name="queued_log_once_per_queue")
        ]
        indexes = [models.Index(fields=["run"], name="queued_log_run")]

    def __str__(self) -> str:
        return f"log {self.log_id} in queue {self.queue_id}"


class ImportedReviewer(models.Model):
    """A reviewer who exists only through imported labels: an inactive user with a label.

    ``label`` is the reviewer id the imported file used (an export's pseudonym, or a
    team's own id). Exports show the label again, so export → import → export keeps
    the same reviewer column.
    """

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="imported_reviewers"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="imported_as"
    )
    label = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "label"], name="imported_reviewer_label_unique"
            ),
            models.UniqueConstraint(
                fields=["workspace", "user"], name="imported_reviewer_user_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.label


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
