"""The results page of a pairwise queue: leaderboard, forest plot, win-rate heatmap,
position-bias audit and swap consistency, read from the stored snapshot."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotate import access
from annotate.models import Membership, Queue
from evals import jobs
from evals.models import Job, LeaderboardSnapshot
from evals.results import pairwise as pairwise_results

TEMPLATE = "evals/leaderboard.html"


def _pairwise_queue(membership: Membership, queue_id: int) -> Queue:
    queue = access.get_queue(membership, queue_id)
    if queue.kind != Queue.Kind.PAIRWISE:
        raise Http404
    return queue


def _board(snapshot: LeaderboardSnapshot | None, cohort: str) -> dict | None:
    if snapshot is None:
        return None
    if cohort:
        return snapshot.data.get("cohorts", {}).get(cohort)
    return snapshot.data.get("overall")


@require_GET
@login_required
def leaderboard(request: HttpRequest, slug: str, queue_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    queue = _pairwise_queue(membership, queue_id)
    snapshot = LeaderboardSnapshot.objects.filter(queue=queue).first()
    cohort = request.GET.get("cohort", "")
    board = _board(snapshot, cohort)
    rows = pairwise_results.ranked_rows(board) if board else []
    job = None
    if request.GET.get("job", "").isdigit():
        job = Job.objects.filter(pk=int(request.GET["job"]), workspace=membership.workspace).first()
    context = {
        "membership": membership,
        "workspace": membership.workspace,
        "queue": queue,
        "snapshot": snapshot,
        "data": snapshot.data if snapshot else {},
        "cohort": cohort,
        "cohorts": sorted((snapshot.data.get("cohorts") or {}) if snapshot else []),
        "board": board,
        "rows": rows,
        "forest": pairwise_results.forest_config(rows) if rows else None,
        "heatmap": pairwise_results.heatmap(board, [r["variant"] for r in rows]) if rows else [],
        "job": job,
    }
    return render(request, TEMPLATE, context)


@require_GET
@login_required
def leaderboard_csv(request: HttpRequest, slug: str, queue_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    queue = _pairwise_queue(membership, queue_id)
    snapshot = LeaderboardSnapshot.objects.filter(queue=queue).first()
    cohort = request.GET.get("cohort", "")
    board = _board(snapshot, cohort)
    response = HttpResponse(content_type="text/csv")
    name = f"leaderboard-queue-{queue.pk}{'-' + cohort if cohort else ''}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    columns = [
        "rank", "variant", "rating", "low", "high", "theta", "wins", "ties", "losses", "both_bad",
    ]  # fmt: skip
    writer.writerow(columns)
    for row in pairwise_results.ranked_rows(board) if board else []:
        writer.writerow([row[c] for c in columns])
    return response


@require_POST
@login_required
def leaderboard_recompute(request: HttpRequest, slug: str, queue_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    queue = _pairwise_queue(membership, queue_id)
    job = jobs.create_job(
        membership.workspace,
        "leaderboard",
        "evals.tasks.leaderboard_job",
        params={"queue_id": queue.pk},
        user=request.user,
        total=1,
    )
    return redirect(reverse("leaderboard", args=[slug, queue.pk]) + f"?job={job.pk}")
