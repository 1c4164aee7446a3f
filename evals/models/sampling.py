"""Sampling rules, their runs, and the logs a run queued."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from annotate.models import Workspace
from evals.models.ingest import Log, Source
from evals.models.jobs import Job


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
