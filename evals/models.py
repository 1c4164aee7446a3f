"""Production logs, their sources, and the rows that track long background jobs."""

from __future__ import annotations

import re
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from annotate.models import Queue, Workspace


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

    # No single-column indexes on these two: log_ws_time and log_unique_per_source lead with
    # them, and every index costs each of the millions of inserts.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="logs", db_index=False
    )
    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, related_name="logs", db_index=False
    )
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
    # A hash of the normalized input (evals.pairing.input_key), for pairing versions.
    input_key = models.BigIntegerField(null=True, blank=True, editable=False)
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

    def save(self, *args, **kwargs) -> None:
        if self.input_key is None:
            from .pairing import input_key

            self.input_key = input_key(self.input_text, self.input_messages)
        super().save(*args, **kwargs)


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


class TokenScope(models.TextChoices):
    """What an API token may do; each API operation needs one (``evals.api_common``)."""

    LOGS_WRITE = "logs:write", "Push production logs (POST /logs)"
    ITEMS_WRITE = "items:write", "Add items to queues (POST /queues/{id}/items)"
    READ = "read", "Read queues, logs, judgments, agreement and leaderboards"
    EXPORTS = "exports", "Start, list and download exports"
    IMPORTS = "imports", "Import judgments into queues"


_ONE_SCOPE = "(" + "|".join(re.escape(scope) for scope in TokenScope.values) + ")"
# One or more known scopes, comma-separated: "read" or "exports,read".
SCOPES_PATTERN = f"^{_ONE_SCOPE}(,{_ONE_SCOPE})*$"


class ApiToken(models.Model):
    """A workspace API token. Only a SHA-256 hash of the secret is stored.

    A token works while it is not revoked, not past ``expires_at``, and its maker
    (``created_by``) is still an admin or engineer of the workspace (``evals.tokens``).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.CharField(
        max_length=100, help_text="What the token may do: TokenScope values, comma-separated."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Never, when empty.")
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(scopes__regex=SCOPES_PATTERN), name="apitoken_scopes_known"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split(",") if self.scopes else []

    def has_scope(self, scope: str) -> bool:
        return scope in self.scope_list

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired


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
        JUDGE_LOW_FIRST = "judge_low_first", "Logs an LLM judge scored low first"

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
    # Pairing (pairwise queues): the same input under version A and version B is one item.
    pair_version_a = models.CharField(max_length=200, blank=True)
    pair_version_b = models.CharField(max_length=200, blank=True)
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


class AlertRule(models.Model):
    """A threshold an author sets on a queue; the beat task ``check_alerts`` evaluates it.

    ``threshold`` is X in 0..1 for the weighted score and pass rate (of the last ``window``
    judgments of a model version, once it has ``min_judgments``), Y for agreement, and
    ``starved_days`` is Z for a queue that gets no new items.
    """

    class Kind(models.TextChoices):
        WEIGHTED_SCORE_BELOW = "weighted_score_below", "Weighted score of a model version below X"
        PASS_RATE_BELOW = "pass_rate_below", "Pass rate of a model version below X"
        AGREEMENT_BELOW = "agreement_below", "Agreement (Krippendorff's alpha) below Y"
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


DEFAULT_SYSTEM_TEMPLATE = """You are a careful expert reviewer grading the output of an AI \
assistant against a rubric, exactly as a trained human reviewer would.

{instructions}

Grade on these criteria:

{criteria}

Answer only with a JSON object that has one key per criterion, using exactly the values \
allowed above. Do not add commentary outside the JSON."""

DEFAULT_USER_TEMPLATE = """## Input

{input}

## Output to grade

{output}"""

DEFAULT_PAIRWISE_USER_TEMPLATE = """## Input

{input}

## Response A

{output_a}

## Response B

