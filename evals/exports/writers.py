"""Streaming writers for export files: CSV, JSONL and Parquet.

Every writer takes a schema (column names and Arrow types) and then batches of
columns (``dict[str, list]``), so memory is bounded by one batch whatever the size.
Output depends only on the data: no timestamps or random ids are written, so the
same rows give byte-identical files.

CSV cells that a spreadsheet would run as a formula (they start with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) get a leading apostrophe. Cells that
already start with an apostrophe get one too, which makes the rule reversible:
an imported cell that starts with an apostrophe had exactly one added
(``unneutralize``).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")
FORMATS = ("csv", "jsonl", "parquet")
EXTENSIONS = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}


def neutralize(cell: str) -> str:
    """A text cell made safe to open in a spreadsheet."""
    if cell and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def unneutralize(cell: str) -> str:
    """Undo ``neutralize``: exported text cells start with an apostrophe only if one was added."""
    if cell.startswith("'"):
        return cell[1:]
    return cell


def format_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: Any) -> datetime:
    """Parse what ``format_time`` wrote (or any ISO 8601 time, or a datetime)."""
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _jsonb_order(value: Any) -> Any:
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return {k: _jsonb_order(value[k]) for k in keys}
    if isinstance(value, list):
        return [_jsonb_order(v) for v in value]
    return value


def json_text(value: Any) -> str:
    """JSON text as PostgreSQL prints ``jsonb``: keys by length then bytes, ", " and ": ".

    JSON-valued columns (messages, metadata) are written in this form on every
    database, so the COPY fast path and the row-by-row path give the same bytes.
    """
    return json.dumps(_jsonb_order(value), ensure_ascii=False)


def format_float(value: float) -> str:
    """A float as PostgreSQL prints float8: shortest round-trip form, no trailing ``.0``."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


class BatchWriter(Protocol):
    def write(self, batch: Mapping[str, Sequence[Any]]) -> None: ...

    def close(self) -> None: ...


def _csv_cells(values: Sequence[Any], kind: pa.DataType) -> list[str]:
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return ["" if v is None else neutralize(v) for v in values]
    if pa.types.is_boolean(kind):
        return ["" if v is None else ("true" if v else "false") for v in values]
    if pa.types.is_timestamp(kind):
        return ["" if v is None else format_time(v) for v in values]
    if pa.types.is_floating(kind):
        return ["" if v is None else format_float(v) for v in values]
    return ["" if v is None else str(v) for v in values]


class CsvWriter:
    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.schema = schema
        self.file = path.open("w", encoding="utf-8", newline="")
        self.writer = csv.writer(self.file, lineterminator="\n")
        self.writer.writerow(schema.names)

    def write(self, batch: Mapping[str, Sequence[Any]]) -> None:
        columns = [_csv_cells(batch[f.name], f.type) for f in self.schema]
        self.writer.writerows(zip(*columns, strict=True))

    def close(self) -> None:
        self.file.close()


class JsonlWriter:
    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.names = schema.names
        self.times = {f.name for f in schema if pa.types.is_timestamp(f.type)}
        self.file = path.open("w", encoding="utf-8", newline="\n")

    def write(self, batch: Mapping[str, Sequence[Any]]) -> None:
        columns = [
            [format_time(v) for v in batch[name]] if name in self.times else batch[name]
            for name in self.names
        ]
        dumps = json.dumps
        names = self.names
        self.file.writelines(
            dumps(dict(zip(names, row, strict=True)), ensure_ascii=False, separators=(",", ":"))
            + "\n"
            for row in zip(*columns, strict=True)
        )

    def close(self) -> None:
        self.file.close()


class ParquetWriter:
    """One row group per batch, zstd-compressed; no pandas metadata, so output is stable."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.schema = schema
        self.writer = pq.ParquetWriter(str(path), schema, compression="zstd")

    def write(self, batch: Mapping[str, Sequence[Any]]) -> None:
        arrays = [pa.array(batch[f.name], type=f.type) for f in self.schema]
        table = pa.Table.from_arrays(arrays, schema=self.schema)
        if table.num_rows:
            self.writer.write_table(table, row_group_size=table.num_rows)

    def close(self) -> None:
        self.writer.close()


WRITERS: dict[str, type] = {"csv": CsvWriter, "jsonl": JsonlWriter, "parquet": ParquetWriter}


def open_writer(fmt: str, path: Path, schema: pa.Schema) -> BatchWriter:
    return WRITERS[fmt](path, schema)


def file_digest(path: Path) -> dict[str, Any]:
    """Name, size and SHA-256 of a written file, read back in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return {"name": path.name, "bytes": size, "sha256": digest.hexdigest()}
