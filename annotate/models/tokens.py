"""Workspace API tokens and their scopes.

These rows keep the ``evals`` app label and their ``evals_*`` tables (they were first
defined there); they live here because a token is a workspace member's credential.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from annotate.models.workspaces import Workspace


class TokenScope(models.TextChoices):
    """What an API token may do; each API operation needs one (``annotate.api_common``)."""

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
    (``created_by``) is still an admin or engineer of the workspace (``annotate.tokens``).
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
        app_label = "evals"
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