{output_b}"""


class JudgeEndpoint(models.Model):
    """An OpenAI-compatible chat completions endpoint used as an LLM judge.

    The API key is stored encrypted (``evals.secretbox``) and never shown again.
    """

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="judge_endpoints"
    )
    name = models.CharField(max_length=100)
    base_url = models.URLField(max_length=500, help_text="For example https://api.openai.com/v1")
    model = models.CharField(max_length=200)
    api_key_encrypted = models.TextField(blank=True, editable=False)
    temperature = models.FloatField(default=0.0)
    max_tokens = models.PositiveIntegerField(default=1024)
    timeout_seconds = models.FloatField(default=60.0)
    concurrency = models.PositiveIntegerField(default=4)
    requests_per_minute = models.PositiveIntegerField(default=60)
    price_input_per_mtok = models.DecimalField(
        max_digits=12, decimal_places=6, default=0, help_text="Price per million input tokens."
    )
    price_output_per_mtok = models.DecimalField(
        max_digits=12, decimal_places=6, default=0, help_text="Price per million output tokens."
    )
    invalid_answer_retries = models.PositiveIntegerField(
        default=2, help_text="How many times an invalid answer is asked again before it fails."
    )
    allow_private_network = models.BooleanField(default=False)
    system_template = models.TextField(default=DEFAULT_SYSTEM_TEMPLATE)
    user_template = models.TextField(default=DEFAULT_USER_TEMPLATE)
    pairwise_user_template = models.TextField(default=DEFAULT_PAIRWISE_USER_TEMPLATE)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="judge_endpoint_name"),
            models.CheckConstraint(condition=Q(concurrency__gte=1), name="judge_concurrency_min"),
            models.CheckConstraint(condition=Q(requests_per_minute__gte=1), name="judge_rpm_min"),
            models.CheckConstraint(condition=Q(timeout_seconds__gt=0), name="judge_timeout_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.model})"

    def __repr__(self) -> str:
        return f"<JudgeEndpoint {self.pk} {self.name!r}>"

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key_encrypted)


class JudgeRun(models.Model):
    """One judge run over a queue's items or a list of logs; its Job row tracks progress."""

    class StopReason(models.TextChoices):
        NONE = "", "Not stopped"
        BUDGET = "budget", "Budget reached"
        CANCELLED = "cancelled", "Cancelled"
        FATAL = "fatal", "Endpoint error"
        FAILURES = "failures", "Too many failures"

    class Inconsistency(models.TextChoices):
        TIE = "tie", "Record a tie"
        FAIL = "fail", "Record no answer"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="judge_runs")
    job = models.OneToOneField(Job, on_delete=models.CASCADE, related_name="judge_run")
    endpoint = models.ForeignKey(JudgeEndpoint, on_delete=models.PROTECT, related_name="runs")
    queue = models.ForeignKey(
        "annotate.Queue", null=True, blank=True, on_delete=models.CASCADE, related_name="judge_runs"
    )
    rubric_version = models.ForeignKey(
        "annotate.RubricVersion", on_delete=models.PROTECT, related_name="judge_runs"
    )
    log_ids = models.JSONField(default=list, blank=True, help_text="Logs to pre-screen.")
    pairwise = models.BooleanField(default=False)
    inconsistency = models.CharField(
        max_length=10, choices=Inconsistency.choices, default=Inconsistency.TIE
    )
    config_hash = models.CharField(max_length=64)
    budget = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    stop_after_failures = models.PositiveIntegerField(
        default=0, help_text="Stop after this many failures in a row (0: never)."
    )
    tokens_in = models.PositiveBigIntegerField(default=0)
    tokens_out = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=6, default=0)
    requests = models.PositiveIntegerField(default=0)
    ok_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    inconsistent_count = models.PositiveIntegerField(default=0)
    cached_count = models.PositiveIntegerField(default=0)
    # Calls sent and not yet recorded; when a worker dies, the ones it had out are
    # counted as lost when the run resumes (their tokens and cost never arrive).
    calls_in_flight = models.PositiveIntegerField(default=0)
    lost_calls = models.PositiveIntegerField(default=0)
    stop_reason = models.CharField(
        max_length=20, choices=StopReason.choices, default=StopReason.NONE, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(queue__isnull=False) | ~Q(log_ids=[]), name="judge_run_has_subject"
            ),
        ]
        indexes = [models.Index(fields=["workspace", "created_at"], name="judge_run_ws_time")]

    def __str__(self) -> str:
        return f"judge run {self.pk}"

    @property
    def average_call_cost(self) -> Decimal:
        """What one recorded call of this run cost on average (0 before the first)."""
        recorded = self.ok_count + self.failed_count + self.inconsistent_count
        return self.cost / recorded if recorded else Decimal(0)

    @property
    def lost_cost_estimate(self) -> Decimal:
        """The lost calls at the run's average cost: not in ``cost``, which counts
        only what was recorded."""
        return self.lost_calls * self.average_call_cost


class JudgeResult(models.Model):
    """The judge's answer on one item (or log) under one judge configuration.

    Unique per (configuration hash, item): a re-run with the same configuration finds
    it and makes no request. Failed results carry the reason and the raw text, never
    a default score.
    """

    class Status(models.TextChoices):
        OK = "ok", "OK"
        FAILED = "failed", "Failed"
        INCONSISTENT = "inconsistent", "Inconsistent"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="judge_results")
    endpoint = models.ForeignKey(JudgeEndpoint, on_delete=models.CASCADE, related_name="results")
    run = models.ForeignKey(
        JudgeRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="results"
    )
    rubric_version = models.ForeignKey(
        "annotate.RubricVersion", on_delete=models.CASCADE, related_name="judge_results"
    )
    config_hash = models.CharField(max_length=64)
    item = models.ForeignKey(
        "annotate.Item",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="judge_results",
    )
    log = models.ForeignKey(
        Log, null=True, blank=True, on_delete=models.CASCADE, related_name="judge_results"
    )
    status = models.CharField(max_length=20, choices=Status.choices)
    answers = models.JSONField(default=dict, blank=True)
    raw_text = models.TextField(blank=True)
    reason = models.TextField(blank=True)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["config_hash", "item"],
                condition=Q(item__isnull=False),
                name="judge_result_once_per_item",
            ),
            models.UniqueConstraint(
                fields=["config_hash", "log"],
                condition=Q(log__isnull=False),
                name="judge_result_once_per_log",
            ),
            models.CheckConstraint(
                condition=Q(item__isnull=False) | Q(log__isnull=False),
                name="judge_result_has_subject",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["ok", "failed", "inconsistent"]),
                name="judge_result_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "status"], name="judge_result_ws_status"),
            models.Index(fields=["run", "status"], name="judge_result_run_status"),
        ]

    def __str__(self) -> str:
        return f"judge result {self.pk} ({self.status})"


class LeaderboardSnapshot(models.Model):
    """The latest computed pairwise results of a queue (one row per queue, replaced in place).

    ``data`` holds the overall and per-cohort leaderboards, the position-bias audit and
    swap consistency, as computed by ``evals.pairwise_results.compute``.
    """

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="leaderboard_snapshots"
    )
    queue = models.OneToOneField(Queue, on_delete=models.CASCADE, related_name="leaderboard")
    judgments = models.PositiveIntegerField(default=0)
    last_judgment_id = models.BigIntegerField(default=0)
    data = models.JSONField(default=dict)
    computed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"leaderboard of queue {self.queue_id} ({self.judgments} judgments)"


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
