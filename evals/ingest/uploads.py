"""Files in: uploads and backfills, cut into chunks that Celery workers ingest one by one.

A file is stored under ``MEDIA_ROOT/uploads/<job id>/``. The job's task plans the
chunks (byte ranges that end on record boundaries, with their first line number)
as ``IngestChunk`` rows and sends one task per chunk. A chunk is ingested in one
transaction that also marks its row done, so a worker killed mid-chunk leaves no
trace and the retried chunk adds exactly its own lines. The last chunk to finish
writes the report (counts and bad lines) on the job.
"""

from __future__ import annotations

import gzip
import shutil
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from annotate.models import Workspace
from annotate.text import replace_bad_text
from evals import jobs
from evals.ingest.pipeline import (
    Format,
    Parser,
    Reason,
    Report,
    ingest_lines,
    iter_csv_records,
    iter_lines,
    parse_csv_record,
)
from evals.jobs import retention_days
from evals.models import IngestChunk, Job, Source
from quorum.celery import app

JOB_KIND = "ingest"
JOB_TASK = "evals.tasks.ingest_file"
CHUNK_TASK = "evals.tasks.ingest_chunk"
GZIP_MAGIC = b"\x1f\x8b"


class FileTooLarge(Exception):
    reason = Reason.FILE_TOO_LARGE


def upload_limit() -> int:
    return getattr(settings, "QUORUM_UPLOAD_MAX_BYTES", 512 * 1024 * 1024)


def lines_per_chunk() -> int:
    return getattr(settings, "QUORUM_INGEST_CHUNK_LINES", 20_000)


def upload_dir(job: Job) -> Path:
    return Path(settings.MEDIA_ROOT) / "uploads" / str(job.pk)


def copy_limited(src: IO[bytes], dest: Path, limit: int) -> int:
    """Copy a stream (gunzipped if it is gzip) to ``dest``; FileTooLarge past ``limit``."""
    head = src.read(2)
    stream: IO[bytes] = src
    rest = b""
    if head == GZIP_MAGIC:
        src.seek(0)
        stream = gzip.GzipFile(fileobj=src)
    else:
        rest = head
    written = 0
    with dest.open("wb") as out:
        out.write(rest)
        written += len(rest)
        while block := stream.read(1024 * 1024):
            written += len(block)
            if written > limit:
                raise FileTooLarge(f"The file is over the upload limit of {limit} bytes.")
            out.write(block)
    return written


def detect_format(filename: str, declared: str = "") -> str:
    if declared in (Format.JSONL, Format.CSV):
        return declared
    name = filename.lower().removesuffix(".gz")
    return Format.CSV if name.endswith(".csv") else Format.JSONL


def create_upload_job(
    workspace: Workspace, source: Source, upload: IO[bytes], filename: str, fmt: str, user=None
) -> Job:
    """Store an uploaded file and its job. JSONL starts at once; CSV waits for its mapping."""
    if getattr(upload, "size", 0) and upload.size > upload_limit():  # type: ignore[attr-defined]
        raise FileTooLarge(f"The file is over the upload limit of {upload_limit()} bytes.")
    fmt = detect_format(filename, fmt)
    with transaction.atomic():
        job = Job.objects.create(
            workspace=workspace,
            kind=JOB_KIND,
            task_name=JOB_TASK,
            created_by=user,
            params={"source_id": source.pk, "format": fmt, "filename": filename[:200]},
        )
        folder = upload_dir(job)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "data"
        try:
            copy_limited(upload, path, upload_limit())
        except (FileTooLarge, OSError, EOFError, gzip.BadGzipFile):
            shutil.rmtree(folder, ignore_errors=True)
            raise
        job.params["path"] = str(path)
        if fmt == Format.CSV:
            job.params["header"] = read_csv_header(path)
        job.save(update_fields=["params"])
        if fmt == Format.JSONL:
            transaction.on_commit(lambda: jobs.dispatch(job))
    return job


def create_file_job(
    workspace: Workspace, source: Source, path: Path, fmt: str, mapping=None, user=None
) -> Job:
    """A job over a file already on disk (the ``ingest`` command's backfills)."""
    fmt = detect_format(path.name, fmt)
    params: dict[str, Any] = {
        "source_id": source.pk,
        "format": fmt,
        "filename": path.name,
        "path": str(path),
    }
    if fmt == Format.CSV:
        params["header"] = read_csv_header(path)
        params["mapping"] = mapping
    return Job.objects.create(
        workspace=workspace, kind=JOB_KIND, task_name=JOB_TASK, created_by=user, params=params
    )


