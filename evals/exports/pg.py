"""The PostgreSQL fast path for the judgments (wide) shape: the database writes the rows.

One ``COPY (SELECT ...) TO STDOUT`` produces the file's rows in the exact bytes the
row-by-row writers produce (see ``evals.exports.writers``): formula cells neutralized and
empty text as an empty cell for CSV, ``row_to_json`` lines for JSONL. Python only
copies blocks (read with libpq directly, ``pg_copy``), so the time stays close to a
plain COPY and memory stays bounded. Item columns are computed once per item; queue,
rubric and reviewer columns are key lookups in small JSON maps rather than joins. In a
worker, a large export is read as two halves on two connections sharing one snapshot.
Parquet has a path of its own (``evals.exports.pg_parquet``) that shares the filters and
answer expressions defined here.

It applies when nothing needs per-item Python logic: no minimum agreement, no
adjudicated-only filter, and no judgment edited after the snapshot (those take
the row-by-row path, which reads earlier revisions). Pairwise judgments get their
columns (``evals.exports.pairwise``) from ``pair_answers``; an export holding judgments of
both rubric and pairwise queues takes the row-by-row path too.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.db import connection, connections, transaction
from psycopg import sql

from annotate.models import CriterionKind, Queue
from evals import jobs
from evals.exports.pairwise import PREFERENCE_PREFIX, PREFERENCES
from evals.exports.pg_copy import copy_blocks
from evals.exports.rows import Context, gold_field
from evals.exports.spec import ExportSpec
from evals.exports.writers import FORMULA_STARTS, neutralize

TIME_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


def applies(spec: ExportSpec) -> bool:
    if connection.vendor != "postgresql" or spec.shape != "judgments":
        return False
    return spec.filters.min_agreement is None and not spec.filters.adjudicated_only


class UseRowPath(Exception):
    """The export needs the row-by-row path (a judgment edited after the snapshot)."""


def where_clause(ctx: Context, queue_ids: list[int] | None = None) -> sql.Composable:
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


def filters_read_items(ctx: Context) -> bool:
    """Whether ``where_clause`` reads the item (``i``), so the query must join it."""
    f = ctx.spec.filters
    return bool(f.model_versions) or bool(f.exclude_gold and gold_field())


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


def _literal(value: str) -> str:
    return sql.Literal(value).as_string(connection.connection)


def answer_sql(key: str, kind: str, fmt: str) -> str:
    value = _literal(key)
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


def pair_answers(ctx: Context, fmt: str, items: bool = True) -> list[tuple[str, str]]:
    """(column, SQL) of ``export_pairwise.judgment_columns``, computed as it computes them.

    ``preferred_model_name`` and ``preferred_model_version`` read the item's columns as
    ``_items`` makes them (``i.out_*``); without ``items`` (the Parquet path, which joins
    the items in Arrow) they are left out.
    """
    choice = "(j.answers->>'preference')"
    known = ", ".join(_literal(p) for p in PREFERENCES)
    side = "j.answers->'a_on_left'"
    strength = "j.answers->'strength'"
    whole = f"jsonb_typeof({strength}) = 'number' AND ({strength})::text ~ '^-?[0-9]+$'"
    columns = [("preferred", f"CASE WHEN {choice} IN ({known}) THEN {choice} END")]
    if items:
        for name in ("model_name", "model_version"):
            columns.append(
                (
                    f"preferred_{name}",
                    f"CASE {choice} WHEN 'a' THEN i.out_{name} WHEN 'b' THEN i.out_{name}_b END",
                )
            )
    columns += [
        ("shown_left", f"CASE {side} WHEN 'true'::jsonb THEN 'a' WHEN 'false'::jsonb THEN 'b' END"),
        (
            "preferred_side",
            f"CASE WHEN {choice} IN ('a', 'b') AND jsonb_typeof({side}) = 'boolean' THEN "
            f"CASE WHEN ({choice} = 'a') = ({side} = 'true'::jsonb) THEN 'left' ELSE 'right' END "
            "END",
        ),
        (
            "strength",
            f"CASE WHEN {whole} THEN {strength if fmt == 'jsonl' else f'({strength})::text'} END",
        ),
        ("rationale", _rationale(fmt)),
    ]
    for key in ctx.preference_keys:
        found = f"j.answers->'criteria'->{_literal(key)}"
        text = f"(CASE WHEN jsonb_typeof({found}) = 'string' THEN {found} #>> '{{}}' END)"
        columns.append((PREFERENCE_PREFIX + key, _text(text, fmt == "csv")))
    return columns


def _rationale(fmt: str) -> str:
    """A free-text answer, but a JSON null is null here (a criterion's answer is never
    null: a blank one is left out, while a rationale is always stored)."""
    if fmt != "jsonl":
        return answer_sql("rationale", CriterionKind.FREE_TEXT, fmt)
    rationale = "j.answers->'rationale'"
    return (
        f"CASE jsonb_typeof({rationale}) WHEN 'string' THEN {rationale} "
        f"WHEN 'null' THEN NULL ELSE to_jsonb(({rationale})::text) END"
    )


def _range(column: str, item_range: tuple[int | None, int | None]) -> sql.Composable:
    """``column`` within ``[low, high)``; either end may be open."""
    low, high = item_range
    parts = [sql.SQL("TRUE")]
    if low is not None:
        parts.append(sql.SQL(f"{column} >= {{}}").format(sql.Literal(low)))
    if high is not None:
        parts.append(sql.SQL(f"{column} < {{}}").format(sql.Literal(high)))
    return sql.SQL(" AND ").join(parts)


ALL_ITEMS: tuple[int | None, int | None] = (None, None)


def _items(
    ctx: Context, csv: bool, item_range: tuple[int | None, int | None] = ALL_ITEMS
) -> sql.Composable:
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
    if ctx.pairwise:
        columns += [
            f"{_text(name, csv)} AS out_{name}"
            for name in ("output_b", "model_name_b", "model_version_b")
        ]
    gold = gold_field()
    if gold:
        columns.append(sql.Identifier(gold).as_string(connection.connection))
    return sql.SQL(
        "(SELECT id, {columns} FROM annotate_item WHERE queue_id IN "
        "(SELECT id FROM annotate_queue WHERE workspace_id = {workspace}) AND {range} "
        "ORDER BY id OFFSET 0) AS i"
    ).format(
        columns=sql.SQL(", ".join(columns)),
        workspace=sql.Literal(ctx.workspace.pk),
        range=_range("id", item_range),
    )


def _time(expr: str) -> str:
    return f"to_char({expr} AT TIME ZONE 'UTC', '{TIME_FORMAT}')"


def _lookup(column: str, values: dict[int, Any], csv: bool, text: bool = True) -> str:
    """The value for ``column`` (a reviewer, queue or rubric version id) from a JSON
    object keyed by id: one key lookup per row (jsonb keeps keys sorted) instead of
    a join per row. Text arrives neutralized for CSV."""
    cell = neutralize if csv else str
    mapping = {str(k): cell(v) if text else v for k, v in values.items()}
    literal = sql.Literal(json.dumps(mapping)).as_string(connection.connection)
    found = f"({literal}::jsonb ->> {column}::text)"
    if not text:
        return f"{found}::integer"
    return f"NULLIF({found}, '')" if csv else found


def _output_columns(ctx: Context) -> list[tuple[str, str]]:
    """The item's output columns (a pair's: ``_a`` and ``_b`` of each), made once per
    item in ``_items`` (CSV: already neutralized)."""
    outputs = [
        ("output", "i.out_output"),
        ("model_name", "i.out_model_name"),
        ("model_version", "i.out_model_version"),
    ]
    if ctx.pairwise:
        outputs = [(f"{name}_a", expr) for name, expr in outputs] + [
            (f"{name}_b", f"i.out_{name}_b") for name in ("output", "model_name", "model_version")
        ]
    return outputs


def _columns(ctx: Context, fmt: str, queues: dict[int, str]) -> list[tuple[str, str]]:
    """(column, SQL) of the judgments shape, in the schema's order."""
    csv = fmt == "csv"
    reviewers = ctx.reviewers.items()
    columns = [
        ("judgment_id", "j.id"),
        ("item_id", "j.item_id"),
        ("queue_id", "j.queue_id"),
        ("queue", _lookup("j.queue_id", queues, csv)),
        ("input_text", "i.out_input_text"),
        ("input_messages", "i.out_input_messages"),
        *_output_columns(ctx),
        ("item_metadata", "i.out_metadata"),
        ("reviewer", _lookup("j.reviewer_id", {k: r.label for k, r in reviewers}, csv)),
        ("cohorts", _lookup("j.reviewer_id", {k: r.cohorts for k, r in reviewers}, csv)),
        (
            "rubric",
            _lookup("j.rubric_version_id", {v.pk: v.rubric.name for v in ctx.versions}, csv),
        ),
        (
            "rubric_version",
            _lookup("j.rubric_version_id", {v.pk: v.number for v in ctx.versions}, csv, text=False),
        ),
        ("time_spent_ms", "j.time_spent_ms"),
        ("revision", "j.revision"),
        ("created_at", _time("j.created_at")),
        ("updated_at", _time("j.updated_at")),
    ]
    for criterion in ctx.criteria:
        kind = ctx.kind_of(criterion.key)
        columns.append((f"answer_{criterion.key}", answer_sql(criterion.key, kind, fmt)))
    if ctx.pairwise:
        columns += pair_answers(ctx, fmt)
    return columns


