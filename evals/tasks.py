from celery import shared_task

from . import jobs


@shared_task(acks_late=True, ignore_result=True)
def requeue_stale_jobs() -> int:
    """Re-send jobs whose worker died mid-run (their heartbeat went stale)."""
    return jobs.requeue_stale_jobs()


@shared_task(acks_late=True, ignore_result=True)
def compute_agreement(job_id: int) -> int | None:
    """Compute one queue's agreement snapshot (idempotent: a re-run overwrites its snapshot)."""
    from .agreement_snapshots import run_job

    snapshot = run_job(job_id)
    return snapshot.pk if snapshot else None


@shared_task(acks_late=True, ignore_result=True)
def enqueue_agreement_snapshots() -> int:
    """Queue a snapshot job for every queue with enough new judgments (or stale and changed)."""
    from .agreement_snapshots import enqueue_due

    return enqueue_due()
