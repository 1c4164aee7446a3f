"""Production logs in: parse each line, validate it, redact it, insert in bulk.

Every way in (the API, browser uploads chunked over Celery workers, the ``ingest``
command) feeds ``ingest_lines`` with ``(line number, raw bytes)`` pairs read from a
stream, so memory stays bounded by one batch. Each non-blank line ends up in exactly
one of three counts — accepted, duplicate (same source + external id already
stored, or earlier in the same input), rejected (with its line number and a reason
code) — so ``accepted + duplicate + rejected == lines_read`` always holds.

Inserting never stores a log twice: on PostgreSQL rows are COPied into a temporary
table and moved with ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` (the row count
is the number accepted); on SQLite the batch's existing ids are read inside the same
write transaction, then ``bulk_create(ignore_conflicts=True)``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from annotate.text import text_problem
from evals.ingest import redaction
from evals.ingest.readahead import read_ahead
from evals.models import Log, Source
from evals.sampling import pairing


class Reason:
    """Reason codes for a rejected line (shown in the page and in the API response)."""

    INVALID_JSON = "invalid_json"
    TRUNCATED = "truncated"
    INVALID_UTF8 = "invalid_utf8"
    NUL_BYTE = "nul_byte"
    LINE_TOO_LARGE = "line_too_large"
    FIELD_TOO_LARGE = "field_too_large"
    TOO_DEEP = "too_deep"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_OUTPUT = "missing_output"
    WRONG_TYPE = "wrong_type"
    INVALID_VALUE = "invalid_value"
    UNKNOWN_COLUMN = "unknown_column"
    FILE_TOO_LARGE = "file_too_large"


class Format:
    JSONL = "jsonl"
    CSV = "csv"


def max_line_bytes() -> int:
    return getattr(settings, "QUORUM_INGEST_MAX_LINE_BYTES", 1024 * 1024)


def max_field_chars() -> int:
    return getattr(settings, "QUORUM_INGEST_MAX_FIELD_CHARS", 200_000)


def max_depth() -> int:
    return getattr(settings, "QUORUM_INGEST_MAX_DEPTH", 20)


def max_reported() -> int:
    return getattr(settings, "QUORUM_INGEST_MAX_REPORTED", 1000)


class Rejected(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


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


# --- Parsing one line ---------------------------------------------------------------------


def decode_line(raw: bytes) -> str:
    if b"\x00" in raw:
        raise Rejected(Reason.NUL_BYTE, "The line contains a NUL byte.")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected(Reason.INVALID_UTF8, f"Not valid UTF-8 at byte {exc.start}.") from None


def parse_json_line(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    # orjson refused it: ask the standard parser why, for a precise reason code.
    stripped = text.strip()
    try:
        json.loads(stripped)
    except RecursionError:
        raise Rejected(Reason.TOO_DEEP, "The JSON is nested too deeply.") from None
    except json.JSONDecodeError as exc:
        at_end = exc.pos >= len(stripped) or exc.msg.startswith("Unterminated string")
        if at_end and stripped[:1] in "{[":
            raise Rejected(Reason.TRUNCATED, "The line ends before its JSON does.") from None
        raise Rejected(
            Reason.INVALID_JSON, f"Invalid JSON: {exc.msg} at column {exc.colno}."
        ) from None
    except ValueError:
        pass
    raise Rejected(
        Reason.INVALID_JSON, "Invalid JSON: NaN, Infinity, a lone surrogate, or nested too deep."
    )


def check_shape(
    value: Any, text: str = "", depth_limit: int | None = None, chars_limit: int | None = None
) -> None:
    """Reject values nested too deep, with a string over the size limit, or with NUL.

    ``text`` is the line the value was parsed from: strings are only walked when the
    line is long enough to hold an oversized one, or holds an escaped NUL.
    """
    depth_limit = depth_limit or max_depth()
    chars_limit = chars_limit or max_field_chars()
    walk_strings = not text or len(text) > chars_limit or "\\u0000" in text
    if not walk_strings and text.count("{") + text.count("[") < depth_limit:
        return  # too few brackets to nest that deep, too short to hold an oversized field
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > depth_limit:
            raise Rejected(Reason.TOO_DEEP, f"Nested deeper than {depth_limit} levels.")
        children = node.values() if isinstance(node, dict) else node
        if walk_strings and isinstance(node, dict):
            children = [*node.keys(), *node.values()]
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
            elif walk_strings and isinstance(child, str):
                _check_string(child, chars_limit)
    if walk_strings and isinstance(value, str):
        _check_string(value, chars_limit)


def _check_string(value: str, chars_limit: int) -> None:
    if len(value) > chars_limit:
        raise Rejected(Reason.FIELD_TOO_LARGE, f"A field is over {chars_limit} characters.")
    problem = text_problem(value)  # the one text rule of every way in
    if problem:
        reason = Reason.NUL_BYTE if "\x00" in value else Reason.INVALID_VALUE
        raise Rejected(reason, f"A field {problem}.")


# --- Mapping a parsed object to log fields -------------------------------------------------


def _text(obj: dict, name: str, value: Any, *, blank: bool = True, limit: int = 200) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool) and name == "external_id":
        value = str(value)
    if not isinstance(value, str):
        raise Rejected(Reason.WRONG_TYPE, f"{name} must be a string, not {type(value).__name__}.")
    if len(value) > limit:
        raise Rejected(Reason.FIELD_TOO_LARGE, f"{name} is over {limit} characters.")
    return value


def _count(name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Rejected(Reason.WRONG_TYPE, f"{name} must be a whole number.")
    if value < 0 or value > 2_000_000_000:
        raise Rejected(Reason.INVALID_VALUE, f"{name} is out of range.")
    return value


def _timestamp(value: Any) -> datetime:
    if value is None or value == "":
        return timezone.now()
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value) or not 0 <= value < 10**11:
            raise Rejected(Reason.INVALID_VALUE, "timestamp is out of range.")
        return datetime.fromtimestamp(value, tz=UTC)
    if not isinstance(value, str):
        raise Rejected(Reason.WRONG_TYPE, "timestamp must be an ISO 8601 string or epoch seconds.")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        try:
            parsed = parse_datetime(value.strip().replace("Z", "+00:00"))
        except ValueError:
            parsed = None
    if parsed is None:
        raise Rejected(Reason.INVALID_VALUE, f"timestamp {value[:40]!r} is not ISO 8601.")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _content(value: Any) -> str:
    """A message's content: a string, or OpenAI content parts joined."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        texts = []
        for part in value:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, str):
                texts.append(part)
            else:
                raise Rejected(Reason.WRONG_TYPE, "Message content parts must carry text.")
        return "\n".join(texts)
    raise Rejected(Reason.WRONG_TYPE, "Message content must be a string.")


