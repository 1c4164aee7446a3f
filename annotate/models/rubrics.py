"""Rubrics, their versions and criteria. A published version never changes."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from annotate.models.workspaces import Workspace


class Rubric(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="rubrics")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


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
