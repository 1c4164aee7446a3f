"""The PostgreSQL fast path for the judgments shape as Parquet.

PostgreSQL sends only what it has to: the judgments' own narrow columns (ids,
numbers, times and the answers pulled out of the JSON), read in chunks of whole
items (item id ranges sized by the items' judgment counts) and sorted in Arrow, and
each item's text once per chunk instead of once per judgment, on a second
connection at the same time. Queue names, rubric names and reviewer labels are
small maps added in Arrow. pyarrow parses the COPY bytes on its own threads, and a
writer thread encodes and compresses the row groups while the next chunk is read,
so the database, the parsing and the Parquet encoding run side by side.

The per-item agreement of the manifest is counted from the same chunks
(``ChunkAgreement``), so the judgments are read once. Row groups have a fixed
number of rows whatever the chunking, so the file depends only on the data. A
judgment edited after the snapshot (its answers must come from its revisions) or a
rubric version the schema lacks sends the export to the row-by-row path
(``UseRowPath``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.db import connection, connections
from psycopg import sql

from annotate.models import Queue
from annotate.people import reviewer_map
from evals.exports.agreement import ChunkAgreement, agreement_keys, countable_from_columns
from evals.exports.pairwise import PAIR_JUDGMENT_COLUMNS
from evals.exports.pg import UseRowPath, pair_answers
from evals.exports.pg_arrow import (
    Fields,
    ItemChunks,
    answer_fields,
    copy_csv,
    judgments_sql,
    parse,
    select,
    sorted_by,
)
from evals.exports.pg_copy import copy_out
from evals.exports.rows import Context
from evals.exports.shapes import JUDGMENT_COLUMNS
from evals.exports.spec import BATCH_ROWS

# Judgments read per COPY: the writer encodes one chunk while the next is read. A
# chunk holds at most CHUNK_ROWS judgments and, once the first chunks show how big
# the rows are, about CHUNK_BYTES of Arrow data, so long texts keep memory bounded.
CHUNK_ROWS = 50_000
FIRST_CHUNK_ROWS = 5_000
CHUNK_BYTES = 64 << 20
TIME = pa.timestamp("us", tz="UTC")
JUDGMENT_FIELDS = [
    ("judgment_id", "j.id", pa.int64()),
    ("item_id", "j.item_id", pa.int64()),
    ("queue_id", "j.queue_id", pa.int64()),
    ("reviewer_id", "j.reviewer_id", pa.int64()),
    ("rubric_version_id", "j.rubric_version_id", pa.int64()),
    ("time_spent_ms", "j.time_spent_ms", pa.int64()),
    ("revision", "j.revision", pa.int64()),
    ("created_at", "j.created_at", TIME),
    ("updated_at", "j.updated_at", TIME),
]
ITEM_FIELDS = [
    ("item_id", "i.id", pa.int64()),
    ("input_text", "i.input_text", pa.string()),
    ("input_messages", "i.input_messages::text", pa.string()),
    ("output", "i.output", pa.string()),
    ("model_name", "i.model_name", pa.string()),
    ("model_version", "i.model_version", pa.string()),
    ("item_metadata", "i.metadata::text", pa.string()),
]
PAIR_ITEM_FIELDS = [
    ("output_b", "i.output_b", pa.string()),
    ("model_name_b", "i.model_name_b", pa.string()),
    ("model_version_b", "i.model_version_b", pa.string()),
]


# --- Reading ----------------------------------------------------------------------------


def judgment_fields(ctx: Context) -> Fields:
    fields = JUDGMENT_FIELDS + answer_fields(ctx, [criterion.key for criterion in ctx.criteria])
    if not ctx.pairwise:
        return fields
    types = dict(PAIR_JUDGMENT_COLUMNS)  # preference_<key>: text
    fields = fields + [
        (name, expr, types.get(name, pa.string()))
        for name, expr in pair_answers(ctx, "parquet", items=False)
    ]
    # The overall preference as the agreement counts it (every value, as stored).
    missing = [key for key in agreement_keys(ctx) if f"answer_{key}" not in {f[0] for f in fields}]
    return fields + answer_fields(ctx, missing)


def item_fields(ctx: Context) -> Fields:
    return ITEM_FIELDS + PAIR_ITEM_FIELDS if ctx.pairwise else ITEM_FIELDS


def _items_sql(queue_ids: list[int], bounds, fields: Fields = ITEM_FIELDS) -> sql.Composable:
    """The queues' items from ``bounds[0]`` to ``bounds[1]``: read at the same time as
    their judgments (the ones no judgment of the export names are left out in Arrow)."""
    return sql.SQL(
        "SELECT {} FROM annotate_item i WHERE i.queue_id = ANY({}) AND i.id BETWEEN {} AND {}"
    ).format(select(fields), sql.Literal(queue_ids), sql.Literal(bounds[0]), sql.Literal(bounds[1]))


# --- Assembling and writing -------------------------------------------------------------


class _Lookup:
    """A small id -> values map applied to a whole Arrow column at once."""

    def __init__(self, mapping: dict[int, tuple], types: list[pa.DataType]) -> None:
        ids = sorted(mapping)
        self.ids = pa.array(ids, pa.int64())
        self.columns = [
            pa.array([mapping[i][n] for i in ids], kind) for n, kind in enumerate(types)
        ]

    def take(self, keys) -> list[pa.ChunkedArray]:
        index = pc.index_in(keys, value_set=self.ids)
        if index.null_count:
            raise UseRowPath("a value outside the export's context")
        return [column.take(index) for column in self.columns]


class _Writer:
    """Writes tables as fixed-size row groups on a thread of its own."""

    def __init__(self, path: Path, schema: pa.Schema, rows: int) -> None:
        self.writer = pq.ParquetWriter(str(path), schema, compression="zstd")
        self.schema = schema
        self.rows = rows
        self.queue: queue.Queue[pa.Table | None] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="parquet-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        pending: list[pa.Table] = []
        pending_rows = 0
        try:
            while (table := self.queue.get()) is not None:
                pending.append(table)
                pending_rows += table.num_rows
                if pending_rows >= self.rows:
                    whole = pa.concat_tables(pending)
                    cut = (pending_rows // self.rows) * self.rows
                    self.writer.write_table(whole.slice(0, cut), row_group_size=self.rows)
                    pending, pending_rows = [whole.slice(cut)], pending_rows - cut
            if pending_rows:
                self.writer.write_table(pa.concat_tables(pending), row_group_size=self.rows)
        except BaseException as exc:  # handed to the reading thread
            self.error = exc
            while self.queue.get() is not None:
                pass

    def put(self, table: pa.Table) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(table)

    def close(self, failed: bool = False) -> None:
        self.queue.put(None)
        self.thread.join()
        self.writer.close()
        if self.error is not None and not failed:
            raise self.error


class _Maps:
    """Queue names, rubric names and numbers, reviewer labels and cohorts, by id."""

    def __init__(self, ctx: Context, queues: dict[int, str]) -> None:
        self.ctx = ctx
        self.queues = _Lookup({pk: (name,) for pk, name in queues.items()}, [pa.string()])
        self.versions = _Lookup(
            {v.pk: (v.rubric.name, v.number) for v in ctx.versions}, [pa.string(), pa.int64()]
        )
        self.reviewers: _Lookup | None = None
        self.seen: set[int] = set()

    def meet(self, reviewer_ids: set[int]) -> None:
        """Add the labels of reviewers not met yet (a query only when there are some)."""
        if self.reviewers is not None and reviewer_ids <= self.seen:
            return
        self.seen |= reviewer_ids
        if missing := self.seen - set(self.ctx.reviewers):
            spec = self.ctx.spec
            self.ctx.reviewers.update(
                reviewer_map(self.ctx.workspace, missing, names=spec.reviewer_names)
            )
        self.reviewers = _Lookup(
            {pk: (r.label, r.cohorts) for pk, r in self.ctx.reviewers.items()},
            [pa.string(), pa.string()],
        )


def _assemble(
    judgments: pa.Table, items: pa.Table, maps: _Maps, answers: list[str], schema: pa.Schema
) -> pa.Table:
    index = pc.index_in(judgments["item_id"], value_set=items["item_id"])
    if index.null_count:
        raise UseRowPath("an item changed during the export")
    (queue_name,) = maps.queues.take(judgments["queue_id"])
    label, cohorts = maps.reviewers.take(judgments["reviewer_id"])
    rubric, number = maps.versions.take(judgments["rubric_version_id"])
    columns = [
        judgments["judgment_id"],
        judgments["item_id"],
        judgments["queue_id"],
        queue_name,
        *(items[name].take(index) for name, _, _ in ITEM_FIELDS[1:]),
        label,
        cohorts,
        rubric,
        number,
        judgments["time_spent_ms"],
        judgments["revision"],
        judgments["created_at"],
        judgments["updated_at"],
        *(judgments[name] for name in answers),
    ]
    if "preferred" in schema.names:
        return _with_pairs(judgments, items, index, columns, schema)
    return pa.Table.from_arrays(columns, schema=schema)


def _with_pairs(
    judgments: pa.Table, items: pa.Table, index, columns: list, schema: pa.Schema
) -> pa.Table:
    """A pairwise export's table: ``columns`` as a rubric export has them (with output A
    as ``output``), the pair's columns put in their places (see ``evals.exports.pairwise``)."""
    named = dict(zip((name for name, _ in JUDGMENT_COLUMNS), columns, strict=False))
    for name in ("output", "model_name", "model_version"):
        named[f"{name}_a"] = named.pop(name)
        named[f"{name}_b"] = items[f"{name}_b"].take(index)
    choice = judgments["preferred"]
    for name in ("model_name", "model_version"):
        named[f"preferred_{name}"] = pc.if_else(
            pc.equal(choice, "a"),
            named[f"{name}_a"],
            pc.if_else(pc.equal(choice, "b"), named[f"{name}_b"], pa.scalar(None, pa.string())),
        )
    return pa.Table.from_arrays(
        [named[name] if name in named else judgments[name] for name in schema.names],
        schema=schema,
    )


