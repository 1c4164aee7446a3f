"""POST /api/v1/logs: push production logs as a JSON array or JSONL, gzip accepted.

The body is read as a stream, line by line, through the same ``evals.ingest.pipeline``
pipeline the uploads use. The answer counts accepted / duplicate / rejected lines
and lists the rejected ones with their line numbers and reason codes.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema

from annotate import audit
from annotate.api_common import ApiError, needs, responses
from annotate.api_fields import QuerySchema, Text, text
from annotate.models import TokenScope
from evals.ingest.pipeline import Reason, Report, ingest_lines, iter_lines
from evals.models import Log, Source

router = Router(tags=["logs"])


class SourceQuery(QuerySchema):  # a misspelt ?source= must not send logs to "api"
    source: text(min_length=1, max_length=100) = Field(  # type: ignore[valid-type]
        "api", description="The source's name (1 to 100 characters); created when new."
    )


class RejectedLine(Schema):
    line: int
    reason: str
    message: str


class IngestReportOut(Schema):
    lines_read: int
    accepted: int
    duplicate: int
    rejected: int
    reasons: dict[str, int]
    errors: list[RejectedLine]


class LogOut(Schema):
    external_id: str
    timestamp: datetime
    model_name: str
    model_version: str
    input_text: str
    input_messages: list[Any]
    output: str
    metadata: dict[str, Any]
    feedback: dict[str, Any]
    redacted: bool


GZIP_TYPES = {"application/gzip", "application/x-gzip"}
JSONL_TYPES = {"application/x-ndjson", "application/jsonl", "application/x-jsonlines", "text/plain"}


class BodyTooLarge(Exception):
    pass


class _Limited(io.RawIOBase):
    """A readable stream that raises BodyTooLarge after ``limit`` bytes."""

    def __init__(self, stream, limit: int) -> None:
        self.stream, self.limit, self.seen = stream, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.stream.read(len(buffer))
        self.seen += len(data)
        if self.seen > self.limit:
            raise BodyTooLarge
        buffer[: len(data)] = data
        return len(data)


def _body_stream(request: HttpRequest, limit: int):
    content_type = request.content_type or ""
    encoding = request.headers.get("Content-Encoding", "").lower()
    raw = io.BufferedReader(_Limited(request, limit))
    if encoding == "gzip" or content_type in GZIP_TYPES:
        # The decompressed size is limited too (a small gzip can hold a huge body).
        return io.BufferedReader(_Limited(gzip.GzipFile(fileobj=raw), limit))
    return raw


def _array_lines(body: bytes) -> list[tuple[int, bytes]] | None:
    """A JSON array body as numbered lines (one per element); None if it is not an array."""
    try:
        value = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(value, list):
        return None
    return [(n, json.dumps(element).encode()) for n, element in enumerate(value, 1)]


def _source(request: HttpRequest, name: str) -> Source:
    source, _ = Source.objects.get_or_create(
        workspace=request.workspace,  # type: ignore[attr-defined]
        name=name,
    )
    return source


@router.post(
    "",
    auth=needs(TokenScope.LOGS_WRITE),
    response=responses({200: IngestReportOut}),
    summary="Ingest logs (JSON array or JSONL; gzip accepted)",
)
def post_logs(request: HttpRequest, query: Query[SourceQuery]) -> Any:
    source = query.source
    limit = settings.QUORUM_API_MAX_BODY_BYTES
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    if declared > limit:
        raise _too_large(limit)
    log_source = _source(request, source)
    content_type = request.content_type or ""
    try:
        stream = _body_stream(request, limit)
        head = stream.peek(64)[:64].lstrip()
        if content_type not in JSONL_TYPES and (
            content_type == "application/json" or head.startswith(b"[")
        ):
            body = stream.read()
            lines = _array_lines(body)
            if lines is None and content_type == "application/json":
                raise ApiError(400, Reason.INVALID_JSON, "The body is not a JSON array.")
            report = ingest_lines(log_source, lines or iter_lines(io.BytesIO(body)))
        else:
            report = ingest_lines(log_source, iter_lines(stream))
    except BodyTooLarge:
        raise _too_large(limit) from None
    except (OSError, EOFError, zlib.error):
        raise ApiError(400, "invalid_gzip", "The gzip body could not be read.") from None
    audit.record(
        log_source.workspace_id,
        None,
        "logs.ingest",
        log_source,
        f"{report.accepted} logs accepted, {report.duplicate} duplicate, "
        f"{report.rejected} rejected into {log_source.name!r}",
        api_token=request.api_token,  # type: ignore[attr-defined]
        accepted=report.accepted,
        duplicate=report.duplicate,
        rejected=report.rejected,
    )
    return _answer(request, report)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, Reason.FILE_TOO_LARGE, f"The body is over the limit of {limit} bytes.")


def _answer(request: HttpRequest, report: Report) -> dict[str, Any]:
    return {
        "lines_read": report.lines_read,
        "accepted": report.accepted,
        "duplicate": report.duplicate,
        "rejected": report.rejected,
        "reasons": dict(report.reasons),
        "errors": [
            {"line": line, "reason": reason, "message": message}
            for line, reason, message in report.errors
        ],
    }


@router.get(
    "/{external_id}",
    auth=needs(TokenScope.READ),
    response=responses({200: LogOut}),
    summary="One log of this workspace, by source and external id",
)
def get_log(request: HttpRequest, external_id: Text, query: Query[SourceQuery]) -> dict[str, Any]:
    source = query.source
    log = (
        Log.objects.filter(
            workspace=request.workspace,  # type: ignore[attr-defined]
            source__name=source,
            external_id=external_id,
        )
        .values(
            "external_id",
            "timestamp",
            "model_name",
            "model_version",
            "input_text",
            "input_messages",
            "output",
            "metadata",
            "feedback",
            "redacted",
        )  # fmt: skip
        .first()
    )
    if log is None:
        raise Http404
    return log
