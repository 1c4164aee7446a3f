"""The admins' People page (members, roles, expertise, cohorts, invitations) and accepting
an invitation link."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotate import access, audit, invites, people
from annotate.models import Cohort, Invitation, Membership, Role

PEOPLE_TEMPLATE = "annotate/people.html"


def _cohorts(membership: Membership, ids: list[str]) -> list[Cohort]:
    wanted = [int(i) for i in ids if i.isdigit()]
    return list(Cohort.objects.filter(workspace_id=membership.workspace_id, pk__in=wanted))


def _described(member: Membership) -> dict:
    """A member's role, expertise and cohort names, to say what an edit changed."""
    cohorts = Cohort.objects.filter(workspace_id=member.workspace_id, members=member.user_id)
    named = dict(cohorts.values_list("pk", "name"))
    return {
        "role": member.role,
        "expertise": member.expertise,
        "cohorts": set(named.values()),
        "cohort_ids": set(named),
    }


def _changes(before: dict, after: dict) -> str:
    parts = []
    if before["role"] != after["role"]:
        parts.append(f"role {before['role']} → {after['role']}")
    added = sorted(after["cohorts"] - before["cohorts"])
    removed = sorted(before["cohorts"] - after["cohorts"])
    if added:
        parts.append("added to " + ", ".join(added))
    if removed:
        parts.append("removed from " + ", ".join(removed))
    if before["expertise"] != after["expertise"]:  # last: it may be long
        parts.append(f"expertise “{before['expertise']}” → “{after['expertise']}”")
    return "; ".join(parts) or "saved without changes"


def _member(admin: Membership, member_id: int) -> Membership:
    member = (
        Membership.objects.select_related("user")
        .filter(workspace_id=admin.workspace_id, pk=member_id)
        .first()
    )
    if member is None:
        raise Http404
    return member


def _context(admin: Membership, **extra) -> dict:
    workspace = admin.workspace
    cohorts = list(Cohort.objects.filter(workspace=workspace).order_by("name"))
    by_user = people.cohort_ids_by_user(workspace)
    members = list(
        Membership.objects.filter(workspace=workspace)
        .select_related("user")
        .order_by("user__username")
    )
    for m in members:
        m.cohort_ids = by_user.get(m.user_id, set())
    invitations = list(
        Invitation.objects.filter(workspace=workspace)
        .prefetch_related("cohorts")
        .order_by("-created_at")[:50]
    )
    return {
        "membership": admin,
        "workspace": workspace,
        "members": members,
        "cohorts": cohorts,
        "roles": Role.choices,
        "invitations": invitations,
        "member_errors": {},
        "cohort_errors": {},
        "cohort_values": {},
        "email_configured": invites.email_configured(),
        **extra,
    }


@require_GET
@login_required
def people_page(request: HttpRequest, slug: str) -> HttpResponse:
    admin = access.get_membership(request.user, slug, access.ADMINS)
    return render(request, PEOPLE_TEMPLATE, _context(admin))


@require_POST
@login_required
def member_update(request: HttpRequest, slug: str, member_id: int) -> HttpResponse:
    admin = access.get_membership(request.user, slug, access.ADMINS)
    member = _member(admin, member_id)
    cohorts = _cohorts(admin, request.POST.getlist("cohorts"))
    status, errors = 200, {}
    before = _described(member)
    try:
        people.update_member(
            member,
            role=request.POST.get("role", member.role),
            expertise=request.POST.get("expertise", ""),
            cohorts=cohorts,
        )
    except ValidationError as exc:
        status, errors = 422, exc.message_dict
        member.refresh_from_db()
    else:
        after = _described(member)
        audit.record(
            admin.workspace, request.user, "member.update", member,
            f"{member.user.username}: {_changes(before, after)}",
            role=member.role, previous_role=before["role"], cohorts=[c.pk for c in cohorts],
            previous_cohorts=sorted(before["cohort_ids"]),
            expertise=after["expertise"], previous_expertise=before["expertise"],
        )  # fmt: skip
    if not request.htmx:
        if errors:
            messages.error(request, " ".join(" ".join(v) for v in errors.values()))
        return redirect("people", slug=slug)
    context = _context(admin)
    m = next(x for x in context["members"] if x.pk == member.pk)
    context.update({"m": m, "member_errors": errors, "member_saved": not errors})
    return render(request, PEOPLE_TEMPLATE + "#member", context, status=status)