class _Reads:
    """The COPYs of each chunk: the judgments' on this thread's connection, run by a
    thread of their own, and the items' on a connection of their own (in a transaction,
    where a second connection would not see its rows, the judgments' thread runs both)."""

    def __init__(self, ctx: Context, queue_ids: list[int], fields: Fields, items: Fields) -> None:
        self.ctx = ctx
        self.queue_ids = queue_ids
        self.fields = fields
        self.items_fields = items
        connection.ensure_connection()
        self.conn = connection.connection
        self.chunks = ItemChunks(self.conn, ctx, queue_ids)
        self.database = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-copy")
        self.items_database = self.database
        if not connection.in_atomic_block:
            self.items_database = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="export-items"
            )

    def ask(self, size: int) -> tuple[Future[bytes], Future[bytes]] | None:
        """The COPYs of the next chunk of about ``size`` judgments, started; ``None``
        after the last chunk."""
        bounds = self.chunks.next(size)
        if bounds is None:
            return None
        judgments = copy_csv(judgments_sql(self.ctx, self.fields, self.queue_ids, bounds))
        return (
            self.database.submit(copy_out, self.conn, judgments),
            self.items_database.submit(
                self._read_items, copy_csv(_items_sql(self.queue_ids, bounds, self.items_fields))
            ),
        )

    def _read_items(self, statement: sql.Composable) -> bytes:
        if self.items_database is self.database:
            return copy_out(self.conn, statement)
        connection.ensure_connection()  # this thread's own connection
        return copy_out(connection.connection, statement)

    def close(self) -> None:
        self.database.shutdown(wait=True, cancel_futures=True)
        if self.items_database is not self.database:
            self.items_database.submit(connections.close_all).result()  # its thread's only
            self.items_database.shutdown(wait=True)


