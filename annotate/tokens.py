"""Workspace API tokens: ``qrm_<prefix>_<secret>``; the secret is stored hashed.

The prefix finds the row; the secret's SHA-256 is compared in constant time. The
plain token is returned once, at creation, and never stored or shown again.

A token has scopes (``TokenScope``: what it may do; each API operation needs one),
may expire, and works only while the member who made it is an active admin or engineer
of its workspace. The maker's role is read in the same query as the token, so a
removed or demoted maker's tokens stop at once (and work again if the role comes
back). Every token has a maker: there is no way to make one without naming them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from annotate import audit
from annotate.models import ApiToken, Membership, Role, TokenScope, Workspace
from annotate.text import text_problem

TOKEN_PREFIX = "qrm"
LAST_USED_RESOLUTION = timedelta(minutes=1)
TOKEN_MAKERS = (Role.ADMIN, Role.ENGINEER)
MAX_EXPIRY_DAYS = 3650


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenError(ValueError):
    """A token cannot be made as asked: ``errors`` says why, by field
    (``name``, ``scopes``, ``expires_days``, ``user``)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = errors


class TokenRefused(Exception):
    """A presented token does not work. ``reason`` is ``invalid`` (malformed, unknown or
    a wrong secret), ``revoked``, ``expired`` or ``maker_lost_access``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def with_maker_role(tokens: QuerySet[ApiToken]) -> QuerySet[ApiToken]:
    """``tokens`` with ``maker_role``: the role its maker holds in the token's workspace
    today, or None when the maker is gone, inactive or no longer a member."""
    role = Membership.objects.filter(
        workspace_id=OuterRef("workspace_id"),
        user_id=OuterRef("created_by_id"),
        user__is_active=True,
    ).values("role")[:1]
    return tokens.annotate(maker_role=Subquery(role))


def normalize_scopes(scopes: Iterable[str]) -> list[str]:
    """The known scopes among ``scopes``, once each, in TokenScope's order."""
    wanted = {str(s).strip() for s in scopes}
    return [s for s in TokenScope.values if s in wanted]


def _errors(
    workspace: Workspace, name: str, user, scopes: list[str], expires_days: int | None
) -> dict[str, str]:
    errors: dict[str, str] = {}
    limit = ApiToken._meta.get_field("name").max_length
    if not name:
        errors["name"] = "Give the token a name, such as the system that uses it."
    elif len(name) > limit:
        errors["name"] = f"Keep the name under {limit} characters."
    elif problem := text_problem(name):
        errors["name"] = f"The name {problem}."
    elif any(unicodedata.category(c) == "Cc" for c in name):
        # A control character (escape sequences, bells) would garble the audit log and
        # terminals that print it.
        errors["name"] = "The name contains a control character; use letters, digits and spaces."
    unknown = sorted(set(scopes) - set(TokenScope.values))
    if unknown:
        known = ", ".join(TokenScope.values)
        errors["scopes"] = f"Unknown scope {unknown[0]!r}; the scopes are {known}."
    elif not scopes:
        errors["scopes"] = "Choose at least one scope: what the token may do."
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRY_DAYS:
        errors["expires_days"] = (
            f"A token lasts from 1 to {MAX_EXPIRY_DAYS} days, or never expires."
        )
    if user is None:
        errors["user"] = "Name the member who owns the token: an admin or engineer."
    elif not Membership.objects.filter(
        workspace=workspace, user=user, role__in=TOKEN_MAKERS, user__is_active=True
    ).exists():
        errors["user"] = (
            f"{user.get_username()} is not an admin or engineer of this workspace; "
            "only they may make tokens."
        )
    return errors


def create_token(
    workspace: Workspace,
    name: str,
    user,
    *,
    scopes: Iterable[str],
    expires_days: int | None = None,
) -> tuple[ApiToken, str]:
    """Create a token made by ``user`` (an admin or engineer of the workspace) with
    ``scopes``, expiring after ``expires_days`` (None: never). Returns the row and the
    plain token (shown to the user once). Raises TokenError, naming each bad field
    (surrounding spaces of the name are dropped)."""
    name = name.strip()
    scopes = [str(s).strip() for s in scopes]
    errors = _errors(workspace, name, user, scopes, expires_days)
    if errors:
        raise TokenError(errors)
    scopes = normalize_scopes(scopes)
    now = timezone.now()
    expires_at = now + timedelta(days=expires_days) if expires_days is not None else None
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        workspace=workspace,
        name=name,
        prefix=prefix,
        secret_hash=_hash(secret),
        scopes=",".join(scopes),
        created_by=user,
        created_at=now,
        expires_at=expires_at,
    )
    lasts = f"until {_utc(expires_at)}" if expires_at else "with no expiry"
    audit.record(
        workspace,
        user,
        "token.create",
        token,
        f"API token {name!r} ({prefix}) created, {lasts}, scopes: {', '.join(scopes)}",
        scopes=scopes,
        expires_at=expires_at.isoformat() if expires_at else None,
    )
    return token, f"{TOKEN_PREFIX}_{prefix}_{secret}"


def _utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


INVALID = "A valid workspace API token is required."


def check_token(plain: str, now: datetime | None = None) -> ApiToken:
    """The working token for ``plain``; raises TokenRefused saying why it does not work.
    One query (the maker's role comes with the token), plus one write a minute for
    ``last_used_at``."""
    parts = plain.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise TokenRefused("invalid", INVALID)
    _, prefix, secret = parts
    found = with_maker_role(ApiToken.objects.select_related("workspace").filter(prefix=prefix))
    token = found.first()
    if token is None or not hmac.compare_digest(token.secret_hash, _hash(secret)):
        raise TokenRefused("invalid", INVALID)
    now = now or timezone.now()
    if token.revoked_at is not None:
        raise TokenRefused("revoked", "This API token was revoked.")
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenRefused(
            "expired", f"This API token expired on {_utc(token.expires_at)}; make a new one."
        )
    if token.maker_role not in TOKEN_MAKERS:
        raise TokenRefused(
            "maker_lost_access",
            "The member who made this API token is no longer an admin or engineer of its "
            "workspace, so it no longer works; an admin or engineer must make a new one.",
        )
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def token_status(token: ApiToken, now: datetime | None = None) -> str:
    """What the token page says of a token (``token`` from ``with_maker_role``)."""
    now = now or timezone.now()
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    if getattr(token, "maker_role", None) not in TOKEN_MAKERS:
        return "stopped: its maker is no longer an admin or engineer"
    return "active"


def revoke_token(token: ApiToken, actor=None) -> None:
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if revoked:
        audit.record(
            token.workspace_id, actor, "token.revoke", token, f"API token {token.name!r} revoked"
        )
