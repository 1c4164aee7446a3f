"""The reviewer's pages: the workspace's queues and the grading loop."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotate import access, views_pairwise
from annotate.assignment import claim_next, release
from annotate.gold import after_gold_judgment
from annotate.judging import UNKNOWN, Outcome, submit_judgment
from annotate.models import Assignment, Criterion, Judgment, Membership, Queue
from annotate.views_quality import practice_page

GRADE_TEMPLATE = "annotate/grade.html"


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = list(
        Membership.objects.filter(user=request.user).select_related("workspace").order_by("id")
    )
    if len(memberships) == 1:
        return redirect("workspace", slug=memberships[0].workspace.slug)
    return render(request, "annotate/home.html", {"memberships": memberships})


@require_GET
@login_required
def workspace_home(request: HttpRequest, slug: str) -> HttpResponse:
    membership = access.get_membership(request.user, slug)
    grading = list(
        access.queues_for_reviewer(membership)
        .annotate(
            mine=Count("judgments", filter=Q(judgments__reviewer=request.user), distinct=True)
        )
        .order_by("name")
    )
    all_queues = []
    if membership.can_read_setup:
        all_queues = list(
            Queue.objects.filter(workspace=membership.workspace)
            .select_related("rubric_version__rubric")
            .order_by("name")
        )
    return render(
        request,
        "annotate/workspace.html",
        {
            "membership": membership,
            "workspace": membership.workspace,
            "grading": grading,
            "all_queues": all_queues,
        },
    )


def _criteria(queue: Queue) -> list[Criterion]:
    return list(queue.rubric_version.criteria.all())


def _grade_context(
    request: HttpRequest,
    membership: Membership,
    queue: Queue,
    assignment: Assignment | None,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    message: str = "",
    criteria: list[Criterion] | None = None,
) -> dict:
    mine = Judgment.objects.filter(queue=queue, reviewer=request.user).count()
    return {
        "membership": membership,
        "workspace": membership.workspace,
        "queue": queue,
        "criteria": criteria if criteria is not None else _criteria(queue),
        "assignment": assignment,
        "item": assignment.item if assignment else None,
        "values": values or {},
        "errors": errors or {},
        "unknown_error": (errors or {}).get(UNKNOWN, ""),
        "message": message,
        "mine": mine,
    }


def _render_grade(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    template = GRADE_TEMPLATE + "#item" if request.htmx else GRADE_TEMPLATE
    return render(request, template, context, status=status)


@require_GET
@login_required
def grade(request: HttpRequest, slug: str, queue_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug)
    queue = access.get_queue_for_grading(membership, queue_id)
    if queue.calibration_required:  # calibration comes first
        response = practice_page(request, membership, queue)
        if response is not None:
            return response
    if queue.kind == Queue.Kind.PAIRWISE:
        return views_pairwise.grade_pairwise(request, membership, queue)
    assignment = claim_next(queue, request.user)
    return _render_grade(request, _grade_context(request, membership, queue, assignment))


def _get_assignment(request: HttpRequest, queue: Queue, assignment_id: int) -> Assignment:
    assignment = (
        Assignment.objects.select_related("item")
        .filter(pk=assignment_id, queue=queue, reviewer=request.user)
        .first()
    )
    if assignment is None:
        raise Http404
    return assignment


def _answers_from_post(request: HttpRequest) -> dict[str, str]:
    """Form fields are named ``c-<criterion key>``; anything else is not an answer."""
    prefix = "c-"
    return {key[len(prefix) :]: v for key, v in request.POST.items() if key.startswith(prefix)}


@require_POST
@login_required
def submit(request: HttpRequest, slug: str, queue_id: int, assignment_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug)
    queue = access.get_queue_for_grading(membership, queue_id)
    assignment = _get_assignment(request, queue, assignment_id)
    criteria = _criteria(queue)
    raw = _answers_from_post(request)
    result = submit_judgment(queue, assignment, criteria, raw)
    if result.outcome == Outcome.INVALID:
        context = _grade_context(
            request,
            membership,
            queue,
            assignment,
            values=raw,
            errors=result.errors,
            criteria=criteria,
        )
        return _render_grade(request, context, status=422)
    if result.outcome == Outcome.SAVED and assignment.item.is_gold:
        after_gold_judgment(queue, request.user, criteria)
    if not request.htmx:
        return redirect(reverse("grade", args=[slug, queue.pk]))
    message = "" if result.outcome == Outcome.SAVED else result.message
    following = claim_next(queue, request.user)
    context = _grade_context(
        request, membership, queue, following, message=message, criteria=criteria
    )
    return _render_grade(request, context)


@require_POST
@login_required
def skip(request: HttpRequest, slug: str, queue_id: int, assignment_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug)
    queue = access.get_queue_for_grading(membership, queue_id)
    assignment = _get_assignment(request, queue, assignment_id)
    release(assignment, reason=request.POST.get("reason", "").strip())
    if not request.htmx:
        return redirect(reverse("grade", args=[slug, queue.pk]))
    following = claim_next(queue, request.user)
    return _render_grade(
        request, _grade_context(request, membership, queue, following, message="Skipped.")
    )
