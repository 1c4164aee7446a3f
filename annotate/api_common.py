"""Pieces every API router shares: token auth with scopes, opaque signed cursors and
per-token rate limits.

Every operation names the scope it needs with ``auth=needs(TokenScope.X)``; a token
without that scope answers 403 ``forbidden_scope``. The API's default auth
(``TokenAuth()``, no scope) refuses every token, so an operation that forgets to name
its scope fails closed, and the schema test finds it.

A cursor is the last id a page ended on, signed with the project's secret and
bound to the endpoint and its filters, so a client cannot forge one or reuse it
with other filters; a bad cursor answers 400 in the API's error format. Rate
limits count requests per token per minute in Django's cache (shared across
processes when the cache is Redis) and answer 429 with ``Retry-After``.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from ninja import Schema
from ninja.security import HttpBearer

from annotate.models import ApiToken, Queue, TokenScope
from annotate.tokens import TokenRefused, check_token

CURSOR_SALT = "quorum.api.cursor"
DEFAULT_PAGE = 100
ERROR_STATUSES = (400, 401, 403, 404, 405, 413, 422, 429)
MAX_PAGE = 500


class BadCursor(Exception):
    """The cursor was not made by this server for this listing."""


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Rate limit exceeded; retry after {retry_after} s.")
        self.retry_after = retry_after


def make_cursor(scope: str, last_id: int) -> str:
    return signing.dumps({"s": scope, "a": last_id}, salt=CURSOR_SALT, compress=True)


def read_cursor(scope: str, cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        data = signing.loads(cursor, salt=CURSOR_SALT)
    except signing.BadSignature:
        raise BadCursor from None
    if not isinstance(data, dict) or data.get("s") != scope or not isinstance(data.get("a"), int):
        raise BadCursor
    return data["a"]


def paginate(
    qs: QuerySet, scope: str, cursor: str | None, limit: int | None
) -> tuple[list[Any], str | None]:
    """One page of ``qs`` in id order after the cursor, and the next page's cursor."""
    size = max(1, min(limit or DEFAULT_PAGE, MAX_PAGE))
    after = read_cursor(scope, cursor)
    if after is not None:
        qs = qs.filter(pk__gt=after)
    page = list(qs.order_by("pk")[: size + 1])
    more = len(page) > size
    page = page[:size]
    return page, (make_cursor(scope, page[-1].pk) if more and page else None)


def rate_limit() -> int:
    return int(getattr(settings, "QUORUM_API_RATE_LIMIT", 600))


def check_rate(token_id: int, now: float | None = None) -> None:
    """Count one request for the token; raise RateLimited past the per-minute limit."""
    now = time.time() if now is None else now
    window = int(now // 60)
    key = f"quorum:api-rate:{token_id}:{window}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    if count > rate_limit():
        raise RateLimited(retry_after=max(1, 60 - int(now % 60)))


class ApiError(Exception):
    """An error the API answers in its error format with a specific code."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class TokenAuth(HttpBearer):
    """``Authorization: Bearer qrm_...``: a working token of the workspace, with ``scope``.

    Sets ``request.api_token`` and ``request.workspace``. A revoked or expired token, or
    one whose maker lost their role, answers 401 saying so; a token without the scope,
    403 ``forbidden_scope``."""

    openapi_description = (
        "A workspace API token: `Authorization: Bearer qrm_...`. Each operation needs one "
        "scope, listed in its security requirement; a token without it gets 403."
    )

    def __init__(self, scope: TokenScope | None = None) -> None:
        self.scope = scope
        super().__init__()

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        try:
            found = check_token(token)
        except TokenRefused as exc:
            if exc.reason == "invalid":
                return None  # the API's generic 401
            raise ApiError(401, "unauthenticated", exc.message, {"reason": exc.reason}) from None
        request.api_token = found  # type: ignore[attr-defined]
        request.workspace = found.workspace  # type: ignore[attr-defined]
        check_rate(found.pk)
        if self.scope is None:
            raise ApiError(403, "forbidden_scope", "This operation declares no scope.")
        if not found.has_scope(self.scope):
            raise ApiError(
                403,
                "forbidden_scope",
                f"This token lacks the '{self.scope}' scope.",
                {"required_scope": str(self.scope), "token_scopes": found.scope_list},
            )
        return found


def needs(scope: TokenScope) -> TokenAuth:
    """The ``auth`` of an operation that needs ``scope``."""
    return TokenAuth(scope)


class ErrorBody(Schema):
    code: str
    message: str
    details: Any = None


class ErrorOut(Schema):
    """The one error format: ``{"error": {"code", "message", "details"?}}``."""

    error: ErrorBody


def responses(ok: dict[int, Any]) -> dict[Any, Any]:
    """A response map documenting the error format for the 4xx statuses the API answers."""
    return {**ok, **dict.fromkeys(ERROR_STATUSES, ErrorOut)}


def get_queue(request: HttpRequest, queue_id: int) -> Queue:
    """The token's workspace's queue, or 404 (another workspace's queue too)."""
    queue = (
        Queue.objects.select_related("rubric_version__rubric")
        .filter(workspace=request.workspace, pk=queue_id)  # type: ignore[attr-defined]
        .first()
    )
    if queue is None:
        raise Http404
    return queue
