from celery import shared_task

from . import jobs


@shared_task(acks_late=True, ignore_result=True)
def requeue_stale_jobs() -> int:
    """Re-send jobs whose worker died mid-run (their heartbeat went stale)."""
    return jobs.requeue_stale_jobs()


@shared_task(acks_late=True, ignore_result=True)
def run_export(job_id: int) -> None:
    """Write a large export's files (see evals.export_jobs)."""
    from .export_jobs import run_export_job

    run_export_job(job_id)
