"""Calibration answers, reviewer pauses, adjudications and imported reviewers.

These rows keep the ``evals`` app label and their ``evals_*`` tables (they were first
defined there); they live here because gold, calibration and adjudication are reviewing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from annotate.models.workspaces import Workspace


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
        app_label = "evals"
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
        app_label = "evals"
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
        app_label = "evals"
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
        app_label = "evals"
        indexes = [models.Index(fields=["queue", "created_at"], name="adjudication_queue_time")]

    def __str__(self) -> str:
        return f"adjudication of item {self.item_id}"
