"""Workspace API tokens: ``qrm_<prefix>_<secret>``; the secret is stored hashed.

The prefix finds the row; the secret's SHA-256 is compared in constant time. The
plain token is returned once, at creation, and never stored or shown again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.utils import timezone

from annotate import audit
from annotate.models import Workspace

from .models import ApiToken

TOKEN_PREFIX = "qrm"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenNameError(ValueError):
    """The token's name is empty or too long; the message says which."""


def create_token(workspace: Workspace, name: str, user=None) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the plain token (shown to the user once).
    Raises TokenNameError for an empty or overlong name (surrounding spaces are dropped)."""
    name = name.strip()
    limit = ApiToken._meta.get_field("name").max_length
    if not name:
        raise TokenNameError("Give the token a name, such as the system that uses it.")
    if len(name) > limit:
        raise TokenNameError(f"Keep the name under {limit} characters.")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        workspace=workspace, name=name, prefix=prefix, secret_hash=_hash(secret), created_by=user
    )
    audit.record(workspace, user, "token.create", token, f"API token {name!r} ({prefix}) created")
    return token, f"{TOKEN_PREFIX}_{prefix}_{secret}"


def verify_token(plain: str) -> ApiToken | None:
    """The live token for ``plain``, or None if it is malformed, unknown or revoked."""
    parts = plain.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    _, prefix, secret = parts
    token = ApiToken.objects.select_related("workspace").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.secret_hash, _hash(secret)):
        return None
    if not token.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def revoke_token(token: ApiToken, actor=None) -> None:
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if revoked:
        audit.record(
            token.workspace_id, actor, "token.revoke", token, f"API token {token.name!r} revoked"
        )
