"""Inviting people into a workspace with a single-use, expiring link.

The token is shown once (in the link, and in an e-mail when e-mail is configured);
only its SHA-256 hash is stored. Accepting is a conditional update on
``accepted_at IS NULL``, so a link works exactly once even if two people use it at
the same moment.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from annotate.models import Cohort, Invitation, Membership, Role, Workspace
from annotate.text import check_fields, text_problem

DEFAULT_DAYS = 7
NO_MAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
}


class InvitationError(ValidationError):
    """The invitation cannot be created or accepted; ``message_dict`` names the field."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_invitation(
    workspace: Workspace,
    *,
    created_by: AbstractBaseUser | None,
    role: str = Role.REVIEWER,
    cohorts: Iterable[Cohort] = (),
    email: str = "",
    expertise: str = "",
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
) -> tuple[Invitation, str]:
    """A new invitation and its token (the only time the token is available)."""
    now = now or timezone.now()
    cohorts = list(cohorts)
    if role not in Role.values:
        raise InvitationError({"role": "Choose a role."})
    if any(c.workspace_id != workspace.pk for c in cohorts):
        raise InvitationError({"cohorts": "Choose cohorts of this workspace."})
    if not 1 <= days <= 60:
        raise InvitationError({"days": "A link lasts between 1 and 60 days."})
    email, expertise = email.strip(), expertise.strip()
    errors = check_fields(Invitation, email=email, expertise=expertise)
    if email and "email" not in errors:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = "Enter an e-mail address such as name@example.org, or leave it empty."
    if errors:
        raise InvitationError(errors)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = Invitation.objects.create(
            workspace=workspace,
            email=email,
            role=role,
            expertise=expertise,
            token_hash=hash_token(token),
            created_by=created_by,
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
        invitation.cohorts.set(cohorts)
    return invitation, token


def email_configured() -> bool:
    return settings.EMAIL_BACKEND not in NO_MAIL_BACKENDS


def send_invitation_email(invitation: Invitation, link: str) -> bool:
    """E-mail the link when the invitation has an address and e-mail is configured."""
    if not invitation.email or not email_configured():
        return False
    inviter = invitation.created_by
    who = (inviter.get_full_name() or inviter.username) if inviter else "A colleague"
    body = (
        f"{who} invited you to review in {invitation.workspace.name} on Quorum.\n\n"
        f"Open this link to choose a password and start: {link}\n\n"
        f"The link works once and expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC."
    )
    send_mail(
        f"You are invited to {invitation.workspace.name} on Quorum",
        body,
        settings.DEFAULT_FROM_EMAIL,
        [invitation.email],
    )
    return True


def find_invitation(token: str, now: datetime | None = None) -> Invitation | None:
    """The pending invitation for ``token``, or None when unknown, used, revoked or expired."""
    now = now or timezone.now()
    return (
        Invitation.objects.select_related("workspace")
        .filter(
            token_hash=hash_token(token),
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
        )
        .first()
    )


def _check_new_user(username: str, password: str, email: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    User = get_user_model()
    if not username.strip():
        errors["username"] = "Choose a username."
    else:
        try:  # length and characters, before the name reaches a query
            User._meta.get_field(User.USERNAME_FIELD).run_validators(username.strip())
        except ValidationError as exc:
            errors["username"] = " ".join(exc.messages)
        else:
            if User.objects.filter(username__iexact=username.strip()).exists():
                errors["username"] = "That username is taken; choose another."
    try:
        validate_password(password, User(username=username, email=email))
    except ValidationError as exc:
        errors["password"] = " ".join(exc.messages)
    return errors


def accept_invitation(
    invitation: Invitation,
    *,
    user: AbstractBaseUser | None = None,
    username: str = "",
    password: str = "",
    full_name: str = "",
    expertise: str = "",
    now: datetime | None = None,
) -> Membership:
    """Use the invitation: create the user (unless ``user`` is given, e.g. logged in),
    the membership with the invitation's role, and the cohort memberships."""
    now = now or timezone.now()
    errors = check_fields(Membership, expertise=expertise)
    if user is None:
        errors.update(_check_new_user(username, password, invitation.email))
        if problem := text_problem(full_name):
            errors["full_name"] = f"This text {problem}."
    if errors:
        raise InvitationError(errors)
    with transaction.atomic():
        taken = Invitation.objects.filter(
            pk=invitation.pk,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
        ).update(accepted_at=now)
        if taken != 1:
            raise InvitationError("This invitation link has already been used or has expired.")
        if user is None:
            first, _, last = full_name.strip().partition(" ")
            user = get_user_model().objects.create_user(
                username=username.strip(),
                password=password,
                email=invitation.email,
                first_name=first[:150],
                last_name=last[:150],
            )
        Invitation.objects.filter(pk=invitation.pk).update(accepted_by=user)
        membership, created = Membership.objects.get_or_create(
            workspace=invitation.workspace,
            user=user,
            defaults={"role": invitation.role, "expertise": expertise or invitation.expertise},
        )
        if not created and expertise:
            membership.expertise = expertise
            membership.save(update_fields=["expertise"])
        for cohort in invitation.cohorts.all():
            cohort.members.add(user)
    return membership


def revoke_invitation(invitation: Invitation, now: datetime | None = None) -> bool:
    return bool(
        Invitation.objects.filter(
            pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now or timezone.now())
    )
