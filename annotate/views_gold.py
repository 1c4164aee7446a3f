"""Gold and practice items: authors add items with the expected answers, in the browser."""

from __future__ import annotations

import math

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from annotate import access, audit
from annotate.calibration import show_answer
from annotate.gold import GoldError, mark_gold
from annotate.items import add_items
from annotate.models import Criterion, CriterionKind, Item
from annotate.text import check_fields

TEMPLATE = "annotate/gold.html"
SCALE_KINDS = (CriterionKind.LIKERT, CriterionKind.NUMERIC)
MAX_TOLERANCE = 1_000_000
TEXT_FIELDS = {"input_text": "input", "output": "output", "gold_explanation": "explanation"}


def _tolerances(request: HttpRequest, criteria: list[Criterion]) -> tuple[dict, dict]:
    tolerance, errors = {}, {}
    for c in criteria:
        raw = request.POST.get(f"tol-{c.key}", "").strip()
        if c.kind not in SCALE_KINDS or not raw:
            continue
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            errors[c.key] = "The tolerance must be a number."
        elif value < 0:
            errors[c.key] = "The tolerance cannot be negative."
        elif value > MAX_TOLERANCE:
            errors[c.key] = f"Keep the tolerance to {MAX_TOLERANCE:,} or less."
        tolerance[c.key] = value
    return tolerance, errors


@require_http_methods(["GET", "POST"])
@login_required
def gold_items(request: HttpRequest, slug: str, queue_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.AUTHORS)
    queue = access.get_queue(membership, queue_id)
    criteria = list(queue.rubric_version.criteria.all())
    context = {
        "membership": membership,
        "workspace": membership.workspace,
        "queue": queue,
        "criteria": criteria,
        "scale_keys": [c.key for c in criteria if c.kind in SCALE_KINDS],
        "values": {},
        "errors": {},
        "form": {},
    }
    status = 200
    if request.method == "POST":
        form = {k: request.POST.get(k, "").strip() for k in ("input", "output", "explanation")}
        form["practice"] = request.POST.get("kind") == "practice"
        answers = {
            key[2:]: value for key, value in request.POST.items() if key.startswith("c-") and value
        }
        tolerance, errors = _tolerances(request, criteria)
        texts = check_fields(
            Item,
            input_text=form["input"],
            output=form["output"],
            gold_explanation=form["explanation"],
        )
        errors.update({TEXT_FIELDS[name]: message for name, message in texts.items()})
        if not form["output"]:
            errors["output"] = "Paste the output to grade."
        if not errors:
            try:
                item = _create(queue, criteria, form, answers, tolerance)
            except GoldError as exc:
                errors["answers"] = str(exc)
            else:
                kind = "practice" if form["practice"] else "gold"
                audit.record(
                    queue.workspace_id, request.user, f"item.{kind}", item, f"{kind} item added"
                )
                messages.success(request, f"The {kind} item was added.")
                return redirect("gold-items", slug=slug, queue_id=queue.pk)
        context.update(values=answers, errors=errors, form=form)
        status = 422
    context["items"] = list(
        Item.objects.filter(queue=queue)
        .filter(Q(is_gold=True) | Q(is_practice=True))
        .order_by("-id")[:200]
    )
    for item in context["items"]:
        item.expected = [(key, show_answer(value)) for key, value in item.gold_answers.items()]
    return render(request, TEMPLATE, context, status=status)


def _create(queue, criteria, form, answers, tolerance) -> Item:
    with transaction.atomic():
        (item,) = add_items(queue, [{"input_text": form["input"], "output": form["output"]}])
        return mark_gold(
            item,
            criteria,
            answers,
            tolerance=tolerance,
            explanation=form["explanation"],
            practice=form["practice"],
        )
