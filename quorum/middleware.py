"""Middleware of Quorum's own."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import resolve_url


class HtmxLoginRedirectMiddleware:
    """When a session expires, an htmx request must not swap the login page into a fragment.

    A redirect to the login page becomes a 401 with ``HX-Redirect`` to the login page, which
    comes back to the page the person was on (not the fragment URL). The grading page keeps
    the answer being written and sends it again after the new login (static/js/grade.js).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not getattr(request, "htmx", False) or response.status_code != 302:
            return response
        login = resolve_url(settings.LOGIN_URL)
        if not response.get("Location", "").startswith(login):
            return response
        page = request.headers.get("HX-Current-URL", "") or "/"
        parts = urlsplit(page)
        back = parts.path + (f"?{parts.query}" if parts.query else "")
        redirected = HttpResponse(status=401)
        redirected["HX-Redirect"] = f"{login}?{urlencode({'next': back})}"
        return redirected


class ApiErrorFormatMiddleware:
    """The API's one error format for what never reaches it: an unknown path under
    ``/api/v1/`` (Django's 404) or a method a path does not take (405)."""

    MESSAGES = {404: ("not_found", "No such API path."), 405: ("method_not_allowed", "")}

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code not in self.MESSAGES
            or not request.path.startswith("/api/v1/")
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        code, message = self.MESSAGES[response.status_code]
        if response.status_code == 405:
            message = f"{request.method} is not allowed here; use {response.get('Allow', '')}."
        answer = JsonResponse(
            {"error": {"code": code, "message": message}}, status=response.status_code
        )
        if response.has_header("Allow"):
            answer["Allow"] = response["Allow"]
        return answer