def select_sql(
    ctx: Context, fmt: str, item_range: tuple[int | None, int | None] = ALL_ITEMS
) -> sql.Composable:
    """The judgments shape as one SELECT, columns named and ordered as the schema says;
    with ``item_range``, only the judgments of items with ids in ``[low, high)``."""
    queues = dict(Queue.objects.filter(workspace=ctx.workspace).values_list("pk", "name"))
    if ctx.mixed:
        raise UseRowPath("judgments of rubric and pairwise queues")
    select = sql.SQL(", ").join(
        sql.SQL("{} AS {}").format(sql.SQL(expr), sql.Identifier(name))
        for name, expr in _columns(ctx, fmt, queues)
    )
    query = sql.SQL(
        "SELECT {select} FROM annotate_judgment j "
        "JOIN {items} ON i.id = j.item_id "
        "WHERE {where} AND {range} ORDER BY j.item_id, j.id"
    ).format(
        select=select,
        items=_items(ctx, fmt == "csv", item_range),
        range=_range("j.item_id", item_range),
        where=where_clause(ctx, list(queues)),
    )
    if fmt == "jsonl":
        return sql.SQL("SELECT row_to_json(t)::text FROM ({}) AS t").format(query)
    return query


def _copy_statement(
    ctx: Context,
    fmt: str,
    item_range: tuple[int | None, int | None] = ALL_ITEMS,
    header: bool = True,
) -> sql.Composable:
    query = select_sql(ctx, fmt, item_range)
    if fmt == "jsonl":
        # CSV format with quote and delimiter characters JSON never contains: the
        # lines come out as they are, without COPY's text-format escaping.
        options = "FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02'"
    else:
        options = "FORMAT csv, HEADER" if header else "FORMAT csv"
    return sql.SQL("COPY ({}) TO STDOUT WITH ({})").format(query, sql.SQL(options))


