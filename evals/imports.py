"""Importing judgments a team already has, in the export's own judgments shape.

``import_judgments(queue, path, fmt)`` reads a CSV, JSONL or Parquet file whose
columns are those of the judgments export (``answer_<key>`` per criterion), checks
every row against the queue's rubric version, and records the good rows:

- items are matched on their content (input, messages, output, model, version,
  metadata) within the queue and created when missing;
- reviewers are matched on their label: an existing member's pseudonym, or an
  earlier imported reviewer; otherwise an inactive user with an unusable password,
  ``imported-<hash>``, is created with a reviewer membership and the row's cohorts.

Bad rows are reported with their row number and message and skip nothing else.
Importing the same file twice adds nothing: a reviewer's judgment on an item
exists once. Imported judgments are ordinary judgments and count in agreement.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F

from annotate.items import add_items
from annotate.judging import UNKNOWN, validate_answers
from annotate.models import Cohort, Item, Judgment, Membership, Queue, Role

from .export_writers import canonical_json, parse_time, unneutralize
from .exports import pseudonym
from .models import ImportedReviewer

IMPORT_FORMATS = ("csv", "jsonl", "parquet")
CHUNK_ROWS = 1000
MAX_ERRORS = 1000
ANSWER_PREFIX = "answer_"
TEXT_COLUMNS = (
    "input_text",
    "input_messages",
    "output",
    "model_name",
    "model_version",
    "item_metadata",
    "reviewer",
    "cohorts",
)


class ImportFileError(ValueError):
    """The file as a whole cannot be read (wrong format, no header, ...)."""


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    items_created: int = 0
    reviewers_created: int = 0
    refused: int = 0  # every bad row; ``errors`` lists the first MAX_ERRORS of them
    errors: list[dict[str, Any]] = field(default_factory=list)

    def error(self, row: int, message: str) -> None:
        self.refused += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"row": row, "message": message})

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "items_created": self.items_created,
            "reviewers_created": self.reviewers_created,
            "refused": self.refused,
            "errors": self.errors,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportResult:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


# Called inside each chunk's transaction with the result so far and the rows read, so a
# checkpoint written there commits (or not) with the chunk's judgments.
OnChunk = Callable[[ImportResult, int], None]


# --- Reading ----------------------------------------------------------------------------


def _csv_rows(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames:
            raise ImportFileError("The CSV file has no header row.")
        for row in reader:
            yield {
                key: (unneutralize(value) if isinstance(value, str) else value)
                for key, value in row.items()
                if key is not None
            }


def _jsonl_rows(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                value = None
            yield value if isinstance(value, dict) else {"__invalid__": True}


def _parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    try:
        parquet = pq.ParquetFile(str(path))
    except Exception as exc:  # pyarrow raises several kinds for a file that is not Parquet
        raise ImportFileError("The file is not a Parquet file.") from exc
    for batch in parquet.iter_batches(batch_size=CHUNK_ROWS):
        yield from batch.to_pylist()


READERS = {"csv": _csv_rows, "jsonl": _jsonl_rows, "parquet": _parquet_rows}


def read_rows(path: Path, fmt: str) -> Iterator[dict[str, Any]]:
    if fmt not in READERS:
        raise ImportFileError("format must be one of: " + ", ".join(IMPORT_FORMATS) + ".")
    try:
        yield from READERS[fmt](path)
    except UnicodeDecodeError as exc:
        raise ImportFileError("The file is not UTF-8 text.") from exc
    except csv.Error as exc:
        raise ImportFileError(f"The CSV file cannot be read: {exc}") from exc


# --- One row ----------------------------------------------------------------------------


@dataclass
class Parsed:
    number: int
    item: dict[str, Any]
    item_key: str
    reviewer: str
    cohorts: list[str]
    answers: dict[str, Any]
    time_spent_ms: int
    revision: int
    created_at: Any
    updated_at: Any


def _json_field(value: Any, default: Any, name: str) -> Any:
    if value in (None, ""):
        return default
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(f"{name} is not valid JSON.") from None
    return value


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _int(value: Any, default: int, name: str) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number.") from None
    if number < 0 or number > 2**31 - 1:
        raise ValueError(f"{name} is out of range.")
    return number


def parse_row(number: int, raw: dict[str, Any], criteria) -> Parsed:
    """One file row checked against the rubric. Raises ValueError with the row's problem."""
    if raw.get("__invalid__"):
        raise ValueError("This line is not a JSON object.")
    output = _text(raw.get("output"))
    if not output.strip():
        raise ValueError("output is missing.")
    reviewer = _text(raw.get("reviewer")).strip()
    if not reviewer:
        raise ValueError("reviewer is missing.")
    if len(reviewer) > 200:
        raise ValueError("reviewer is longer than 200 characters.")
    messages = _json_field(raw.get("input_messages"), [], "input_messages")
    metadata = _json_field(raw.get("item_metadata"), {}, "item_metadata")
    if not isinstance(messages, list):
        raise ValueError("input_messages must be a JSON list.")
    if not isinstance(metadata, dict):
        raise ValueError("item_metadata must be a JSON object.")
    item = {
        "input_text": _text(raw.get("input_text")),
        "input_messages": messages,
        "output": output,
        "model_name": _text(raw.get("model_name"))[:200],
        "model_version": _text(raw.get("model_version"))[:200],
        "metadata": metadata,
    }
    answers_raw = {
        key[len(ANSWER_PREFIX) :]: value
        for key, value in raw.items()
        if key.startswith(ANSWER_PREFIX) and value not in (None, "")
    }
    answers, errors = validate_answers(criteria, answers_raw)
    if errors:
        message = "; ".join(
            f"{key}: {text}" if key != UNKNOWN else text for key, text in sorted(errors.items())
        )
        raise ValueError(message)
    try:
        created_at = parse_time(raw["created_at"]) if raw.get("created_at") else None
        updated_at = parse_time(raw["updated_at"]) if raw.get("updated_at") else created_at
    except (TypeError, ValueError):
        raise ValueError("created_at and updated_at must be ISO 8601 times.") from None
    cohorts = [name.strip() for name in _text(raw.get("cohorts")).split(";") if name.strip()]
    return Parsed(
        number=number,
        item=item,
        item_key=item_key(item),
        reviewer=reviewer,
        cohorts=cohorts,
        answers=answers,
        time_spent_ms=_int(raw.get("time_spent_ms"), 0, "time_spent_ms"),
        revision=max(1, _int(raw.get("revision"), 1, "revision")),
        created_at=created_at,
        updated_at=updated_at,
    )


