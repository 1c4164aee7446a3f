"""Stored results: alert rules and events, leaderboard and agreement snapshots."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from annotate.models import Queue, Workspace
from evals.models.jobs import Job


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


class LeaderboardSnapshot(models.Model):
    """The latest computed pairwise results of a queue (one row per queue, replaced in place).

    ``data`` holds the overall and per-cohort leaderboards, the position-bias audit and
    swap consistency, as computed by ``evals.results.pairwise.compute``.
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
