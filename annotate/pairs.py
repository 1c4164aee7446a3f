"""Creating pairwise items: by hand, from an uploaded file of pairs, or from code.

A row describes one pair:

    {"input": "...", "output_a": "...", "output_b": "...",
     "model_a": "...", "version_a": "...", "model_b": "...", "version_b": "...",
     "metadata": {...}}

``input`` may be replaced by ``input_messages`` (a list of ``{"role", "content"}``);
``source_log_id`` (the log output A came from) is optional. ``input``, ``output_a`` and
``output_b`` are required. A pair whose two outputs are identical (ignoring whitespace)
is refused with an error, because it can only measure noise. So is a row with text that
cannot be stored (a NUL or a lone surrogate anywhere, ``annotate.text``) or whose
``source_log_id`` is not a log of the queue's workspace. Rows with errors are reported
by line and the good rows are still created.

``create_pair_items(queue, rows)`` is the entry point for other code (pairing
production logs); ``parse_pairs_file`` reads JSONL or CSV uploads into rows.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from annotate.items import add_items
from annotate.models import Item, Queue
from annotate.text import nested_text_problem

REQUIRED = ("output_a", "output_b")
TEXT_FIELDS = {
    "input": "input_text",
    "output_a": "output",
    "output_b": "output_b",
    "model_a": "model_name",
    "version_a": "model_version",
    "model_b": "model_name_b",
    "version_b": "model_version_b",
}
KNOWN = set(TEXT_FIELDS) | {"input_messages", "metadata", "source_log_id"}
NAME_LIMIT = 200
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ID = 2**63 - 1


class PairError(ValueError):
    """A row that cannot become a pair; the message says why, for the person who wrote it."""


@dataclass
class PairImport:
    created: list[Item] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def same_output(first: str, second: str) -> bool:
    """Whether two outputs are the same text once whitespace is normalized."""
    return " ".join(first.split()) == " ".join(second.split())


def _messages(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise PairError("input_messages must be a non-empty list of {role, content}.")
    cleaned = []
    for message in value:
        if not isinstance(message, Mapping) or not isinstance(message.get("content"), str):
            raise PairError("Each input message needs a role and text content.")
        cleaned.append({"role": str(message.get("role", "user")), "content": message["content"]})
    return cleaned


def pair_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """Item fields for one row of a pair; raises ``PairError`` with a readable message."""
    if not isinstance(row, Mapping):
        raise PairError("Each pair must be an object with input, output_a and output_b.")
    problem = nested_text_problem(dict(row))
    if problem:
        raise PairError(f"{problem}.")
    fields: dict[str, Any] = {}
    for key, target in TEXT_FIELDS.items():
        value = row.get(key)
        if value is None:
            value = ""
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise PairError(f"{key} must be text.")
        fields[target] = str(value).strip() if key.startswith(("model", "version")) else str(value)
        if target.startswith("model") and len(fields[target]) > NAME_LIMIT:
            raise PairError(f"{key} is longer than {NAME_LIMIT} characters.")
    missing = [key for key in REQUIRED if not fields[TEXT_FIELDS[key]].strip()]
    messages = row.get("input_messages")
    if messages not in (None, "", []):
        fields["input_messages"] = _messages(messages)
    elif not fields["input_text"].strip():
        missing.insert(0, "input")
    if missing:
        raise PairError("Missing " + ", ".join(missing) + ".")
    if same_output(fields["output"], fields["output_b"]):
        raise PairError("The two outputs are identical; a pair needs two different outputs.")
    metadata = row.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise PairError("metadata must be an object.")
    fields["metadata"] = dict(metadata)
    if row.get("source_log_id") not in (None, ""):
        try:
            fields["source_log_id"] = int(row["source_log_id"])
        except (TypeError, ValueError):
            raise PairError("source_log_id must be a number.") from None
        if not 1 <= fields["source_log_id"] <= MAX_ID:
            raise PairError("source_log_id is not the id of a log.")
    return fields


def _unknown_logs(queue: Queue, rows: list[dict[str, Any]]) -> set[int]:
    """The rows' source_log_ids that are not logs of the queue's workspace."""
    wanted = {row["source_log_id"] for row in rows if "source_log_id" in row}
    if not wanted:
        return set()
    logs = Item._meta.get_field("source_log").related_model._default_manager
    found = logs.filter(workspace_id=queue.workspace_id, pk__in=wanted).values_list("pk", flat=True)
    return wanted - set(found)


def create_pair_items(
    queue: Queue, rows: Iterable[Mapping[str, Any]], *, lines: Sequence[int] | None = None
) -> PairImport:
    """Create a pairwise item per good row; report the others as (line, message).

    ``lines`` gives each row's line number for messages (default: 1, 2, 3, ...).
    """
    if queue.kind != Queue.Kind.PAIRWISE:
        raise ValueError("Pairs can only be added to a pairwise queue.")
    result = PairImport()
    parsed: list[tuple[int, dict[str, Any]]] = []
    for index, row in enumerate(rows):
        line = lines[index] if lines is not None else index + 1
        try:
            parsed.append((line, pair_fields(row)))
        except PairError as exc:
            result.errors.append((line, str(exc)))
    unknown = _unknown_logs(queue, [fields for _, fields in parsed])
    good: list[dict[str, Any]] = []
    for line, fields in parsed:
        if fields.get("source_log_id") in unknown:
            message = f"source_log_id {fields['source_log_id']} is not a log of this workspace."
            result.errors.append((line, message))
        else:
            good.append(fields)
    result.errors.sort()
    if good:
        result.created = add_items(queue, good)
    return result


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PairError("The file is not UTF-8 text.") from None


def parse_pairs_file(name: str, data: bytes) -> tuple[list[dict[str, Any]], list[int], list]:
    """Rows of a JSONL or CSV file of pairs: (rows, their line numbers, errors by line).

    CSV columns are the row keys; a ``metadata`` column holds JSON, and any other
    unknown column is kept in the item's metadata.
    """
    if len(data) > MAX_FILE_BYTES:
        raise PairError(f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.")
    text = _decode(data)
    if name.lower().endswith(".csv"):
        return _parse_csv(text)
    return _parse_jsonl(text)


def _parse_jsonl(text: str) -> tuple[list[dict[str, Any]], list[int], list]:
    rows, lines, errors = [], [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append((number, f"Not valid JSON ({exc.msg})."))
            continue
        if not isinstance(row, dict):
            errors.append((number, "Each line must be a JSON object."))
            continue
        rows.append(row)
        lines.append(number)
    return rows, lines, errors


def _parse_csv(text: str) -> tuple[list[dict[str, Any]], list[int], list]:
    reader = csv.DictReader(io.StringIO(text))
    rows, lines, errors = [], [], []
    for row in reader:
        number = reader.line_num
        extra = {k: v for k, v in row.items() if k not in KNOWN and k is not None and v}
        clean: dict[str, Any] = {k: v for k, v in row.items() if k in KNOWN}
        if None in row:
            errors.append((number, "This line has more values than the header has columns."))
            continue
        try:
            metadata = json.loads(clean["metadata"]) if clean.get("metadata") else {}
            if clean.get("input_messages"):
                clean["input_messages"] = json.loads(clean["input_messages"])
        except json.JSONDecodeError:
            errors.append((number, "metadata and input_messages must be JSON."))
            continue
        if not isinstance(metadata, dict):
            errors.append((number, "metadata must be a JSON object."))
            continue
        clean["metadata"] = {**extra, **metadata}
        rows.append(clean)
        lines.append(number)
    return rows, lines, errors


def import_pairs_file(queue: Queue, name: str, data: bytes) -> PairImport:
    """Parse an uploaded file and create its good pairs; every problem is reported by line."""
    try:
        rows, lines, errors = parse_pairs_file(name, data)
    except PairError as exc:
        return PairImport(errors=[(0, str(exc))])
    result = create_pair_items(queue, rows, lines=lines)
    result.errors = sorted(errors + result.errors)
    return result
