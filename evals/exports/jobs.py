"""Export jobs: large exports run on a Celery worker and leave files to download.

The job row's ``params`` hold the export spec (with its ``snapshot_at``, the job's
creation time), so a re-run after a crash writes the very same bytes. Files live
under ``MEDIA_ROOT/exports/<job id>/``; a run writes into a fresh temporary folder
and swaps it in when complete, so a half-written export is never served.

Files are kept ``QUORUM_EXPORT_RETENTION_DAYS`` after the job finished: beat runs
``expire_exports``, which deletes older exports' files and marks their jobs expired
(``result["expired_at"]``); their downloads then answer 410 Gone.
A re-run first deletes the temporary folders of the attempts whose worker died.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import FileResponse
from django.utils import timezone

from annotate import audit
from annotate.models import Workspace
from evals import jobs
from evals.exports.pipeline import count_rows, write_export
from evals.exports.spec import ExportSpec, spec_from_dict
from evals.exports.writers import format_time
from evals.jobs import retention_days
from evals.models import Job

KIND = "export"
TASK = "evals.tasks.run_export"
# Exports reading more judgments than this run as a job instead of streaming directly.
DIRECT_LIMIT = getattr(settings, "QUORUM_EXPORT_DIRECT_LIMIT", 20_000)


def exports_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "exports"


def export_dir(job: Job) -> Path:
    return exports_root() / str(job.pk)


def start_export(workspace: Workspace, spec: ExportSpec, user=None, **audit_details) -> Job:
    """Queue an export job for ``spec``; its task runs once the transaction commits."""
    job = jobs.create_job(
        workspace, KIND, TASK, params=spec.as_dict(), user=user, total=count_rows(workspace, spec)
    )
    summary = f"{spec.shape} as {spec.format}"
    audit.record(workspace, user, "export.start", job, summary, **audit_details)
    return job


def _progress(job: Job):
    pause = jobs.throttle_seconds("QUORUM_EXPORT_THROTTLE_SECONDS")

    def progress(rows: int) -> None:
        jobs.beat(job, rows, job.total)
        if pause:
            time.sleep(pause)

    return progress


def remove_partial(job: Job) -> int:
    """Delete the half-written folders an earlier attempt of this job left (its worker died)."""
    partial = list(exports_root().glob(f".{job.pk}-*"))
    for folder in partial:
        shutil.rmtree(folder, ignore_errors=True)
    return len(partial)


def run_export_job(job_id: int) -> None:
    job = jobs.start(job_id)
    if job is None:
        return
    try:
        spec = spec_from_dict(job.workspace, job.params)
        final = export_dir(job)
        final.parent.mkdir(parents=True, exist_ok=True)
        remove_partial(job)
        work = Path(tempfile.mkdtemp(prefix=f".{job.pk}-", dir=final.parent))
        manifest = write_export(job.workspace, spec, work, progress=_progress(job))
        if final.exists():
            shutil.rmtree(final)
        work.rename(final)
        jobs.succeed(job, {"files": manifest["files"], "counts": manifest["counts"]})
    except Exception as exc:  # the job row records why; the worker stays up
        jobs.fail(job, f"{type(exc).__name__}: {exc}")
        raise


def export_jobs(workspace: Workspace):
    return Job.objects.filter(workspace=workspace, kind=KIND)


def job_files(job: Job) -> list[dict[str, Any]]:
    """The job's files (data, README, manifest) with sizes and checksums, once it succeeded
    (none once it expired)."""
    if job.status != Job.Status.SUCCEEDED or is_expired(job):
        return []
    files = list(job.result.get("files", []))
    manifest = export_dir(job) / "manifest.json"
    if manifest.exists():
        files.append({"name": "manifest.json", "bytes": manifest.stat().st_size, "sha256": None})
    return files


def file_path(job: Job, name: str) -> Path | None:
    """The path of one of the job's files, or None (unknown name, not finished, deleted)."""
    if name not in {f["name"] for f in job_files(job)}:
        return None
    path = export_dir(job) / name
    return path if path.is_file() else None


# --- Retention --------------------------------------------------------------------------


def is_expired(job: Job) -> bool:
    return bool((job.result or {}).get("expired_at"))


def expired_message(job: Job) -> str:
    return (
        f"This export's files were deleted on {job.result['expired_at'][:10]}, "
        f"{retention_days()} days after it finished. Run the export again for fresh files."
    )


def expire_exports(now: datetime | None = None) -> int:
    """Delete the files of exports that finished more than ``retention_days()`` ago and mark
    their jobs expired. Safe to run twice or to stop midway: files go first, then the mark."""
    days = retention_days()
    if days <= 0:
        return 0
    now = now or timezone.now()
    old = Job.objects.filter(
        kind=KIND, status=Job.Status.SUCCEEDED, finished_at__lt=now - timedelta(days=days)
    ).exclude(result__has_key="expired_at")
    expired = 0
    for job in old.iterator():
        shutil.rmtree(export_dir(job), ignore_errors=True)
        Job.objects.filter(pk=job.pk).update(result={**job.result, "expired_at": format_time(now)})
        expired += 1
    _remove_abandoned_work(now - timedelta(days=days))
    return expired


def _remove_abandoned_work(before: datetime) -> None:
    """Temporary folders (``.<job id>-...``) that killed runs left behind."""
    root = exports_root()
    if not root.is_dir():
        return
    for folder in root.glob(".*-*"):
        if folder.is_dir() and folder.stat().st_mtime < before.timestamp():
            shutil.rmtree(folder, ignore_errors=True)


def download_response(path: Path) -> FileResponse:
    """A finished export's file as an attachment that is never cached or sniffed."""
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=path.name,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
