"""The PostgreSQL fast path for the judgments (wide) shape: the database writes the rows.

One ``COPY (SELECT ...) TO STDOUT`` produces the file's rows in the exact bytes the
row-by-row writers produce (see ``export_writers``): formula cells neutralized and
empty text as an empty cell for CSV, ``row_to_json`` lines for JSONL. Python only
copies chunks, so the time stays close to a plain COPY and memory stays bounded.
Parquet has a path of its own (``export_pg_parquet``) that shares the filters and
answer expressions defined here.

It applies when nothing needs per-item Python logic: no minimum agreement, no
adjudicated-only filter, and no judgment edited after the snapshot (those take
the row-by-row path, which reads earlier revisions).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.db import connection
from psycopg import sql

from annotate.models import CriterionKind

from .export_writers import FORMULA_STARTS, neutralize
from .exports import Context, ExportSpec, gold_field, judgments_queryset

TIME_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


def applies(spec: ExportSpec) -> bool:
    if connection.vendor != "postgresql" or spec.shape != "judgments":
        return False
    return spec.filters.min_agreement is None and not spec.filters.adjudicated_only


def edited_after_snapshot(workspace, spec: ExportSpec) -> bool:
    return judgments_queryset(workspace, spec).filter(updated_at__gt=spec.snapshot_at).exists()


def _where(ctx: Context, queue_ids: list[int] | None = None) -> sql.Composable:
    """The filters; with ``queue_ids`` (the workspace's queues) the query needs no queue join."""
    f = ctx.spec.filters
    workspace = sql.SQL("q.workspace_id = {}").format(sql.Literal(ctx.workspace.pk))
    if queue_ids is not None:
        workspace = sql.SQL("j.queue_id = ANY({}::bigint[])").format(
            sql.Literal("{" + ",".join(map(str, queue_ids)) + "}")
        )
    parts = [
        workspace,
        sql.SQL("j.created_at <= {}").format(sql.Literal(ctx.spec.snapshot_at)),
    ]
    if f.queue_ids:
        parts.append(sql.SQL("j.queue_id = ANY({})").format(sql.Literal(f.queue_ids)))
    if f.since:
        parts.append(sql.SQL("j.created_at >= {}").format(sql.Literal(f.since)))
    if f.until:
        parts.append(sql.SQL("j.created_at <= {}").format(sql.Literal(f.until)))
    if f.cohort_ids:
        parts.append(
            sql.SQL(
                "j.reviewer_id IN (SELECT user_id FROM annotate_cohort_members "
                "WHERE cohort_id = ANY({}))"
            ).format(sql.Literal(f.cohort_ids))
        )
    if f.model_versions:
        parts.append(sql.SQL("i.model_version = ANY({})").format(sql.Literal(f.model_versions)))
    gold = gold_field()
    if f.exclude_gold and gold:
        parts.append(sql.SQL("NOT i.{}").format(sql.Identifier(gold)))
    return sql.SQL(" AND ").join(parts)


FORMULA_CODES = ", ".join(str(ord(c)) for c in FORMULA_STARTS)


def _text(expr: str, csv: bool) -> str:
    """A text column: for CSV, neutralized and with empty strings as empty cells.

    ``ascii`` reads the first character's code without copying the text: the cheapest
    test PostgreSQL has for "starts with one of these characters".
    """
    if not csv:
        return expr
    return (
        f"CASE WHEN ascii({expr}) IN ({FORMULA_CODES}) THEN '''' || {expr} "
        f"ELSE NULLIF({expr}, '') END"
    )


def _json_text(expr: str, csv: bool) -> str:
    """A JSON column as text. Objects and arrays start with { or [, never a formula
    character, so only other JSON values (a negative number starts with -) take the
    neutralizing test."""
    if not csv:
        return f"{expr}::text"
    return (
        f"CASE WHEN jsonb_typeof({expr}) IN ('object', 'array') THEN {expr}::text "
        f"ELSE {_text(f'{expr}::text', csv)} END"
    )


def _answer(key: str, kind: str, fmt: str) -> str:
    value = sql.Literal(key).as_string(connection.connection)
    if fmt == "jsonl":
        if kind in (CriterionKind.FREE_TEXT,):
            # Non-string values in a text column are written as their JSON text.
            return (
                f"CASE WHEN jsonb_typeof(j.answers->{value}) = 'string' "
                f"THEN j.answers->{value} ELSE to_jsonb((j.answers->{value})::text) END"
            )
        return f"j.answers->{value}"
    if kind == CriterionKind.PASS_FAIL:
        return (
            f"CASE j.answers->{value} WHEN 'true'::jsonb THEN 'true' "
            f"WHEN 'false'::jsonb THEN 'false' END"
        )
    if kind == CriterionKind.NUMERIC:
        return f"(j.answers->>{value})::float8"
    if kind == CriterionKind.LIKERT:
        return f"(j.answers->>{value})"
    return _text(f"(j.answers->>{value})", fmt == "csv")


def _items(ctx: Context, csv: bool) -> sql.Composable:
    """The workspace's items with their output columns (``out_*``) ready, each computed
    once per item rather than once per judgment (``OFFSET 0`` keeps PostgreSQL from
    folding the expressions into the outer query); the columns the filters read stay raw."""
    columns = [
        f"{_text('input_text', csv)} AS out_input_text",
        f"{_json_text('input_messages', csv)} AS out_input_messages",
        f"{_text('output', csv)} AS out_output",
        f"{_text('model_name', csv)} AS out_model_name",
        f"{_text('model_version', csv)} AS out_model_version",
        f"{_json_text('metadata', csv)} AS out_metadata",
        "model_version",
    ]
    gold = gold_field()
    if gold:
        columns.append(sql.Identifier(gold).as_string(connection.connection))
    return sql.SQL(
        "(SELECT id, {columns} FROM annotate_item WHERE queue_id IN "
        "(SELECT id FROM annotate_queue WHERE workspace_id = {workspace}) "
        "ORDER BY id OFFSET 0) AS i"
    ).format(columns=sql.SQL(", ".join(columns)), workspace=sql.Literal(ctx.workspace.pk))


def select_sql(ctx: Context, fmt: str) -> sql.Composable:
    """The judgments shape as one SELECT, columns named and ordered as the schema says."""
    csv = fmt == "csv"
    jsonl = fmt == "jsonl"
    labels = list(ctx.reviewers.items())
    cell = neutralize if csv else str

    def time(expr: str) -> str:
        return f"to_char({expr} AT TIME ZONE 'UTC', '{TIME_FORMAT}')"

    columns = [
        ("judgment_id", "j.id"),
        ("item_id", "j.item_id"),
        ("queue_id", "j.queue_id"),
        ("queue", _text("q.name", csv)),
        # Item columns are made once per item, in ``_items`` (CSV: already neutralized).
        ("input_text", "i.out_input_text"),
        ("input_messages", "i.out_input_messages"),
        ("output", "i.out_output"),
        ("model_name", "i.out_model_name"),
        ("model_version", "i.out_model_version"),
        ("item_metadata", "i.out_metadata"),
        # Reviewer labels and cohorts arrive neutralized (see ``cell`` above).
        ("reviewer", "NULLIF(rv.label, '')" if csv else "rv.label"),
        ("cohorts", "NULLIF(rv.cohorts, '')" if csv else "rv.cohorts"),
        ("rubric", _text("r.name", csv)),
        ("rubric_version", "v.number"),
        ("time_spent_ms", "j.time_spent_ms"),
        ("revision", "j.revision"),
        ("created_at", time("j.created_at")),
        ("updated_at", time("j.updated_at")),
    ]
    for criterion in ctx.criteria:
        kind = ctx.kind_of(criterion.key)
        columns.append((f"answer_{criterion.key}", _answer(criterion.key, kind, fmt)))
    select = sql.SQL(", ").join(
        sql.SQL("{} AS {}").format(sql.SQL(expr), sql.Identifier(name)) for name, expr in columns
    )
    query = sql.SQL(
        "SELECT {select} FROM annotate_judgment j "
        "JOIN {items} ON i.id = j.item_id "
        "JOIN annotate_queue q ON q.id = j.queue_id "
        "JOIN annotate_rubricversion v ON v.id = j.rubric_version_id "
        "JOIN annotate_rubric r ON r.id = v.rubric_id "
        "LEFT JOIN unnest({ids}::bigint[], {labels}::text[], {cohorts}::text[]) "
        "AS rv(user_id, label, cohorts) ON rv.user_id = j.reviewer_id "
        "WHERE {where} ORDER BY j.item_id, j.id"
    ).format(
        select=select,
        items=_items(ctx, csv),
        ids=sql.Literal([user_id for user_id, _ in labels]),
        labels=sql.Literal([cell(r.label) for _, r in labels]),
        cohorts=sql.Literal([cell(r.cohorts) for _, r in labels]),
        where=_where(ctx),
    )
    if jsonl:
        return sql.SQL("SELECT row_to_json(t)::text FROM ({}) AS t").format(query)
    return query


def _copy_statement(ctx: Context, fmt: str) -> str:
    query = select_sql(ctx, fmt)
    if fmt == "jsonl":
        # CSV format with quote and delimiter characters JSON never contains: the
        # lines come out as they are, without COPY's text-format escaping.
        options = "FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02'"
    else:
        options = "FORMAT csv, HEADER"
    return sql.SQL("COPY ({}) TO STDOUT WITH ({})").format(query, sql.SQL(options))


def _copy_chunks(statement: sql.Composable) -> Iterator[bytes]:
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(statement) as copy:
            for chunk in copy:
                yield bytes(chunk)


def write_judgments(ctx: Context, path: Path) -> dict[str, Any]:
    """Write the judgments CSV or JSONL file with COPY; returns its digest, hashed on the way."""
    statement = _copy_statement(ctx, ctx.spec.format)
    digest = hashlib.sha256()
    size = 0
    with path.open("wb") as handle:
        for chunk in _copy_chunks(statement):
            digest.update(chunk)
            size += len(chunk)
            handle.write(chunk)
    return {"name": path.name, "bytes": size, "sha256": digest.hexdigest()}
