"""Export and import tasks: write a large export's files, import a judgments file,
delete expired exports."""

from celery import shared_task

from evals.exports import import_jobs
from evals.exports import jobs as export_jobs


@shared_task(name="evals.tasks.run_export", acks_late=True, ignore_result=True)
def run_export(job_id: int) -> None:
    """Write a large export's files (see evals.exports.jobs)."""
    export_jobs.run_export_job(job_id)


@shared_task(name="evals.tasks.run_import", acks_late=True, ignore_result=True)
def run_import(job_id: int) -> None:
    """Import an uploaded judgments file, resuming after its last committed chunk."""
    import_jobs.run_import_job(job_id)


@shared_task(name="evals.tasks.expire_exports", acks_late=True, ignore_result=True)
def expire_exports() -> int:
    """Beat: delete export files past QUORUM_EXPORT_RETENTION_DAYS and mark them expired."""
    return export_jobs.expire_exports()
