"""Per-item agreement for the PostgreSQL fast paths.

The row-by-row path computes ``export_shapes.item_agreement`` on each item's
judgments as it writes them. The COPY paths never see the rows as Python objects,
so the agreement is counted apart, two ways that give the same floats:

- ``chunk_agreements`` (and the Parquet path, from its own chunks): the agreement
  criteria's answers as typed Arrow columns, read in chunks of whole items, equal
  answers counted per item with numpy by ``ChunkAgreement``;
- ``item_agreements``, when a key has different kinds across the export's rubric
  versions (its column is text, where 3 and 3.0 would differ): one aggregate query
  returns, per item, the answers to each criterion as JSON arrays, and the same
  ``pair_share`` and ``mean_share`` turn them into the figure. Rows stream in item
  order through ``COPY`` in blocks of about a megabyte.

Either way memory stays bounded whatever the size of the export.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from django.db import connection
from psycopg import sql

from annotate.models import Queue
from evals.exports.pg import filters_read_items, where_clause
from evals.exports.pg_arrow import (
    ItemChunks,
    answer_fields,
    copy_csv,
    judgments_sql,
    parse,
    sorted_by,
)
from evals.exports.pg_copy import copy_blocks, copy_out
from evals.exports.rows import Context
from evals.exports.shapes import mean_share, pair_share


def answers_sql(ctx: Context, keys: list[str]) -> sql.Composable:
    """Per item: a JSON array holding, for each of ``keys``, the array of its answers
    (null when no judgment answered it)."""
    columns = [
        sql.SQL("jsonb_agg(j.answers -> {key}) FILTER (WHERE j.answers ? {key})").format(
            key=sql.Literal(key)
        )
        for key in keys
    ]
    # A function takes at most 100 arguments: build arrays of 50 and join them with ||.
    arrays = sql.SQL(" || ").join(
        sql.SQL("jsonb_build_array({})").format(sql.SQL(", ").join(columns[n : n + 50]))
        for n in range(0, len(columns), 50)
    )
    # The item is joined only when a filter reads it: the join costs about a third.
    items = "JOIN annotate_item i ON i.id = j.item_id " if filters_read_items(ctx) else ""
    return sql.SQL(
        "SELECT {arrays} FROM annotate_judgment j {items}"
        "JOIN annotate_queue q ON q.id = j.queue_id "
        "WHERE {where} GROUP BY j.item_id HAVING count(*) > 1 ORDER BY j.item_id"
    ).format(arrays=arrays, items=sql.SQL(items), where=where_clause(ctx))


def _lines(query: sql.Composable) -> Iterator[bytes]:
    """The query's rows, one line each, streamed with COPY: the database keeps producing
    rows while Python works on the ones it has (a cursor would wait for each fetch)."""
    connection.ensure_connection()
    # CSV with quote and delimiter characters that JSON text never holds: lines as they are.
    copy = sql.SQL(
        "COPY ({}) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
    ).format(query)
    for block in copy_blocks(connection.connection, copy):
        # A block holds whole rows, each ending with a newline.
        yield from block.splitlines()


def _decode(text: bytes) -> list:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # an integer past 64 bits: the standard parser takes it
        return json.loads(text)


def item_agreements(ctx: Context) -> Iterator[float]:
    """The agreement of every exported item that has one, in item order."""
    keys = agreement_keys(ctx)
    if not keys:
        return
    for answers in _lines(answers_sql(ctx, keys)):
        shares = []
        # Django reads jsonb as text (its JSONField decodes it); decode it here.
        for values in _decode(answers):
            share = pair_share(values or [])
            if share is not None:
                shares.append(share)
        agreement = mean_share(shares)
        if agreement is not None:
            yield agreement


def agreement_keys(ctx: Context) -> list[str]:
    """The criteria that count towards agreement, in criteria order (then a pairwise
    judgment's overall preference, ``Context.agreement_criteria``)."""
    return [c.key for c in ctx.agreement_criteria]


def countable_from_columns(ctx: Context) -> bool:
    """Whether the Parquet path's typed answer columns give the agreement exactly.

    Answers are stored cleaned (``validate_answers`` on grading, edits and imports),
    each of its criterion's JSON type, so a typed column holds the values ``==``
    compares. A key whose kind differs between rubric versions is written as text,
    where 3 and 3.0 would differ: such an export counts with ``item_agreements``.
    """
    return all(ctx.kind_of(criterion.key) == criterion.kind for criterion in ctx.agreement_criteria)


# Up to this many cells (items x distinct answers) the answers are counted in a table;
# past it (many distinct numbers, say) by sorting.
TABLE_CELLS = 1 << 22


def _equal_pairs(column: pa.ChunkedArray, item: np.ndarray, n_items: int):
    """Per item: the answers given (non-null), and the pairs of them that are equal."""
    values = column.combine_chunks()
    if pa.types.is_floating(values.type):
        values = pc.add(values, 0.0)  # -0.0 becomes 0.0: equal values, one code
    encoded = pc.dictionary_encode(values)
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64) + 1
    width = len(encoded.dictionary) + 1  # code 0: no answer
    cells = item * width + codes
    if n_items * width <= TABLE_CELLS:
        table = np.bincount(cells, minlength=n_items * width).reshape(n_items, width)[:, 1:]
        return table.sum(axis=1), (table * (table - 1) // 2).sum(axis=1)
    found, counts = np.unique(cells[codes > 0], return_counts=True)
    owner = found // width
    answered = np.bincount(owner, weights=counts, minlength=n_items).astype(np.int64)
    same = np.bincount(owner, weights=counts * (counts - 1) // 2, minlength=n_items)
    return answered, same.astype(np.int64)


# Judgments read per chunk by ``chunk_agreements`` (a few MB of narrow columns).
AGREEMENT_CHUNK_ROWS = 100_000


def chunk_agreements(ctx: Context, stop: threading.Event | None = None) -> tuple[float, int]:
    """The exported items' agreement (sum, items) from their typed answer columns.

    The agreement criteria's answers are read in chunks of whole items (``COPY`` into
    Arrow) and counted by ``ChunkAgreement``: PostgreSQL sends narrow rows instead
    of building a JSON array per item, and no Python loop runs per item. Needs
    ``countable_from_columns(ctx)``. Stops early once ``stop`` is set.
    """
    keys = agreement_keys(ctx)
    counter = ChunkAgreement(keys)
    if not keys:
        return counter.finish()
    fields = [("item_id", "j.item_id", pa.int64()), *answer_fields(ctx, keys)]
    queue_ids = sorted(Queue.objects.filter(workspace=ctx.workspace).values_list("pk", flat=True))
    connection.ensure_connection()
    conn = connection.connection
    chunks = ItemChunks(conn, ctx, queue_ids)
    while (bounds := chunks.next(AGREEMENT_CHUNK_ROWS)) is not None:
        if stop is not None and stop.is_set():
            break
        data = copy_out(conn, copy_csv(judgments_sql(ctx, fields, queue_ids, bounds)))
        counter.add(sorted_by(parse(data, fields), ["item_id"]))
    return counter.finish()


class ChunkAgreement:
    """The agreement of items read in (item id, judgment id) order, chunk by chunk.

    ``add`` takes each chunk's judgments with their ``answer_<key>`` columns; an
    item's judgments may run on into the next chunk, so the last item waits for it.
    ``finish`` gives (sum of the items' agreements, items with one): the same floats,
    added in the same order, as summing ``item_agreements``.
    """

    def __init__(self, keys: list[str]) -> None:
        self.columns = ["item_id", *(f"answer_{key}" for key in keys)]
        self.waiting: pa.Table | None = None
        self.total = 0.0
        self.items = 0

    def add(self, judgments: pa.Table) -> None:
        table = judgments.select(self.columns)
        if self.waiting is not None:
            table = pa.concat_tables([self.waiting, table])
        if not table.num_rows:
            return
        ids = table["item_id"].to_numpy()
        cut = int(np.searchsorted(ids, ids[-1]))
        self.waiting = table.slice(cut)
        self._count(table.slice(0, cut))

    def finish(self) -> tuple[float, int]:
        if self.waiting is not None:
            self._count(self.waiting)
            self.waiting = None
        return self.total, self.items

    def _count(self, table: pa.Table) -> None:
        if not table.num_rows or len(self.columns) == 1:
            return
        ids = table["item_id"].to_numpy()
        starts = np.empty(len(ids), dtype=bool)
        starts[0], starts[1:] = True, ids[1:] != ids[:-1]
        item = np.cumsum(starts) - 1  # each row's item, 0, 1, ...
        n_items = int(item[-1]) + 1
        total = np.zeros(n_items)
        counted = np.zeros(n_items, dtype=np.int64)
        for name in self.columns[1:]:
            answered, same = _equal_pairs(table[name], item, n_items)
            pairs = answered * (answered - 1) // 2
            has = pairs > 0
            share = np.divide(same, pairs, out=np.zeros(n_items), where=has)
            # Added in criteria order, as ``mean_share`` adds them (x + 0.0 is x).
            total = np.where(has, total + share, total)
            counted += has
        agreed = counted > 0
        values = round_6(total[agreed] / counted[agreed])
        # Added one after another, as a loop would (accumulate does not pair them up).
        self.total = float(np.add.accumulate(np.concatenate(([self.total], values)))[-1])
        self.items += len(values)


def round_6(values: np.ndarray) -> np.ndarray:
    """Each value as ``round(value, 6)`` gives it, without a Python call per value.

    numpy rounds ``value * 1e6`` to an integer and divides: the same float as Python's
    correctly rounded decimal while the product is exact enough (below 2**52) and not
    about half-way between two integers, where its own rounding error could tip it.
    The rest (those few, huge values, inf and NaN) go to ``round``.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = values * 1e6
        rounded = np.rint(scaled) / 1e6
        fraction = scaled - np.floor(scaled)
    python = ~(np.abs(scaled) < 2.0**52) | (np.abs(fraction - 0.5) < 1e-6)
    if python.any():
        rounded[python] = [round(value, 6) for value in values[python].tolist()]
    return rounded