@require_POST
@login_required
def member_remove(request: HttpRequest, slug: str, member_id: int) -> HttpResponse:
    admin = access.get_membership(request.user, slug, access.ADMINS)
    member = _member(admin, member_id)
    try:
        people.remove_member(member)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        audit.record(admin.workspace, request.user, "member.remove", None, member.user.username)
        messages.success(request, f"Removed {member.user.username}. Their judgments are kept.")
    return redirect("people", slug=slug)


@require_POST
@login_required
def cohort_create(request: HttpRequest, slug: str) -> HttpResponse:
    admin = access.get_membership(request.user, slug, access.ADMINS)
    values = {name: request.POST.get(name, "") for name in ("name", "description")}
    try:
        cohort = people.create_cohort(admin.workspace, values["name"], values["description"])
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"name": exc.messages}
        context = _context(admin, cohort_errors=errors, cohort_values=values)
        return render(request, PEOPLE_TEMPLATE, context, status=422)
    audit.record(admin.workspace, request.user, "cohort.create", cohort, cohort.name)
    messages.success(request, f"Created the cohort {cohort.name}.")
    return redirect("people", slug=slug)


@require_POST
@login_required
def invitation_create(request: HttpRequest, slug: str) -> HttpResponse:
    admin = access.get_membership(request.user, slug, access.ADMINS)
    days = request.POST.get("days", "")
    try:
        invitation, token = invites.create_invitation(
            admin.workspace,
            created_by=request.user,
            role=request.POST.get("role", Role.REVIEWER),
            cohorts=_cohorts(admin, request.POST.getlist("cohorts")),
            email=request.POST.get("email", ""),
            expertise=request.POST.get("expertise", ""),
            days=int(days) if days.isdigit() else invites.DEFAULT_DAYS,
        )
    except ValidationError as exc:
        context = _context(admin, invite_errors=" ".join(exc.messages))
        return render(request, PEOPLE_TEMPLATE, context, status=422)
    link = request.build_absolute_uri(reverse("invite-accept", args=[token]))
    emailed = invites.send_invitation_email(invitation, link)
    audit.record(
        admin.workspace, request.user, "invitation.create", invitation,
        f"Invited {invitation.email or 'by link'} as {invitation.role}",
    )  # fmt: skip
    context = _context(admin, new_link=link, new_invitation=invitation, emailed=emailed)
    return render(request, PEOPLE_TEMPLATE, context)


@require_POST
@login_required
def invitation_revoke(request: HttpRequest, slug: str, invitation_id: int) -> HttpResponse:
    admin = access.get_membership(request.user, slug, access.ADMINS)
    invitation = Invitation.objects.filter(workspace=admin.workspace, pk=invitation_id).first()
    if invitation is None:
        raise Http404
    if invites.revoke_invitation(invitation):
        audit.record(admin.workspace, request.user, "invitation.revoke", invitation)
        messages.success(request, "The invitation link no longer works.")
    return redirect("people", slug=slug)


@require_http_methods(["GET", "POST"])
def invite_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = invites.find_invitation(token)
    if invitation is None:
        return render(request, "annotate/invite_accept.html", {"invalid": True}, status=404)
    context = {"invitation": invitation, "errors": {}, "values": {}}
    if request.method == "GET":
        return render(request, "annotate/invite_accept.html", context)
    user = request.user if request.user.is_authenticated else None
    values = {
        "username": request.POST.get("username", "").strip(),
        "full_name": request.POST.get("full_name", "").strip(),
        "expertise": request.POST.get("expertise", "").strip(),
    }
    password = request.POST.get("password", "")
    if user is None and password != request.POST.get("password2", ""):
        context.update(errors={"password2": ["The two passwords differ."]}, values=values)
        return render(request, "annotate/invite_accept.html", context, status=422)
    try:
        membership = invites.accept_invitation(invitation, user=user, password=password, **values)
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"general": exc.messages}
        context.update(errors=errors, values=values)
        return render(request, "annotate/invite_accept.html", context, status=422)
    audit.record(
        membership.workspace, membership.user, "invitation.accept", invitation,
        f"{membership.user.username} joined as {membership.role}",
    )  # fmt: skip
    if user is None:
        login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, f"Welcome to {membership.workspace.name}.")
    return redirect("workspace", slug=membership.workspace.slug)
