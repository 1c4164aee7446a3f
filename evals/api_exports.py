"""API for exports and imports: create an export job, poll it, download its files,
and import judgments into a queue.

Exports always run as jobs here (a client polls ``GET /exports/{id}`` until
``status`` is ``succeeded``, then downloads each file); the files are served as
attachments with ``nosniff``, only to tokens of the export's workspace.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from django.http import FileResponse, Http404, HttpRequest
from django.utils import timezone
from ninja import Field, File, Form, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status
from pydantic import ConfigDict

from annotate import audit
from annotate.api import PageQuery, get_queue

from .api_common import ApiError, ErrorOut, paginate, responses
from .export_jobs import (
    expired_message,
    export_jobs,
    file_path,
    is_expired,
    job_files,
    start_export,
)
from .exports import ExportError, parse_spec
from .import_jobs import record_import
from .imports import IMPORT_FORMATS, ImportFileError, import_judgments
from .models import Job

router = Router(tags=["exports"])


class FiltersIn(Schema):
    model_config = ConfigDict(extra="forbid")  # a misspelt filter must not export everything

    queue_ids: list[int] = []
    since: datetime | None = None
    until: datetime | None = None
    cohort_ids: list[int] = []
    model_versions: list[str] = []
    min_agreement: float | None = Field(None, ge=0, le=1)
    adjudicated_only: bool = False
    exclude_gold: bool = False


class ExportIn(Schema):
    model_config = ConfigDict(extra="forbid")

    shape: Literal["judgments", "judgments_long", "items", "sft", "preferences"] = "judgments"
    format: Literal["csv", "jsonl", "parquet"] = "parquet"
    filters: FiltersIn = FiltersIn()
    sft_threshold: float = Field(0.8, ge=0, le=1)
    keep_ties: bool = Field(False, description="preferences: keep ties and both-bad pairs")


class FileOut(Schema):
    name: str
    bytes: int
    sha256: str | None
    url: str


class ExportOut(Schema):
    id: int
    status: str
    progress: int
    total: int | None
    percent: int
    shape: str
    format: str
    snapshot_at: str | None
    error: str
    expired_at: str | None = Field(
        None, description="When the files were deleted (QUORUM_EXPORT_RETENTION_DAYS)"
    )
    files: list[FileOut]


class ExportPage(Schema):
    results: list[ExportOut]
    next_cursor: str | None


class RowError(Schema):
    row: int
    message: str


class ImportOut(Schema):
    rows: int
    created: int
    items_created: int
    reviewers_created: int
    refused: int = Field(description="bad rows; errors lists the first 1,000")
    errors: list[RowError]


def _export_out(job: Job) -> ExportOut:
    files = [
        FileOut(
            name=f["name"],
            bytes=f["bytes"],
            sha256=f.get("sha256"),
            url=f"/api/v1/exports/{job.pk}/files/{f['name']}",
        )
        for f in job_files(job)
    ]
    return ExportOut(
        id=job.pk,
        status=job.status,
        progress=job.progress,
        total=job.total,
        percent=job.percent,
        shape=str(job.params.get("shape", "")),
        format=str(job.params.get("format", "")),
        snapshot_at=job.params.get("snapshot_at"),
        error=job.error,
        expired_at=(job.result or {}).get("expired_at"),
        files=files,
    )


def _get_job(request: HttpRequest, export_id: int) -> Job:
    job = export_jobs(request.workspace).filter(pk=export_id).first()  # type: ignore[attr-defined]
    if job is None:
        raise Http404
    return job


@router.post("/exports", response=responses({202: ExportOut}), summary="Start an export job")
def create_export(request: HttpRequest, payload: ExportIn) -> Status:
    workspace = request.workspace  # type: ignore[attr-defined]
    filters: dict[str, Any] = payload.filters.dict()
    try:
        spec = parse_spec(
            workspace,
            shape=payload.shape,
            format=payload.format,
            snapshot_at=timezone.now(),
            filters=filters,
            sft_threshold=payload.sft_threshold,
            keep_ties=payload.keep_ties,
        )
    except ExportError as exc:
        raise ApiError(400, "bad_filter", str(exc)) from None
    token = request.api_token  # type: ignore[attr-defined]
    job = start_export(workspace, spec, api_token=token.prefix)
    return Status(202, _export_out(job))


@router.get("/exports", response=responses({200: ExportPage}), summary="Export jobs, oldest first")
def list_exports(request: HttpRequest, page: Query[PageQuery]) -> dict:
    qs = export_jobs(request.workspace)  # type: ignore[attr-defined]
    rows, cursor = paginate(qs, "exports", page.cursor, page.limit)
    return {"results": [_export_out(job) for job in rows], "next_cursor": cursor}


@router.get(
    "/exports/{export_id}", response=responses({200: ExportOut}), summary="Poll an export job"
)
def get_export(request: HttpRequest, export_id: int) -> ExportOut:
    return _export_out(_get_job(request, export_id))


@router.get(
    "/exports/{export_id}/files/{name}",
    summary="Download one file of a finished export",
    response=responses({200: None, 410: ErrorOut}),
    openapi_extra={
        "responses": {
            200: {
                "description": "The file, as an attachment",
                "content": {"application/octet-stream": {"schema": {"type": "string"}}},
            }
        }
    },
)
def download_export_file(request: HttpRequest, export_id: int, name: str) -> FileResponse:
    job = _get_job(request, export_id)
    if is_expired(job):
        raise ApiError(410, "expired", expired_message(job))
    path = file_path(job, name)
    if path is None:
        raise Http404
    token = request.api_token  # type: ignore[attr-defined]
    audit.record(job.workspace_id, None, "export.download", job, name, api_token=token.prefix)
    return download_response(path)


def download_response(path: Path) -> FileResponse:
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=path.name,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@router.post(
    "/imports",
    response=responses({200: ImportOut}),
    tags=["imports"],
    summary="Import judgments into a queue",
)
def import_file(
    request: HttpRequest,
    queue_id: Form[int],
    format: Form[Literal["csv", "jsonl", "parquet"]],
    file: File[UploadedFile],
) -> dict:
    queue = get_queue(request, queue_id)
    if format not in IMPORT_FORMATS:
        raise ApiError(400, "bad_format", "format must be csv, jsonl or parquet.")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload.{format}"
        with path.open("wb") as handle:
            for chunk in file.chunks():
                handle.write(chunk)
        try:
            result = import_judgments(queue, path, format)
        except ImportFileError as exc:
            raise ApiError(400, "bad_file", str(exc)) from None
    token = request.api_token  # type: ignore[attr-defined]
    record_import(queue, None, file.name or "", format, result, api_token=token.prefix)
    return result.as_dict()
