"""API for exports and imports: create an export job, poll it, download its files,
and import judgments into a queue.

Exports always run as jobs here (a client polls ``GET /exports/{id}`` until
``status`` is ``succeeded``, then downloads each file); the files are served as
attachments with ``nosniff``, only to tokens of the export's workspace.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

from django.http import FileResponse, Http404, HttpRequest
from django.utils import timezone
from ninja import Field, File, Form, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status
from pydantic import StrictFloat

from annotate import audit
from annotate.api_common import ApiError, ErrorOut, get_queue, needs, paginate, responses
from annotate.api_fields import (
    Id,
    IsoDatetime,
    PageQuery,
    RequestSchema,
    StrictBool,
    StrictId,
    Text,
    text,
)
from annotate.models import TokenScope
from evals.exports.import_jobs import record_import
from evals.exports.imports import IMPORT_FORMATS, ImportFileError, import_judgments
from evals.exports.jobs import (
    download_response,
    expired_message,
    export_jobs,
    file_path,
    is_expired,
    job_files,
    start_export,
)
from evals.exports.spec import ExportError, parse_spec
from evals.models import Job

router = Router(tags=["exports"])


class FiltersIn(RequestSchema):  # a misspelt filter must not export everything
    queue_ids: list[StrictId] = []
    since: IsoDatetime | None = None
    until: IsoDatetime | None = None
    cohort_ids: list[StrictId] = []
    model_versions: list[text(max_length=200)] = []  # type: ignore[valid-type]
    min_agreement: StrictFloat | None = Field(None, ge=0, le=1)
    adjudicated_only: StrictBool = False
    exclude_gold: StrictBool = False


class ExportIn(RequestSchema):
    shape: Literal["judgments", "judgments_long", "items", "sft", "preferences"] = "judgments"
    format: Literal["csv", "jsonl", "parquet"] = "parquet"
    filters: FiltersIn = FiltersIn()
    sft_threshold: StrictFloat = Field(0.8, ge=0, le=1)
    keep_ties: StrictBool = Field(False, description="preferences: keep ties and both-bad pairs")


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
    duplicate: int = Field(
        description="rows whose judgment is already there (the same file imported again)"
    )
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


@router.post(
    "/exports",
    auth=needs(TokenScope.EXPORTS),
    response=responses({202: ExportOut}),
    summary="Start an export job",
)
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
    job = start_export(workspace, spec, api_token=request.api_token)  # type: ignore[attr-defined]
    return Status(202, _export_out(job))


@router.get(
    "/exports",
    auth=needs(TokenScope.EXPORTS),
    response=responses({200: ExportPage}),
    summary="Export jobs, oldest first",
)
def list_exports(request: HttpRequest, page: Query[PageQuery]) -> dict:
    qs = export_jobs(request.workspace)  # type: ignore[attr-defined]
    rows, cursor = paginate(qs, "exports", page.cursor, page.limit)
    return {"results": [_export_out(job) for job in rows], "next_cursor": cursor}


@router.get(
    "/exports/{export_id}",
    auth=needs(TokenScope.EXPORTS),
    response=responses({200: ExportOut}),
    summary="Poll an export job",
)
def get_export(request: HttpRequest, export_id: Id) -> ExportOut:
    return _export_out(_get_job(request, export_id))


@router.get(
    "/exports/{export_id}/files/{name}",
    auth=needs(TokenScope.EXPORTS),
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
def download_export_file(request: HttpRequest, export_id: Id, name: Text) -> FileResponse:
    job = _get_job(request, export_id)
    if is_expired(job):
        raise ApiError(410, "expired", expired_message(job))
    path = file_path(job, name)
    if path is None:
        raise Http404
    token = request.api_token  # type: ignore[attr-defined]
    audit.record(job.workspace_id, None, "export.download", job, name, api_token=token)
    return download_response(path)


IMPORT_FIELDS = ("queue_id", "format", "file")


@router.post(
    "/imports",
    auth=needs(TokenScope.IMPORTS),
    response=responses({200: ImportOut}),
    tags=["imports"],
    summary="Import judgments into a queue",
    # Unknown form fields are refused, as unknown JSON fields are everywhere else.
    openapi_extra={
        "requestBody": {
            "content": {"multipart/form-data": {"schema": {"additionalProperties": False}}}
        }
    },
)
def import_file(
    request: HttpRequest,
    queue_id: Form[Id],
    format: Form[Literal["csv", "jsonl", "parquet"]],
    file: File[UploadedFile],
) -> dict:
    unknown = sorted((set(request.POST) | set(request.FILES)) - set(IMPORT_FIELDS))
    if unknown:
        raise ApiError(
            422,
            "invalid",
            f"The request is not valid: unknown field {', '.join(map(repr, unknown))}; "
            f"the fields are {', '.join(IMPORT_FIELDS)}.",
            [
                {"type": "extra_forbidden", "loc": ["form", name], "msg": "Unknown field"}
                for name in unknown
            ],
        )
    queue = get_queue(request, queue_id)
    if format not in IMPORT_FORMATS:
        raise ApiError(400, "bad_format", "format must be csv, jsonl or parquet.")
    if not file.size:
        raise ApiError(400, "bad_file", "The file is empty.")
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
    record_import(queue, None, file.name or "", format, result, api_token=token)
    return result.as_dict()
