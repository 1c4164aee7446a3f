from celery import shared_task

from . import alerts, jobs


@shared_task(acks_late=True, ignore_result=True)
def requeue_stale_jobs() -> int:
    """Re-send jobs whose worker died mid-run (their heartbeat went stale)."""
    return jobs.requeue_stale_jobs()


@shared_task(ignore_result=True)
def check_alerts() -> dict:
    """Evaluate every active alert rule (beat, every few minutes); idempotent."""
    return alerts.check_alerts()