def item_key(fields: dict[str, Any]) -> str:
    content = {
        "input_text": fields["input_text"],
        "input_messages": fields["input_messages"] or [],
        "output": fields["output"],
        "model_name": fields["model_name"],
        "model_version": fields["model_version"],
        "metadata": fields["metadata"] or {},
    }
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


# --- Reviewers and items ----------------------------------------------------------------


class Reviewers:
    """Finds or creates the user behind each reviewer label in the file."""

    def __init__(self, queue: Queue, result: ImportResult) -> None:
        self.workspace = queue.workspace
        self.result = result
        self.by_label: dict[str, int] = dict(
            ImportedReviewer.objects.filter(workspace=self.workspace).values_list(
                "label", "user_id"
            )
        )
        for user_id in Membership.objects.filter(workspace=self.workspace).values_list(
            "user_id", flat=True
        ):
            self.by_label.setdefault(pseudonym(self.workspace.pk, user_id), user_id)

    def user_id(self, label: str, cohorts: list[str]) -> int:
        if label in self.by_label:
            return self.by_label[label]
        user_model = get_user_model()
        digest = hashlib.sha256(f"{self.workspace.pk}:{label}".encode()).hexdigest()[:20]
        user, _ = user_model.objects.get_or_create(
            username=f"imported-{digest}", defaults={"is_active": False}
        )
        if user.has_usable_password():
            user.set_unusable_password()
            user.save(update_fields=["password"])
        Membership.objects.get_or_create(
            workspace=self.workspace, user=user, defaults={"role": Role.REVIEWER}
        )
        ImportedReviewer.objects.get_or_create(
            workspace=self.workspace, label=label, defaults={"user": user}
        )
        for name in cohorts:
            cohort, _ = Cohort.objects.get_or_create(workspace=self.workspace, name=name[:100])
            cohort.members.add(user)
        self.by_label[label] = user.pk
        self.result.reviewers_created += 1
        return user.pk


class Items:
    """Finds or creates the queue's item for each row's content."""

    def __init__(self, queue: Queue, result: ImportResult) -> None:
        self.queue = queue
        self.result = result
        self.by_key: dict[str, int] = {}
        self.counts: dict[int, int] = {}
        fields = ("pk", "input_text", "input_messages", "output", "model_name", "model_version")
        for values in Item.objects.filter(queue=queue).values_list(*fields, "metadata"):
            record = dict(zip((*fields[1:], "metadata"), values[1:], strict=True))
            self.by_key.setdefault(item_key(record), values[0])

    def ensure(self, rows: list[Parsed]) -> None:
        missing: dict[str, dict[str, Any]] = {}
        for row in rows:
            if row.item_key not in self.by_key:
                missing.setdefault(row.item_key, row.item)
        if missing:
            created = add_items(self.queue, list(missing.values()))
            for key, item in zip(missing, created, strict=True):
                self.by_key[key] = item.pk
            self.result.items_created += len(created)


