"""Per-item agreement for the PostgreSQL fast path.

The row-by-row path computes ``export_shapes.item_agreement`` on each item's
judgments as it writes them. The COPY path never sees the rows, so here one
aggregate query returns, per exported item, the answers given to each criterion
that counts (a JSON array per criterion, only from judgments that answered it), and
the same ``pair_share`` and ``mean_share`` turn them into the same figure. Rows stream
in item order through ``COPY`` in blocks of about a megabyte, so memory stays
bounded whatever the size of the export.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import orjson
from django.db import connection
from psycopg import sql

from .export_pg import _where, filters_read_items
from .export_shapes import AGREEMENT_KINDS, mean_share, pair_share
from .exports import Context
from .pg_copy import copy_blocks


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
    ).format(arrays=arrays, items=sql.SQL(items), where=_where(ctx))


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
    keys = [c.key for c in ctx.criteria if c.kind in AGREEMENT_KINDS]
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
