from celery import shared_task

from . import jobs


@shared_task(acks_late=True, ignore_result=True)
def requeue_stale_jobs() -> int:
    """Re-send jobs whose worker died mid-run (their heartbeat went stale)."""
    return jobs.requeue_stale_jobs()


@shared_task(acks_late=True, ignore_result=True)
def refresh_leaderboard(queue_id: int) -> None:
    """Recompute a pairwise queue's leaderboard snapshot (idempotent: it replaces the row)."""
    from annotate.models import Queue

    from . import pairwise_results

    queue = Queue.objects.filter(pk=queue_id, kind=Queue.Kind.PAIRWISE).first()
    if queue is not None:
        pairwise_results.refresh(queue)


@shared_task(acks_late=True, ignore_result=True)
def refresh_stale_leaderboards() -> int:
    """Beat: recompute the snapshots of pairwise queues that got judgments since."""
    from . import pairwise_results

    stale = pairwise_results.stale_queues()
    for queue in stale:
        pairwise_results.refresh(queue)
    return len(stale)


@shared_task(acks_late=True, ignore_result=True)
def leaderboard_job(job_id: int) -> None:
    """A leaderboard recompute asked for on the results page, tracked by a Job row."""
    from annotate.models import Queue

    from . import pairwise_results

    job = jobs.start(job_id)
    if job is None:
        return
    try:
        queue = Queue.objects.get(pk=job.params["queue_id"], workspace_id=job.workspace_id)
        jobs.beat(job, 0, 1)
        snapshot = pairwise_results.refresh(queue)
        jobs.beat(job, 1, 1)
        jobs.succeed(job, {"judgments": snapshot.judgments})
    except Exception as exc:
        jobs.fail(job, f"{type(exc).__name__}: {exc}")
        raise
