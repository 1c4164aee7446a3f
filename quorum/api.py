"""The HTTP API under /api/v1/: one NinjaAPI, token auth, one error format.

Each package adds its endpoints as a Router in its own ``api.py`` (``annotate.api``,
``evals.ingest.api``, ``evals.exports.api``, ``evals.results.api``), added to the
NinjaAPI below; only this module imports routers. Every request is
authenticated with a workspace token and sees only that workspace's objects:
another workspace's object answers 404, like a missing one. Every operation names the
token scope it needs (``auth=needs(TokenScope.READ)``, see ``annotate.api_common``); the
schema lists it in the operation's security requirement and description.

Errors always look like ``{"error": {"code": "...", "message": "...", "details": ...}}``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.operation import Operation
from ninja.parser import Parser

from annotate.api import router as annotate_router
from annotate.api_common import (
    ApiError,
    BadCursor,
    RateLimited,
    TokenAuth,
    needs,
    responses,
)
from annotate.models import ApiToken, TokenScope
from evals.exports.api import router as exports_router
from evals.ingest.api import router as ingest_router
from evals.results.api import router as results_router


def _scopes(operation: Operation) -> list[str]:
    return [str(a.scope) for a in operation.auth_callbacks if getattr(a, "scope", None)]


class _ScopedSchema(OpenAPISchema):
    """The OpenAPI schema, with each operation's scope in its security requirement
    (OpenAPI 3.1 lets a bearer scheme list the roles it needs) and its description."""

    def operation_security(self, operation: Operation) -> list[dict[str, Any]] | None:
        security = super().operation_security(operation)
        for requirement in security or []:
            for name in requirement:
                requirement[name] = _scopes(operation)
        return security

    def operation_details(self, operation: Operation) -> dict[str, Any]:
        details = super().operation_details(operation)
        scopes = _scopes(operation)
        if scopes:
            needed = f"Needs a token with the `{scopes[0]}` scope (403 `forbidden_scope` without)."
            details["description"] = "\n\n".join(filter(None, [details.get("description"), needed]))
        return details


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


class StrictJsonParser(Parser):
    """Request bodies are strict JSON: NaN and Infinity (which Python's parser reads, and
    PostgreSQL's jsonb refuses) answer 400 like any other body that is not JSON."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        return json.loads(request.body, parse_constant=_not_json)


class QuorumApi(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None) -> OpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return _ScopedSchema(self, path_prefix)


api = QuorumApi(
    title="Quorum API",
    version="1",
    description=(
        "Push production logs, manage queues, read judgments, agreement reports and "
        "leaderboards, export and import labeled sets."
    ),
    auth=TokenAuth(),  # names no scope, so refuses every token: operations name theirs
    parser=StrictJsonParser(),
    urls_namespace="api-v1",
    docs_url="/docs",
)


def error_response(
    request: HttpRequest, status: int, code: str, message: str, details: Any = None
) -> HttpResponse:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    return api.create_response(request, body, status=status)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(
        request, 401, "unauthenticated", "A valid workspace API token is required."
    )


def _first_problem(errors: list[dict[str, Any]]) -> str:
    """The first validation error as ``items[0].output: <what is wrong>``."""
    if not errors:
        return ""
    loc = list(errors[0].get("loc", ()))
    loc = loc[2:] if loc[:1] == ["body"] else loc[1:]  # drop "body" and the body's name
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    more = f" (and {len(errors) - 1} more in details)" if len(errors) > 1 else ""
    return f": {where + ': ' if where else ''}{errors[0].get('msg', '')}{more}"


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    message = "The request is not valid" + _first_problem(exc.errors)
    return error_response(request, 422, "invalid", message.rstrip(".") + ".", exc.errors)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, "not_found", "No such object in this workspace.")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = {400: "bad_request", 405: "method_not_allowed"}.get(exc.status_code, "error")
    return error_response(request, exc.status_code, code, str(exc))


@api.exception_handler(BadCursor)
def _bad_cursor(request: HttpRequest, exc: BadCursor) -> HttpResponse:
    return error_response(request, 400, "bad_cursor", "The pagination cursor is not valid.")


@api.exception_handler(RateLimited)
def _rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    response = error_response(request, 429, "rate_limited", str(exc))
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(request, exc.status, exc.code, exc.message, exc.details)


class WhoamiOut(Schema):
    workspace: str
    token: str
    scopes: list[str]
    expires_at: datetime | None


@api.get(
    "/whoami",
    auth=needs(TokenScope.READ),
    response=responses({200: WhoamiOut}),
    tags=["auth"],
    summary="The workspace this token belongs to, its scopes and expiry",
)
def whoami(request: HttpRequest) -> WhoamiOut:
    token: ApiToken = request.api_token  # type: ignore[attr-defined]
    return WhoamiOut(
        workspace=token.workspace.slug,
        token=token.name,
        scopes=token.scope_list,
        expires_at=token.expires_at,
    )


api.add_router("/logs", ingest_router)
api.add_router("/", annotate_router)
api.add_router("/", exports_router)
api.add_router("/", results_router)