def _copy_chunks(statement: sql.Composable) -> Iterator[bytes]:
    connection.ensure_connection()
    yield from copy_blocks(connection.connection, statement)


def write_judgments(ctx: Context, path: Path) -> dict[str, Any]:
    """Write the judgments CSV or JSONL file with COPY; returns its digest, hashed on the way.

    A large export in a worker is read as two halves at once (see ``_write_halves``).
    """
    split = None
    if not connection.in_atomic_block and (ctx.counts or {}).get("rows", 0) >= parallel_min_rows():
        split = _middle_item_id(ctx)
    digest = hashlib.sha256()
    with path.open("wb") as handle:
        if split is None:
            size = _copy_into(_copy_statement(ctx, ctx.spec.format), handle, digest)
        else:
            size = _write_halves(ctx, split, path, handle, digest)
    return {"name": path.name, "bytes": size, "sha256": digest.hexdigest()}


def _copy_into(statement: sql.Composable, handle: BinaryIO, digest: Any = None) -> int:
    size = 0
    for chunk in _copy_chunks(statement):
        if digest is not None:
            digest.update(chunk)
        size += len(chunk)
        handle.write(chunk)
    return size


def parallel_min_rows() -> int:
    """Below this many rows one COPY is about as fast as two."""
    return int(getattr(settings, "QUORUM_EXPORT_PARALLEL_MIN_ROWS", 200_000))


def _test_pause() -> None:
    """The export's test pause: to kill a worker with both halves open."""
    time.sleep(jobs.throttle_seconds("QUORUM_EXPORT_THROTTLE_SECONDS"))


# The halves are the parallelism: PostgreSQL's own workers would only compete with them.
SERIAL_PLAN = "SET LOCAL max_parallel_workers_per_gather = 0"


def _middle_item_id(ctx: Context) -> int | None:
    """The item id that cuts the workspace's (or the chosen queues') items in two halves."""
    queues = ctx.spec.filters.queue_ids
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY id) FROM annotate_item "
            "WHERE queue_id IN (SELECT id FROM annotate_queue WHERE workspace_id = %s)"
            + (" AND queue_id = ANY(%s)" if queues else ""),
            [ctx.workspace.pk, *([list(queues)] if queues else [])],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _write_halves(ctx: Context, split: int, path: Path, handle: BinaryIO, digest: Any) -> int:
    """Two COPYs at once, the judgments of items below ``split`` here and the rest on a
    second connection into a part file, appended afterwards: PostgreSQL formats the
    rows on two cores instead of one. Both read one snapshot (exported from this
    transaction and imported there, as ``pg_dump --jobs`` does), and each half is in
    the single COPY's order, so the file is byte for byte the one COPY would write."""
    fmt = ctx.spec.format
    first = _copy_statement(ctx, fmt, (None, split))
    second = _copy_statement(ctx, fmt, (split, None), header=False)
    part = path.with_name(path.name + ".part")

    def read_second(snapshot: str) -> None:
        try:
            with transaction.atomic(), part.open("wb") as out:
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    cursor.execute("SET TRANSACTION SNAPSHOT %s", [snapshot])
                    cursor.execute(SERIAL_PLAN)
                _test_pause()
                _copy_into(second, out)
        finally:
            connections.close_all()  # this thread's connection only

    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot = cursor.fetchone()[0]
                cursor.execute(SERIAL_PLAN)
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="quorum-copy") as pool:
                other = pool.submit(read_second, snapshot)
                try:
                    _test_pause()
                    size = _copy_into(first, handle, digest)
                finally:
                    # Wait for the other half even when this one failed: the snapshot
                    # must outlive its import, and the part file is removed below.
                    error = other.exception()
                if error is not None:
                    raise error
        with part.open("rb") as tail:
            while block := tail.read(1 << 20):
                digest.update(block)
                size += len(block)
                handle.write(block)
    finally:
        part.unlink(missing_ok=True)
    return size
