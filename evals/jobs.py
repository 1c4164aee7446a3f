"""The life of a long background job row: queued, running (with heartbeats), finished.

Tasks call ``start`` first: it claims the row with a conditional UPDATE, so a job
delivered twice runs once. A worker that dies leaves its job "running" with a stale
heartbeat; ``requeue_stale_jobs`` (run by beat) puts such jobs back on the queue,
and the task picks up from what it had recorded, because every job's work is
written so that doing it again adds nothing twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from annotate.models import Workspace
from evals.models import Job
from quorum.celery import app

logger = logging.getLogger(__name__)
STALE_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = 5


def throttle_seconds(setting: str) -> float:
    """A test knob: seconds a long job pauses at each checkpoint, named by ``setting``
    (``QUORUM_EXPORT_THROTTLE_SECONDS`` and the like; 0 outside the worker-kill tests),
    so a test can kill its worker mid-job."""
    return float(getattr(settings, setting, 0.0) or 0.0)


def create_job(
    workspace: Workspace,
    kind: str,
    task_name: str,
    params: dict[str, Any] | None = None,
    user=None,
    total: int | None = None,
) -> Job:
    """Create a job row and send its task once the surrounding transaction commits."""
    job = Job.objects.create(
        workspace=workspace,
        kind=kind,
        task_name=task_name,
        params=params or {},
        created_by=user,
        total=total,
    )
    transaction.on_commit(lambda: dispatch(job))
    return job


def dispatch(job: Job) -> bool:
    """Send the job's task. When the broker is down the job stays queued and
    ``requeue_stale_jobs`` sends it again later, so the caller's request never fails."""
    try:
        app.send_task(job.task_name, args=[job.pk])
    except Exception:  # noqa: BLE001 - any broker error: leave it to the reaper
        logger.warning("Could not send job %s (%s); it stays queued", job.pk, job.task_name)
        return False
    return True


def start(job_id: int) -> Job | None:
    """Claim a job for this worker. None if it is gone, finished, or cancelled."""
    now = timezone.now()
    stale = now - STALE_AFTER
    claimed = (
        Job.objects.filter(pk=job_id)
        .filter(Q(status=Job.Status.QUEUED) | Q(status=Job.Status.RUNNING, heartbeat_at__lt=stale))
        .update(
            status=Job.Status.RUNNING,
            started_at=now,
            heartbeat_at=now,
            attempts=F("attempts") + 1,
            error="",
        )
    )
    if claimed != 1:
        return None
    return Job.objects.get(pk=job_id)


def beat(job: Job, progress: int | None = None, total: int | None = None) -> bool:
    """Record progress and liveness. Returns False when the job was cancelled meanwhile."""
    fields: dict[str, Any] = {"heartbeat_at": timezone.now()}
    if progress is not None:
        fields["progress"] = progress
        job.progress = progress
    if total is not None:
        fields["total"] = total
        job.total = total
    return Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(**fields) == 1


def succeed(job: Job, result: dict[str, Any] | None = None) -> None:
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
        status=Job.Status.SUCCEEDED,
        result=result or {},
        finished_at=timezone.now(),
        progress=F("total") if job.total else F("progress"),
    )


def fail(job: Job, error: str) -> None:
    Job.objects.filter(pk=job.pk).exclude(status=Job.Status.CANCELLED).update(
        status=Job.Status.FAILED, error=error[:5000], finished_at=timezone.now()
    )


def cancel(job: Job) -> bool:
    return (
        Job.objects.filter(pk=job.pk, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).update(
            status=Job.Status.CANCELLED, finished_at=timezone.now()
        )
        == 1
    )


def requeue_stale_jobs(now=None) -> int:
    """Send again the jobs whose worker stopped beating, and the queued jobs that were never
    picked up (their message was lost or the broker was down); fail those that keep dying."""
    now = now or timezone.now()
    stale = Job.objects.filter(
        Q(status=Job.Status.RUNNING, heartbeat_at__lt=now - STALE_AFTER)
        | Q(status=Job.Status.QUEUED, created_at__lt=now - STALE_AFTER)
    )
    requeued = 0
    for job in stale:
        if job.attempts >= MAX_ATTEMPTS:
            fail(job, f"Gave up after {job.attempts} attempts: the worker kept stopping.")
            continue
        requeued += dispatch(job)
    return requeued


def retention_days() -> int:
    """Days the files a finished job left (exports, uploads) are kept; 0 keeps them for ever."""
    return int(getattr(settings, "QUORUM_EXPORT_RETENTION_DAYS", 30))