def _messages(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise Rejected(Reason.WRONG_TYPE, "messages must be a list.")
    out = []
    for message in value:
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise Rejected(Reason.WRONG_TYPE, "Each message needs a role and content.")
        out.append({"role": message["role"], "content": _content(message.get("content"))})
    return out


def _openai_output(choices: Any) -> str | None:
    if choices is None:
        return None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise Rejected(Reason.WRONG_TYPE, "choices must be a non-empty list of objects.")
    first = choices[0]
    if isinstance(first.get("message"), dict):
        return _content(first["message"].get("content"))
    if "text" in first:
        return _content(first["text"])
    raise Rejected(Reason.MISSING_OUTPUT, "choices[0] has no message content.")


def _feedback(value: Any) -> tuple[dict[str, Any], bool]:
    """End-user feedback as a dict, and whether it is negative."""
    if value is None or value == "" or value == {}:
        return {}, False
    if isinstance(value, str):
        value = {"thumbs": value}
    elif isinstance(value, bool):
        value = {"thumbs": "up" if value else "down"}
    elif isinstance(value, int | float):
        value = {"rating": value}
    if not isinstance(value, dict):
        raise Rejected(Reason.WRONG_TYPE, "feedback must be an object.")
    thumbs = str(value.get("thumbs", value.get("thumb", ""))).lower()
    rating = value.get("rating")
    if rating is not None and (not isinstance(rating, int | float) or isinstance(rating, bool)):
        raise Rejected(Reason.WRONG_TYPE, "feedback.rating must be a number.")
    scale = value.get("scale", 5)
    negative = thumbs in {"down", "-1", "negative", "false", "bad"} or (
        rating is not None and isinstance(scale, int | float) and rating <= scale * 0.4
    )
    return value, negative


def _external_id(obj: dict, raw_text: str) -> str:
    value = obj.get("external_id", obj.get("id"))
    if value is None and isinstance(obj.get("response"), dict):
        value = obj["response"].get("id")
    if value is None or value == "":
        # No id given: the content is the id, so re-sending the same line is a duplicate.
        return "sha256:" + hashlib.sha256(raw_text.strip().encode()).hexdigest()
    return _text(obj, "external_id", value, limit=200)


# Where the input may be: ours, common names, and the columns of Quorum's own exports.
INPUT_KEYS = ("input", "prompt", "messages", "input_messages", "input_text")


def normalize(obj: Any, raw_text: str = "") -> dict[str, Any]:
    """Log field values from one parsed record (Quorum or OpenAI request/response style)."""
    if not isinstance(obj, dict):
        raise Rejected(Reason.NOT_AN_OBJECT, "Each line must be a JSON object.")
    request = obj.get("request") if isinstance(obj.get("request"), dict) else {}
    response = obj.get("response") if isinstance(obj.get("response"), dict) else {}

    output: Any = obj.get("output", obj.get("completion"))
    if output is None:
        output = _openai_output(obj.get("choices", response.get("choices")))
    if output is None:
        raise Rejected(Reason.MISSING_OUTPUT, "The line has no output.")
    if not isinstance(output, str):
        raise Rejected(Reason.WRONG_TYPE, "output must be a string.")

    raw_input = next((obj[key] for key in INPUT_KEYS if obj.get(key) not in (None, "", [])), None)
    if raw_input is None:
        raw_input = obj.get("input", request.get("messages"))
    if raw_input is None and "prompt" in request:
        raw_input = request["prompt"]
    input_text, input_messages = "", []
    if isinstance(raw_input, list):
        input_messages = _messages(raw_input)
    elif raw_input is not None:
        if not isinstance(raw_input, str):
            raise Rejected(Reason.WRONG_TYPE, "input must be a string or a list of messages.")
        input_text = raw_input
    system = obj.get("system_prompt")
    if isinstance(system, str) and system:
        if not input_messages:
            input_messages = [{"role": "user", "content": input_text}] if input_text else []
            input_text = ""
        input_messages.insert(0, {"role": "system", "content": system})

    metadata = obj.get("metadata", {}) or {}
    if not isinstance(metadata, dict):
        raise Rejected(Reason.WRONG_TYPE, "metadata must be an object.")
    feedback, negative = _feedback(obj.get("feedback"))
    usage = obj.get("usage", response.get("usage")) or {}
    if not isinstance(usage, dict):
        raise Rejected(Reason.WRONG_TYPE, "usage must be an object.")
    model = obj.get("model", obj.get("model_name", response.get("model", request.get("model"))))
    version = obj.get("model_version", obj.get("prompt_variant", obj.get("version")))
    timestamp = obj.get("timestamp", obj.get("created", response.get("created")))

    return {
        "external_id": _external_id(obj, raw_text),
        "timestamp": _timestamp(timestamp),
        "model_name": _text(obj, "model", model),
        "model_version": _text(obj, "model_version", version),
        "input_text": input_text,
        "input_messages": input_messages,
        "output": output,
        "metadata": metadata,
        "feedback": feedback,
        "feedback_negative": negative,
        "latency_ms": _count("latency_ms", obj.get("latency_ms")),
        "tokens_in": _count(
            "tokens_in", obj.get("tokens_in", usage.get("prompt_tokens", usage.get("input_tokens")))
        ),
        "tokens_out": _count(
            "tokens_out",
            obj.get("tokens_out", usage.get("completion_tokens", usage.get("output_tokens"))),
        ),
        "trace_id": _text(obj, "trace_id", obj.get("trace_id", obj.get("session_id"))),
        "redacted": False,
    }


# --- CSV -----------------------------------------------------------------------------------

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


# --- The pipeline --------------------------------------------------------------------------


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


def insert_records(
    source: Source, records: list[dict[str, Any]], payload: bytes | None = None
) -> int:
    """Insert records not stored yet; returns how many were new. Duplicates are skipped.

    ``payload`` is ``copy_text(records)`` when the caller made it already.
    """
    if not records:
        return 0
    with transaction.atomic():
        if connection.vendor == "postgresql":
            return _insert_postgres(source, payload or copy_text(records))
        return _insert_portable(source, records)


def _insert_portable(source: Source, records: list[dict[str, Any]]) -> int:
    ids = [r["external_id"] for r in records]
    seen = set(
        Log.objects.filter(source=source, external_id__in=set(ids)).values_list(
            "external_id", flat=True
        )
    )
    now = timezone.now()
    new = []
    for record in records:
        if record["external_id"] in seen:
            continue
        seen.add(record["external_id"])
        new.append(Log(workspace_id=source.workspace_id, source=source, created_at=now, **record))
    Log.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


STAGE_COLUMNS = (
    ("external_id", "text"),
    ("timestamp", "timestamptz"),
    ("model_name", "text"),
    ("model_version", "text"),
    ("input_text", "text"),
    ("input_messages", "jsonb"),
    ("output", "text"),
    ("metadata", "jsonb"),
    ("feedback", "jsonb"),
    ("feedback_negative", "boolean"),
    ("latency_ms", "integer"),
    ("tokens_in", "integer"),
    ("tokens_out", "integer"),
    ("trace_id", "text"),
    ("redacted", "boolean"),
    ("input_key", "bigint"),
)
JSON_COLUMNS = {"input_messages", "metadata", "feedback"}
STAGE = "quorum_ingest_stage"


def _escape(text: str) -> str:
    """A value in PostgreSQL's COPY text format (backslash, tab, newline, CR escaped)."""
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if "\t" in text:
        text = text.replace("\t", "\\t")
    if "\n" in text:
        text = text.replace("\n", "\\n")
    if "\r" in text:
        text = text.replace("\r", "\\r")
    return text


def _copy_value(name: str, value: Any) -> str:
    if value is None:
        return "\\N"
    if name in JSON_COLUMNS:
        return _escape(orjson.dumps(value).decode())
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, str):
        return _escape(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def copy_text(records: list[dict[str, Any]]) -> bytes:
    """The records as ``COPY ... FROM STDIN`` text-format rows of ``STAGE_COLUMNS``."""
    names = [name for name, _ in STAGE_COLUMNS]
    rows = ["\t".join([_copy_value(n, record[n]) for n in names]) for record in records]
    return ("\n".join(rows) + "\n").encode()


def _insert_postgres(source: Source, payload: bytes) -> int:
    names = [name for name, _ in STAGE_COLUMNS]
    columns = ", ".join(f'"{n}"' for n in names)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} ("
            + ", ".join(f'"{n}" {t}' for n, t in STAGE_COLUMNS)
            + ") ON COMMIT DELETE ROWS"
        )
        cursor.execute(f"TRUNCATE {STAGE}")
        with cursor.cursor.copy(f"COPY {STAGE} ({columns}) FROM STDIN") as copy:
            copy.write(payload)
        cursor.execute(
            f"INSERT INTO {Log._meta.db_table} (workspace_id, source_id, created_at, {columns}) "
            f"SELECT %s, %s, %s, {columns} FROM {STAGE} "
            "ON CONFLICT (source_id, external_id) DO NOTHING",
            [source.workspace_id, source.pk, timezone.now()],
        )
        return cursor.rowcount


def iter_lines(stream, first_line: int = 1) -> Iterator[tuple[int, bytes]]:
    """``(number, bytes)`` per line of a binary stream; an oversized line comes back cut short
    but still over the limit, so the parser rejects it without holding all of it."""
    limit = max_line_bytes()
    number = first_line
    while True:
        raw = stream.readline(limit + 1)
        if not raw:
            return
        if len(raw) > limit and not raw.endswith(b"\n"):
            while True:  # skip the rest of the long line
                rest = stream.readline(limit)
                if not rest or rest.endswith(b"\n"):
                    break
        yield number, raw
        number += 1