# --- Recording --------------------------------------------------------------------------


def _record_chunk(
    queue: Queue,
    rows: list[Parsed],
    items: Items,
    reviewers: Reviewers,
    result: ImportResult,
    on_chunk: OnChunk | None = None,
    read: int = 0,
) -> None:
    with transaction.atomic():
        items.ensure(rows)
        item_ids = {items.by_key[row.item_key] for row in rows}
        state = {
            pk: [needed, count]
            for pk, needed, count in Item.objects.select_for_update()
            .filter(pk__in=item_ids)
            .values_list("pk", "judgments_needed", "judgment_count")
        }
        taken = set(
            Judgment.objects.filter(item_id__in=item_ids).values_list("item_id", "reviewer_id")
        )
        new: list[Judgment] = []
        added: dict[int, int] = {}
        for row in rows:
            item_id = items.by_key[row.item_key]
            user_id = reviewers.user_id(row.reviewer, row.cohorts)
            if (item_id, user_id) in taken:
                result.error(row.number, "This reviewer already has a judgment on this item.")
                continue
            needed, count = state[item_id]
            if count >= needed:
                result.error(
                    row.number, f"The item already has the {needed} judgments the queue needs."
                )
                continue
            state[item_id][1] += 1
            taken.add((item_id, user_id))
            added[item_id] = added.get(item_id, 0) + 1
            extra = {}
            if row.created_at is not None:
                extra = {"created_at": row.created_at, "updated_at": row.updated_at}
            new.append(
                Judgment(
                    item_id=item_id,
                    queue=queue,
                    reviewer_id=user_id,
                    rubric_version_id=queue.rubric_version_id,
                    answers=row.answers,
                    time_spent_ms=row.time_spent_ms,
                    revision=row.revision,
                    **extra,
                )
            )
        Judgment.objects.bulk_create(new)
        completed = 0
        for item_id, n in added.items():
            Item.objects.filter(pk=item_id).update(
                judgment_count=F("judgment_count") + n, reserved=F("reserved") + n
            )
            completed += Item.objects.filter(
                pk=item_id, state=Item.State.OPEN, judgment_count__gte=F("judgments_needed")
            ).update(state=Item.State.COMPLETE)
        if completed:
            Queue.objects.filter(pk=queue.pk).update(items_complete=F("items_complete") + completed)
        result.created += len(new)
        if on_chunk is not None:
            on_chunk(result, read)


def import_judgments(
    queue: Queue,
    path: Path,
    fmt: str,
    on_chunk: OnChunk | None = None,
    resume: ImportResult | None = None,
    skip: int = 0,
) -> ImportResult:
    """Import a judgments file into ``queue``; see the module doc. Raises ImportFileError.

    A job resumes a run that was stopped with the result of its last checkpoint
    (``resume``) and the number of rows that checkpoint had read (``skip``).
    """
    if queue.kind != Queue.Kind.RUBRIC:
        raise ImportFileError(
            "Judgments import into rubric queues only; add comparisons to a pairwise queue "
            "as pairs."
        )
    criteria = list(queue.rubric_version.criteria.all())
    result = resume or ImportResult()
    items = Items(queue, result)
    reviewers = Reviewers(queue, result)
    chunk: list[Parsed] = []
    number = 0
    for number, raw in enumerate(read_rows(path, fmt), start=1):
        if number <= skip:
            continue
        result.rows += 1
        try:
            chunk.append(parse_row(number, raw, criteria))
        except ValueError as exc:
            result.error(number, str(exc))
            continue
        if len(chunk) >= CHUNK_ROWS:
            _record_chunk(queue, chunk, items, reviewers, result, on_chunk, number)
            chunk = []
    if chunk:
        _record_chunk(queue, chunk, items, reviewers, result, on_chunk, number)
    return result


def count_rows(path: Path, fmt: str) -> int | None:
    """The rows in a file (for a progress bar); None when it cannot be read."""
    try:
        if fmt == "parquet":
            return pq.ParquetFile(str(path)).metadata.num_rows
        if fmt == "jsonl":
            with path.open("rb") as handle:
                return sum(1 for line in handle if line.strip())
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return max(0, sum(1 for row in csv.reader(handle) if row) - 1)
    except (OSError, ValueError, csv.Error, pa.ArrowException):
        return None
