"""Queue setup pages: create, edit, pause/resume/close, progress, add items by hand."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotate import access, audit, queues
from annotate.models import Membership, Queue
from annotate.rendering import render_markdown
from annotate.setup_forms import QueueForm

FORM_TEMPLATE = "annotate/queue_form.html"
DETAIL_TEMPLATE = "annotate/queue_detail.html"


def _form_errors(form: QueueForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            target = "lease_minutes" if field == "lease_seconds" else field
            form.add_error(target if target in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _render_form(
    request: HttpRequest, membership: Membership, form: QueueForm, queue: Queue | None, status=200
) -> HttpResponse:
    locked = queue is not None and queues.has_work(queue)
    return render(
        request,
        FORM_TEMPLATE,
        {
            "membership": membership,
            "workspace": membership.workspace,
            "form": form,
            "queue": queue,
            "rubric_locked": locked,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@login_required
def queue_create(request: HttpRequest, slug: str) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.AUTHORS)
    workspace = membership.workspace
    if request.method == "GET":
        return _render_form(request, membership, QueueForm(workspace), None)
    form = QueueForm(workspace, request.POST)
    if form.is_valid():
        try:
            queue = queues.create_queue(
                workspace, cohorts=form.cleaned_data["cohorts"], **form.queue_fields()
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            audit.record(workspace, request.user, "queue.create", queue, queue.name)
            messages.success(request, f"Created the queue {queue.name}. Add items to start.")
            return redirect("queue-detail", slug=slug, queue_id=queue.pk)
    return _render_form(request, membership, form, None, status=422)


@require_http_methods(["GET", "POST"])
@login_required
def queue_edit(request: HttpRequest, slug: str, queue_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.AUTHORS)
    queue = access.get_queue(membership, queue_id)
    workspace = membership.workspace
    if request.method == "GET":
        form = QueueForm(workspace, initial=QueueForm.initial_for(queue))
        return _render_form(request, membership, form, queue)
    form = QueueForm(workspace, request.POST)
    # A queue's current version stays selectable even if its rubric was archived since.
    form.fields["rubric_version"].queryset = form.fields["rubric_version"].queryset | type(
        queue.rubric_version
    ).objects.filter(pk=queue.rubric_version_id)
    if form.is_valid():
        try:
            changed = queues.update_queue(
                queue, cohorts=form.cleaned_data["cohorts"], **form.queue_fields()
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            if changed:
                audit.record(
                    workspace, request.user, "queue.update", queue,
                    f"Changed {', '.join(changed)} of {queue.name}", fields=changed,
                )  # fmt: skip
                messages.success(request, "Saved. Changes apply to the next items reviewers get.")
            return redirect("queue-detail", slug=slug, queue_id=queue.pk)
    return _render_form(request, membership, form, queue, status=422)


def _detail_context(membership: Membership, queue: Queue, **extra) -> dict:
    return {
        "membership": membership,
        "workspace": membership.workspace,
        "queue": queue,
        "cohorts": list(queue.cohorts.order_by("name")),
        "progress": queues.progress(queue),
        "item_errors": {},
        "item_values": {},
        **extra,
    }


@require_GET
@login_required
def queue_detail(request: HttpRequest, slug: str, queue_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    queue = access.get_queue(membership, queue_id)
    return render(request, DETAIL_TEMPLATE, _detail_context(membership, queue))


@require_GET
@login_required
def queue_progress(request: HttpRequest, slug: str, queue_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    queue = access.get_queue(membership, queue_id)
    template = DETAIL_TEMPLATE + "#progress" if request.htmx else DETAIL_TEMPLATE
    return render(request, template, _detail_context(membership, queue))


@require_POST
@login_required
def queue_status(request: HttpRequest, slug: str, queue_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.AUTHORS)
    queue = access.get_queue(membership, queue_id)
    actions = {"pause": queues.pause, "resume": queues.resume, "close": queues.close}
    action = actions.get(request.POST.get("action", ""))
    if action is None:
        return HttpResponse("Unknown action.", status=400)
    try:
        action(queue)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        audit.record(
            membership.workspace, request.user, "queue.status", queue,
            f"{queue.name} is now {queue.status}", status=queue.status,
        )  # fmt: skip
        messages.success(request, f"The queue is now {queue.get_status_display().lower()}.")
    return redirect("queue-detail", slug=slug, queue_id=queue.pk)


@require_POST
@login_required
def queue_add_item(request: HttpRequest, slug: str, queue_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.AUTHORS)
    queue = access.get_queue(membership, queue_id)
    values = {
        name: request.POST.get(name, "")
        for name in ("input_text", "output", "model_name", "model_version")
    }
    try:
        queues.add_item_by_hand(queue, **values)
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"general": exc.messages}
        context = _detail_context(
            membership, queue, item_errors=errors, item_values=values, item_error=True
        )
        return render(request, DETAIL_TEMPLATE + "#add-item", context, status=422)
    queue.refresh_from_db()
    if not request.htmx:
        return redirect("queue-detail", slug=slug, queue_id=queue.pk)
    context = _detail_context(membership, queue, item_added=True)
    response = render(request, DETAIL_TEMPLATE + "#add-item", context)
    response["HX-Trigger"] = "queue-changed"
    return response


@require_POST
@login_required
def instructions_preview(request: HttpRequest, slug: str) -> HttpResponse:
    access.get_membership(request.user, slug, access.AUTHORS)
    html = render_markdown(request.POST.get("instructions", ""))
    body = html or '<p class="muted">Nothing to preview yet.</p>'
    return HttpResponse(f'<div id="instructions-preview" class="md preview-box">{body}</div>')
