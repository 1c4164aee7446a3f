"""API tokens in the browser: admins and engineers create, list and revoke their
workspace's tokens. A new token is shown once, on the page that created it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from annotate import access, tokens
from annotate.models import ApiToken, TokenScope

TEMPLATE = "annotate/api_tokens.html"
# How long a new token lasts: days, or "never".
EXPIRY_CHOICES = [("30", "30 days"), ("90", "90 days"), ("365", "1 year"), ("never", "Never")]
DEFAULT_EXPIRY = "90"


def _expiry_days(choice: str) -> int | None:
    return None if choice == "never" else int(choice)


@require_http_methods(["GET", "POST"])
@login_required
def api_tokens(request: HttpRequest, slug: str) -> HttpResponse:
    membership = access.get_membership(request.user, slug, tokens.TOKEN_MAKERS)
    workspace = membership.workspace
    chosen = {"name": "", "scopes": [], "expires": DEFAULT_EXPIRY}
    context = {"membership": membership, "workspace": workspace, "errors": {}}
    status = 200
    if request.method == "POST":
        expires = request.POST.get("expires", "")
        chosen = {
            "name": request.POST.get("name", "").strip(),
            "scopes": request.POST.getlist("scopes"),
            "expires": expires,
        }
        if expires not in dict(EXPIRY_CHOICES):
            context["errors"] = {"expires_days": "Choose how long the token lasts."}
            status = 422
        else:
            try:
                token, plain = tokens.create_token(
                    workspace,
                    chosen["name"],
                    request.user,
                    scopes=chosen["scopes"],
                    expires_days=_expiry_days(expires),
                )
            except tokens.TokenError as exc:
                context["errors"] = exc.errors
                status = 422
            else:
                context.update(created=token, plain=plain)
                chosen = {"name": "", "scopes": [], "expires": DEFAULT_EXPIRY}
                status = 201
    listed = tokens.with_maker_role(
        ApiToken.objects.filter(workspace=workspace).select_related("created_by")
    ).order_by("revoked_at", "-created_at")
    context.update(
        chosen=chosen,
        scope_choices=TokenScope.choices,
        expiry_choices=EXPIRY_CHOICES,
        tokens=[(t, tokens.token_status(t)) for t in listed],
    )
    response = render(request, TEMPLATE, context, status=status)
    response["Cache-Control"] = "no-store"  # the new token is on this page once
    return response


@require_POST
@login_required
def api_token_revoke(request: HttpRequest, slug: str, token_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, tokens.TOKEN_MAKERS)
    token = ApiToken.objects.filter(workspace=membership.workspace, pk=token_id).first()
    if token is None:
        raise Http404
    tokens.revoke_token(token, actor=request.user)
    messages.success(request, f"Revoked {token.name} ({token.prefix}): it no longer works.")
    return redirect("api-tokens", slug=slug)
