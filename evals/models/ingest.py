"""Production logs, the sources they come from, and the chunks of uploaded files."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from annotate.models import Workspace
from evals.models.jobs import Job


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
    # A hash of the normalized input (evals.sampling.pairing.input_key, filled in on
    # save by a pre_save hook that evals.apps connects), for pairing versions.
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
