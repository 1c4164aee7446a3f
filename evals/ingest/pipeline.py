"""Production logs in: parse each line, validate it, redact it, insert in bulk.

Every way in (the API, browser uploads chunked over Celery workers, the ``ingest``
command) feeds ``ingest_lines`` with ``(line number, raw bytes)`` pairs read from a
stream, so memory stays bounded by one batch. Each non-blank line ends up in exactly
one of three counts — accepted, duplicate (same source + external id already
stored, or earlier in the same input), rejected (with its line number and a reason
code) — so ``accepted + duplicate + rejected == lines_read`` always holds.

The steps have modules of their own: ``lines`` (reading and checking a raw line),
``csv_records`` (CSV columns and records), ``fields`` (a parsed object as log fields)
and ``bulk`` (inserting: on PostgreSQL through COPY into a temporary table and
``INSERT ... ON CONFLICT DO NOTHING``, elsewhere with ``bulk_create``). This module
runs them and is the one the ways in import.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection

from evals.ingest import redaction
from evals.ingest.bulk import copy_text, insert_records
from evals.ingest.csv_records import (
    CSV_TARGETS,
    IGNORE,
    METADATA_PREFIX,
    csv_row_to_object,
    guess_mapping,
    iter_csv_records,
    parse_csv_record,
    validate_mapping,
)
from evals.ingest.fields import normalize
from evals.ingest.lines import (
    Format,
    Reason,
    Rejected,
    check_shape,
    decode_line,
    iter_lines,
    max_depth,
    max_field_chars,
    max_line_bytes,
    max_reported,
    parse_json_line,
)
from evals.ingest.readahead import read_ahead
from evals.models import Source
from evals.sampling import pairing

# The pipeline's public names: the ways in (API, uploads, views, the ingest command) and
# the tests import them from here.
__all__ = [
    "CSV_TARGETS",
    "IGNORE",
    "METADATA_PREFIX",
    "Format",
    "Parser",
    "Reason",
    "Rejected",
    "Report",
    "guess_mapping",
    "ingest_lines",
    "insert_records",
    "iter_csv_records",
    "iter_lines",
    "normalize",
    "parse_csv_record",
    "parsed_batches",
    "validate_mapping",
]


@dataclass
class Report:
    """What happened to the lines of one input (or one chunk of it)."""

    lines_read: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)
    # [line number, reason code, message], the first ``max_reported()`` of them.
    errors: list[list[Any]] = field(default_factory=list)

    def reject(self, line: int, reason: str, message: str) -> None:
        self.rejected += 1
        self.reasons[reason] += 1
        if len(self.errors) < max_reported():
            self.errors.append([line, reason, message[:300]])

    def merge(self, other: Report | dict[str, Any]) -> None:
        data = other.as_dict() if isinstance(other, Report) else other
        self.lines_read += data["lines_read"]
        self.accepted += data["accepted"]
        self.duplicate += data["duplicate"]
        self.rejected += data["rejected"]
        self.reasons.update(data["reasons"])
        room = max_reported() - len(self.errors)
        if room > 0:
            self.errors.extend(data["errors"][:room])

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines_read": self.lines_read,
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "reasons": dict(self.reasons),
            "errors": self.errors,
        }

    @property
    def balanced(self) -> bool:
        return self.accepted + self.duplicate + self.rejected == self.lines_read


@dataclass
class Parser:
    """Turns one raw line into a normalized, redacted record, or raises Rejected."""

    source: Source
    fmt: str = Format.JSONL
    header: list[str] | None = None
    mapping: dict[str, str] | None = None

    def __post_init__(self) -> None:
        self.line_limit = max_line_bytes()
        self.depth_limit = max_depth()
        self.chars_limit = max_field_chars()
        self.redaction = self.source.redaction or {}

    def __call__(self, raw: bytes) -> dict[str, Any]:
        if len(raw) > self.line_limit:
            raise Rejected(Reason.LINE_TOO_LARGE, f"The line is over {self.line_limit} bytes.")
        text = decode_line(raw)
        if self.fmt == Format.CSV:
            obj: Any = csv_row_to_object(
                self.header or [], parse_csv_record(text), self.mapping or {}
            )
        else:
            obj = parse_json_line(text)
        check_shape(obj, text, self.depth_limit, self.chars_limit)
        record = redaction.redact_record(normalize(obj, text), self.redaction)
        record["input_key"] = pairing.input_key(record["input_text"], record["input_messages"])
        return record


def ingest_lines(
    source: Source,
    lines: Iterable[tuple[int, bytes]],
    *,
    parser: Parser | None = None,
    batch_size: int | None = None,
    report: Report | None = None,
) -> Report:
    """Ingest ``(line number, raw bytes)`` pairs into ``source``. Blank lines are not counted.

    Lines are parsed in a second thread while the previous batch is inserted.
    """
    parser = parser or Parser(source)
    report = report or Report()
    batch_size = batch_size or getattr(settings, "QUORUM_INGEST_BATCH", 1000)
    batches: Iterator[tuple[list[dict[str, Any]], bytes | None]]
    if connection.vendor == "postgresql":
        # The COPY text is made in the parsing thread too.
        batches = (
            (records, copy_text(records))
            for records in parsed_batches(lines, parser, report, batch_size)
        )
    else:
        batches = ((records, None) for records in parsed_batches(lines, parser, report, batch_size))
    with closing(read_ahead(batches)) as ready:
        for records, payload in ready:
            _flush(source, records, report, payload)
    return report


def parsed_batches(
    lines: Iterable[tuple[int, bytes]], parser: Parser, report: Report, batch_size: int
) -> Iterator[list[dict[str, Any]]]:
    """Batches of parsed records; rejected lines go to ``report`` with their numbers."""
    batch: list[dict[str, Any]] = []
    for number, raw in lines:
        if not raw.strip():
            continue
        report.lines_read += 1
        try:
            batch.append(parser(raw))
        except Rejected as exc:
            report.reject(number, exc.reason, exc.message)
            continue
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _flush(
    source: Source, batch: list[dict[str, Any]], report: Report, payload: bytes | None = None
) -> None:
    accepted = insert_records(source, batch, payload)
    report.accepted += accepted
    report.duplicate += len(batch) - accepted
