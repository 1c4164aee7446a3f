"""Agreement snapshots: computed by workers on a schedule and after every N new judgments.

Beat runs ``enqueue_due`` every minute. A queue is due when it has at least
``QUORUM_AGREEMENT_EVERY_N`` judgments more than its last snapshot, or any new
judgment and a last snapshot older than ``QUORUM_AGREEMENT_INTERVAL_MINUTES``. Each
snapshot is a Job, so the page can show its progress; a job re-run after a crash
overwrites its own snapshot instead of adding a second one.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max
from django.utils import timezone

from annotate.models import Judgment, Queue
from evals import jobs
from evals.models import AgreementSnapshot, Job
from evals.results.agreement import queue_report

JOB_KIND = "agreement"
TASK = "evals.tasks.compute_agreement"


def every_n() -> int:
    return int(getattr(settings, "QUORUM_AGREEMENT_EVERY_N", 50))


def interval() -> timedelta:
    return timedelta(minutes=int(getattr(settings, "QUORUM_AGREEMENT_INTERVAL_MINUTES", 60)))


def _beat(job: Job):
    """A heartbeat after each criterion, so a long report is not taken for a dead worker."""
    pause = jobs.throttle_seconds("QUORUM_AGREEMENT_THROTTLE_SECONDS")

    def on_criterion(done: int, total: int) -> None:
        jobs.beat(job, progress=done, total=total)
        if pause:
            time.sleep(pause)

    return on_criterion


def take_snapshot(queue: Queue, job: Job | None = None) -> AgreementSnapshot:
    report = queue_report(queue, on_criterion=_beat(job) if job is not None else None)
    fields = {
        "queue": queue,
        "computed_at": timezone.now(),
        "judgment_count": report["judgment_count"],
        "report": report,
    }
    if job is None:
        return AgreementSnapshot.objects.create(**fields)
    snapshot, _ = AgreementSnapshot.objects.update_or_create(job=job, defaults=fields)
    return snapshot


def pending_job(queue: Queue) -> Job | None:
    return (
        Job.objects.filter(
            workspace_id=queue.workspace_id,
            kind=JOB_KIND,
            params__queue_id=queue.pk,
            status__in=[Job.Status.QUEUED, Job.Status.RUNNING],
        )
        .order_by("-created_at")
        .first()
    )


def request_snapshot(queue: Queue, user=None) -> Job:
    """A job computing the queue's snapshot; the one already waiting, if there is one."""
    return pending_job(queue) or jobs.create_job(
        queue.workspace, JOB_KIND, TASK, params={"queue_id": queue.pk}, user=user, total=1
    )


def due_queues(now: datetime | None = None) -> list[Queue]:
    now = now or timezone.now()
    counts = dict(
        Judgment.objects.values("queue_id")
        .annotate(n=Count("id"))
        .values_list("queue_id", "n")
        .order_by()
    )
    last = {
        row["queue_id"]: row
        for row in AgreementSnapshot.objects.values("queue_id")
        .annotate(at=Max("computed_at"), n=Max("judgment_count"))
        .order_by()
    }
    due = []
    for queue in Queue.objects.filter(pk__in=list(counts)).select_related("workspace"):
        current = counts[queue.pk]
        previous = last.get(queue.pk)
        if current < 2:
            continue
        if previous is None:
            due.append(queue)
            continue
        new = current - previous["n"]
        if new >= every_n() or (new != 0 and previous["at"] < now - interval()):
            due.append(queue)
    return due


def enqueue_due(now: datetime | None = None) -> int:
    queued = 0
    for queue in due_queues(now):
        if pending_job(queue) is None:
            request_snapshot(queue)
            queued += 1
    return queued


def run_job(job_id: int) -> AgreementSnapshot | None:
    job = jobs.start(job_id)
    if job is None:
        return None
    try:
        queue = Queue.objects.get(pk=job.params["queue_id"], workspace_id=job.workspace_id)
        snapshot = take_snapshot(queue, job)
    except Exception as exc:  # recorded on the job row for the page
        jobs.fail(job, f"{type(exc).__name__}: {exc}")
        raise
    jobs.succeed(job, {"snapshot_id": snapshot.pk, "judgment_count": snapshot.judgment_count})
    return snapshot
