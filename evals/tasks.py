from celery import shared_task

from . import alerts, ingest_jobs, jobs, sampling


@shared_task(acks_late=True, ignore_result=True)
def requeue_stale_jobs() -> int:
    """Re-send jobs whose worker died mid-run (their heartbeat went stale)."""
    return jobs.requeue_stale_jobs()


@shared_task(acks_late=True, ignore_result=True)
def ingest_file(job_id: int) -> None:
    """Plan an uploaded file's chunks and send one ``ingest_chunk`` task per chunk."""
    ingest_jobs.run_ingest_job(job_id)


@shared_task(acks_late=True, ignore_result=True)
def ingest_chunk(job_id: int, index: int) -> None:
    """Ingest one chunk of a file in one transaction (a re-delivered chunk is a no-op)."""
    try:
        ingest_jobs.run_chunk(job_id, index)
    except Exception as exc:
        job = jobs.Job.objects.filter(pk=job_id).first()
        if job is not None:
            jobs.fail(job, f"Chunk {index} failed: {exc}")
        raise


@shared_task(acks_late=True, ignore_result=True)
def run_sampling(job_id: int) -> None:
    """One sampling run: freeze the picks, then add them to the queue batch by batch."""
    sampling.run_job(job_id)


@shared_task(acks_late=True, ignore_result=True)
def run_due_sampling_rules() -> int:
    """Beat: start a run for every sampling rule whose schedule is due."""
    return sampling.run_due_rules()


@shared_task(acks_late=True, ignore_result=True)
def run_export(job_id: int) -> None:
    """Write a large export's files (see evals.export_jobs)."""
    from .export_jobs import run_export_job

    run_export_job(job_id)


@shared_task(acks_late=True, ignore_result=True)
def run_import(job_id: int) -> None:
    """Import an uploaded judgments file, resuming after its last committed chunk."""
    from .import_jobs import run_import_job

    run_import_job(job_id)


@shared_task(acks_late=True, ignore_result=True)
def expire_exports() -> int:
    """Beat: delete export files past QUORUM_EXPORT_RETENTION_DAYS and mark them expired."""
    from .export_jobs import expire_exports

    return expire_exports()


@shared_task(acks_late=True, ignore_result=True)
def remove_stale_uploads() -> int:
    """Beat: delete uploaded log and judgment files that no job will read again."""
    from .ingest_jobs import remove_stale_uploads

    return remove_stale_uploads()


@shared_task(ignore_result=True)
def check_alerts() -> dict:
    """Evaluate every active alert rule (beat, every few minutes); idempotent."""
    return alerts.check_alerts()


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