def start_csv_job(job: Job, mapping: dict[str, str]) -> None:
    job.params["mapping"] = mapping
    job.save(update_fields=["params"])
    transaction.on_commit(lambda: jobs.dispatch(job))


# --- Reading files ------------------------------------------------------------------------


def read_csv_header(path: Path) -> list[str]:
    with path.open("rb") as f:
        for _, raw in iter_csv_records(f):
            cells = parse_csv_record(raw.decode("utf-8", errors="replace").lstrip("\ufeff"))
            # Column names become metadata keys: a NUL is replaced, as bad UTF-8 just was.
            return [replace_bad_text(c.strip()) for c in cells]
    return []


def preview_csv(path: Path, rows: int = 5) -> list[list[str]]:
    out: list[list[str]] = []
    with path.open("rb") as f:
        records = iter_csv_records(f)
        next(records, None)
        for _, raw in records:
            if len(out) >= rows:
                break
            out.append(parse_csv_record(raw.decode("utf-8", errors="replace")))
    return out


def _records(stream: IO[bytes], fmt: str, first_line: int) -> Iterator[tuple[int, bytes]]:
    return (
        iter_csv_records(stream, first_line)
        if fmt == Format.CSV
        else iter_lines(stream, first_line)
    )


def plan_chunks(path: Path, fmt: str, per_chunk: int) -> list[dict[str, int]]:
    """Byte ranges of ``per_chunk`` records each (CSV: after the header)."""
    chunks: list[dict[str, int]] = []
    with path.open("rb") as f:
        first_line, lines, start = 1, 0, 0
        records = _records(f, fmt, 1)
        if fmt == Format.CSV:
            next(records, None)
            start = f.tell()
            first_line = 2
        next_line = first_line
        for number, raw in records:
            if lines == 0:
                first_line = number
            lines += 1
            next_line = number + raw.count(b"\n") + (0 if raw.endswith(b"\n") else 1)
            if lines >= per_chunk:
                end = f.tell()
                chunks.append(
                    {"start": start, "end": end, "first_line": first_line, "lines": lines}
                )
                start, lines, first_line = end, 0, next_line
        end = f.tell()
        if lines:
            chunks.append({"start": start, "end": end, "first_line": first_line, "lines": lines})
    return chunks


def read_range(path: Path, fmt: str, start: int, end: int, first_line: int):
    """The records in ``[start, end)``, numbered from ``first_line``."""
    with path.open("rb") as f:
        f.seek(start)
        bounded = _Bounded(f, end - start)
        yield from _records(bounded, fmt, first_line)


class _Bounded:
    """A binary reader that stops after ``remaining`` bytes."""

    def __init__(self, f: IO[bytes], remaining: int) -> None:
        self.f, self.remaining = f, remaining

    def readline(self, limit: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        size = self.remaining if limit < 0 else min(limit, self.remaining)
        raw = self.f.readline(size)
        self.remaining -= len(raw)
        return raw


# --- The job and its chunks ----------------------------------------------------------------


def run_ingest_job(job_id: int, *, inline: bool = False) -> Job | None:
    """Plan the chunks (idempotent) and send the ones not done; inline runs them here."""
    job = jobs.start(job_id)
    if job is None:
        # Already running (re-sent while other chunks kept its heartbeat fresh): send its
        # pending chunks again; a chunk that is done or in progress ignores the second copy.
        job = Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).first()
        if job is None or not job.ingest_chunks.exists():
            return None
    params = job.params
    if params.get("format") == Format.CSV and not params.get("mapping"):
        jobs.fail(job, "A CSV file needs its column mapping first.")
        return job
    path = Path(params["path"])
    if not path.exists():
        jobs.fail(job, "The uploaded file is gone.")
        return job
    if not job.ingest_chunks.exists():
        plan = plan_chunks(path, params["format"], params.get("chunk_lines") or lines_per_chunk())
        IngestChunk.objects.bulk_create(
            [
                IngestChunk(
                    job=job,
                    index=i,
                    start_offset=c["start"],
                    end_offset=c["end"],
                    first_line=c["first_line"],
                    lines=c["lines"],
                )
                for i, c in enumerate(plan)
            ],
            ignore_conflicts=True,
        )
    total = job.ingest_chunks.aggregate(n=Sum("lines"))["n"] or 0
    jobs.beat(job, progress=_progress(job), total=total)
    pending = list(
        job.ingest_chunks.filter(status=IngestChunk.Status.PENDING).values_list("index", flat=True)
    )
    if not pending:
        finish(job)
        return job
    if inline:
        for index in pending:
            run_chunk(job.pk, index)
    else:
        for index in pending:
            app.send_task(CHUNK_TASK, args=[job.pk, index])
    return job


