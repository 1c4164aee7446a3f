"""Inserting parsed records in bulk, never storing a log twice.

On PostgreSQL rows are COPied into a temporary table and moved with ``INSERT ...
SELECT ... ON CONFLICT DO NOTHING`` (the row count is the number accepted); on
SQLite the batch's existing ids are read inside the same write transaction, then
``bulk_create(ignore_conflicts=True)``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from django.db import connection, transaction
from django.utils import timezone

from evals.models import Log, Source


def insert_records(
    source: Source, records: list[dict[str, Any]], payload: bytes | None = None
) -> int:
    """Insert records not stored yet; returns how many were new. Duplicates are skipped.

    ``payload`` is ``copy_text(records)`` when the caller made it already.
    """
    if not records:
        return 0
    with transaction.atomic():
        if connection.vendor == "postgresql":
            return _insert_postgres(source, payload or copy_text(records))
        return _insert_portable(source, records)


def _insert_portable(source: Source, records: list[dict[str, Any]]) -> int:
    ids = [r["external_id"] for r in records]
    seen = set(
        Log.objects.filter(source=source, external_id__in=set(ids)).values_list(
            "external_id", flat=True
        )
    )
    now = timezone.now()
    new = []
    for record in records:
        if record["external_id"] in seen:
            continue
        seen.add(record["external_id"])
        new.append(Log(workspace_id=source.workspace_id, source=source, created_at=now, **record))
    Log.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


STAGE_COLUMNS = (
    ("external_id", "text"),
    ("timestamp", "timestamptz"),
    ("model_name", "text"),
    ("model_version", "text"),
    ("input_text", "text"),
    ("input_messages", "jsonb"),
    ("output", "text"),
    ("metadata", "jsonb"),
    ("feedback", "jsonb"),
    ("feedback_negative", "boolean"),
    ("latency_ms", "integer"),
    ("tokens_in", "integer"),
    ("tokens_out", "integer"),
    ("trace_id", "text"),
    ("redacted", "boolean"),
    ("input_key", "bigint"),
)
JSON_COLUMNS = {"input_messages", "metadata", "feedback"}
STAGE = "quorum_ingest_stage"


def _escape(text: str) -> str:
    """A value in PostgreSQL's COPY text format (backslash, tab, newline, CR escaped)."""
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if "\t" in text:
        text = text.replace("\t", "\\t")
    if "\n" in text:
        text = text.replace("\n", "\\n")
    if "\r" in text:
        text = text.replace("\r", "\\r")
    return text


def _copy_value(name: str, value: Any) -> str:
    if value is None:
        return "\\N"
    if name in JSON_COLUMNS:
        return _escape(orjson.dumps(value).decode())
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, str):
        return _escape(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def copy_text(records: list[dict[str, Any]]) -> bytes:
    """The records as ``COPY ... FROM STDIN`` text-format rows of ``STAGE_COLUMNS``."""
    names = [name for name, _ in STAGE_COLUMNS]
    rows = ["\t".join([_copy_value(n, record[n]) for n in names]) for record in records]
    return ("\n".join(rows) + "\n").encode()


def _insert_postgres(source: Source, payload: bytes) -> int:
    names = [name for name, _ in STAGE_COLUMNS]
    columns = ", ".join(f'"{n}"' for n in names)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} ("
            + ", ".join(f'"{n}" {t}' for n, t in STAGE_COLUMNS)
            + ") ON COMMIT DELETE ROWS"
        )
        cursor.execute(f"TRUNCATE {STAGE}")
        with cursor.cursor.copy(f"COPY {STAGE} ({columns}) FROM STDIN") as copy:
            copy.write(payload)
        cursor.execute(
            f"INSERT INTO {Log._meta.db_table} (workspace_id, source_id, created_at, {columns}) "
            f"SELECT %s, %s, %s, {columns} FROM {STAGE} "
            "ON CONFLICT (source_id, external_id) DO NOTHING",
            [source.workspace_id, source.pk, timezone.now()],
        )
        return cursor.rowcount
