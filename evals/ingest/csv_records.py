"""CSV input: the column mapping, a row as the object a JSON line would be, and records.

A CSV file's columns are mapped to log fields (``guess_mapping`` proposes one,
``validate_mapping`` checks the one chosen); each record, which may span several
physical lines when a quoted cell holds newlines, becomes an object ``normalize``
reads as it reads a JSON line.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from annotate.text import text_problem
from evals.ingest.lines import Reason, Rejected, iter_lines, max_line_bytes

CSV_TARGETS = (
    "external_id",
    "timestamp",
    "model",
    "model_version",
    "input",
    "output",
    "feedback",
    "rating",
    "latency_ms",
    "tokens_in",
    "tokens_out",
    "trace_id",
)
IGNORE = "ignore"
METADATA_PREFIX = "metadata."


def guess_mapping(header: list[str]) -> dict[str, str]:
    """A first guess at the column mapping: known names map to fields, the rest to metadata."""
    aliases = {
        "id": "external_id",
        "prompt": "input",
        "question": "input",
        "messages": "input",
        "input_text": "input",
        "input_messages": "input",
        "answer": "output",
        "response": "output",
        "completion": "output",
        "model_name": "model",
        "version": "model_version",
        "prompt_variant": "model_version",
        "thumbs": "feedback",
        "session_id": "trace_id",
        "created": "timestamp",
    }
    mapping = {}
    for column in header:
        key = column.strip().lower().replace(" ", "_")
        target = key if key in CSV_TARGETS else aliases.get(key)
        mapping[column] = target or (METADATA_PREFIX + key if key else IGNORE)
    return mapping


def validate_mapping(header: list[str], mapping: dict[str, str]) -> list[str]:
    """Problems with a CSV column mapping (empty when it can be used)."""
    problems = []
    for column in mapping:
        if column not in header:
            problems.append(f"{Reason.UNKNOWN_COLUMN}: the file has no column {column!r}.")
    targets = [t for t in mapping.values() if t != IGNORE]
    for target in targets:
        if problem := text_problem(target):
            problems.append(f"The field {target!r} {problem}.")
        elif target not in CSV_TARGETS and not (
            target.startswith(METADATA_PREFIX) and len(target) > len(METADATA_PREFIX)
        ):
            problems.append(f"Unknown field {target!r}.")
    duplicates = {t for t in targets if targets.count(t) > 1}
    problems += [f"Two columns map to {t!r}." for t in sorted(duplicates)]
    if "output" not in targets:
        problems.append("One column must map to output.")
    return problems


def csv_row_to_object(header: list[str], row: list[str], mapping: dict[str, str]) -> dict:
    if len(row) > len(header):
        raise Rejected(
            Reason.UNKNOWN_COLUMN, f"The row has {len(row)} cells; the header has {len(header)}."
        )
    obj: dict[str, Any] = {}
    metadata: dict[str, str] = {}
    feedback: dict[str, Any] = {}
    for column, cell in zip(header, row, strict=False):
        target = mapping.get(column, IGNORE)
        if target == IGNORE or cell == "":
            continue
        if target.startswith(METADATA_PREFIX):
            metadata[target[len(METADATA_PREFIX) :]] = cell
        elif target == "input" and cell.lstrip().startswith("["):
            try:
                obj["input"] = json.loads(cell)
            except json.JSONDecodeError:
                raise Rejected(Reason.INVALID_JSON, f"{column}: messages are not JSON.") from None
        elif target == "feedback":
            feedback["thumbs"] = cell
        elif target == "rating":
            try:
                feedback["rating"] = float(cell)
            except ValueError:
                raise Rejected(Reason.WRONG_TYPE, f"{column}: rating is not a number.") from None
        else:
            obj[target] = cell
    if metadata:
        obj["metadata"] = metadata
    if feedback:
        obj["feedback"] = feedback
    return obj


def parse_csv_record(text: str) -> list[str]:
    """The cells of one CSV record (which may span several physical lines)."""
    try:
        return next(csv.reader(io.StringIO(text)), [])
    except csv.Error as exc:
        raise Rejected(Reason.INVALID_VALUE, f"Bad CSV: {exc}.") from None


def iter_csv_records(stream, first_line: int = 1) -> Iterator[tuple[int, bytes]]:
    """``(first line number, bytes)`` per CSV record: a quoted cell may hold newlines."""
    pending: list[bytes] = []
    start = first_line
    open_quotes = False
    for number, raw in iter_lines(stream, first_line):
        if not pending:
            start = number
        pending.append(raw)
        if raw.count(b'"') % 2:
            open_quotes = not open_quotes
        if not open_quotes or sum(len(p) for p in pending) > max_line_bytes():
            yield start, b"".join(pending)
            pending, open_quotes = [], False
    if pending:
        yield start, b"".join(pending)
