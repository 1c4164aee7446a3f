"""The HTTP API under /api/v1/: one NinjaAPI, token auth, one error format.

Each app adds its endpoints as a Router in its own module (``evals/api_*.py``,
``annotate/api.py``) and registers it in ``ROUTERS`` below. Every request is
authenticated with a workspace token and sees only that workspace's objects:
another workspace's object answers 404, like a missing one.

Errors always look like ``{"error": {"code": "...", "message": "...", "details": ...}}``.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from evals.api_common import ApiError, BadCursor, RateLimited, check_rate
from evals.models import ApiToken
from evals.tokens import verify_token


class TokenAuth(HttpBearer):
    openapi_description = "A workspace API token: `Authorization: Bearer qrm_...`"

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = verify_token(token)
        if found is not None:
            request.api_token = found  # type: ignore[attr-defined]
            request.workspace = found.workspace  # type: ignore[attr-defined]
            check_rate(found.pk)
        return found


api = NinjaAPI(
    title="Quorum API",
    version="1",
    description=(
        "Push production logs, manage queues, read judgments, agreement reports and "
        "leaderboards, export and import labeled sets."
    ),
    auth=TokenAuth(),
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
        request, 401, "unauthenticated", "A valid, unrevoked workspace API token is required."
    )


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return error_response(request, 422, "invalid", "The request is not valid.", exc.errors)


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


@api.get("/whoami", tags=["auth"], summary="The workspace this token belongs to")
def whoami(request: HttpRequest) -> dict[str, str]:
    token: ApiToken = request.api_token  # type: ignore[attr-defined]
    return {"workspace": token.workspace.slug, "token": token.name}


# Routers: each feature registers its own, e.g. api.add_router("/logs", evals.api_logs.router)

from annotate.api import router as annotate_router  # noqa: E402
from evals import api_ingest  # noqa: E402
from evals.api_exports import router as exports_router  # noqa: E402
from evals.api_results import router as results_router  # noqa: E402

api.add_router("/logs", api_ingest.router)
api.add_router("/", annotate_router)
api.add_router("/", exports_router)
api.add_router("/", results_router)
