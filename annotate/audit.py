"""The append-only audit log: who changed what, and when."""

from __future__ import annotations

from typing import Any

from django.db import models

from annotate.models import AuditEvent, Workspace


def record(
    workspace: Workspace | int,
    actor,
    action: str,
    target: models.Model | None = None,
    summary: str = "",
    *,
    api_token: models.Model | None = None,
    **details: Any,
) -> AuditEvent:
    """Append one event. ``action`` is a dotted name such as ``rubric.publish``.

    ``actor`` is the user who did it; for an API request pass ``api_token`` (the
    request's ``evals.ApiToken``) instead, so the log names the token."""
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    actor_id = getattr(actor, "pk", None) if actor is not None else None
    return AuditEvent.objects.create(
        workspace_id=workspace_id,
        actor_id=actor_id,
        api_token_id=api_token.pk if api_token is not None else None,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        summary=summary[:300],
        details=details,
    )
