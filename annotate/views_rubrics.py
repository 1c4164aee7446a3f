"""Rubric pages: the list, the htmx editor of a draft, preview, publish, diff, clone, archive.

Admins and authors edit; engineers read; reviewers get 403 and non-members 404.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotate import access, audit, rubrics
from annotate.models import Criterion, CriterionKind, Membership, Rubric, RubricVersion
from annotate.rubric_templates import TEMPLATES, create_from_template
from annotate.setup_forms import apply_row_action, criterion_spec_from_post

EDIT_TEMPLATE = "annotate/rubric_edit.html"
CHANGED = "rubric-changed"


def _rubric(membership: Membership, rubric_id: int) -> Rubric:
    rubric = Rubric.objects.filter(workspace_id=membership.workspace_id, pk=rubric_id).first()
    if rubric is None:
        raise Http404
    return rubric


def _version(membership: Membership, rubric_id: int, number: int) -> RubricVersion:
    version = (
        RubricVersion.objects.select_related("rubric")
        .filter(rubric__workspace_id=membership.workspace_id, rubric_id=rubric_id, number=number)
        .first()
    )
    if version is None:
        raise Http404
    return version


def _draft(membership: Membership, rubric_id: int, number: int) -> RubricVersion:
    version = _version(membership, rubric_id, number)
    if version.is_published:
        raise Http404("Published versions cannot change.")
    return version


def _criterion(version: RubricVersion, criterion_id: int) -> Criterion:
    criterion = Criterion.objects.filter(rubric_version=version, pk=criterion_id).first()
    if criterion is None:
        raise Http404
    return criterion


def _version_url(version: RubricVersion) -> str:
    rubric = version.rubric
    return reverse("rubric-version", args=[rubric.workspace.slug, rubric.pk, version.number])


def _changed(response: HttpResponse) -> HttpResponse:
    response["HX-Trigger"] = CHANGED
    return response


# --- List, create ----------------------------------------------------------------------------


LIST_TEMPLATE = "annotate/rubric_list.html"


@require_GET
@login_required
def rubric_list(request: HttpRequest, slug: str) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    return render(request, LIST_TEMPLATE, _list_context(membership))


def _list_context(membership: Membership, **extra) -> dict:
    all_rubrics = list(
        Rubric.objects.filter(workspace=membership.workspace)
        .prefetch_related("versions")
        .order_by("name", "pk")
    )
    for rubric in all_rubrics:
        rubric.version_list = sorted(rubric.versions.all(), key=lambda v: v.number)
        rubric.latest = rubric.version_list[-1] if rubric.version_list else None
    return {
        "membership": membership,
        "workspace": membership.workspace,
        "active": [r for r in all_rubrics if r.archived_at is None],
        "archived": [r for r in all_rubrics if r.archived_at is not None],
        "templates": TEMPLATES,
        "create_errors": {},
        "create_values": {},
        **extra,
    }


@require_POST
@login_required
def rubric_create(request: HttpRequest, slug: str) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.AUTHORS)
    name = request.POST.get("name", "")
    template = request.POST.get("template", "")
    try:
        if template:
            if template not in TEMPLATES:
                raise Http404
            version = create_from_template(membership.workspace, template, name)
        else:
            version = rubrics.create_rubric(membership.workspace, name, [])
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"name": exc.messages}
        values = {"name": name, "template": template}
        context = _list_context(membership, create_errors=errors, create_values=values)
        return render(request, LIST_TEMPLATE, context, status=422)
    audit.record(
        membership.workspace, request.user, "rubric.create", version.rubric,
        f"Created the rubric {version.rubric.name}", template=template,
    )  # fmt: skip
    return redirect(_version_url(version))


@require_GET
@login_required
def rubric_detail(request: HttpRequest, slug: str, rubric_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    rubric = _rubric(membership, rubric_id)
    version = rubrics.latest_version(rubric)
    if version is None:
        raise Http404
    return redirect(_version_url(version))


# --- The version page (editor for drafts, read-only for published) ---------------------------


def _page_context(
    membership: Membership,
    version: RubricVersion,
    *,
    problems: dict[int, dict[str, str]] | None = None,
) -> dict:
    criteria = list(version.criteria.all())
    rubric = version.rubric
    return {
        "membership": membership,
        "workspace": membership.workspace,
        "rubric": rubric,
        "version": version,
        "versions": list(rubric.versions.order_by("number")),
        "criteria": criteria,
        "editable": membership.can_author and not version.is_published,
        "problems": problems or {},
        "kinds": CriterionKind.choices,
        "has_draft": rubric.versions.filter(status=RubricVersion.Status.DRAFT).exists(),
        "values": {},
        "errors": {},
        "numeric_fields": ("min", "max", "step"),
    }


@require_GET
@login_required
def rubric_version(request: HttpRequest, slug: str, rubric_id: int, number: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    version = _version(membership, rubric_id, number)
    problems = None
    if request.GET.get("check") and not version.is_published:
        problems = rubrics.validate_version(version)  # after a refused publish
    return render(request, EDIT_TEMPLATE, _page_context(membership, version, problems=problems))


@require_GET
@login_required
def rubric_preview(request: HttpRequest, slug: str, rubric_id: int, number: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    version = _version(membership, rubric_id, number)
    template = EDIT_TEMPLATE + "#preview" if request.htmx else EDIT_TEMPLATE
    return render(request, template, _page_context(membership, version))


@require_POST
@login_required
def rubric_details(request: HttpRequest, slug: str, rubric_id: int, number: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.AUTHORS)
    version = _version(membership, rubric_id, number)
    context = _page_context(membership, version)
    try:
        rubrics.update_details(
            version,
            name=request.POST.get("name", ""),
            description=request.POST.get("description", ""),
            instructions=request.POST.get("instructions", version.instructions),
        )
    except ValidationError as exc:
        context["details_errors"] = exc.message_dict
        context["rubric"].name = request.POST.get("name", "")  # the author's text stays
        context["rubric"].description = request.POST.get("description", "")
        context["version"].instructions = request.POST.get("instructions", "")
        return render(request, EDIT_TEMPLATE + "#details", context, status=422)
    context = _page_context(membership, version)
    context["details_saved"] = True
    if not request.htmx:
        return redirect(_version_url(version))
    return _changed(render(request, EDIT_TEMPLATE + "#details", context))


@require_POST
@login_required
def rubric_publish(request: HttpRequest, slug: str, rubric_id: int, number: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.AUTHORS)
    version = _draft(membership, rubric_id, number)
    try:
        rubrics.publish(version, actor=request.user)
    except ValidationError as exc:
        # Back to the version page (a reload must not publish again), with each
        # criterion's problems shown where it is edited.
        messages.error(request, f"Not published: {' '.join(exc.messages)}")
        return redirect(_version_url(version) + "?check=1")
    messages.success(request, f"Published {version}. Reviewers in new queues will see it.")
    return redirect(_version_url(version))


@require_POST
@login_required
def rubric_discard(request: HttpRequest, slug: str, rubric_id: int, number: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.AUTHORS)
    version = _draft(membership, rubric_id, number)
    try:
        rubric = rubrics.discard_draft(version)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_version_url(version))
    messages.success(request, f"Discarded the draft v{number}.")
    return redirect("rubric-detail", slug=slug, rubric_id=rubric.pk)


@require_POST
@login_required
def rubric_new_draft(request: HttpRequest, slug: str, rubric_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.AUTHORS)
    rubric = _rubric(membership, rubric_id)
    version = rubrics.new_draft_version(rubric)
    audit.record(membership.workspace, request.user, "rubric.draft", version, f"Opened {version}")
    return redirect(_version_url(version))


@require_POST
@login_required
def rubric_clone(request: HttpRequest, slug: str, rubric_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.AUTHORS)
    rubric = _rubric(membership, rubric_id)
    try:
        version = rubrics.clone_rubric(rubric, request.POST.get("name", ""))
    except ValidationError as exc:
        messages.error(request, "Not cloned: " + " ".join(exc.messages))
        return redirect("rubric-detail", slug=slug, rubric_id=rubric.pk)
    audit.record(
        membership.workspace, request.user, "rubric.clone", version.rubric,
        f"Cloned {rubric.name} into {version.rubric.name}",
    )  # fmt: skip
    messages.success(request, f"Cloned into {version.rubric.name}.")
    return redirect(_version_url(version))


@require_POST
@login_required
def rubric_archive(request: HttpRequest, slug: str, rubric_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.AUTHORS)
    rubric = _rubric(membership, rubric_id)
    if request.POST.get("action") == "unarchive":
        rubrics.unarchive(rubric)
        audit.record(membership.workspace, request.user, "rubric.unarchive", rubric, rubric.name)
        messages.success(request, f"{rubric.name} is back in use.")
    else:
        rubrics.archive(rubric)
        audit.record(membership.workspace, request.user, "rubric.archive", rubric, rubric.name)
        messages.success(request, f"Archived {rubric.name}. Its judgments are kept.")
    return redirect("rubric-list", slug=slug)


@require_POST
@login_required
def rubric_delete(request: HttpRequest, slug: str, rubric_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.AUTHORS)
    rubric = _rubric(membership, rubric_id)
    try:
        rubrics.delete_rubric(rubric)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        audit.record(membership.workspace, request.user, "rubric.delete", None, rubric.name)
        messages.success(request, f"Deleted {rubric.name}.")
    return redirect("rubric-list", slug=slug)


def _pick(by_number: dict[int, RubricVersion], raw: str, default: RubricVersion | None):
    if not raw:
        return default
    if not raw.isdigit() or int(raw) not in by_number:
        raise Http404
    return by_number[int(raw)]


@require_GET
@login_required
def rubric_diff(request: HttpRequest, slug: str, rubric_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    rubric = _rubric(membership, rubric_id)
    versions = list(rubric.versions.order_by("number"))
    if len(versions) < 2:
        old = new = versions[0] if versions else None
    else:
        old, new = versions[-2], versions[-1]
    by_number = {v.number: v for v in versions}
    old = _pick(by_number, request.GET.get("from", ""), old)
    new = _pick(by_number, request.GET.get("to", ""), new)
    changes = rubrics.diff_versions(old, new) if old and new else []
    return render(
        request,
        "annotate/rubric_diff.html",
        {
            "membership": membership,
            "workspace": membership.workspace,
            "rubric": rubric,
            "versions": versions,
            "old": old,
            "new": new,
            "changes": changes,
        },
    )


# --- Criteria (htmx fragments) ------------------------------------------------------------------


def _criterion_response(
    request: HttpRequest,
    membership: Membership,
    version: RubricVersion,
    criterion: Criterion,
    *,
    errors: dict[str, str] | None = None,
    saved: bool = False,
    dirty: bool = False,
    status: int = 200,
) -> HttpResponse:
    context = _page_context(membership, version)
    context.update({"crit": criterion, "crit_errors": errors or {}, "saved": saved, "dirty": dirty})
    return render(request, EDIT_TEMPLATE + "#criterion", context, status=status)


def _criterion_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The opening every criterion view shares: POST only, signed in, then the lookups.

    In order: the user's membership in workspace ``slug`` with an author's role (404 for
    a non-member, 403 for another role), the draft version of that workspace's rubric
    (404 if missing or published) and, when the URL names one, the criterion of that
    version (404 if not in it). ``view`` is called as ``view(request, membership,
    version)``, or ``view(request, membership, version, criterion)``.
    """

    @require_POST
    @login_required
    @wraps(view)
    def wrapper(
        request: HttpRequest,
        slug: str,
        rubric_id: int,
        number: int,
        criterion_id: int | None = None,
    ) -> HttpResponse:
        membership = access.get_membership(request.user, slug, access.AUTHORS)
        version = _draft(membership, rubric_id, number)
        if criterion_id is None:
            return view(request, membership, version)
        return view(request, membership, version, _criterion(version, criterion_id))

    return wrapper


