"""The audit log page, for workspace admins."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from annotate import access
from annotate.models import AuditEvent

PAGE_SIZE = 100


@require_GET
@login_required
def audit_log(request: HttpRequest, slug: str) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.ADMINS)
    events = (
        AuditEvent.objects.filter(workspace=membership.workspace)
        .select_related("actor", "api_token")
        .order_by("-created_at", "-id")
    )
    action = request.GET.get("action", "").strip()
    if action:
        events = events.filter(action__startswith=action)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "annotate/audit.html",
        {
            "workspace": membership.workspace,
            "membership": membership,
            "page": page,
            "action": action,
        },
    )
