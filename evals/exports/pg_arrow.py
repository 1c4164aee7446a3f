"""Reading judgments out of PostgreSQL into Arrow, a chunk of whole items at a time.

``COPY … TO STDOUT WITH CSV`` is the fastest way PostgreSQL sends rows, and pyarrow
parses CSV on its own threads into typed columns. ``ItemChunks`` cuts the exported
queues' items into id ranges of about a given number of judgments, so each chunk
holds every judgment of its items and memory stays bounded whatever the export's
size. Used by the Parquet path and by the agreement of the fast paths.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql

from evals.exports.pg import answer_sql, filters_read_items, where_clause
from evals.exports.pg_copy import copy_out
from evals.exports.rows import Context
from evals.exports.shapes import ANSWER_TYPES

Fields = list[tuple[str, str, pa.DataType]]  # (column name, SQL expression, Arrow type)


def parse(data: bytes, fields: Fields) -> pa.Table:
    """COPY CSV bytes as a table of ``fields``."""
    names = [name for name, _, _ in fields]
    if not data:
        return pa.schema([(name, kind) for name, _, kind in fields]).empty_table()
    return pacsv.read_csv(
        pa.py_buffer(data),
        read_options=pacsv.ReadOptions(column_names=names, block_size=4 << 20),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={name: kind for name, _, kind in fields},
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["true"],
            false_values=["false"],
            timestamp_parsers=[pacsv.ISO8601],
        ),
    )


def sorted_by(table: pa.Table, keys: list[str]) -> pa.Table:
    """``table`` ordered by its integer columns ``keys``, ascending, first key first.

    numpy's lexsort and one ``take`` by an Arrow array: about ten times as fast as
    ``Table.sort_by`` on the two keys of a chunk of judgments.
    """
    if table.num_rows < 2:
        return table
    order = np.lexsort([table[key].to_numpy() for key in reversed(keys)])
    return table.take(pa.array(order))


def copy_csv(query: sql.Composable) -> sql.Composable:
    return sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(query)


def select(fields: Fields) -> sql.Composable:
    return sql.SQL(", ").join(sql.SQL(expr) for _, expr, _ in fields)


def answer_fields(ctx: Context, keys: list[str]) -> Fields:
    """Each key's answers as a typed column (its kind's type; text when its kind
    differs between the export's rubric versions)."""
    return [
        (
            f"answer_{key}",
            answer_sql(key, ctx.kind_of(key), "parquet"),
            ANSWER_TYPES[ctx.kind_of(key)],
        )
        for key in keys
    ]


def judgments_sql(ctx: Context, fields: Fields, queue_ids: list[int], bounds) -> sql.Composable:
    """The judgments of the items from ``bounds[0]`` to ``bounds[1]``, in no order.

    An item id range is read through the item id index, and sorting a chunk in Arrow
    costs less than asking PostgreSQL for it in order.
    """
    joins = sql.SQL("")
    if filters_read_items(ctx):
        joins = sql.SQL("JOIN annotate_item i ON i.id = j.item_id ")
    return sql.SQL(
        "SELECT {select} FROM annotate_judgment j {joins}WHERE {where} "
        "AND j.item_id BETWEEN {low} AND {high}"
    ).format(
        select=select(fields),
        joins=joins,
        where=where_clause(ctx, queue_ids=queue_ids),
        low=sql.Literal(bounds[0]),
        high=sql.Literal(bounds[1]),
    )


class ItemChunks:
    """Item id ranges that hold about ``size`` judgments each, whole items only.

    Cut from the exported queues' item ids (those of the filter, else all of
    ``queue_ids``) and their ``judgment_count`` (at least one each):
    the counts only size the chunks, the rows come from the judgments themselves.
    The ids and counts are held as two numpy arrays (16 bytes an item).
    """

    def __init__(self, conn, ctx: Context, queue_ids: list[int]) -> None:
        exported = sorted(ctx.spec.filters.queue_ids or queue_ids)
        statement = copy_csv(
            sql.SQL(
                "SELECT id, judgment_count FROM annotate_item WHERE queue_id = ANY({}) ORDER BY id"
            ).format(sql.Literal(exported))
        )
        fields = [("id", "", pa.int64()), ("count", "", pa.int64())]
        table = parse(copy_out(conn, statement), fields)
        self.ids = table["id"].to_numpy()
        self.ends = np.cumsum(np.maximum(table["count"].to_numpy(), 1))
        self.start = 0

    def next(self, size: int) -> tuple[int, int] | None:
        if self.start >= len(self.ids):
            return None
        before = int(self.ends[self.start - 1]) if self.start else 0
        stop = max(int(np.searchsorted(self.ends, before + size, side="right")), self.start + 1)
        bounds = (int(self.ids[self.start]), int(self.ids[stop - 1]))
        self.start = stop
        return bounds
