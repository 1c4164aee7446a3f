"""Judgment imports from the browser: small files at once, large ones as a Celery job.

A job's file is stored under ``MEDIA_ROOT/imports/<job id>/``. The worker imports it
chunk by chunk (``imports.import_judgments``); each chunk's transaction also writes a
checkpoint on the job (the result so far and the rows read), so a run stopped midway
(a killed worker, re-queued by the reaper) resumes after the last committed chunk and
the report counts every row once. The file is deleted when the job ends.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db import transaction

from annotate import audit
from annotate.models import Queue, Workspace
from evals import jobs
from evals.exports.imports import (
    IMPORT_FORMATS,
    ImportFileError,
    ImportResult,
    count_rows,
    import_judgments,
)
from evals.ingest.uploads import copy_limited, upload_limit
from evals.models import Job

KIND = "import"
TASK = "evals.tasks.run_import"
# Files up to this size import during the request; larger ones (or on request) run as a job.
DIRECT_BYTES = 2 * 1024 * 1024
EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


def detect_format(filename: str, declared: str = "") -> str:
    """The declared format, else the one the file name says; "" when neither says."""
    if declared in IMPORT_FORMATS:
        return declared
    name = filename.lower().removesuffix(".gz")
    return next((fmt for ext, fmt in EXTENSIONS.items() if name.endswith(ext)), "")


def import_dir(job: Job) -> Path:
    return Path(settings.MEDIA_ROOT) / "imports" / str(job.pk)


def import_jobs(workspace: Workspace):
    return Job.objects.filter(workspace=workspace, kind=KIND)


def record_import(
    queue: Queue, user, filename: str, fmt: str, result: ImportResult, **extra
) -> None:
    """The audit event of a finished import (browser, job or API)."""
    audit.record(
        queue.workspace_id,
        user,
        "judgments.import",
        queue,
        f"{filename[:150]}: {result.created} judgments created, {result.duplicate} duplicates, "
        f"{result.refused} rows refused",
        filename=filename[:200],
        format=fmt,
        rows=result.rows,
        created=result.created,
        items_created=result.items_created,
        reviewers_created=result.reviewers_created,
        duplicate=result.duplicate,
        refused=result.refused,
        **extra,
    )


def start_import(queue: Queue, upload: IO[bytes], filename: str, fmt: str, user=None) -> Job:
    """Store an uploaded file and queue its import job (sent once the transaction commits).
    Raises ingest_jobs.FileTooLarge past QUORUM_UPLOAD_MAX_BYTES."""
    with transaction.atomic():
        job = jobs.create_job(
            queue.workspace,
            KIND,
            TASK,
            params={"queue_id": queue.pk, "format": fmt, "filename": filename[:200]},
            user=user,
        )
        folder = import_dir(job)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"data.{fmt}"
        try:
            copy_limited(upload, path, upload_limit())
        except Exception:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        job.params["path"] = str(path)
        job.save(update_fields=["params"])
    return job


def run_import_job(job_id: int) -> None:
    job = jobs.start(job_id)
    if job is None:
        return
    queue = Queue.objects.filter(pk=job.params.get("queue_id"), workspace=job.workspace).first()
    path = Path(job.params.get("path", ""))
    fmt = job.params.get("format", "")
    if queue is None or not path.is_file():
        jobs.fail(job, "The queue or the uploaded file is gone; upload the file again.")
        return
    done = int((job.result or {}).get("checkpoint", 0))
    resume = ImportResult.from_dict(job.result) if done else None
    total = count_rows(path, fmt)
    jobs.beat(job, done, total)

    def checkpoint(result: ImportResult, read: int) -> None:
        Job.objects.filter(pk=job.pk).update(result={**result.as_dict(), "checkpoint": read})
        jobs.beat(job, read, total)

    try:
        result = import_judgments(queue, path, fmt, checkpoint, resume=resume, skip=done)
    except ImportFileError as exc:
        jobs.fail(job, str(exc))
        shutil.rmtree(import_dir(job), ignore_errors=True)
        return
    except Exception as exc:  # the job row records why; the worker stays up
        jobs.fail(job, f"{type(exc).__name__}: {exc}")
        raise
    with transaction.atomic():
        jobs.succeed(job, result.as_dict())
        record_import(queue, job.created_by, job.params.get("filename", ""), fmt, result)
    shutil.rmtree(import_dir(job), ignore_errors=True)
