"""API tokens in the browser: admins and engineers create, list and revoke their
workspace's tokens. A new token is shown once, on the page that created it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from annotate import access
from annotate.models import Role

from . import tokens
from .models import ApiToken

TOKEN_KEEPERS = (Role.ADMIN, Role.ENGINEER)
TEMPLATE = "evals/api_tokens.html"


@require_http_methods(["GET", "POST"])
@login_required
def api_tokens(request: HttpRequest, slug: str) -> HttpResponse:
    membership = access.get_membership(request.user, slug, TOKEN_KEEPERS)
    workspace = membership.workspace
    context = {"membership": membership, "workspace": workspace, "error": "", "name": ""}
    status = 200
    if request.method == "POST":
        name = request.POST.get("name", "")
        try:
            token, plain = tokens.create_token(workspace, name, user=request.user)
        except tokens.TokenNameError as exc:
            context.update(error=str(exc), name=name.strip())
            status = 422
        else:
            context.update(created=token, plain=plain)
            status = 201
    context["tokens"] = (
        ApiToken.objects.filter(workspace=workspace)
        .select_related("created_by")
        .order_by("revoked_at", "-created_at")
    )
    response = render(request, TEMPLATE, context, status=status)
    response["Cache-Control"] = "no-store"  # the new token is on this page once
    return response


@require_POST
@login_required
def api_token_revoke(request: HttpRequest, slug: str, token_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, TOKEN_KEEPERS)
    token = ApiToken.objects.filter(workspace=membership.workspace, pk=token_id).first()
    if token is None:
        raise Http404
    tokens.revoke_token(token, actor=request.user)
    messages.success(request, f"Revoked {token.name} ({token.prefix}): it no longer works.")
    return redirect("api-tokens", slug=slug)
