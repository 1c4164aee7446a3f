"""Reviewing-quality pages: adjudicating disputed items, and calibration practice items."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotate import access, calibration
from annotate import adjudication as adjudicating
from annotate.models import Adjudication, Criterion, Item, Judgment, Membership, Queue
from annotate.pairwise import PREFERENCE_CHOICES, PREFERENCE_KEY


def _adjudicator(request: HttpRequest, slug: str, queue_id: int) -> tuple[Membership, Queue]:
    membership = access.get_membership(request.user, slug)
    if not membership.is_adjudicator:
        raise PermissionDenied
    return membership, access.get_queue(membership, queue_id)


def _criteria(queue: Queue) -> list[Criterion]:
    return list(queue.rubric_version.criteria.all())


# --- Adjudication -------------------------------------------------------------------------


@require_GET
@login_required
def adjudication_list(request: HttpRequest, slug: str, queue_id: int) -> HttpResponse:
    membership, queue = _adjudicator(request, slug, queue_id)
    criteria = _criteria(queue)
    names = {c.key: c.name for c in criteria} | {PREFERENCE_KEY: "Preference"}
    disputes = adjudicating.disputes(queue, criteria)
    show = request.GET.get("show", "open")
    if show == "open":
        disputes = [d for d in disputes if not d.adjudicated]
    return render(
        request,
        "annotate/adjudication_list.html",
        {
            "membership": membership,
            "workspace": membership.workspace,
            "queue": queue,
            "disputes": disputes,
            "names": names,
            "show": show,
            "rules": adjudicating.rules(queue),
        },
    )


def _item_context(membership: Membership, queue: Queue, item: Item, **extra) -> dict:
    criteria = _criteria(queue)
    judgments = list(
        Judgment.objects.filter(item=item, queue=queue).select_related("reviewer").order_by("id")
    )
    rows = []
    for number, judgment in enumerate(judgments, start=1):
        label = f"Reviewer {number}"
        if queue.show_reviewer_names:
            label = judgment.reviewer.get_full_name() or judgment.reviewer.get_username()
        rows.append({"label": label, "answers": judgment.answers, "judgment": judgment})
    existing = Adjudication.objects.filter(item=item).select_related("adjudicator").first()
    values = extra.pop("values", None)
    if values is None:
        source = existing.answers if existing else _suggestion(queue, criteria, judgments)
        values = {
            k: ("pass" if v is True else "fail" if v is False else v) for k, v in source.items()
        }
    return {
        "membership": membership,
        "workspace": membership.workspace,
        "queue": queue,
        "item": item,
        "criteria": criteria,
        "pairwise": queue.kind == Queue.Kind.PAIRWISE,
        "preference_choices": PREFERENCE_CHOICES,
        "rows": rows,
        "existing": existing,
        "values": values,
        "errors": extra.pop("errors", {}),
        "note": extra.pop("note", existing.note if existing else ""),
        **extra,
    }


def _suggestion(queue: Queue, criteria: list[Criterion], judgments: list[Judgment]) -> dict:
    answers = [j.answers for j in judgments]
    keys = [(c.key, c.kind) for c in criteria if c.kind != "free_text"]
    if queue.kind == Queue.Kind.PAIRWISE:
        keys.append((PREFERENCE_KEY, "preference"))
    suggested = {
        key: adjudicating.majority(kind, [a.get(key) for a in answers]) for key, kind in keys
    }
    return {k: v for k, v in suggested.items() if v is not None}


@require_http_methods(["GET", "POST"])
@login_required
def adjudicate(request: HttpRequest, slug: str, queue_id: int, item_id: int) -> HttpResponse:
    membership, queue = _adjudicator(request, slug, queue_id)
    item = Item.objects.filter(pk=item_id, queue=queue).first()
    if item is None:
        raise Http404
    template = "annotate/adjudicate.html"
    if request.method == "GET":
        return render(request, template, _item_context(membership, queue, item))
    raw = {k[2:]: v for k, v in request.POST.items() if k.startswith("c-")}
    note = request.POST.get("note", "")
    saved, errors = adjudicating.record(queue, item, request.user, _criteria(queue), raw, note)
    if errors:
        context = _item_context(membership, queue, item, values=raw, errors=errors, note=note)
        part = template + "#decision" if request.htmx else template
        return render(request, part, context, status=422)
    if not request.htmx:
        return redirect(reverse("queue-adjudication", args=[slug, queue.pk]))
    context = _item_context(membership, queue, item, message="Final answer saved.")
    return render(request, template + "#decision", context)


# --- Calibration (practice items) --------------------------------------------------------

PRACTICE_TEMPLATE = "annotate/practice.html"


def _practice_context(membership: Membership, queue: Queue, item: Item, **extra) -> dict:
    done, total = calibration.progress(queue, membership.user)
    return {
        "membership": membership,
        "workspace": membership.workspace,
        "queue": queue,
        "item": item,
        "criteria": _criteria(queue),
        "done": done,
        "total": total,
        "values": {},
        "errors": {},
        "rows": [],
        **extra,
    }


def practice_page(
    request: HttpRequest, membership: Membership, queue: Queue
) -> HttpResponse | None:
    """The next practice item, or None when the reviewer has finished calibration."""
    item = calibration.next_practice(queue, request.user)
    if item is None:
        return None
    template = PRACTICE_TEMPLATE + "#practice" if request.htmx else PRACTICE_TEMPLATE
    return render(request, template, _practice_context(membership, queue, item))


@require_POST
@login_required
def practice_submit(request: HttpRequest, slug: str, queue_id: int, item_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug)
    queue = access.get_queue_for_grading(membership, queue_id)
    item = Item.objects.filter(pk=item_id, queue=queue, is_practice=True).first()
    if item is None:
        raise Http404
    criteria = _criteria(queue)
    raw = {k[2:]: v for k, v in request.POST.items() if k.startswith("c-")}
    answer, errors = calibration.record_practice(item, request.user, criteria, raw)
    template = PRACTICE_TEMPLATE + "#practice" if request.htmx else PRACTICE_TEMPLATE
    if errors:
        context = _practice_context(membership, queue, item, values=raw, errors=errors)
        return render(request, template, context, status=422)
    context = _practice_context(
        membership, queue, item, rows=calibration.feedback(item, criteria, answer)
    )
    context["done"] -= 1  # still showing this item
    return render(request, template, context)