class _Tables:
    """Makes each chunk's table of the file, counting its rows, items, reviewers and
    (when the answer columns can count it) its agreement on the way."""

    def __init__(self, ctx: Context, maps: _Maps, schema: pa.Schema) -> None:
        self.ctx = ctx
        self.maps = maps
        self.schema = schema
        self.answers = [f"answer_{criterion.key}" for criterion in ctx.criteria]
        self.agreement = ChunkAgreement(agreement_keys(ctx))
        self.countable = countable_from_columns(ctx)
        self.counts = {"rows": 0, "items": 0}

    def table(self, judgments: pa.Table, items: pa.Table) -> pa.Table:
        judgments = sorted_by(judgments, ["item_id", "judgment_id"])
        if pc.max(judgments["updated_at"]).as_py() > self.ctx.spec.snapshot_at:
            raise UseRowPath("a judgment was edited after the snapshot")
        self.maps.meet(set(pc.unique(judgments["reviewer_id"]).to_pylist()))
        if self.countable:
            self.agreement.add(judgments)
        table = _assemble(judgments, items, self.maps, self.answers, self.schema)
        self.counts["rows"] += judgments.num_rows
        self.counts["items"] += len(pc.unique(judgments["item_id"]))
        return table

    def seen(self) -> dict[str, Any]:
        return {
            **self.counts,
            "reviewers": self.maps.seen,
            "agreement": self.agreement.finish() if self.countable else None,
        }


def write(
    ctx: Context,
    schema: pa.Schema,
    path: Path,
    progress: Callable[[int], None] | None = None,
    rows: int = BATCH_ROWS,
) -> dict[str, Any]:
    """Write the judgments Parquet file; return the rows, items and reviewer ids seen,
    and the agreement (sum, items), or ``None`` for it when the answer columns cannot
    count it (see ``countable_from_columns``).

    One thread runs the judgments' COPYs (the next chunk's while this one is parsed),
    another the items' on a connection of its own (in a transaction, where a second
    connection would not see its rows, the first thread runs both), this thread
    parses and assembles, and the writer's thread encodes. Raises ``UseRowPath`` when
    the export needs the row-by-row path.
    """
    if ctx.mixed:
        raise UseRowPath("judgments of rubric and pairwise queues")
    queues = dict(Queue.objects.filter(workspace=ctx.workspace).values_list("id", "name"))
    maps = _Maps(ctx, queues)
    fields = judgment_fields(ctx)
    items_fields = item_fields(ctx)
    tables = _Tables(ctx, maps, schema)
    size = min(CHUNK_ROWS, FIRST_CHUNK_ROWS)
    reads = _Reads(ctx, sorted(queues), fields, items_fields)
    writer = _Writer(path, schema, rows)
    failed = True
    try:
        coming = reads.ask(size)
        while coming is not None:
            judgments_coming, items_coming = coming
            judgments = parse(judgments_coming.result(), fields)
            coming = reads.ask(size)
            items = parse(items_coming.result(), items_fields)
            if not judgments.num_rows:
                continue
            table = tables.table(judgments, items)
            writer.put(table)
            fitting = CHUNK_BYTES * table.num_rows // max(table.nbytes, 1)
            size = max(1, min(CHUNK_ROWS, fitting))
            if progress:
                progress(tables.counts["rows"])
        failed = False
    finally:
        reads.close()
        writer.close(failed=failed)
    return tables.seen()
