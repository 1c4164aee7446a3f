"""Pages: a queue's agreement (with its trend) and its reviewers.

Admins, authors and engineers read agreement and reviewer quality; other reviewers get
403 and non-members 404. Adjudication pages are in ``annotate.views_quality``.
"""

from __future__ import annotations

import csv

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from annotate import access
from annotate.models import (
    Criterion,
    Judgment,
    Membership,
    Queue,
    ReviewerPause,
)
from evals.models import AgreementSnapshot
from evals.results.agreement import headline
from evals.results.reviewers import reviewer_quality
from evals.results.snapshots import pending_job, request_snapshot

TREND_POINTS = 200


def _reader(request: HttpRequest, slug: str, queue_id: int) -> tuple[Membership, Queue]:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    return membership, access.get_queue(membership, queue_id)


def _criteria(queue: Queue) -> list[Criterion]:
    return list(queue.rubric_version.criteria.all())


# --- Agreement ----------------------------------------------------------------------------


def _trend(queue: Queue) -> tuple[list[AgreementSnapshot], list[dict]]:
    snapshots = list(
        AgreementSnapshot.objects.filter(queue=queue).order_by("-computed_at")[:TREND_POINTS]
    )
    snapshots.reverse()
    rows = []
    for snapshot in snapshots:
        for row in headline(snapshot.report):
            rows.append(
                {
                    "computed_at": snapshot.computed_at,
                    "judgments": snapshot.judgment_count,
                    **row,
                }
            )
    return snapshots, rows


def _trend_chart(snapshots: list[AgreementSnapshot], rows: list[dict]) -> dict:
    labels = [s.computed_at.strftime("%Y-%m-%d %H:%M") for s in snapshots]
    keys: dict[str, str] = {}
    for row in rows:
        keys.setdefault(row["key"], row["name"])
    datasets = []
    for key, name in keys.items():
        values = {r["computed_at"]: r["alpha"] for r in rows if r["key"] == key}
        datasets.append(
            {
                "label": name,
                "data": [values.get(s.computed_at) for s in snapshots],
                "spanGaps": True,
            }
        )
    y_axis = {
        "suggestedMin": 0,
        "suggestedMax": 1,
        "title": {"display": True, "text": "Krippendorff's alpha"},
    }
    return {
        "type": "line",
        "data": {"labels": labels, "datasets": datasets},
        "options": {"scales": {"y": y_axis}, "plugins": {"legend": {"position": "bottom"}}},
    }


@require_GET
@login_required
def agreement_page(request: HttpRequest, slug: str, queue_id: int) -> HttpResponse:
    membership, queue = _reader(request, slug, queue_id)
    snapshots, rows = _trend(queue)
    latest = snapshots[-1] if snapshots else None
    context = {
        "names": _reviewer_names(latest.report if latest else None),
        "membership": membership,
        "workspace": membership.workspace,
        "queue": queue,
        "latest": latest,
        "report": latest.report if latest else None,
        "trend_rows": rows,
        "chart": _trend_chart(snapshots, rows),
        "job": pending_job(queue),
        "judgments_now": Judgment.objects.filter(queue=queue).count(),
    }
    return render(request, "evals/agreement.html", context)


def _reviewer_names(report: dict | None) -> dict[int, str]:
    ids = set()
    for section in (report or {}).get("criteria", []):
        for pair in (section.get("overall") or {}).get("cohen_pairs", []):
            ids.update([pair["rater_a"], pair["rater_b"]])
    users = get_user_model().objects.in_bulk([i for i in ids if isinstance(i, int)])
    return {pk: user.get_full_name() or user.get_username() for pk, user in users.items()}


@require_POST
@login_required
def agreement_compute(request: HttpRequest, slug: str, queue_id: int) -> HttpResponse:
    membership, queue = _reader(request, slug, queue_id)
    request_snapshot(queue, user=request.user)
    return redirect(reverse("queue-agreement", args=[slug, queue.pk]))


@require_GET
@login_required
def agreement_csv(request: HttpRequest, slug: str, queue_id: int) -> HttpResponse:
    membership, queue = _reader(request, slug, queue_id)
    _, rows = _trend(queue)
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="agreement-queue-{queue.pk}.csv"'
    writer = csv.writer(response)
    fields = ["computed_at", "judgments", "key", "name", "level", "alpha", "ci_low", "ci_high"]
    writer.writerow([*fields, "n_items"])
    for row in rows:
        writer.writerow([row[f] for f in fields] + [row["n_items"]])
    return response


# --- Reviewers ----------------------------------------------------------------------------


@require_GET
@login_required
def reviewers_page(request: HttpRequest, slug: str, queue_id: int) -> HttpResponse:
    membership, queue = _reader(request, slug, queue_id)
    rows = reviewer_quality(queue)
    return render(
        request,
        "evals/reviewers.html",
        {
            "membership": membership,
            "workspace": membership.workspace,
            "queue": queue,
            "rows": rows,
            "criteria": [c for c in _criteria(queue) if c.kind != "free_text"],
        },
    )


@require_POST
@login_required
def reviewer_resume(request: HttpRequest, slug: str, queue_id: int, user_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.AUTHORS)
    queue = access.get_queue(membership, queue_id)
    ReviewerPause.objects.filter(queue=queue, reviewer_id=user_id, lifted_at__isnull=True).update(
        lifted_at=timezone.now()
    )
    return redirect(reverse("queue-reviewers", args=[slug, queue.pk]))


# --- Adjudication -------------------------------------------------------------------------
