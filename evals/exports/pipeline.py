"""Labeled-set exports: judgments (wide and long), items with consensus, fine-tuning sets.

``write_export(workspace, spec, out_dir)`` writes one data file, ``manifest.json`` and
``README.md`` into ``out_dir`` and returns the manifest. Rows are read from the
database in item order with a server-side cursor and written batch by batch, so
memory stays bounded. Everything depends only on the data and on the spec's
``snapshot_at`` (the export time written to the manifest): judgments created after
the snapshot are left out and judgments edited after it are exported with the
answers they had then, so the same snapshot gives byte-identical files.

Consensus per item: the adjudicated answer when there is one (``consensus_override``,
the adjudication hook), else the majority for categories and pass/fail (a tie gives
null) and the median for scales and numbers. Per-item agreement is simple percent
agreement: the share of agreeing reviewer pairs per criterion, averaged over criteria.
Pairwise judgments have columns of their own and their preference counts as the
criterion (``evals.exports.pairwise``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
from django.conf import settings
from django.db import connection, connections

from annotate.models import (
    Workspace,
)
from evals.exports import agreement as export_agreement
from evals.exports import pg as export_pg
from evals.exports import pg_parquet as export_pg_parquet
from evals.exports.manifest import build_manifest, render_readme
from evals.exports.rows import (
    Context,
    Row,
    Tally,
    build_context,
    consensus_override,
    iter_item_groups,
    judgments_queryset,
)
from evals.exports.shapes import (
    SHAPE_CLASSES,
    Shape,
    consensus,
    item_agreement,
    weighted_score,
)
from evals.exports.spec import BATCH_ROWS, ExportError, ExportSpec, parse_spec, spec_from_dict
from evals.exports.writers import BatchWriter, file_digest, open_writer
from evals.ingest.readahead import short_switch_interval

# The package's entry points, for callers and tests that take the pipeline as one module.
__all__ = [
    "Context",
    "ExportError",
    "consensus",
    "consensus_override",
    "count_rows",
    "item_agreement",
    "parse_spec",
    "spec_from_dict",
    "weighted_score",
    "write_export",
]


def count_rows(workspace: Workspace, spec: ExportSpec) -> int:
    """An upper bound of the judgments read (for progress bars and direct-or-job choice)."""
    return judgments_queryset(workspace, spec).count()


def write_export(
    workspace: Workspace,
    spec: ExportSpec,
    out_dir: Path,
    progress: Callable[[int], None] | None = None,
    batch_rows: int | None = None,
    fast: bool = True,
) -> dict[str, Any]:
    """Write the data file, ``manifest.json`` and ``README.md``; return the manifest.

    On PostgreSQL the judgments shape is written by COPY (``evals.exports.pg``; Parquet by
    ``evals.exports.pg_parquet``) unless ``fast`` is False; both paths write the same data
    (the same bytes for CSV and JSONL) and the same manifest (there the database counts
    the per-item agreement, see ``evals.exports.agreement``). ``batch_rows`` (default
    ``QUORUM_EXPORT_BATCH_ROWS``) is also the Parquet row group size.
    """
    batch_rows = batch_rows or int(getattr(settings, "QUORUM_EXPORT_BATCH_ROWS", BATCH_ROWS))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / spec.file_name
    if fast:
        written = _write_fast(workspace, spec, path, progress, batch_rows)
        if written is not None:
            ctx, tally, digest = written
            if progress:
                progress(tally.rows)
            return _finish(ctx, tally, path, out_dir, digest)
    ctx, tally = _write_rows(workspace, spec, path, progress, batch_rows)
    return _finish(ctx, tally, path, out_dir)


class _Batches:
    """Item groups held until they make a batch, then written as the shape's rows with
    their consensus (the adjudicated answers read once per batch)."""

    def __init__(
        self, shape: Shape, schema: pa.Schema, writer: BatchWriter, adjudicated_only: bool
    ) -> None:
        self.shape = shape
        self.names = schema.names
        self.writer = writer
        self.adjudicated_only = adjudicated_only
        self.tally = Tally()
        self.pending: list[tuple[list[Row], float | None]] = []
        self.rows = 0  # the judgments held

    def add(self, group: list[Row], agreement: float | None) -> None:
        self.pending.append((group, agreement))
        self.rows += len(group)

    def flush(self) -> None:
        if not self.pending:
            return
        overrides = consensus_override([group[0].item_id for group, _ in self.pending])
        rows: list[list] = []
        for group, agreement in self.pending:
            override = overrides.get(group[0].item_id)
            if self.adjudicated_only and override is None:
                continue
            made = self.shape.rows(group, agreement, override)
            self.tally.add(group, agreement, len(made))
            rows.extend(made)
        if rows:
            columns = list(zip(*rows, strict=True))
            self.writer.write({name: columns[i] for i, name in enumerate(self.names)})
        self.pending, self.rows = [], 0


def _write_rows(
    workspace: Workspace,
    spec: ExportSpec,
    path: Path,
    progress: Callable[[int], None] | None,
    batch_rows: int,
) -> tuple[Context, Tally]:
    """The row-by-row path: item groups read in item order, those with the agreement
    asked for written batch by batch."""
    ctx = build_context(workspace, spec)
    shape = SHAPE_CLASSES[spec.shape](ctx)
    schema = shape.schema()
    writer = open_writer(spec.format, path, schema)
    batches = _Batches(shape, schema, writer, spec.filters.adjudicated_only)
    counted = ctx.agreement_criteria
    minimum = spec.filters.min_agreement
    read = 0
    try:
        for group in iter_item_groups(workspace, spec, chunk_size=batch_rows):
            read += len(group)
            agreement = item_agreement(group, counted)
            if minimum is not None and (agreement is None or agreement < minimum):
                continue
            batches.add(group, agreement)
            if batches.rows >= batch_rows:
                batches.flush()
                if progress:
                    progress(read)
        batches.flush()
    finally:
        writer.close()
    if progress:
        progress(read)
    return ctx, batches.tally


def _write_fast(
    workspace: Workspace,
    spec: ExportSpec,
    path: Path,
    progress: Callable[[int], None] | None,
    batch_rows: int,
) -> tuple[Context, Tally, dict[str, Any] | None] | None:
    """The PostgreSQL paths of the judgments shape; ``None`` when the export needs rows."""
    if not export_pg.applies(spec):
        return None
    first = build_context(workspace, spec, scan=False)
    if first.mixed:
        return None  # rows of both kinds of queue: each row's columns differ
    if spec.format == "parquet":
        ctx = first
        schema = SHAPE_CLASSES[spec.shape](ctx).schema()
        try:
            seen = export_pg_parquet.write(ctx, schema, path, progress, batch_rows)
        except export_pg_parquet.UseRowPath:
            return None
        agreement = seen["agreement"] or sum_agreements(ctx)
        return ctx, _tally(seen["rows"], seen["items"], seen["reviewers"], agreement), None

    def write() -> tuple[Context, dict[str, Any]]:
        ctx = build_context(workspace, spec)
        if (ctx.counts or {}).get("edited"):
            raise export_pg.UseRowPath("a judgment was edited after the snapshot")
        return ctx, export_pg.write_judgments(ctx, path)

    # The agreement needs only the criteria (an index lookup per rubric version), so
    # it starts before the scan that finds the reviewers and counts the rows.
    try:
        (ctx, digest), agreement = with_agreement(first, write)
    except export_pg.UseRowPath:
        return None
    counts = ctx.counts or {"rows": 0, "items": 0}
    return ctx, _tally(counts["rows"], counts["items"], set(ctx.reviewers), agreement), digest


def _tally(rows: int, items: int, reviewers: set[int], agreement: tuple[float, int]) -> Tally:
    total, agreement_items = agreement
    return Tally(
        rows=rows,
        items=items,
        judgments=rows,
        reviewers=reviewers,
        agreement_sum=total,
        agreement_items=agreement_items,
    )


T = TypeVar("T")


def sum_agreements(ctx: Context, stop: threading.Event | None = None) -> tuple[float, int]:
    """The exported items' agreement (sum, items) in item order.

    From the typed answer columns when they give it exactly, else from one query
    over the answers' JSON. Stops early once ``stop`` is set (the write failed: the
    figure will not be used).
    """
    if export_agreement.countable_from_columns(ctx):
        return export_agreement.chunk_agreements(ctx, stop)
    total, items = 0.0, 0
    for value in export_agreement.item_agreements(ctx):
        if stop is not None and stop.is_set():
            break
        total += value
        items += 1
    return total, items


def with_agreement(ctx: Context, write: Callable[[], T]) -> tuple[T, tuple[float, int]]:
    """Run ``write()`` and sum the exported items' agreement (sum, items).

    In a worker (no transaction open) the agreement query runs at the same time, on a
    second connection; inside a transaction (a request, a test) a second connection
    could not see its rows, so the two run one after the other.
    """
    stop = threading.Event()

    def agreement() -> tuple[float, int]:
        return sum_agreements(ctx, stop)

    if connection.in_atomic_block:
        result = write()
        return result, agreement()

    def on_own_connection() -> tuple[float, int]:
        try:
            connection.ensure_connection()
            return agreement()
        finally:
            connections.close_all()  # this thread's connections only

    with (
        short_switch_interval(),  # the COPY readers wait less for the counting thread
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="quorum-agreement") as pool,
    ):
        counted = pool.submit(on_own_connection)
        try:
            result = write()
        except BaseException:
            stop.set()
            raise
        return result, counted.result()


def _finish(
    ctx: Context, tally: Tally, path: Path, out_dir: Path, digest: dict[str, Any] | None = None
) -> dict[str, Any]:
    manifest = build_manifest(ctx, tally, [digest or file_digest(path)])
    readme = out_dir / "README.md"
    readme.write_text(render_readme(manifest), encoding="utf-8")
    manifest["files"].append(file_digest(readme))
    (out_dir / "manifest.json").write_text(
        json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest
