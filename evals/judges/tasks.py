"""Judge tasks: one judge run over a queue's items or a source's logs."""

from celery import shared_task

from evals import jobs
from evals.judges.runs import execute_run


@shared_task(
    name="evals.tasks.run_judge",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=6 * 3600,
    time_limit=6 * 3600 + 60,
)
def run_judge(job_id: int) -> None:
    """Run a judge over a queue or logs. Idempotent: cached results are not asked again."""
    job = jobs.start(job_id)
    if job is None:
        return
    try:
        execute_run(job)
    except Exception as exc:
        jobs.fail(job, f"The judge run stopped on an unexpected error: {type(exc).__name__}")
        raise