def _progress(job: Job) -> int:
    return (
        job.ingest_chunks.filter(status=IngestChunk.Status.DONE).aggregate(n=Sum("lines"))["n"] or 0
    )


def _throttled(lines, every: int):
    """Lines, with the test pause (``jobs.throttle_seconds``) after every ``every`` of them."""
    pause = jobs.throttle_seconds("QUORUM_INGEST_THROTTLE_SECONDS")
    for n, line in enumerate(lines, 1):
        yield line
        if pause and n % every == 0:
            time.sleep(pause)


def run_chunk(job_id: int, index: int) -> bool:
    """Ingest one chunk in one transaction. False if it was already done or the job is over."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.is_finished:
        return False
    params = job.params
    source = Source.objects.get(pk=params["source_id"])
    parser = Parser(source, params["format"], params.get("header"), params.get("mapping"))
    batch = getattr(settings, "QUORUM_INGEST_BATCH", 1000)
    with transaction.atomic():
        chunk = (
            IngestChunk.objects.select_for_update()
            .filter(job_id=job_id, index=index, status=IngestChunk.Status.PENDING)
            .first()
        )
        if chunk is None:
            return False
        lines = read_range(
            Path(params["path"]),
            params["format"],
            chunk.start_offset,
            chunk.end_offset,
            chunk.first_line,
        )
        report = ingest_lines(source, _throttled(lines, batch), parser=parser, batch_size=batch)
        chunk.status = IngestChunk.Status.DONE
        chunk.lines_read = report.lines_read
        chunk.accepted = report.accepted
        chunk.duplicate = report.duplicate
        chunk.rejected = report.rejected
        chunk.reasons = dict(report.reasons)
        chunk.errors = report.errors
        chunk.finished_at = timezone.now()
        chunk.save()
    jobs.beat(job, progress=_progress(job))
    if not job.ingest_chunks.filter(status=IngestChunk.Status.PENDING).exists():
        finish(job)
    return True


def job_report(job: Job) -> Report:
    report = Report()
    for chunk in job.ingest_chunks.filter(status=IngestChunk.Status.DONE).order_by("index"):
        report.merge(
            {
                "lines_read": chunk.lines_read,
                "accepted": chunk.accepted,
                "duplicate": chunk.duplicate,
                "rejected": chunk.rejected,
                "reasons": chunk.reasons,
                "errors": chunk.errors,
            }
        )
    return report


def finish(job: Job) -> None:
    job.refresh_from_db()
    if job.is_finished:
        return
    jobs.succeed(job, job_report(job).as_dict())
    # The report lives on the chunks: the uploaded copy is no longer needed.
    shutil.rmtree(upload_dir(job), ignore_errors=True)


def remove_stale_uploads(now=None) -> int:
    """Delete uploaded files no job will read again: those of finished jobs (a failed or
    cancelled job keeps its file until this runs), of deleted jobs, and of uploads left
    waiting (a CSV whose column mapping was never confirmed) longer than
    ``QUORUM_EXPORT_RETENTION_DAYS``; such a job is failed with the reason. Files of
    running jobs stay. Returns how many folders were removed."""
    cutoff = (now or timezone.now()) - timedelta(days=max(1, retention_days()))
    removed = 0
    for root, kind in (
        (Path(settings.MEDIA_ROOT) / "uploads", JOB_KIND),
        (Path(settings.MEDIA_ROOT) / "imports", "import"),
    ):
        if not root.is_dir():
            continue
        folders = {int(p.name): p for p in root.iterdir() if p.is_dir() and p.name.isdigit()}
        jobs_by_id = Job.objects.filter(pk__in=folders, kind=kind).in_bulk()
        for job_id, folder in folders.items():
            job = jobs_by_id.get(job_id)
            if job is not None and job.status == Job.Status.RUNNING:
                continue
            if job is not None and job.status == Job.Status.QUEUED:
                if job.created_at >= cutoff:
                    continue
                jobs.fail(job, "The upload waited too long and was removed; upload it again.")
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def ingest_file(
    workspace: Workspace, source: Source, path: Path, fmt: str = "", mapping=None, user=None
) -> Job:
    """Backfill a file on disk through the upload's code path, in this process."""
    job = create_file_job(workspace, source, path, fmt, mapping, user)
    run_ingest_job(job.pk, inline=True)
    job.refresh_from_db()
    return job
