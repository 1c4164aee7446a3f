from celery import shared_task

from . import jobs


@shared_task(acks_late=True, ignore_result=True)
def requeue_stale_jobs() -> int:
    """Re-send jobs whose worker died mid-run (their heartbeat went stale)."""
    return jobs.requeue_stale_jobs()


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=6 * 3600, time_limit=6 * 3600 + 60)
def run_judge(job_id: int) -> None:
    """Run a judge over a queue or logs. Idempotent: cached results are not asked again."""
    from .judge_runs import execute_run

    job = jobs.start(job_id)
    if job is None:
        return
    try:
        execute_run(job)
    except Exception as exc:
        jobs.fail(job, f"The judge run stopped on an unexpected error: {type(exc).__name__}")
        raise
