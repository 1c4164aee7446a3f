"""API for results: a queue's latest agreement report and a pairwise queue's leaderboard,
as the pages show them (read from their stored snapshots; nothing is computed here)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from annotate.api_common import ApiError, get_queue, needs, responses
from annotate.api_fields import Id
from annotate.models import Queue, TokenScope
from evals.models import AgreementSnapshot, LeaderboardSnapshot

router = Router(tags=["results"])


class AgreementOut(Schema):
    queue_id: int
    computed_at: datetime | None = Field(description="null until agreement is first computed")
    judgment_count: int | None = Field(description="judgments the report rests on")
    report: dict[str, Any] | None = Field(
        description="per criterion: alpha, kappas, AC1, percent agreement with 95% intervals, "
        "overall, per cohort and across cohorts (as on the agreement page)"
    )


class LeaderboardOut(Schema):
    queue_id: int
    computed_at: datetime | None = Field(description="null until the leaderboard is computed")
    judgments: int | None
    leaderboard: dict[str, Any] | None = Field(
        description="overall and per cohort: Bradley–Terry ratings with 95% intervals, "
        "win rates, position bias and swap consistency (as on the leaderboard page)"
    )


@router.get(
    "/queues/{queue_id}/agreement",
    auth=needs(TokenScope.READ),
    response=responses({200: AgreementOut}),
    summary="A queue's latest inter-rater agreement report",
)
def queue_agreement(request: HttpRequest, queue_id: Id) -> AgreementOut:
    queue = get_queue(request, queue_id)
    snapshot = AgreementSnapshot.objects.filter(queue=queue).order_by("-computed_at").first()
    return AgreementOut(
        queue_id=queue.pk,
        computed_at=snapshot.computed_at if snapshot else None,
        judgment_count=snapshot.judgment_count if snapshot else None,
        report=snapshot.report if snapshot else None,
    )


@router.get(
    "/queues/{queue_id}/leaderboard",
    auth=needs(TokenScope.READ),
    response=responses({200: LeaderboardOut}),
    summary="A pairwise queue's leaderboard",
)
def queue_leaderboard(request: HttpRequest, queue_id: Id) -> LeaderboardOut:
    queue = get_queue(request, queue_id)
    if queue.kind != Queue.Kind.PAIRWISE:
        raise ApiError(
            400,
            "not_pairwise",
            "Leaderboards are for pairwise queues; read a rubric queue's labels with "
            "GET /judgments or an export.",
        )
    snapshot = LeaderboardSnapshot.objects.filter(queue=queue).first()
    return LeaderboardOut(
        queue_id=queue.pk,
        computed_at=snapshot.computed_at if snapshot else None,
        judgments=snapshot.judgments if snapshot else None,
        leaderboard=snapshot.data if snapshot else None,
    )