@_criterion_view
def criterion_add(
    request: HttpRequest, membership: Membership, version: RubricVersion
) -> HttpResponse:
    try:
        criterion = rubrics.add_criterion(version, request.POST.get("kind", CriterionKind.LIKERT))
    except ValidationError:
        return HttpResponse("Choose a type.", status=422)
    if not request.htmx:
        return redirect(_version_url(version))
    return _changed(_criterion_response(request, membership, version, criterion))


@_criterion_view
def criterion_save(
    request: HttpRequest, membership: Membership, version: RubricVersion, criterion: Criterion
) -> HttpResponse:
    spec = criterion_spec_from_post(request.POST, criterion.kind)
    action = request.POST.get("action") or request.GET.get("action") or "save"
    unsaved = Criterion(pk=criterion.pk, rubric_version=version, position=criterion.position)
    if action != "save":
        apply_row_action(spec, action)
        for name, value in spec.items():
            setattr(unsaved, name, value)
        return _criterion_response(request, membership, version, unsaved, dirty=True)
    errors = rubrics.update_criterion(criterion, spec)
    if errors:
        for name, value in spec.items():
            setattr(unsaved, name, value)
        return _criterion_response(
            request, membership, version, unsaved, errors=errors, dirty=True, status=422
        )
    if not request.htmx:
        return redirect(_version_url(version))
    return _changed(_criterion_response(request, membership, version, criterion, saved=True))


