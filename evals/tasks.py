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
