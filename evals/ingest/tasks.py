"""Ingest tasks: plan an uploaded file's chunks, ingest one chunk, clean old uploads."""

from celery import shared_task

from evals import jobs
from evals.ingest import uploads


@shared_task(name="evals.tasks.ingest_file", acks_late=True, ignore_result=True)
def ingest_file(job_id: int) -> None:
    """Plan an uploaded file's chunks and send one ``ingest_chunk`` task per chunk."""
    uploads.run_ingest_job(job_id)


@shared_task(name="evals.tasks.ingest_chunk", acks_late=True, ignore_result=True)
def ingest_chunk(job_id: int, index: int) -> None:
    """Ingest one chunk of a file in one transaction (a re-delivered chunk is a no-op)."""
    try:
        uploads.run_chunk(job_id, index)
    except Exception as exc:
        job = jobs.Job.objects.filter(pk=job_id).first()
        if job is not None:
            jobs.fail(job, f"Chunk {index} failed: {exc}")
        raise


@shared_task(name="evals.tasks.remove_stale_uploads", acks_late=True, ignore_result=True)
def remove_stale_uploads() -> int:
    """Beat: delete uploaded log and judgment files that no job will read again."""
    return uploads.remove_stale_uploads()