@_criterion_view
def criterion_preview(
    request: HttpRequest, membership: Membership, version: RubricVersion, criterion: Criterion
) -> HttpResponse:
    """The preview with this criterion's unsaved edits, as the author types."""
    unsaved = Criterion(pk=criterion.pk, rubric_version=version, position=criterion.position)
    for name, value in criterion_spec_from_post(request.POST, criterion.kind).items():
        setattr(unsaved, name, value)
    context = _page_context(membership, version)
    context["criteria"] = [unsaved if c.pk == criterion.pk else c for c in context["criteria"]]
    return render(request, EDIT_TEMPLATE + "#preview", context)


@_criterion_view
def criterion_move(
    request: HttpRequest, membership: Membership, version: RubricVersion, criterion: Criterion
) -> HttpResponse:
    rubrics.move_criterion(criterion, -1 if request.POST.get("direction") == "up" else 1)
    if not request.htmx:
        return redirect(_version_url(version))
    return _changed(HttpResponse(status=204))


@_criterion_view
def criterion_duplicate(
    request: HttpRequest, membership: Membership, version: RubricVersion, criterion: Criterion
) -> HttpResponse:
    copy = rubrics.duplicate_criterion(criterion)
    if not request.htmx:
        return redirect(_version_url(version))
    return _changed(_criterion_response(request, membership, version, copy))


@_criterion_view
def criterion_delete(
    request: HttpRequest, membership: Membership, version: RubricVersion, criterion: Criterion
) -> HttpResponse:
    rubrics.remove_criterion(criterion)
    if not request.htmx:
        return redirect(_version_url(version))
    return _changed(HttpResponse(""))
