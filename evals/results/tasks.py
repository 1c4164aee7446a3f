"""Results tasks: alerts, leaderboard snapshots and agreement snapshots."""

from celery import shared_task

from annotate.models import Queue
from evals import jobs
from evals.results import alerts, snapshots
from evals.results import pairwise as pairwise_results


@shared_task(name="evals.tasks.check_alerts", ignore_result=True)
def check_alerts() -> dict:
    """Evaluate every active alert rule (beat, every few minutes); idempotent."""
    return alerts.check_alerts()


@shared_task(name="evals.tasks.refresh_leaderboard", acks_late=True, ignore_result=True)
def refresh_leaderboard(queue_id: int) -> None:
    """Recompute a pairwise queue's leaderboard snapshot (idempotent: it replaces the row)."""
    queue = Queue.objects.filter(pk=queue_id, kind=Queue.Kind.PAIRWISE).first()
    if queue is not None:
        pairwise_results.refresh(queue)


@shared_task(name="evals.tasks.refresh_stale_leaderboards", acks_late=True, ignore_result=True)
def refresh_stale_leaderboards() -> int:
    """Beat: recompute the snapshots of pairwise queues that got judgments since."""
    stale = pairwise_results.stale_queues()
    for queue in stale:
        pairwise_results.refresh(queue)
    return len(stale)


@shared_task(name="evals.tasks.leaderboard_job", acks_late=True, ignore_result=True)
def leaderboard_job(job_id: int) -> None:
    """A leaderboard recompute asked for on the results page, tracked by a Job row."""
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


@shared_task(name="evals.tasks.compute_agreement", acks_late=True, ignore_result=True)
def compute_agreement(job_id: int) -> int | None:
    """Compute one queue's agreement snapshot (idempotent: a re-run overwrites its snapshot)."""
    snapshot = snapshots.run_job(job_id)
    return snapshot.pk if snapshot else None


@shared_task(name="evals.tasks.enqueue_agreement_snapshots", acks_late=True, ignore_result=True)
def enqueue_agreement_snapshots() -> int:
    """Queue a snapshot job for every queue with enough new judgments (or stale and changed)."""
    return snapshots.enqueue_due()
