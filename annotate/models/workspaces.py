"""Workspaces, their members and roles, cohorts, invitations and the audit log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Workspace(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    AUTHOR = "author", "Rubric author"
    ENGINEER = "engineer", "Engineer"
    REVIEWER = "reviewer", "Reviewer"


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.REVIEWER)
    expertise = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    can_adjudicate = models.BooleanField(
        default=False, help_text="May record final answers on disputed items (admins always may)."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} as {self.role}"

    @property
    def can_author(self) -> bool:
        return self.role in (Role.ADMIN, Role.AUTHOR)

    @property
    def can_read_setup(self) -> bool:
        return self.role in (Role.ADMIN, Role.AUTHOR, Role.ENGINEER)

    @property
    def is_adjudicator(self) -> bool:
        return self.role == Role.ADMIN or self.can_adjudicate


class Cohort(models.Model):
    """A named group of reviewers, such as clinicians or lay reviewers."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="cohorts")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="cohorts", blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="cohort_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class AuditEvent(models.Model):
    """One entry of a workspace's append-only audit log.

    Rows are only ever inserted (``annotate.audit.record``); ``save`` refuses updates,
    ``delete`` refuses deletion, and on PostgreSQL a trigger refuses UPDATE and DELETE.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="audit_events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    # The API token that did it (``actor`` is then empty): the token is the actor.
    api_token = models.ForeignKey(
        "evals.ApiToken", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=60)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=60, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"], name="audit_ws_time")]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id} at {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit events are append-only.")

    @property
    def who(self) -> str:
        """The actor as the audit page names it: a username, an API token, or "system"."""
        if self.api_token_id is not None:
            return f"API token '{self.api_token.name}' ({self.api_token.prefix})"
        if self.actor_id is not None:
            return self.actor.get_username()
        legacy = self.details.get("api_token") if isinstance(self.details, dict) else None
        if legacy:  # events recorded before api_token existed kept the prefix in details
            return f"API token ({legacy})"
        return "system"


class Invitation(models.Model):
    """A single-use, expiring link that makes its holder a member of a workspace.

    Only a SHA-256 hash of the token is stored; the token itself appears once, in the
    link shown to the admin (and in the e-mail when e-mail is configured).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.REVIEWER)
    cohorts = models.ManyToManyField(Cohort, related_name="invitations", blank=True)
    expertise = models.CharField(max_length=200, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations_sent",
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations_accepted",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="invitation_role_valid"),
        ]
        indexes = [models.Index(fields=["workspace", "created_at"], name="invitation_ws_time")]

    def __str__(self) -> str:
        return f"invitation to {self.workspace} ({self.email or 'link'})"

    def state(self, now=None) -> str:
        now = now or timezone.now()
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "pending"
