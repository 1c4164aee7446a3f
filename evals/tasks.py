"""Tasks of the job machinery itself. Each capability package has its own ``tasks.py``.

Every task keeps the name it was first registered under (``evals.tasks.<name>``): Job
rows, the beat schedule and messages already in the broker name tasks that way.
"""

from celery import shared_task

from evals import jobs


@shared_task(name="evals.tasks.requeue_stale_jobs", acks_late=True, ignore_result=True)
def requeue_stale_jobs() -> int:
    """Re-send jobs whose worker died mid-run (their heartbeat went stale)."""
    return jobs.requeue_stale_jobs()
