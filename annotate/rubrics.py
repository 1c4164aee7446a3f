"""Creating and publishing rubric versions.

A published version never changes: criteria are written only while it is a draft,
and ``publish`` checks that there is something to publish.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from . import audit
from .models import Criterion, Rubric, RubricVersion, Workspace


def create_rubric(
    workspace: Workspace,
    name: str,
    criteria: Iterable[dict[str, Any]],
    *,
    description: str = "",
    instructions: str = "",
) -> RubricVersion:
    """A new rubric with a first draft version holding ``criteria`` (dicts of Criterion fields)."""
    with transaction.atomic():
        rubric = Rubric.objects.create(workspace=workspace, name=name, description=description)
        version = RubricVersion.objects.create(rubric=rubric, number=1, instructions=instructions)
        for position, spec in enumerate(criteria):
            Criterion.objects.create(rubric_version=version, position=position, **spec)
    return version


def publish(version: RubricVersion, actor=None) -> RubricVersion:
    """Publish a draft version. Raises ValidationError when it cannot be published."""
    if version.is_published:
        raise ValidationError("This version is already published.")
    if not version.criteria.exists():
        raise ValidationError("Add at least one criterion before publishing.")
    version.status = RubricVersion.Status.PUBLISHED
    version.published_at = timezone.now()
    version.save()
    audit.record(
        version.rubric.workspace_id, actor, "rubric.publish", version, f"Published {version}"
    )
    return version
