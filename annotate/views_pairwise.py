"""Pairwise pages: the reviewer's side-by-side grading loop and the authors' pair entry.

The grading page never carries model identity: not the names, not the versions, not
which output is A. Pairs are addressed by an opaque ticket, so a swap check looks the
same as a new pair.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from annotate import access
from annotate.diffing import word_diff
from annotate.judging import UNKNOWN, Outcome
from annotate.models import Criterion, Judgment, Membership, Queue, SwapCheck
from annotate.pairs import create_pair_items, import_pairs_file
from annotate.pairwise import (
    PairTask,
    claim_pair,
    find_task,
    preference_criteria,
    skip_pair,
    submit_pair,
    to_screen,
)

TEMPLATE = "annotate/grade_pairwise.html"
PAIRS_TEMPLATE = "annotate/pairs.html"


def _criteria(queue: Queue) -> list[Criterion]:
    return list(queue.rubric_version.criteria.all())


def _screen_values(task: PairTask | None, answers: dict | None, raw: dict | None) -> dict:
    """What to pre-fill: the raw screen values after an error, nothing otherwise."""
    if raw is not None:
        return raw
    if task is None or not answers:
        return {}
    return {
        "choice": to_screen(answers.get("preference", ""), task.a_on_left),
        "strength": str(answers.get("strength") or ""),
        "rationale": answers.get("rationale", ""),
        "criteria": {
            k: to_screen(v, task.a_on_left) for k, v in answers.get("criteria", {}).items()
        },
    }


def _context(
    request: HttpRequest,
    membership: Membership,
    queue: Queue,
    task: PairTask | None,
    *,
    raw: dict | None = None,
    errors: dict | None = None,
    message: str = "",
) -> dict:
    errors = errors or {}
    values = _screen_values(task, None, raw)
    criteria = preference_criteria(_criteria(queue))
    rows = [
        {
            "criterion": c,
            "value": (values.get("criteria") or {}).get(c.key, ""),
            "error": errors.get(f"pc-{c.key}", ""),
        }
        for c in criteria
    ]
    diff = word_diff(task.left, task.right) if task else None
    return {
        "membership": membership,
        "workspace": membership.workspace,
        "queue": queue,
        "task": task,
        "item": task.item if task else None,
        "left": task.left if task else "",
        "right": task.right if task else "",
        "diff_left": diff[0] if diff else None,
        "diff_right": diff[1] if diff else None,
        "criteria_rows": rows,
        "values": values,
        "errors": errors,
        "unknown_error": errors.get(UNKNOWN, ""),
        "message": message,
        # Repeats count as compared pairs too, so the counter never gives a swap check away.
        "mine": Judgment.objects.filter(queue=queue, reviewer=request.user).count()
        + SwapCheck.objects.filter(
            queue=queue, reviewer=request.user, state=SwapCheck.State.SUBMITTED
        ).count(),
    }


def _render(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    template = TEMPLATE + "#item" if request.htmx else TEMPLATE
    return render(request, template, context, status=status)


def grade_pairwise(request: HttpRequest, membership: Membership, queue: Queue) -> HttpResponse:
    """The grading page of a pairwise queue (``annotate.views.grade`` dispatches here)."""
    task = claim_pair(queue, request.user)
    return _render(request, _context(request, membership, queue, task))


def _raw_from_post(request: HttpRequest) -> dict:
    prefix = "pc-"
    return {
        "choice": request.POST.get("choice", ""),
        "strength": request.POST.get("strength", ""),
        "rationale": request.POST.get("rationale", ""),
        "criteria": {
            key[len(prefix) :]: value
            for key, value in request.POST.items()
            if key.startswith(prefix)
        },
    }


def _pairwise_queue(request: HttpRequest, slug: str, queue_id: int) -> tuple[Membership, Queue]:
    membership = access.get_membership(request.user, slug)
    queue = access.get_queue_for_grading(membership, queue_id)
    if queue.kind != Queue.Kind.PAIRWISE:
        raise Http404
    return membership, queue


def _task(request: HttpRequest, queue: Queue, ticket: str) -> PairTask:
    task = find_task(queue, request.user, ticket)
    if task is None:
        raise Http404
    return task


@require_POST
@login_required
def submit(request: HttpRequest, slug: str, queue_id: int, ticket: str) -> HttpResponse:
    membership, queue = _pairwise_queue(request, slug, queue_id)
    task = _task(request, queue, ticket)
    raw = _raw_from_post(request)
    result = submit_pair(queue, task, _criteria(queue), raw)
    if result.outcome == Outcome.INVALID:
        context = _context(request, membership, queue, task, raw=raw, errors=result.errors)
        return _render(request, context, status=422)
    if not request.htmx:
        return redirect(reverse("grade", args=[slug, queue.pk]))
    message = "" if result.outcome == Outcome.SAVED else result.message
    following = claim_pair(queue, request.user)
    return _render(request, _context(request, membership, queue, following, message=message))


@require_POST
@login_required
def skip(request: HttpRequest, slug: str, queue_id: int, ticket: str) -> HttpResponse:
    membership, queue = _pairwise_queue(request, slug, queue_id)
    task = _task(request, queue, ticket)
    skip_pair(task, reason=request.POST.get("reason", "").strip())
    if not request.htmx:
        return redirect(reverse("grade", args=[slug, queue.pk]))
    following = claim_pair(queue, request.user)
    return _render(request, _context(request, membership, queue, following, message="Skipped."))


# --- Authors: adding pairs ------------------------------------------------------------------

PAIR_FORM_FIELDS = ("input", "output_a", "output_b", "model_a", "version_a", "model_b", "version_b")


@require_http_methods(["GET", "POST"])
@login_required
def pairs(request: HttpRequest, slug: str, queue_id: int) -> HttpResponse:
    """Add pairs to a pairwise queue: one by hand, or a JSONL/CSV file of them."""
    membership = access.get_membership(request.user, slug, access.AUTHORS)
    queue = access.get_queue(membership, queue_id)
    if queue.kind != Queue.Kind.PAIRWISE:
        raise Http404
    form = {key: "" for key in PAIR_FORM_FIELDS}
    errors: list[tuple[int, str]] = []
    created = 0
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is not None:
            result = import_pairs_file(queue, upload.name, upload.read())
        else:
            form = {key: request.POST.get(key, "") for key in PAIR_FORM_FIELDS}
            result = create_pair_items(queue, [form])
            if result.ok:
                form = {key: "" for key in PAIR_FORM_FIELDS}
        created, errors = len(result.created), result.errors
        if created and not errors:
            messages.success(request, f"Added {created} pair{'s' if created != 1 else ''}.")
            return redirect(reverse("pairs", args=[slug, queue.pk]))
        status = 422 if errors and not created else 200
        queue.refresh_from_db()
    context = {
        "membership": membership,
        "workspace": membership.workspace,
        "queue": queue,
        "form": form,
        "errors": errors,
        "created": created,
    }
    return render(request, PAIRS_TEMPLATE, context, status=status)
